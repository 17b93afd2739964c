//! What a save will change, old value → new value.

use contacts_model::{ContactType, Field};
use yew::prelude::*;

use crate::panel::Change;

/// A field as people name it, such as `Billing work phone`.
pub fn field_name(contact_type: ContactType, field: Field) -> String {
    format!(
        "{} {}",
        contact_type.label(),
        field.label().to_ascii_lowercase()
    )
}

/// A value as shown, `(empty)` where there is none.
pub fn value(value: Option<&String>) -> Html {
    match value {
        Some(v) => html! { <span class="value">{ v.clone() }</span> },
        None => html! { <span class="value empty">{ "(empty)" }</span> },
    }
}

/// The list of changes a save will make (billing first); nothing when there
/// are none. A function rather than a component: it has no state.
pub fn change_summary(changes: &[Change]) -> Html {
    if changes.is_empty() {
        return html! {};
    }
    let items = changes.iter().map(|c| {
        html! {
            <li>
                <span class="what">{ field_name(c.contact_type, c.field) }{ ": " }</span>
                { value(c.old.as_ref()) }
                <span class="arrow" aria-hidden="true">{ " → " }</span>
                <span class="visually-hidden">{ " becomes " }</span>
                { value(c.new.as_ref()) }
            </li>
        }
    });
    html! {
        <section class="change-summary" aria-labelledby="changes-heading">
            <h2 id="changes-heading">{ "Changes to save" }</h2>
            <ul>{ for items }</ul>
        </section>
    }
}
