//! The unsaved contacts of one customer, kept in the tab's `sessionStorage`
//! so that a reload loses nothing. Only contacts are kept, never credentials.
//!
//! A draft belongs to the agent who made it: its key names the user and the
//! customer, `contacts-editor.draft.{user}.{customer}`, and refused
//! credentials, which sign the agent out, remove that user's draft of the
//! customer. The user (a Basic user name, or a token's issuer and subject)
//! appears as a SHA-256 digest made by the browser's `crypto.subtle`,
//! salted with the deployment's API address ([`salt`]): a name is no
//! secret, but it may be what the password is (as in development), and
//! nothing that could be one, or that names the agent, is stored. The
//! password, the token and the `Authorization` value never are.

use contacts_model::{ContactDraft, ContactType, EzpayId};
use js_json::JsJson;
use js_sys::{Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::contact_list;

/// The unsaved edits of one customer's contacts, with what they were made
/// from, so that a draft restored over contacts changed since can show the
/// other change rather than hide it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The version (the API's `ETag`) of the contacts the edits were made
    /// from; `None` where they did not come from the API.
    pub version: Option<String>,
    /// Billing then service, as edited.
    pub edited: [ContactDraft; 2],
    /// Billing then service, as loaded when the edits began.
    pub loaded: [ContactDraft; 2],
}

/// A draft as stored: `{"version":…,"contacts":[edited billing, edited
/// service, loaded billing, loaded service]}`, a request body that the
/// model's reader of untrusted JSON reads back.
#[derive(Serialize)]
struct Stored<'a> {
    version: Option<&'a str>,
    contacts: [&'a ContactDraft; 4],
}

/// What every draft's storage key starts with.
const PREFIX: &str = "contacts-editor.draft.";

/// The salt of this deployment's digests: the address of the API the
/// editor calls (`apiBase`, or the page's own origin), so that one user's
/// digest differs from one deployment to the next.
pub fn salt(api_base: &str) -> String {
    if api_base.is_empty() {
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    } else {
        api_base.trim_end_matches('/').to_owned()
    }
}

/// How a user is named in the storage keys of their drafts: the SHA-256 of
/// the deployment's [`salt`], a line feed and the user, in hex, by the
/// browser's `crypto.subtle`. `None` where the browser has none (a page not
/// in a secure context): no draft is kept then.
pub async fn owner(salt: &str, user: &str) -> Option<String> {
    // The global scope's `crypto`, as in a page so in Node (the tests).
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    // Every page has `crypto`; outside a secure context its `subtle` is
    // undefined, and the call below fails (caught) rather than trap.
    let subtle = crypto.unchecked_into::<web_sys::Crypto>().subtle();
    let salted = format!("{salt}\n{user}");
    let digest = subtle
        .digest_with_str_and_u8_array("SHA-256", salted.as_bytes())
        .ok()?;
    let digest = JsFuture::from(digest).await.ok()?;
    Some(
        Uint8Array::new(&digest)
            .to_vec()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    )
}

/// The storage key of a user's draft of a customer, the user named by
/// their [`owner`].
fn storage_key(owner: &str, customer: &EzpayId) -> String {
    format!("{PREFIX}{owner}.{customer}")
}

impl Draft {
    /// The stored form of a draft.
    pub fn encode(&self) -> String {
        let [billing, service] = &self.edited;
        let [loaded_billing, loaded_service] = &self.loaded;
        let stored = Stored {
            version: self.version.as_deref(),
            contacts: [billing, service, loaded_billing, loaded_service],
        };
        // A draft holds strings only, which always serialise.
        js_json::stringify(&stored).unwrap_or_default()
    }

