//! How the editor is started: by the embedding console's options, or
//! standalone from the page's URL.

use contacts_model::ContactDraft;
use serde::Deserialize;

/// The ProfileId used when none is given.
pub const DEFAULT_PROFILE_ID: &str = "CAAG_302";

/// The options of `mountContactEditor(element, options)`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditorOptions {
    /// The origin and path prefix of the API; empty for the page's own origin.
    #[serde(default)]
    pub api_base: String,
    /// The customer to edit.
    #[serde(default)]
    pub ezpay_id: String,
    /// The `ProfileId` header; [`DEFAULT_PROFILE_ID`] when absent.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// The `Authorization` header value the console holds; without it the
    /// editor asks the agent to sign in.
    #[serde(default)]
    pub authorization: Option<String>,
    /// The customer's current contacts, in the contract's shape; when given,
    /// the editor does not fetch them.
    #[serde(default)]
    pub contacts: Option<Vec<ContactDraft>>,
}

impl EditorOptions {
    /// Reads the options as JSON; the error says what is wrong with them.
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("mountContactEditor: bad options: {e}"))
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
    fn reads_the_console_options() {
        let options = EditorOptions::from_json(
            r#"{"apiBase":"https://api","ezpayId":"000010000005008","authorization":"Basic x","contacts":[{"type":"billing","name":"Jo"}]}"#,
        )
        .unwrap();
        assert_eq!(options.api_base, "https://api");
        assert_eq!(options.profile_id(), DEFAULT_PROFILE_ID);
        assert_eq!(options.contacts.unwrap()[0].name.as_str(), "Jo");
    }

    #[test]
    fn names_a_mistyped_option() {
        let error = EditorOptions::from_json(r#"{"ezpayID":"1"}"#).unwrap_err();
        assert!(error.contains("ezpayID"), "{error}");
        assert!(EditorOptions::from_json("null").is_err());
    }

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
