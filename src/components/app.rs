//! The root component: customer bar, sign-in, both contact panels, the
//! summary of changes, Save, and the answer. It holds the two reducers and
//! the hooks that follow them, and renders; it decides nothing itself.

use std::rc::Rc;

use contacts_model::{ContactType, EzpayId};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use crate::api;
use crate::components::change_summary::change_summary;
use crate::components::conflict_list::conflict_list;
use crate::components::contact_form::ContactForm;
use crate::components::customer_bar::{CustomerBar, use_customer_bar};
use crate::components::load_notice::load_notice;
use crate::components::result_panel::ResultPanel;
use crate::components::save_bar::SaveBar;
use crate::components::sign_in::{SignIn, use_sign_in};
use crate::credentials::{Authorization, Signer};
use crate::form::{Action, FormState, SaveState, input_id};
use crate::hooks::{
    use_announce_dirty, use_keep_draft, use_load_contacts, use_open_given, use_save,
};
use crate::options::EditorOptions;
use crate::session::{Credentials, SIGNED_OUT, Session, SessionAction};

/// Properties of the [`App`].
#[derive(Debug, Clone, Properties, PartialEq)]
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

/// The editor.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let options = &props.options;
    // The console's getToken, where given, else its fixed credentials.
    let signer = options.get_token.clone().map(Signer::Host).or_else(|| {
        let given = options.authorization.as_deref()?;
        Authorization::given(given).map(Signer::Fixed)
    });
    let session = use_reducer(|| Session::new(signer, options.profile_id()));
    let config = session.api_config(&options.api_base);
    let form = use_reducer(|| {
        let customer = EzpayId::parse(&options.ezpay_id).ok();
        // The contacts, where the GET sent before the start brought them already.
        let ready = customer
            .as_ref()
            .zip(config.as_ref())
            .and_then(|(customer, config)| options.prefetched.ready(config, customer));
        let form = FormState::new(customer.clone());
        match (customer, ready) {
            (Some(customer), Some(contacts)) => {
                Rc::unwrap_or_clone(Rc::new(form).reduce(Action::ReceiveContacts {
                    customer,
                    contacts: Ok(contacts),
                    draft: None,
                }))
            }
            _ => form,
        }
    });
    // The contacts the embedding page gave, for the first load to take.
    let given = use_mut_ref(|| options.contacts.clone());
    let owner = use_state_eq(|| None);
    let customer_bar_state = use_customer_bar(&options.ezpay_id);
    let sign_in_state = use_sign_in();
    let (dispatcher, host) = (session.dispatcher(), props.host.clone());
    use_load_contacts(
        &form,
        dispatcher.clone(),
        config.clone(),
        given,
        owner.setter(),
        options.prefetched.clone(),
    );
    use_save(&form, dispatcher, config, (*owner).clone(), host);
    use_keep_draft(&form, (*owner).clone());
    use_announce_dirty(&form, props.host.clone());
    let bar = customer_bar_state.clone();
    use_open_given(
        &form,
        &options.ezpay_id,
        Callback::from(move |id| bar.show(id)),
    );

    let dispatch = form.dispatcher().to_callback();
    let onsave = {
        let form = form.clone();
        Callback::from(move |()| {
            form.dispatch(Action::Save {
                tracking_id: api::new_tracking_id(),
            });
            // The reducer has run: a refused save takes the agent to the first field at fault.
            if let Some((t, field)) = form.refusal.as_ref().and_then(|r| r.first_field) {
                focus(&input_id(t, field));
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

    let sending = form.save.sending().is_some();
    let shown = form.load.shown();
    let status = shown
        .and_then(|s| s.outcome.clone().ok().flatten())
        .map(AttrValue::from);
    let on_session = session.dispatcher().to_callback();
    let customer_bar = CustomerBar {
        state: customer_bar_state,
        profile_id: session.profile_id.clone().into(),
        status,
        busy: sending,
        onload: dispatch.reform(Action::Open),
        onprofile: on_session.reform(SessionAction::SetProfile),
    }
    .view();
    if !matches!(session.credentials, Credentials::Given(_)) {
        let sign_in = SignIn {
            state: sign_in_state,
            onsignin: on_session.reform(SessionAction::SignIn),
            error: (session.credentials == Credentials::Refused).then_some(SIGNED_OUT.into()),
        };
        return html! {
            <div class="contacts-editor">
                <h1>{ "Customer contacts" }</h1>
                { customer_bar }
                { sign_in.view() }
            </div>
        };
    }

    let panel = |contact_type: ContactType, children: Html| {
        ContactForm {
            contact_type,
            form: &form,
            dispatch: form.dispatcher(),
            children,
        }
        .view()
    };
    let copy = dispatch.reform(|_: MouseEvent| Action::CopyBillingToService);
    let loading = form.load.awaited().is_some();
    let result = match &form.save {
        SaveState::Answered {
            answer,
            retry,
            copied,
        } => ResultPanel {
            envelope: answer,
            onretry: retry.is_some().then(|| dispatch.reform(|()| Action::Retry)),
            copied: *copied,
            oncopied: dispatch.reform(Action::MarkCopied),
        }
        .view(),
        SaveState::Idle | SaveState::Sending(_) => html! {},
    };

    html! {
        <div class="contacts-editor" {onkeydown}>
            <h1>{ "Customer contacts" }</h1>
            { customer_bar }
            { load_notice(&form.load) }
            if shown.is_some_and(|s| s.draft_restored) {
                <p id="draft-notice" class="notice" role="status">
                    { "Unsaved changes to this customer's contacts were restored from this browser tab." }
                </p>
            }
            { conflict_list(&form, &dispatch) }
            <div class="panels">
                { panel(ContactType::Billing, html! {}) }
                { panel(ContactType::Service, html! {
                    <button type="button" onclick={copy} disabled={!form.is_editable()}>{ "Copy billing to service" }</button>
                }) }
            </div>
            if shown.is_some_and(|s| s.prefilled) {
                { change_summary(&form.changes()) }
            }
            { SaveBar { sending, locked: loading, refusal: form.refusal.as_ref(), onsave }.view() }
            { result }
        </div>
    }
}
