//! The first `GET …/contacts`, asked for by `contacts-editor.js`'s
//! `startContactEditor` while the wasm still downloads, so that the
//! contacts' answer and the editor's start overlap instead of following one
//! another. The editor takes that answer at most once, for the first
//! customer it awaits, and only where the request is the very one it would
//! have sent itself (same URL, `Authorization` and `ProfileId`); otherwise
//! it asks as usual. Where the contacts are in by the time the editor
//! starts, it starts with them shown ([`Prefetched::ready`]): the first
//! form the agent sees is the one to edit, with no locked form and no
//! second render before it.

use std::cell::RefCell;
use std::rc::Rc;

use contacts_model::EzpayId;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::api::{self, Answer, ApiConfig, CustomerContacts};
use crate::credentials::Signer;
use crate::draft;

#[wasm_bindgen]
extern "C" {
    /// What `startContactEditor` sent: `{url, authorization, profileId,
    /// trackingId, answer, read}`, `answer` being the promise of a
    /// [`ReadAnswer`], `read` what it resolved to, once it has.
    #[derive(Debug, Clone)]
    pub type PendingGet;

    #[wasm_bindgen(method, getter)]
    fn url(this: &PendingGet) -> String;
    #[wasm_bindgen(method, getter)]
    fn authorization(this: &PendingGet) -> String;
    #[wasm_bindgen(method, getter, js_name = profileId)]
    fn profile_id(this: &PendingGet) -> String;
    #[wasm_bindgen(method, getter, js_name = trackingId)]
    fn tracking_id(this: &PendingGet) -> String;
    #[wasm_bindgen(method, getter)]
    fn answer(this: &PendingGet) -> Promise;
    /// What `answer` resolved to, once it has.
    #[wasm_bindgen(method, getter)]
    fn read(this: &PendingGet) -> Option<ReadAnswer>;

    /// The answer, read whole by `startContactEditor` as soon as it came
    /// (so that, when it came before the editor started, the editor shows
    /// the contacts before the browser first draws the form, with no wait
    /// for the network in between): `{status, body, etag}`.
    type ReadAnswer;

    #[wasm_bindgen(method, getter)]
    fn status(this: &ReadAnswer) -> u16;
    #[wasm_bindgen(method, getter)]
    fn body(this: &ReadAnswer) -> String;
    #[wasm_bindgen(method, getter)]
    fn etag(this: &ReadAnswer) -> Option<String>;
}

/// A GET sent before the editor started: the promise of its answer, read
/// ([`read`]), and its `Request-Tracking-Id`.
pub type Pending = (Promise, String);

/// The status, body and `ETag` of the answer `answer` promises, or what the
/// GET or the reading of its body was rejected with.
pub async fn read(answer: Promise) -> Result<Answer, JsValue> {
    let answer: ReadAnswer = JsFuture::from(answer).await?.unchecked_into();
    Ok((answer.status(), answer.body(), answer.etag()))
}

/// The GET that was sent before the editor started, until the editor first
/// loads contacts. Clones share it; two are equal when they share it, or
/// when neither holds one.
#[derive(Debug, Clone, Default)]
pub struct Prefetched(Rc<RefCell<Option<PendingGet>>>);

impl PartialEq for Prefetched {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0) || (self.0.borrow().is_none() && other.0.borrow().is_none())
    }
}

impl Prefetched {
    /// Holds `pending` for the editor's first load.
    pub fn new(pending: PendingGet) -> Self {
        Self(Rc::new(RefCell::new(Some(pending))))
    }

    /// The answer of the GET sent before the start, if it asked exactly what
    /// the editor would ask now of `customer` with `config`. Asked once:
    /// later loads (another customer, a load after a conflict or a new
    /// sign-in) fetch anew.
    pub fn take(&self, config: &ApiConfig, customer: &EzpayId) -> Option<Pending> {
        let pending = self.0.borrow_mut().take()?;
        asks(&pending, config, customer).then(|| (pending.answer(), pending.tracking_id()))
    }

    /// The contacts of `customer`, where the GET sent before the start asked
    /// exactly what the editor would ask with `config`, its answer is in
    /// already and brought them, and this tab keeps no draft of that
    /// customer (whose it is takes a digest, which cannot wait): the editor
    /// starts with them shown. Otherwise the GET stays for the first load
    /// ([`Prefetched::take`]), which also sees to drafts and refusals.
    pub fn ready(&self, config: &ApiConfig, customer: &EzpayId) -> Option<CustomerContacts> {
        let contacts = {
            let pending = self.0.borrow();
            let pending = pending.as_ref()?;
            let read = pending.read().filter(|_| asks(pending, config, customer))?;
            let answer = (read.status(), read.body(), read.etag());
            api::read_contacts(answer, &pending.tracking_id()).ok()?
        };
        if draft::kept_of(customer) {
            return None;
        }
        self.0.borrow_mut().take();
        Some(contacts)
    }
}

