//! JSON written from the editor's serde types: serde-wasm-bindgen's
//! `Serializer` makes the JavaScript value, and the engine's
//! `JSON.stringify` writes its text. Reading goes through `js-json`.
//!
//! What the editor writes (a request, a draft, an envelope) holds strings,
//! lists and objects only, which always serialise; should one ever fail,
//! the result is `null` rather than a panic.

use js_sys::JSON;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// A value as the plain object `JSON.parse` would make of its JSON.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// A value as compact JSON text.
pub fn stringify<T: Serialize + ?Sized>(value: &T) -> String {
    JSON::stringify(&to_js(value))
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| "null".to_owned())
}

#[cfg(test)]
mod tests {
    /// The engine writes the text: these run under wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod engine {
        use contacts_model::{ContactDraft, ContactType, Envelope, Field, RequestDraft};
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::super::*;

        #[wasm_bindgen_test]
        fn writes_requests_and_envelopes_as_the_contract_shows_them() {
            let mut billing = ContactDraft::new(ContactType::Billing);
            billing.set(Field::Name, "A \"quoted\" <b>name</b>");
            let request =
                contacts_model::validate_request(&RequestDraft::from_contacts([billing])).unwrap();
            assert_eq!(
                stringify(&request),
                r#"{"contacts":[{"type":"billing","name":"A \"quoted\" <b>name</b>"}]}"#
            );
            assert_eq!(
                stringify(&Envelope::success("t-1")),
                r#"{"status":"Success","request_tracking_id":"t-1"}"#
            );
        }
    }
}
