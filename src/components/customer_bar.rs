//! The customer being edited: eZpayID, ProfileId and the account's status.

use contacts_model::EzpayId;
use yew::prelude::*;

use crate::components::field::TextField;

/// What the agent has typed in the customer bar, kept by the app through
/// [`use_customer_bar`] (the bar is no component of its own, see [`TextField`]).
#[derive(Debug, Clone)]
pub struct CustomerBarState {
    ezpay_id: UseStateHandle<String>,
    /// Whether the eZpayID was left or submitted once, so its error shows.
    checked: UseStateHandle<bool>,
}

/// The customer bar's state, starting from the eZpayID of the URL or the
/// embedding options.
#[hook]
pub fn use_customer_bar(initial_ezpay_id: &str) -> CustomerBarState {
    let initial = initial_ezpay_id.to_owned();
    CustomerBarState {
        ezpay_id: use_state(move || initial),
        checked: use_state(|| false),
    }
}

impl CustomerBarState {
    /// Shows an eZpayID the embedding page opened.
    pub fn show(&self, ezpay_id: String) {
        self.ezpay_id.set(ezpay_id);
    }
}

/// The customer bar: eZpayID (validated by the model), ProfileId and status.
#[derive(Debug)]
pub struct CustomerBar {
    /// What the agent has typed.
    pub state: CustomerBarState,
    /// The ProfileId in use.
    pub profile_id: AttrValue,
    /// The customer's status (active, inactive, cancelled), once loaded.
    pub status: Option<AttrValue>,
    /// Whether loading another customer is refused for now (a save is in flight).
    pub busy: bool,
    /// Called with a valid eZpayID to load.
    pub onload: Callback<EzpayId>,
    /// Called as the ProfileId is edited.
    pub onprofile: Callback<String>,
}

impl CustomerBar {
    /// The bar's markup.
    pub fn view(self) -> Html {
        let CustomerBarState { ezpay_id, checked } = self.state;
        let error = EzpayId::parse(&ezpay_id).err().filter(|_| *checked);
        let onsubmit = {
            let (ezpay_id, checked, onload) = (ezpay_id.clone(), checked.clone(), self.onload);
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                checked.set(true);
                if let Ok(id) = EzpayId::parse(&ezpay_id) {
                    onload.emit(id);
                }
            })
        };
        let ezpay_field = TextField {
            id: "ezpay-id".into(),
            label: "eZpayID",
            value: (*ezpay_id).clone().into(),
            inputmode: Some("numeric"),
            required: true,
            error: error.map(|e| AttrValue::from(e.message)),
            onleave: Callback::from(move |()| checked.set(true)),
            oninput: Callback::from(move |v| ezpay_id.set(v)),
            ..TextField::default()
        };
        let profile_field = TextField {
            id: "profile-id".into(),
            label: "ProfileId",
            value: self.profile_id,
            oninput: self.onprofile,
            ..TextField::default()
        };
        html! {
            <form class="customer-bar" aria-label="Customer" {onsubmit} novalidate=true>
                { ezpay_field.view() }
                { profile_field.view() }
                <button type="submit" disabled={self.busy}>{ "Load customer" }</button>
                if let Some(status) = self.status {
                    <p class="customer-status">{ "Customer status: " }<strong>{ status }</strong></p>
                }
            </form>
        }
    }
}
