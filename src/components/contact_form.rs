//! One contact panel: Billing contact or Service contact.

use contacts_model::{ContactType, Field};
use yew::prelude::*;

use crate::components::field::TextField;
use crate::form::{Action, FormState, input_id};

/// A `<section>` named "Billing contact" or "Service contact" with the seven
/// fields, rendered by [`ContactForm::view`] inside the app (it has no state
/// of its own, see [`TextField`]).
#[derive(Debug)]
pub struct ContactForm<'a> {
    /// Which contact this panel edits.
    pub contact_type: ContactType,
    /// The whole form, whose panel of `contact_type` is shown.
    pub form: &'a FormState,
    /// Where the panel's edits go.
    pub dispatch: UseReducerDispatcher<FormState>,
    /// More actions, shown beside Reset; they are disabled with the panel by their owner.
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

impl ContactForm<'_> {
    /// The panel's markup. Its fields and actions are locked until the
    /// form [`is_editable`](FormState::is_editable), and it is `aria-busy`
    /// while the contacts load.
    pub fn view(self) -> Html {
        let t = self.contact_type;
        let form = self.form;
        let panel = form.panel(t);
        let disabled = !form.is_editable();
        let errors = panel.errors();
        let changed = panel.changed_fields();
        let heading_id = format!("{t}-heading");
        let dispatch = self.dispatch.to_callback();
        let fields = Field::ALL.into_iter().map(|field| {
            let (input_type, inputmode) = input_kind(field);
            TextField {
                id: input_id(t, field).into(),
                label: field.label(),
                value: panel.current.get(field).as_str().to_owned().into(),
                error: panel
                    .field_error(t, field, form.show_all_errors, errors.as_ref())
                    .map(AttrValue::from),
                input_type: Some(input_type),
                inputmode,
                required: field == Field::Name,
                changed: changed.contains(&field),
                disabled,
                oninput: dispatch.reform(move |value| Action::Edit(t, field, value)),
                onleave: dispatch.reform(move |()| Action::Leave(t, field)),
                ..TextField::default()
            }
            .view()
        });
        let onreset = dispatch.reform(move |_: MouseEvent| Action::Reset(t));
        html! {
            <section class="contact-panel" aria-labelledby={heading_id.clone()} aria-busy={form.load.awaited().is_some().then_some("true")}>
                <div class="panel-header">
                    <h2 id={heading_id}>{ format!("{} contact", t.label()) }</h2>
                    if !changed.is_empty() {
                        <span class="changed-marker">{ "Changed" }</span>
                    }
                </div>
                <div class="fields">{ for fields }</div>
                <div class="panel-actions">
                    <button type="button" onclick={onreset} {disabled}>{ format!("Reset {t}") }</button>
                    { self.children }
                </div>
            </section>
        }
    }
}
