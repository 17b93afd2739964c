//! The answer to a save, inline: Success with its tracking id, or Failure
//! with its code, message and every detailed error.

use contacts_model::Envelope;
use wasm_bindgen::JsValue;
use yew::prelude::*;

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

/// `#result`: role `status` for a Success, `alert` for a Failure. Rendered
/// by [`ResultPanel::view`] inside the app (no component of its own, see
/// [`TextField`](crate::components::field::TextField)).
#[derive(Debug)]
pub struct ResultPanel<'a> {
    /// The envelope of the last save.
    pub envelope: &'a Envelope,
    /// Called to send the same submission again, where that may pass.
    pub onretry: Option<Callback<()>>,
    /// Whether the agent copied the tracking id, so that its button says "Copied".
    pub copied: bool,
    /// Called after a copy, with whether it worked.
    pub oncopied: Callback<bool>,
}

impl ResultPanel<'_> {
    /// The tracking id with a button that copies it.
    fn tracking_id(&self) -> Html {
        let Some(id) = self.envelope.request_tracking_id() else {
            return html! { <p>{ "The answer carries no tracking id." }</p> };
        };
        let onclick = {
            let id = id.to_owned();
            self.oncopied
                .reform(move |_: MouseEvent| copy_to_clipboard(&id))
        };
        html! {
            <p class="tracking">
                { "Tracking id: " }
                <code id="tracking-id">{ id.to_owned() }</code>
                { " " }
                <button type="button" class="link" {onclick}>
                    { if self.copied { "Copied" } else { "Copy tracking id" } }
                </button>
            </p>
        }
    }

    /// The panel's markup.
    pub fn view(self) -> Html {
        let tracking = self.tracking_id();
        match self.envelope {
            Envelope::Success { .. } => html! {
                <div id="result" class="result result-success" role="status">
                    <p class="result-status"><strong>{ "Success" }</strong>{ ": the contacts were saved." }</p>
                    { tracking }
                </div>
            },
            Envelope::Failure { error, .. } => {
                let items = error
                    .errors
                    .iter()
                    .map(|e| html! { <li>{ e.message.clone() }</li> });
                let retry = self.onretry.map(|onretry| {
                    let onclick = onretry.reform(|_: MouseEvent| ());
                    html! { <button type="button" {onclick}>{ "Retry" }</button> }
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
                        { tracking }
                        { for retry }
                    </div>
                }
            }
        }
    }
}
