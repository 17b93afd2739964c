//! Save, its keyboard hint, and why the last Save was refused before sending.

use yew::prelude::*;

use crate::form::Refusal;

/// The Save button and what it has to say, rendered by [`SaveBar::view`]
/// inside the app (no component of its own, see
/// [`TextField`](crate::components::field::TextField)).
#[derive(Debug)]
pub struct SaveBar<'a> {
    /// Whether a submission is on its way.
    pub sending: bool,
    /// Whether Save is locked for another reason (the contacts are loading).
    pub locked: bool,
    /// Why the last Save was refused before sending, if it was.
    pub refusal: Option<&'a Refusal>,
    /// Called when the agent presses Save.
    pub onsave: Callback<()>,
}

impl SaveBar<'_> {
    /// The bar's markup, and the refusal below it.
    pub fn view(self) -> Html {
        let onclick = self.onsave.reform(|_: MouseEvent| ());
        html! {
            <>
                <div class="save-bar">
                    <button type="button" class="primary" {onclick} disabled={self.sending || self.locked}>
                        { "Save" }
                    </button>
                    <span class="hint">{ "or Ctrl+Enter" }</span>
                    if self.sending {
                        <span class="saving" role="status">{ "Saving…" }</span>
                    }
                </div>
                if let Some(refusal) = self.refusal {
                    <div class="refused" role="alert">
                        <p>{ "Not saved: correct the fields marked below." }</p>
                        if !refusal.messages.is_empty() {
                            <ul>{ for refusal.messages.iter().map(|m| html! { <li>{ m.clone() }</li> }) }</ul>
                        }
                    </div>
                }
            </>
        }
    }
}
