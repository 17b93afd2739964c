//! The answer to a save, inline: Success with its tracking id, or Failure
//! with its code, message and every detailed error.

use contacts_model::Envelope;
use wasm_bindgen::JsValue;
use yew::prelude::*;

/// Properties of a [`ResultPanel`].
#[derive(Debug, Properties, PartialEq)]
pub struct ResultPanelProps {
    /// The envelope of the last save.
    pub envelope: Envelope,
    /// Called to send the same submission again, where that may pass.
    #[prop_or_default]
    pub onretry: Option<Callback<()>>,
    /// Whether a save is in flight (Retry is then disabled).
    #[prop_or_default]
    pub busy: bool,
}

/// Copies text to the clipboard where the browser allows it (a secure page).
fn copy_to_clipboard(text: &str) -> bool {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return false;
    };
    let has_clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if has_clipboard {
        // The promise is left alone: the id stays on screen if the copy fails.
        let _ = navigator.clipboard().write_text(text);
    }
    has_clipboard
}

#[derive(Debug, Properties, PartialEq)]
struct TrackingIdProps {
    id: Option<AttrValue>,
}

/// The tracking id with a button that copies it.
#[function_component(TrackingId)]
fn tracking_id(props: &TrackingIdProps) -> Html {
    let copied = use_state(|| false);
    let Some(id) = props.id.clone() else {
        return html! { <p>{ "The answer carries no tracking id." }</p> };
    };
    let onclick = {
        let (id, copied) = (id.clone(), copied.clone());
        Callback::from(move |_: MouseEvent| copied.set(copy_to_clipboard(&id)))
    };
    html! {
        <p class="tracking">
            { "Tracking id: " }
            <code id="tracking-id">{ id }</code>
            { " " }
            <button type="button" class="link" {onclick}>
                { if *copied { "Copied" } else { "Copy tracking id" } }
            </button>
        </p>
    }
}

/// `#result`: role `status` for a Success, `alert` for a Failure.
#[function_component(ResultPanel)]
pub fn result_panel(props: &ResultPanelProps) -> Html {
    let tracking = props.envelope.request_tracking_id().map(AttrValue::from);
    match &props.envelope {
        Envelope::Success { .. } => html! {
            <div id="result" class="result result-success" role="status">
                <p class="result-status"><strong>{ "Success" }</strong>{ ": the contacts were saved." }</p>
                <TrackingId id={tracking} />
            </div>
        },
        Envelope::Failure { error, .. } => {
            let items = error
                .errors
                .iter()
                .map(|e| html! { <li>{ e.message.clone() }</li> });
            let retry = props.onretry.as_ref().map(|onretry| {
                let onclick = onretry.reform(|_: MouseEvent| ());
                html! { <button type="button" {onclick} disabled={props.busy}>{ "Retry" }</button> }
            });
            html! {
                <div id="result" class="result result-failure" role="alert">
                    <p class="result-status"><strong>{ "Failure" }</strong>{ ": the contacts were not saved." }</p>
                    <p class="error-summary">
                        <span class="error-code">{ error.code.clone() }</span>{ " " }
                        <span class="error-message">{ error.message.clone() }</span>
                    </p>
                    if !error.errors.is_empty() {
                        <ul class="error-list">{ for items }</ul>
                    }
                    <TrackingId id={tracking} />
                    { for retry }
                </div>
            }
        }
    }
}
