//! The reader of contact lists, shared by everything that receives contacts
//! as JSON: the answer of `GET …/contacts`, the tab's stored draft, and the
//! `contacts` option of the embedding page. It reads them with the model's
//! lenient reader (no type errors, whose messages would weigh on the
//! editor); the editor validates what it sends.

use contacts_model::{ContactDraft, ContactEntry, Contacts, RequestDraft};
use js_json::JsJson;
use serde::Deserialize;

/// The contacts of a JSON object's `contacts` member, such as a request body
/// or the answer of `GET …/contacts`. `None` where the value is not an
/// object, or `contacts` not an array of objects; an absent `contacts` is no
/// contacts.
pub fn of_object(object: JsJson) -> Option<Vec<ContactDraft>> {
    of_list(RequestDraft::from_deserializer(object).ok()?.contacts)
}

/// The contacts of a JSON array. `None` where the value is not an array of
/// objects.
pub fn of_array(array: JsJson) -> Option<Vec<ContactDraft>> {
    match Contacts::deserialize(array).ok()? {
        Contacts::Absent => None,
        list => of_list(list),
    }
}

fn of_list(contacts: Contacts) -> Option<Vec<ContactDraft>> {
    match contacts {
        Contacts::Absent => Some(Vec::new()),
        Contacts::WrongType(_) => None,
        Contacts::List(entries) => entries
            .into_iter()
            .map(|entry| match entry {
                ContactEntry::Object(draft) => Some(draft),
                ContactEntry::WrongType(_) => None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    /// `JsJson` holds the engine's values: these run under wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod json {
        use contacts_model::Text;
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::super::*;

        fn parsed(json: &str) -> JsJson {
            JsJson::parse(json).unwrap()
        }

        #[wasm_bindgen_test]
        fn reads_contact_lists_without_type_errors() {
            let contacts = of_object(parsed(
                r#"{"status":"Success","contacts":[{"type":"billing","name":7}]}"#,
            ))
            .unwrap();
            assert_eq!(contacts[0].name, Text::WrongType("number"));
            assert_eq!(
                of_object(parsed(r#"{"status":"Success"}"#)),
                Some(Vec::new())
            );
            for unreadable in [r#"{"contacts":7}"#, r#"{"contacts":[1]}"#, "[]", "7"] {
                assert_eq!(of_object(parsed(unreadable)), None, "{unreadable}");
            }
        }

        #[wasm_bindgen_test]
        fn reads_arrays_of_contacts() {
            let contacts = of_array(parsed(r#"[{"type":"service","name":"Jo"}]"#)).unwrap();
            assert_eq!(contacts[0].name.as_str(), "Jo");
            assert_eq!(of_array(parsed("[]")), Some(Vec::new()));
            for unreadable in ["{}", "[7]", "null", r#""text""#] {
                assert_eq!(of_array(parsed(unreadable)), None, "{unreadable}");
            }
        }
    }
}
