//! One contact panel: Billing contact or Service contact.

use contacts_model::{ContactType, Field};
use yew::prelude::*;

use crate::components::field::TextField;
use crate::form::{Panel, input_id};

/// Properties of a [`ContactForm`].
#[derive(Debug, Properties, PartialEq)]
pub struct ContactFormProps {
    /// Which contact this panel edits.
    pub contact_type: ContactType,
    /// The contact as loaded and as edited.
    pub panel: Panel,
    /// Whether every error is shown (after a save attempt).
    pub show_all_errors: bool,
    /// Whether the fields and actions are locked (no customer loaded yet).
    #[prop_or_default]
    pub disabled: bool,
    /// Whether the contact is being loaded (`aria-busy`).
    #[prop_or_default]
    pub busy: bool,
    /// Called as the agent types in a field.
    pub onedit: Callback<(Field, String)>,
    /// Called when the agent leaves a field.
    pub onleave: Callback<Field>,
    /// Called to return the panel to its loaded values.
    pub onreset: Callback<()>,
    /// More actions, shown beside Reset; they are disabled with the panel by their owner.
    #[prop_or_default]
    pub children: Html,
}

/// The attributes that give each field the right keyboard and type.
fn input_kind(field: Field) -> (&'static str, Option<&'static str>) {
    match field {
        Field::Email => ("text", Some("email")),
        Field::WorkPhone | Field::MobilePhone | Field::Fax => ("tel", Some("tel")),
        Field::WorkPhoneExtension => ("text", Some("numeric")),
        Field::Name | Field::OrganizationName => ("text", None),
    }
}

/// A `<section>` named "Billing contact" or "Service contact" with the seven fields.
#[function_component(ContactForm)]
pub fn contact_form(props: &ContactFormProps) -> Html {
    let t = props.contact_type;
    let panel = &props.panel;
    let errors = panel.errors();
    let changed = panel.changed_fields();
    let heading_id = format!("{t}-heading");
    let fields = Field::ALL.into_iter().map(|field| {
        let (input_type, inputmode) = input_kind(field);
        let error = panel.field_error(t, field, props.show_all_errors, errors.as_ref());
        html! {
            <TextField
                key={field.json_name()}
                id={input_id(t, field)}
                label={field.label()}
                value={panel.current.get(field).as_str().to_owned()}
                error={error.map(AttrValue::from)}
                input_type={input_type}
                inputmode={inputmode.map(AttrValue::from)}
                required={field == Field::Name}
                changed={changed.contains(&field)}
                disabled={props.disabled}
                oninput={props.onedit.reform(move |value| (field, value))}
                onleave={props.onleave.reform(move |()| field)}
            />
        }
    });
    let onreset = props.onreset.reform(|_: MouseEvent| ());
    html! {
        <section class="contact-panel" aria-labelledby={heading_id.clone()} aria-busy={props.busy.then_some("true")}>
            <div class="panel-header">
                <h2 id={heading_id}>{ format!("{} contact", t.label()) }</h2>
                if !changed.is_empty() {
                    <span class="changed-marker">{ "Changed" }</span>
                }
            </div>
            <div class="fields">{ for fields }</div>
            <div class="panel-actions">
                <button type="button" onclick={onreset} disabled={props.disabled}>{ format!("Reset {t}") }</button>
                { props.children.clone() }
            </div>
        </section>
    }
}
