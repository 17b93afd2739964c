//! How the editor is started: by the embedding console's options, or
//! standalone from the page's URL.

use contacts_model::ContactDraft;
use js_json::JsJson;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::contact_list;
use crate::credentials::GetToken;
use crate::prefetched::Prefetched;

/// The ProfileId used when none is given.
pub const DEFAULT_PROFILE_ID: &str = "CAAG_302";

/// The options of `mountContactEditor(element, options)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EditorOptions {
    /// The origin and path prefix of the API; empty for the page's own origin.
    pub api_base: String,
    /// The customer to edit.
    pub ezpay_id: String,
    /// The `ProfileId` header; [`DEFAULT_PROFILE_ID`] when absent.
    pub profile_id: Option<String>,
    /// The `Authorization` header value the console holds; without it the
    /// editor asks the agent to sign in.
    pub authorization: Option<String>,
    /// The console's `getToken`, which gives the token of each request in
    /// place of `authorization`; with it, the agent never signs in.
    pub get_token: Option<GetToken>,
    /// The customer's current contacts, in the contract's shape; when given,
    /// the editor does not fetch them.
    pub contacts: Option<Vec<ContactDraft>>,
    /// The contacts' GET that `startContactEditor` sent before the editor
    /// started, for its first load (not an option of `mountContactEditor`).
    pub prefetched: Prefetched,
}

impl EditorOptions {
    /// Reads the options object of `mountContactEditor` (absent or `null`
    /// for none); the error names what is wrong with them.
    pub fn from_js(options: &JsValue) -> Result<Self, String> {
        let bad = |why: String| format!("mountContactEditor: bad options: {why}");
        let mut read = Self::default();
        if options.is_undefined() || options.is_null() {
            return Ok(read);
        }
        if !options.is_object() || Array::is_array(options) {
            return Err(bad("they must be a plain object".into()));
        }
        for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            let value = Reflect::get(options, &JsValue::from_str(&key)).unwrap_or_default();
            if value.is_undefined() || value.is_null() {
                continue;
            }
            let text = || {
                value
                    .as_string()
                    .ok_or_else(|| bad(format!("`{key}` must be a string")))
            };
            match key.as_str() {
                "apiBase" => read.api_base = text()?,
                "ezpayId" => read.ezpay_id = text()?,
                "profileId" => read.profile_id = Some(text()?),
                "authorization" => read.authorization = Some(text()?),
                "getToken" => {
                    let function = value
                        .dyn_ref::<Function>()
                        .ok_or_else(|| bad("`getToken` must be a function".into()))?;
                    read.get_token = Some(GetToken(function.clone()));
                }
                "contacts" => read.contacts = Some(contacts_from_js(&value).map_err(bad)?),
                _ => {
                    return Err(bad(format!(
                        "unknown option `{key}`, expected one of apiBase, ezpayId, profileId, authorization, getToken, contacts"
                    )));
                }
            }
        }
        Ok(read)
    }

    /// The options of the standalone page: `?ezpay_id=…&profile_id=…`,
    /// decoded by the browser's `URLSearchParams`.
    pub fn from_query(query: &str) -> Self {
        let params = web_sys::UrlSearchParams::new_with_str(query).ok();
        let get = |name: &str| params.as_ref().and_then(|p| p.get(name));
        Self {
            ezpay_id: get("ezpay_id").unwrap_or_default(),
            profile_id: get("profile_id"),
            ..Self::default()
        }
    }

    /// The ProfileId to use.
    pub fn profile_id(&self) -> String {
        self.profile_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_PROFILE_ID)
            .to_owned()
    }
}

/// Reads the `contacts` option: an array of contacts in the contract's shape,
/// read as the answer of `GET …/contacts` is (validation comes later).
fn contacts_from_js(value: &JsValue) -> Result<Vec<ContactDraft>, String> {
    JsJson::from_js(value)
        .and_then(contact_list::of_array)
        .ok_or_else(|| "`contacts` must be an array of contact objects".into())
}

#[cfg(test)]
mod tests {
    /// `URLSearchParams` is the engine's: these run under wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod query {
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::super::*;

        #[wasm_bindgen_test]
        fn reads_the_page_url() {
            let options =
                EditorOptions::from_query("?ezpay_id=000010000005008&profile_id=CAAG%5F999&x=1");
            assert_eq!(options.ezpay_id, "000010000005008");
            assert_eq!(options.profile_id(), "CAAG_999");
            assert_eq!(
                EditorOptions::from_query("").profile_id(),
                DEFAULT_PROFILE_ID
            );
            let decoded = EditorOptions::from_query("profile_id=a+b%zz%C3%A9");
            assert_eq!(decoded.profile_id.as_deref(), Some("a b%zzé"));
        }
    }
}