    /// Reads a stored draft; anything unreadable (an older format, a hand
    /// edit) is no draft at all.
    pub fn decode(stored: &str) -> Option<Self> {
        let value = JsJson::parse(stored).ok()?;
        let version = Reflect::get(value.as_ref(), &"version".into())
            .ok()?
            .as_string();
        let [billing, service, loaded_billing, loaded_service]: [ContactDraft; 4] =
            contact_list::of_object(value)?.try_into().ok()?;
        let is = |draft: &ContactDraft, t: ContactType| draft.contact_type.as_str() == t.as_str();
        let typed = is(&billing, ContactType::Billing)
            && is(&service, ContactType::Service)
            && is(&loaded_billing, ContactType::Billing)
            && is(&loaded_service, ContactType::Service);
        typed.then_some(Self {
            version,
            edited: [billing, service],
            loaded: [loaded_billing, loaded_service],
        })
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The draft a user (named by their [`owner`]) kept for a customer, if any.
pub fn load(owner: &str, customer: &EzpayId) -> Option<Draft> {
    let stored = session_storage()?
        .get_item(&storage_key(owner, customer))
        .ok()
        .flatten()?;
    Draft::decode(&stored)
}

/// Whether this tab keeps a draft of `customer`, whoever made it.
pub fn kept_of(customer: &EzpayId) -> bool {
    let Some(storage) = session_storage() else {
        return false;
    };
    let suffix = format!(".{customer}");
    let count = storage.length().unwrap_or_default();
    (0..count).any(|index| {
        storage
            .key(index)
            .ok()
            .flatten()
            .is_some_and(|key| key.starts_with(PREFIX) && key.ends_with(&suffix))
    })
}

/// Keeps a user's draft of a customer, as [`Draft::encode`] wrote it. A
/// browser that refuses storage (private mode, full quota) only loses the
/// convenience, so failures are not reported.
pub fn save(owner: &str, customer: &EzpayId, stored: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(&storage_key(owner, customer), stored);
    }
}

/// Forgets a user's draft of a customer, and any draft of it in the older
/// format, keyed by the customer alone, which no one can tell apart.
pub fn clear(owner: &str, customer: &EzpayId) {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(&storage_key(owner, customer));
        let _ = storage.remove_item(&format!("{PREFIX}{customer}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_owner_and_customer() {
        let id = EzpayId::parse("000010000005008").unwrap();
        assert_eq!(
            storage_key("ab12", &id),
            "contacts-editor.draft.ab12.000010000005008"
        );
    }

    /// The tests that need the engine's JSON (`js-json`): they run under
    /// wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod json {
        use contacts_model::{ContactType, Field};
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::*;

        #[wasm_bindgen_test]
        async fn owners_are_salted_digests_that_never_name_the_user() {
            let deployment = "https://contacts.example";
            let ocsuser = owner(deployment, "ocsuser").await.unwrap();
            // `printf 'https://contacts.example\nocsuser' | sha256sum`
            assert_eq!(
                ocsuser,
                "bea4cc6ea65be6f69d65c254e8338f1dbbdf237ca3ae688d407945071ddac20f"
            );
            let key = storage_key(&ocsuser, &EzpayId::parse("000010000005008").unwrap());
            assert!(!key.contains("ocsuser"), "{key}");
            for (other_salt, other) in [
                (deployment, "ocsuser."),
                (deployment, ""),
                (deployment, "OCSUSER"),
                ("https://elsewhere.example", "ocsuser"),
            ] {
                assert_ne!(
                    owner(other_salt, other).await.unwrap(),
                    ocsuser,
                    "{other_salt} {other}"
                );
            }
            assert_eq!(salt("https://api.example/"), "https://api.example");
        }

        #[wasm_bindgen_test]
        fn round_trips_and_rejects_garbage() {
            let mut billing = ContactDraft::new(ContactType::Billing);
            billing.set(Field::Name, "<img src=x onerror=alert(1)>");
            billing.set(Field::WorkPhone, "914 721 2006 x12");
            let service = ContactDraft::new(ContactType::Service);
            let draft = Draft {
                version: Some("\"7\"".into()),
                loaded: [ContactDraft::new(ContactType::Billing), service.clone()],
                edited: [billing, service],
            };
            assert_eq!(Draft::decode(&draft.encode()), Some(draft.clone()));
            let unversioned = Draft {
                version: None,
                ..draft
            };
            assert_eq!(Draft::decode(&unversioned.encode()), Some(unversioned));
            assert_eq!(Draft::decode("{not json"), None);
            assert_eq!(Draft::decode(r#"{"billing":1}"#), None);
            let two = r#"{"contacts":[{"type":"billing"},{"type":"service"}]}"#;
            assert_eq!(
                Draft::decode(two),
                None,
                "an older draft without its loaded contacts"
            );
            let swapped = r#"{"contacts":[{"type":"service"},{"type":"billing"},{"type":"billing"},{"type":"service"}]}"#;
            assert_eq!(Draft::decode(swapped), None);
        }
    }
}
