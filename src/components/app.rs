//! The root component: customer bar, sign-in, both contact panels, the
//! summary of changes, Save, and the answer.

use std::rc::Rc;

use contacts_model::{ContactDraft, ContactType, Envelope, EzpayId, validate_request};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiConfig, Submission};
use crate::components::change_summary::change_summary;
use crate::components::contact_form::ContactForm;
use crate::components::customer_bar::{CustomerBar, use_customer_bar};
use crate::components::result_panel::ResultPanel;
use crate::components::sign_in::{SignIn, use_sign_in};
use crate::credentials::Authorization;
use crate::draft;
use crate::embed::announce;
use crate::form::{Action, FormState, input_id, parse_field_path};
use crate::options::EditorOptions;
use crate::session::{LoadState, Session, SessionAction};

/// Properties of the [`App`].
#[derive(Debug, Properties, PartialEq)]
pub struct AppProps {
    /// How the editor was started.
    pub options: Rc<EditorOptions>,
    /// The element the editor is mounted in; `contacts-saved` and
    /// `contacts-failed` events are dispatched on it.
    pub host: Element,
}

fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// Loads a customer's contacts, with the draft this tab kept for it on top.
fn loaded(customer: &EzpayId, contacts: Vec<ContactDraft>) -> Action {
    Action::Load {
        draft: draft::load(customer).map(Box::new),
        customer: customer.clone(),
        contacts,
    }
}

