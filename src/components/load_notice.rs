//! How the load of the customer's contacts stands, where there is
//! something to say.

use yew::prelude::*;

use crate::form::LoadState;

/// The notice for a load: what to do first, that it is under way, or why it
/// failed (the panels then stay editable). A function rather than a
/// component: it has no state.
pub fn load_notice(load: &LoadState) -> Html {
    match load {
        LoadState::Idle => html! {
            <p class="notice">{ "Enter an eZpayID and press Load customer to edit its contacts." }</p>
        },
        LoadState::Loading { .. } => {
            html! { <p class="notice" role="status">{ "Loading the current contacts…" }</p> }
        }
        LoadState::Shown(shown) => {
            let Some(error) = shown.outcome.as_ref().err().and_then(|e| e.error()) else {
                return html! {};
            };
            html! {
                <div id="load-error" class="notice notice-error" role="alert">
                    <p>{ format!("The current contacts could not be loaded: {} {}.", error.code, error.message) }</p>
                    <ul>{ for error.errors.iter().map(|e| html! { <li>{ e.message.clone() }</li> }) }</ul>
                </div>
            }
        }
    }
}
