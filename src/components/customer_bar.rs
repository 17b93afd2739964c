//! The customer being edited: eZpayID, ProfileId and the account's status.

use contacts_model::EzpayId;
use yew::prelude::*;

use crate::components::field::TextField;

/// Properties of a [`CustomerBar`].
#[derive(Debug, Properties, PartialEq)]
pub struct CustomerBarProps {
    /// The eZpayID to show at first (from the URL or the embedding options).
    pub initial_ezpay_id: AttrValue,
    /// The ProfileId in use.
    pub profile_id: AttrValue,
    /// The customer's status (active, inactive, cancelled), once loaded.
    #[prop_or_default]
    pub status: Option<AttrValue>,
    /// Whether loading another customer is refused for now (a save is in flight).
    #[prop_or_default]
    pub busy: bool,
    /// Called with a valid eZpayID to load.
    pub onload: Callback<EzpayId>,
    /// Called as the ProfileId is edited.
    pub onprofile: Callback<String>,
}

/// The customer bar: eZpayID (validated by the model), ProfileId and status.
#[function_component(CustomerBar)]
pub fn customer_bar(props: &CustomerBarProps) -> Html {
    let ezpay_id = use_state(|| props.initial_ezpay_id.to_string());
    let checked = use_state(|| false);
    let error = EzpayId::parse(&ezpay_id).err().filter(|_| *checked);
    let onsubmit = {
        let (ezpay_id, checked, onload) = (ezpay_id.clone(), checked.clone(), props.onload.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            checked.set(true);
            if let Ok(id) = EzpayId::parse(&ezpay_id) {
                onload.emit(id);
            }
        })
    };
    let onleave = {
        let checked = checked.clone();
        Callback::from(move |()| checked.set(true))
    };
    let value = (*ezpay_id).clone();
    let oninput = Callback::from(move |v| ezpay_id.set(v));
    html! {
        <form class="customer-bar" aria-label="Customer" {onsubmit} novalidate=true>
            <TextField
                id="ezpay-id"
                label="eZpayID"
                {value}
                inputmode="numeric"
                required=true
                error={error.map(|e| AttrValue::from(e.message))}
                {oninput}
                {onleave}
            />
            <TextField
                id="profile-id"
                label="ProfileId"
                value={props.profile_id.clone()}
                oninput={props.onprofile.clone()}
            />
            <button type="submit" disabled={props.busy}>{ "Load customer" }</button>
            if let Some(status) = &props.status {
                <p class="customer-status">{ "Customer status: " }<strong>{ status.clone() }</strong></p>
            }
        </form>
    }
}
