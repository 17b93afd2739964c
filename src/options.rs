//! How the editor is started: by the embedding console's options, or
//! standalone from the page's URL.

use contacts_model::ContactDraft;
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::draft::read_contact_list;

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
    /// The customer's current contacts, in the contract's shape; when given,
    /// the editor does not fetch them.
    pub contacts: Option<Vec<ContactDraft>>,
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
                "contacts" => read.contacts = Some(contacts_from_js(&value).map_err(bad)?),
                _ => {
                    return Err(bad(format!(
                        "unknown option `{key}`, expected one of apiBase, ezpayId, profileId, authorization, contacts"
                    )));
                }
            }
        }
        Ok(read)
    }

    /// The options of the standalone page: `?ezpay_id=…&profile_id=…`.
    pub fn from_query(query: &str) -> Self {
        let mut options = Self::default();
        for pair in query.trim_start_matches('?').split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode_query_value(value);
            match key {
                "ezpay_id" => options.ezpay_id = value,
                "profile_id" => options.profile_id = Some(value),
                _ => {}
            }
        }
        options
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
/// read by the model's lenient reader, as the answer of `GET …/contacts` is
/// (validation comes later).
fn contacts_from_js(value: &JsValue) -> Result<Vec<ContactDraft>, String> {
    let array = Array::is_array(value)
        .then(|| JSON::stringify(value).ok()?.as_string())
        .flatten();
    array
        .and_then(|json| read_contact_list(&format!(r#"{{"contacts":{json}}}"#)))
        .ok_or_else(|| "`contacts` must be an array of contact objects".into())
}

/// Decodes `+` and `%XX` of a query value; malformed escapes stay as typed.
fn decode_query_value(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_page_url() {
        let options =
            EditorOptions::from_query("?ezpay_id=000010000005008&profile_id=CAAG%5F999&x=1");
        assert_eq!(options.ezpay_id, "000010000005008");
        assert_eq!(options.profile_id(), "CAAG_999");
        assert_eq!(
            EditorOptions::from_query("").profile_id(),
            DEFAULT_PROFILE_ID
        );
        assert_eq!(decode_query_value("a+b%zz%C3%A9"), "a b%zzé");
    }
}
