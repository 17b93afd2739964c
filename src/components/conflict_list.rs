//! The fields another change saved while the agent edited, each beside the
//! agent's value, with the choice of which to keep.

use contacts_model::Text;
use yew::prelude::*;

use crate::components::change_summary::{field_name, value};
use crate::form::{Action, FormState, input_id};
use crate::panel::same;

/// The conflicts of the form, one group of two radio buttons per field
/// (theirs, yours), which set the field's value; editing the field in its
/// panel is the third way. Nothing when there are none. A function rather
/// than a component: it has no state.
pub fn conflict_list(form: &FormState, dispatch: &Callback<Action>) -> Html {
    let conflicts = form.load.shown().map_or(&[][..], |s| &s.conflicts);
    if conflicts.is_empty() {
        return html! {};
    }
    let groups = conflicts.iter().map(|d| {
        let (t, field) = (d.contact_type, d.field);
        let current = form.panel(t).current.get(field);
        // The group's name may be the field's input id: names and ids do not meet.
        let name = input_id(t, field);
        let choice = |label: &str, choice: &Option<String>| {
            let text = choice.clone().unwrap_or_default();
            let checked = same(field, current, &Text::from(text.as_str()));
            // `input` fires when the agent checks a radio button, by mouse or
            // by the arrow keys; the editor listens to no `change` events, so
            // this keeps their listener code out of the download.
            let oninput =
                dispatch.reform(move |_: InputEvent| Action::Edit(t, field, text.clone()));
            html! {
                <label class="choice">
                    <input type="radio" name={name.clone()} {checked} {oninput} />
                    { label }{ value(choice.as_ref()) }
                </label>
            }
        };
        html! {
            <fieldset>
                <legend>{ field_name(t, field) }</legend>
                { choice("Theirs: ", &d.theirs) }
                { choice("Yours: ", &d.mine) }
            </fieldset>
        }
    });
    html! {
        <section id="conflicts" class="conflicts" aria-labelledby="conflicts-heading">
            <h2 id="conflicts-heading">{ "Changed by someone else" }</h2>
            <p>{ "Someone else saved these fields after your edits began; nothing was overwritten. For each, keep yours, take theirs or edit the field, then save again." }</p>
            { for groups }
        </section>
    }
}
