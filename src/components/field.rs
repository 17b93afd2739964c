//! One labelled input with its error, wired for assistive technology.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// A labelled input; an error sets `aria-invalid` and is tied by
/// `aria-describedby`.
///
/// It has no state, so it is rendered by [`TextField::view`] inside its
/// parent rather than as a component of its own: each component type costs
/// the editor's download a copy of Yew's lifecycle code.
#[derive(Debug, Default)]
pub struct TextField {
    /// The input's id; its error's id is this with `-error` added.
    pub id: AttrValue,
    /// The label, which is the input's accessible name.
    pub label: &'static str,
    /// The value shown.
    pub value: AttrValue,
    /// The error to show, if any.
    pub error: Option<AttrValue>,
    /// The input's `type`; `text` when `None`.
    pub input_type: Option<&'static str>,
    /// The input's `inputmode`, the keyboard that touch devices show.
    pub inputmode: Option<&'static str>,
    /// The input's `autocomplete`; `off` when `None`.
    pub autocomplete: Option<&'static str>,
    /// Whether the field must be filled in.
    pub required: bool,
    /// Whether the value differs from the loaded one.
    pub changed: bool,
    /// Whether the input is locked (while the values it would edit load).
    pub disabled: bool,
    /// Called with the new value as the person types.
    pub oninput: Callback<String>,
    /// Called when the input loses focus.
    pub onleave: Callback<()>,
}

impl TextField {
    /// The field's markup.
    pub fn view(self) -> Html {
        let error_id = format!("{}-error", self.id);
        let emit = self.oninput;
        let oninput = Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            emit.emit(input.value());
        });
        let onblur = self.onleave.reform(|_: FocusEvent| ());
        let invalid = self.error.is_some();
        html! {
            <div class="field">
                <label for={self.id.clone()}>{ self.label }</label>
                <input
                    id={self.id}
                    type={self.input_type.unwrap_or("text")}
                    inputmode={self.inputmode}
                    autocomplete={self.autocomplete.unwrap_or("off")}
                    spellcheck="false"
                    aria-required={self.required.then_some("true")}
                    aria-invalid={invalid.then_some("true")}
                    data-changed={self.changed.then_some("true")}
                    aria-describedby={invalid.then(|| error_id.clone())}
                    value={self.value}
                    disabled={self.disabled}
                    {oninput}
                    {onblur}
                />
                if let Some(error) = self.error {
                    <p id={error_id} class="field-error">{ error }</p>
                }
            </div>
        }
    }
}
