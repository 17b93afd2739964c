//! The editor's effects, as hooks that follow the form state: a customer
//! whose contacts are awaited is fetched (or handed the contacts the
//! embedding page gave), a submission on its way is sent,
//! and the unsaved edits follow every change into the tab's storage. The
//! decisions are the reducers' ([`FormState`], [`Session`]); these only talk
//! to the API, the storage and the page, and report back with actions.

use std::cell::RefCell;
use std::rc::Rc;

use contacts_model::{ContactDraft, Envelope, EzpayId};
use futures_util::future::join;
use web_sys::Element;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiConfig, CustomerContacts};
use crate::draft;
use crate::events::{announce, announce_dirty};
use crate::form::{Action, FormState};
use crate::prefetched::Prefetched;
use crate::session::{Session, SessionAction};

/// Hands the form what a call brought, unless the service refused the
/// credentials the agent signed in with or the console fixed
/// ([`Action::refuses_credentials`]): then, and only then, the agent is
/// signed out instead, and their draft of the customer in this tab and
/// their edits in the form are forgotten, so that the next agent to sign in
/// sees none of them; the form awaits the customer again for them. A token
/// of the console's `getToken` refused twice (see [`ApiConfig`]) is shown
/// as the Failure it is: the agent cannot sign in here, and keeps the edits.
fn hand_over(
    session: &UseReducerDispatcher<Session>,
    form: &UseReducerDispatcher<FormState>,
    config: &ApiConfig,
    owner: Option<&str>,
    customer: &EzpayId,
    received: Action,
) {
    if !received.refuses_credentials() || config.signer.renews() {
        form.dispatch(received);
        return;
    }
    if let Some(owner) = owner {
        draft::clear(owner, customer);
    }
    form.dispatch(Action::Forget);
    session.dispatch(SessionAction::SignOut);
}

/// Loads the contacts of the customer the form awaits, once there are
/// credentials: the contacts the embedding page gave (`given`, taken by the
/// first load) or else the API's, and hands them (with the agent's draft for
/// that customer) to the form, which drops them if it awaits another
/// customer by then. It also finds whose drafts the credentials see (a
/// digest, made while the contacts are on their way), and tells `owner`.
/// The first load from the API takes the answer of the GET
/// sent before the start where that asked the same ([`Prefetched::take`]);
/// where the editor started with that answer's contacts shown
/// ([`Prefetched::ready`]), nothing is awaited, and this only finds whose
/// drafts the credentials see.
#[hook]
pub fn use_load_contacts(
    form: &UseReducerHandle<FormState>,
    session: UseReducerDispatcher<Session>,
    config: Option<ApiConfig>,
    given: Rc<RefCell<Option<Vec<ContactDraft>>>>,
    owner: UseStateSetter<Option<String>>,
    prefetched: Prefetched,
) {
    let deps = (form.load.awaited().cloned(), config.is_some());
    let form = form.dispatcher();
    use_effect_with(deps, move |(awaited, _)| {
        let Some(config) = config else {
            return;
        };
        let awaited = awaited.clone();
        // Only a load takes what the page gave: finding whose drafts leaves it.
        let given = awaited
            .is_some()
            .then(|| given.borrow_mut().take())
            .flatten();
        spawn_local(async move {
            let salt = draft::salt(&config.api_base);
            let Some(customer) = awaited else {
                owner.set(config.signer.owner(&salt).await);
                return;
            };
            let contacts = async {
                match (given, prefetched.take(&config, &customer)) {
                    (Some(contacts), _) => Ok(CustomerContacts {
                        contacts,
                        ..CustomerContacts::default()
                    }),
                    (None, Some(answer)) => api::prefetched_contacts(answer).await,
                    (None, None) => api::fetch_contacts(&config, &customer).await,
                }
            };
            let (found, contacts) = join(config.signer.owner(&salt), contacts).await;
            owner.set(found.clone());
            let received = Action::ReceiveContacts {
                draft: found
                    .as_deref()
                    .and_then(|owner| draft::load(owner, &customer).map(Box::new)),
                customer: customer.clone(),
                contacts,
            };
            hand_over(
                &session,
                &form,
                &config,
                found.as_deref(),
                &customer,
                received,
            );
        });
    });
}

/// Sends the submission the form has on its way, tells the embedding page
/// how it went (on `host`), and hands the answer to the form.
#[hook]
pub fn use_save(
    form: &UseReducerHandle<FormState>,
    session: UseReducerDispatcher<Session>,
    config: Option<ApiConfig>,
    owner: Option<String>,
    host: Element,
) {
    let sending = form.save.sending().cloned();
    let form = form.dispatcher();
    use_effect_with(sending, move |sending| {
        let (Some(submission), Some(config)) = (sending.clone(), config) else {
            return;
        };
        spawn_local(async move {
            let (reply, version) = api::save_contacts(&config, &submission).await;
            let retryable = api::may_pass_on_retry(&reply);
            let answer = reply.unwrap_or_else(|e| e.to_envelope(&submission.tracking_id));
            if let (Envelope::Success { .. }, Some(owner)) = (&answer, &owner) {
                draft::clear(owner, &submission.customer);
            }
            announce(&host, &answer, &submission.customer);
            let received = Action::ReceiveAnswer {
                answer: answer.clone(),
                retryable,
                version,
            };
            let customer = &submission.customer;
            hand_over(
                &session,
                &form,
                &config,
                owner.as_deref(),
                customer,
                received,
            );
        });
    });
}

/// Keeps the signed-in agent's unsaved edits of the customer shown in the
/// tab's storage (under their [`draft::owner`]), and forgets them once
/// nothing differs from the loaded contacts. Without a known user nothing
/// is kept.
#[hook]
pub fn use_keep_draft(form: &UseReducerHandle<FormState>, owner: Option<String>) {
    // The draft is compared in its stored form: a string comparison costs
    // the download less than comparing the contacts themselves.
    let deps = owner.zip(form.load.shown()).map(|(owner, shown)| {
        let edits = form.is_changed().then(|| form.draft().encode());
        (owner, shown.customer.clone(), edits)
    });
    use_effect_with(deps, |deps| match deps {
        Some((owner, customer, Some(edits))) => draft::save(owner, customer, edits),
        Some((owner, customer, None)) => draft::clear(owner, customer),
        None => {}
    });
}

/// Tells the embedding page (on `host`) whether the agent has unsaved
/// edits, each time that changes (`contacts-dirty`).
#[hook]
pub fn use_announce_dirty(form: &UseReducerHandle<FormState>, host: Element) {
    use_effect_with(form.is_changed(), move |dirty| {
        announce_dirty(&host, *dirty)
    });
}

/// Opens the customer the embedding page asks for (`EditorHandle::load`, the
/// element's `ezpay-id`) where it is not the one in the form already, and
/// shows its eZpayID in the customer bar (`show`).
#[hook]
pub fn use_open_given(form: &UseReducerHandle<FormState>, ezpay_id: &str, show: Callback<String>) {
    let current = form.load.customer().cloned();
    let form = form.dispatcher();
    use_effect_with(ezpay_id.to_owned(), move |ezpay_id| {
        let Ok(customer) = EzpayId::parse(ezpay_id) else {
            return;
        };
        if current.as_ref() != Some(&customer) {
            show.emit(ezpay_id.clone());
            form.dispatch(Action::Open(customer));
        }
    });
}