/// Whether `pending` is the very GET the editor would send of `customer`
/// with `config`. Only with fixed credentials: a console's `getToken` is
/// asked anew for each request.
fn asks(pending: &PendingGet, config: &ApiConfig, customer: &EzpayId) -> bool {
    let Signer::Fixed(authorization) = &config.signer else {
        return false;
    };
    pending.url() == config.contacts_url(customer)
        && pending.authorization() == authorization.header_value()
        && pending.profile_id() == config.profile_id.trim()
}

#[cfg(test)]
mod tests {
    /// `PendingGet` is a JavaScript object: these run under wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod take {
        use js_sys::{Object, Promise, Reflect};
        use wasm_bindgen::{JsCast, JsValue};
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::super::*;
        use crate::credentials::Authorization;

        const CUSTOMER: &str = "000010000005008";

        fn config() -> ApiConfig {
            ApiConfig {
                api_base: "https://api.example/".into(),
                profile_id: " CAAG_302 ".into(),
                signer: Signer::Fixed(Authorization::basic("agent", "secret")),
            }
        }

        /// What `startContactEditor` hands over, with `changed` set differently.
        fn pending(changed: Option<(&str, &str)>) -> Prefetched {
            let Signer::Fixed(authorization) = config().signer else {
                unreachable!("the test's credentials are fixed")
            };
            let fields = [
                (
                    "url",
                    format!("https://api.example/api/v1/customers/{CUSTOMER}/contacts"),
                ),
                ("authorization", authorization.header_value().into()),
                ("profileId", "CAAG_302".into()),
                ("trackingId", "ce-1-2".into()),
            ];
            let object = Object::new();
            for (key, value) in fields {
                let value = match changed {
                    Some((name, other)) if name == key => other.to_owned(),
                    _ => value,
                };
                Reflect::set(&object, &key.into(), &value.into()).unwrap();
            }
            let answer = Promise::resolve(&JsValue::NULL);
            Reflect::set(&object, &"answer".into(), &answer).unwrap();
            Prefetched::new(object.unchecked_into())
        }

        #[wasm_bindgen_test]
        fn the_same_request_is_taken_once() {
            let customer = EzpayId::parse(CUSTOMER).unwrap();
            let prefetched = pending(None);
            let (_, tracking_id) = prefetched.take(&config(), &customer).unwrap();
            assert_eq!(tracking_id, "ce-1-2");
            assert!(prefetched.take(&config(), &customer).is_none());
        }

        #[wasm_bindgen_test]
        fn another_request_is_never_taken() {
            let customer = EzpayId::parse(CUSTOMER).unwrap();
            let other = EzpayId::parse("000010000005016").unwrap();
            assert!(pending(None).take(&config(), &other).is_none());
            for changed in [
                (
                    "url",
                    "https://other.example/api/v1/customers/000010000005008/contacts",
                ),
                ("authorization", "Basic b3RoZXI6b3RoZXI="),
                ("profileId", "CAAG_999"),
            ] {
                let prefetched = pending(Some(changed));
                assert!(
                    prefetched.take(&config(), &customer).is_none(),
                    "taken with another {}",
                    changed.0
                );
            }
            assert!(Prefetched::default().take(&config(), &customer).is_none());
        }

        /// `pending(None)` whose answer is in: `status` and `body`.
        fn answered(status: u16, body: &str) -> Prefetched {
            let prefetched = pending(None);
            let read = Object::new();
            for (key, value) in [
                ("status", JsValue::from(status)),
                ("body", body.into()),
                ("etag", "\"7\"".into()),
            ] {
                Reflect::set(&read, &key.into(), &value).unwrap();
            }
            let held = prefetched.0.borrow().clone().unwrap();
            Reflect::set(&held, &"read".into(), &read).unwrap();
            prefetched
        }

        const FOUND: &str = r#"{"status":"Success","request_tracking_id":"ce-1-2","contacts":[{"type":"billing","name":"John Smith"}]}"#;

        #[wasm_bindgen_test]
        fn contacts_already_in_are_ready_once() {
            let customer = EzpayId::parse(CUSTOMER).unwrap();
            let prefetched = answered(200, FOUND);
            let contacts = prefetched.ready(&config(), &customer).unwrap();
            assert_eq!(contacts.contacts[0].name.as_str(), "John Smith");
            assert_eq!(contacts.version.as_deref(), Some("\"7\""));
            assert!(prefetched.ready(&config(), &customer).is_none());
            assert!(prefetched.take(&config(), &customer).is_none());
        }

        #[wasm_bindgen_test]
        fn what_is_not_ready_is_left_for_the_first_load() {
            let customer = EzpayId::parse(CUSTOMER).unwrap();
            let other = EzpayId::parse("000010000005016").unwrap();
            let refused = r#"{"status":"Failure","error":{"code":"401","message":"Unauthorized"}}"#;
            // Not in yet, another request, or no contacts: the first load
            // takes it. (So does an answer with a draft of the customer
            // kept in this tab: `draft::kept_of`, tests/browser.rs.)
            for (prefetched, customer) in [
                (pending(None), &customer),
                (answered(200, FOUND), &other),
                (answered(401, refused), &customer),
            ] {
                assert!(prefetched.ready(&config(), customer).is_none());
                assert!(prefetched.0.borrow().is_some());
            }
        }
    }
}
