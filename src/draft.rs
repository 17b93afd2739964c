//! The unsaved contacts of one customer, kept in the tab's `sessionStorage`
//! so that a reload loses nothing. Only contacts are kept, never credentials.

use contacts_model::{ContactDraft, ContactType, EzpayId, RequestDraft};
use js_json::JsJson;

use crate::contact_list;

/// The edited contacts of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The billing contact as edited.
    pub billing: ContactDraft,
    /// The service contact as edited.
    pub service: ContactDraft,
}

/// The storage key of a customer's draft.
pub fn storage_key(customer: &EzpayId) -> String {
    format!("contacts-editor.draft.{customer}")
}

impl Draft {
    /// The stored form of a draft: a request body holding both contacts,
    /// `{"contacts":[billing, service]}`, so that the model's reader of
    /// untrusted JSON reads it back.
    pub fn encode(&self) -> String {
        let both = RequestDraft::from_contacts([self.billing.clone(), self.service.clone()]);
        // A draft holds strings only, which always serialise.
        js_json::stringify(&both).unwrap_or_default()
    }

    /// Reads a stored draft; anything unreadable (an older format, a hand
    /// edit) is no draft at all.
    pub fn decode(stored: &str) -> Option<Self> {
        let mut contacts = contact_list::of_object(JsJson::parse(stored).ok()?)?.into_iter();
        let (billing, service) = (contacts.next()?, contacts.next()?);
        let is = |draft: &ContactDraft, t: ContactType| draft.contact_type.as_str() == t.as_str();
        (is(&billing, ContactType::Billing) && is(&service, ContactType::Service))
            .then_some(Self { billing, service })
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The draft kept for a customer, if any.
pub fn load(customer: &EzpayId) -> Option<Draft> {
    let stored = session_storage()?
        .get_item(&storage_key(customer))
        .ok()
        .flatten()?;
    Draft::decode(&stored)
}

/// Keeps a customer's draft. A browser that refuses storage (private mode,
/// full quota) only loses the convenience, so failures are not reported.
pub fn save(customer: &EzpayId, draft: &Draft) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(&storage_key(customer), &draft.encode());
    }
}

/// Forgets a customer's draft.
pub fn clear(customer: &EzpayId) {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(&storage_key(customer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_customer() {
        let id = EzpayId::parse("000010000005008").unwrap();
        assert_eq!(storage_key(&id), "contacts-editor.draft.000010000005008");
    }

    /// The tests that need the engine's JSON (`js-json`): they run under
    /// wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod json {
        use contacts_model::{ContactType, Field};
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::*;

        #[wasm_bindgen_test]
        fn round_trips_and_rejects_garbage() {
            let mut billing = ContactDraft::new(ContactType::Billing);
            billing.set(Field::Name, "<img src=x onerror=alert(1)>");
            billing.set(Field::WorkPhone, "914 721 2006 x12");
            let draft = Draft {
                billing,
                service: ContactDraft::new(ContactType::Service),
            };
            assert_eq!(Draft::decode(&draft.encode()), Some(draft));
            assert_eq!(Draft::decode("{not json"), None);
            assert_eq!(Draft::decode(r#"{"billing":1}"#), None);
            assert_eq!(
                Draft::decode(r#"{"contacts":[{"type":"service"},{"type":"billing"}]}"#),
                None
            );
        }
    }
}
