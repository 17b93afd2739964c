//! What a save will change, old value → new value.

use yew::prelude::*;

use crate::panel::Change;

fn shown(value: Option<&String>) -> Html {
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
                <span class="what">{ format!("{} {}: ", c.contact_type.label(), c.field.label().to_ascii_lowercase()) }</span>
                { shown(c.old.as_ref()) }
                <span class="arrow" aria-hidden="true">{ " → " }</span>
                <span class="visually-hidden">{ " becomes " }</span>
                { shown(c.new.as_ref()) }
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
