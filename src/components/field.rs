//! One labelled input with its error, wired for assistive technology.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of a [`TextField`].
#[derive(Debug, Properties, PartialEq)]
pub struct TextFieldProps {
    /// The input's id; its error's id is this with `-error` added.
    pub id: AttrValue,
    /// The label, which is the input's accessible name.
    pub label: AttrValue,
    /// The value shown.
    pub value: AttrValue,
    /// The error to show, if any.
    #[prop_or_default]
    pub error: Option<AttrValue>,
    /// The input's `type`.
    #[prop_or(AttrValue::Static("text"))]
    pub input_type: AttrValue,
    /// The input's `inputmode`, the keyboard that touch devices show.
    #[prop_or_default]
    pub inputmode: Option<AttrValue>,
    /// The input's `autocomplete`.
    #[prop_or(AttrValue::Static("off"))]
    pub autocomplete: AttrValue,
    /// Whether the field must be filled in.
    #[prop_or_default]
    pub required: bool,
    /// Whether the value differs from the loaded one.
    #[prop_or_default]
    pub changed: bool,
    /// Whether the input is locked (while the values it would edit load).
    #[prop_or_default]
    pub disabled: bool,
    /// Called with the new value as the person types.
    pub oninput: Callback<String>,
    /// Called when the input loses focus.
    #[prop_or_default]
    pub onleave: Callback<()>,
}

/// A labelled input; an error sets `aria-invalid` and is tied by `aria-describedby`.
#[function_component(TextField)]
pub fn text_field(props: &TextFieldProps) -> Html {
    let error_id = format!("{}-error", props.id);
    let oninput = {
        let emit = props.oninput.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            emit.emit(input.value());
        })
    };
    let onblur = props.onleave.reform(|_: FocusEvent| ());
    let invalid = props.error.is_some();
    html! {
        <div class={classes!("field", props.changed.then_some("field-changed"), invalid.then_some("field-invalid"))}>
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <input
                id={props.id.clone()}
                type={props.input_type.clone()}
                inputmode={props.inputmode.clone()}
                autocomplete={props.autocomplete.clone()}
                spellcheck="false"
                aria-required={props.required.then_some("true")}
                aria-invalid={invalid.then_some("true")}
                aria-describedby={invalid.then(|| error_id.clone())}
                value={props.value.clone()}
                disabled={props.disabled}
                {oninput}
                {onblur}
            />
            if let Some(error) = &props.error {
                <p id={error_id} class="field-error">{ error.clone() }</p>
            }
        </div>
    }
}