/// The editor.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let options = &props.options;
    let form = use_reducer(FormState::default);
    let session = use_reducer(|| {
        Session::new(
            options
                .authorization
                .as_deref()
                .and_then(Authorization::given),
            options.profile_id(),
            EzpayId::parse(&options.ezpay_id).ok(),
        )
    });
    let customer_bar_state = use_customer_bar(&options.ezpay_id);
    let sign_in_state = use_sign_in();
    // The embedding page's contacts serve the first load only.
    let initial_contacts = use_mut_ref(|| options.contacts.clone());
    // The customer whose contacts are awaited, so that a late answer for
    // another customer is dropped.
    let awaited = use_mut_ref(|| None::<EzpayId>);
    // Set synchronously, unlike state, so that a double click cannot send twice.
    let sending = use_mut_ref(|| false);

    let config = session
        .authorization
        .clone()
        .map(|authorization| ApiConfig {
            api_base: options.api_base.clone(),
            profile_id: session.profile_id.clone(),
            authorization,
        });

    {
        let deps = (session.customer.clone(), config.is_some(), session.loads);
        let (form, session) = (form.dispatcher(), session.dispatcher());
        let (initial_contacts, awaited, config) =
            (initial_contacts.clone(), awaited.clone(), config.clone());
        use_effect_with(deps, move |(customer, _, _)| {
            let Some(customer) = customer.clone() else {
                return;
            };
            if let Some(contacts) = initial_contacts.borrow_mut().take() {
                form.dispatch(loaded(&customer, contacts));
                session.dispatch(SessionAction::Loaded { status: None });
                return;
            }
            let Some(config) = config else {
                return;
            };
            *awaited.borrow_mut() = Some(customer.clone());
            session.dispatch(SessionAction::LoadStarted);
            form.dispatch(Action::BeginLoad);
            spawn_local(async move {
                let answer = api::fetch_contacts(&config, &customer).await;
                if awaited.borrow().as_ref() != Some(&customer) {
                    return;
                }
                match answer {
                    Ok(found) => {
                        form.dispatch(loaded(&customer, found.contacts));
                        session.dispatch(SessionAction::Loaded {
                            status: found.status,
                        });
                    }
                    Err(envelope) => {
                        form.dispatch(loaded(&customer, Vec::new()));
                        session.dispatch(SessionAction::LoadFailed(envelope));
                    }
                }
            });
        });
    }

    // The unsaved edits follow every change into the tab's storage.
    use_effect_with(form.clone(), |form| {
        if let Some(customer) = &form.customer {
            if form.is_changed() {
                draft::save(customer, &form.draft());
            } else {
                draft::clear(customer);
            }
        }
    });

    let send = {
        let (form, session) = (form.dispatcher(), session.dispatcher());
        let (sending, host, config) = (sending.clone(), props.host.clone(), config.clone());
        Callback::from(move |submission: Submission| {
            let Some(config) = config.clone() else {
                return;
            };
            if *sending.borrow() {
                return;
            }
            *sending.borrow_mut() = true;
            session.dispatch(SessionAction::SaveStarted);
            let (form, session, sending, host) =
                (form.clone(), session.clone(), sending.clone(), host.clone());
            spawn_local(async move {
                let outcome = api::save_contacts(&config, &submission).await;
                let envelope = api::outcome_envelope(&outcome, &submission.tracking_id);
                match &envelope {
                    Envelope::Success { .. } => {
                        form.dispatch(Action::MarkSaved(submission.request.clone()));
                        draft::clear(&submission.customer);
                    }
                    Envelope::Failure { error, .. } => {
                        form.dispatch(Action::AttachServerErrors(error.errors.clone()));
                    }
                }
                announce(&host, &envelope);
                let retry = api::may_pass_on_retry(&outcome).then_some(submission);
                *sending.borrow_mut() = false;
                session.dispatch(SessionAction::SaveEnded {
                    answer: envelope,
                    retry,
                });
            });
        })
    };

    let onsave = {
        let (form, refuse, send) = (form.clone(), session.dispatcher(), send.clone());
        let unsettled = session.save.retry.clone();
        Callback::from(move |()| {
            let checked = if form.loading {
                Err(vec!["Wait for the current contacts to load.".to_owned()])
            } else if let Some(customer) = form.customer.clone() {
                validate_request(&form.request_draft())
                    .map(|request| (customer, request))
                    .map_err(|errors| {
                        form.dispatch(Action::RevealErrors);
                        if let Some((t, field)) = errors
                            .as_slice()
                            .iter()
                            .find_map(|e| parse_field_path(&e.path))
                        {
                            focus(&input_id(t, field));
                        }
                        errors
                            .as_slice()
                            .iter()
                            .filter(|e| parse_field_path(&e.path).is_none())
                            .map(|e| e.message.clone())
                            .collect()
                    })
            } else {
                Err(vec!["Load a customer before saving.".to_owned()])
            };
            match checked {
                Err(messages) => refuse.dispatch(SessionAction::Refused(Some(messages))),
                Ok((customer, request)) => {
                    refuse.dispatch(SessionAction::Refused(None));
                    let submission = Submission::new(customer, request, api::new_tracking_id())
                        .resuming(unsettled.as_ref());
                    send.emit(submission);
                }
            }
        })
    };

    let onkeydown = {
        let onsave = onsave.clone();
        Callback::from(move |e: KeyboardEvent| {
            if (e.ctrl_key() || e.meta_key()) && e.key() == "Enter" {
                e.prevent_default();
                onsave.emit(());
            }
        })
    };

    let dispatch = session.dispatcher().to_callback();
    let status = match &session.load {
        LoadState::Loaded { status } => status.clone().map(AttrValue::from),
        _ => None,
    };
    let customer_bar = CustomerBar {
        state: customer_bar_state,
        profile_id: session.profile_id.clone().into(),
        status,
        busy: session.save.in_flight,
        onload: dispatch.reform(SessionAction::OpenCustomer),
        onprofile: dispatch.reform(SessionAction::SetProfile),
    }
    .view();
    if session.authorization.is_none() {
        let sign_in = SignIn {
            state: sign_in_state,
            onsignin: dispatch.reform(SessionAction::SignIn),
            error: session.sign_in_error.clone().map(AttrValue::from),
        };
        return html! {
            <div class="contacts-editor">
                <h1>{ "Customer contacts" }</h1>
                { customer_bar }
                { sign_in.view() }
            </div>
        };
    }

    let editable = form.is_editable();
    let panel = |contact_type: ContactType, children: Html| {
        ContactForm {
            contact_type,
            form: &form,
            dispatch: form.dispatcher(),
            children,
        }
        .view()
    };
    let copy = form
        .dispatcher()
        .to_callback()
        .reform(|_: MouseEvent| Action::CopyBillingToService);
    let load_notice = match &session.load {
        _ if form.loading => {
            html! { <p class="notice" role="status">{ "Loading the current contacts…" }</p> }
        }
        LoadState::Failed(envelope) => load_failure(envelope),
        LoadState::Idle if session.customer.is_none() => html! {
            <p class="notice">{ "Enter an eZpayID and press Load customer to edit its contacts." }</p>
        },
        LoadState::Idle | LoadState::Loaded { .. } => html! {},
    };
    let save = &session.save;
    let onretry = save
        .retry
        .clone()
        .map(|submission| send.reform(move |()| submission.clone()));
    let save_click = onsave.reform(|_: MouseEvent| ());

    html! {
        <div class="contacts-editor" {onkeydown}>
            <h1>{ "Customer contacts" }</h1>
            { customer_bar }
            { load_notice }
            if form.draft_restored {
                <p id="draft-notice" class="notice" role="status">
                    { "Unsaved changes to this customer's contacts were restored from this browser tab." }
                </p>
            }
            <div class="panels">
                { panel(ContactType::Billing, html! {}) }
                { panel(ContactType::Service, html! {
                    <button type="button" onclick={copy} disabled={!editable}>{ "Copy billing to service" }</button>
                }) }
            </div>
            if form.prefilled {
                { change_summary(&form.changes()) }
            }
            <div class="save-bar">
                <button type="button" class="primary" onclick={save_click} disabled={save.in_flight || form.loading}>
                    { "Save" }
                </button>
                <span class="hint">{ "or Ctrl+Enter" }</span>
                if save.in_flight {
                    <span class="saving" role="status">{ "Saving…" }</span>
                }
            </div>
            if let Some(messages) = &session.refused {
                <div class="refused" role="alert">
                    <p>{ "Not saved: correct the fields marked below." }</p>
                    if !messages.is_empty() {
                        <ul>{ for messages.iter().map(|m| html! { <li>{ m.clone() }</li> }) }</ul>
                    }
                </div>
            }
            if let Some(envelope) = &save.answer {
                { ResultPanel {
                    envelope,
                    onretry,
                    busy: save.in_flight,
                    copied: session.copied.as_deref(),
                    oncopied: dispatch.reform(SessionAction::Copied),
                }.view() }
            }
        </div>
    }
}

/// Why the current contacts could not be loaded; the panels stay editable.
fn load_failure(envelope: &Envelope) -> Html {
    let Some(error) = envelope.error() else {
        return html! {};
    };
    html! {
        <div id="load-error" class="notice notice-error" role="alert">
            <p>{ format!("The current contacts could not be loaded: {} {}.", error.code, error.message) }</p>
            <ul>{ for error.errors.iter().map(|e| html! { <li>{ e.message.clone() }</li> }) }</ul>
        </div>
    }
}
