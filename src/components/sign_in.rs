//! The standalone sign-in form. The credentials stay in memory only.

use yew::prelude::*;

use crate::components::field::TextField;
use crate::credentials::Authorization;

/// Properties of a [`SignIn`].
#[derive(Debug, Properties, PartialEq)]
pub struct SignInProps {
    /// Called with the agent's credentials.
    pub onsignin: Callback<Authorization>,
    /// Why the last credentials were refused, if they were.
    #[prop_or_default]
    pub error: Option<AttrValue>,
}

/// A form with User and Password, and a Sign in button.
#[function_component(SignIn)]
pub fn sign_in(props: &SignInProps) -> Html {
    let user = use_state(String::new);
    let password = use_state(String::new);
    let missing_user = use_state(|| false);
    let onsubmit = {
        let (user, password, missing_user) = (user.clone(), password.clone(), missing_user.clone());
        let onsignin = props.onsignin.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = user.trim();
            missing_user.set(name.is_empty());
            if !name.is_empty() {
                onsignin.emit(Authorization::basic(name, &password));
                password.set(String::new());
            }
        })
    };
    html! {
        <form class="sign-in" aria-labelledby="sign-in-heading" {onsubmit} novalidate=true>
            <h2 id="sign-in-heading">{ "Sign in to the contacts service" }</h2>
            if let Some(error) = &props.error {
                <p class="form-error" role="alert">{ error.clone() }</p>
            }
            <TextField
                id="sign-in-user"
                label="User"
                value={(*user).clone()}
                autocomplete="username"
                required=true
                error={missing_user.then_some(AttrValue::Static("Enter your user name."))}
                oninput={Callback::from(move |v| user.set(v))}
            />
            <TextField
                id="sign-in-password"
                label="Password"
                value={(*password).clone()}
                input_type="password"
                autocomplete="current-password"
                oninput={Callback::from(move |v| password.set(v))}
            />
            <button type="submit" class="primary">{ "Sign in" }</button>
        </form>
    }
}
