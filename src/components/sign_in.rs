//! The standalone sign-in form. The credentials stay in memory only, and the
//! password is forgotten as soon as it is submitted.

use yew::prelude::*;

use crate::components::field::TextField;
use crate::credentials::Authorization;

/// What the agent has typed in the sign-in form, kept by the app through
/// [`use_sign_in`] (the form is no component of its own, see [`TextField`]).
#[derive(Clone)]
pub struct SignInState {
    user: UseStateHandle<String>,
    password: UseStateHandle<String>,
    missing_user: UseStateHandle<bool>,
}

impl std::fmt::Debug for SignInState {
    /// Shows nothing typed, so that no log can leak the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInState").finish_non_exhaustive()
    }
}

/// The sign-in form's state, empty at first.
#[hook]
pub fn use_sign_in() -> SignInState {
    SignInState {
        user: use_state(String::new),
        password: use_state(String::new),
        missing_user: use_state(|| false),
    }
}

/// A form with User and Password, and a Sign in button.
#[derive(Debug)]
pub struct SignIn {
    /// What the agent has typed.
    pub state: SignInState,
    /// Called with the agent's credentials.
    pub onsignin: Callback<Authorization>,
    /// Why the last credentials were refused, if they were.
    pub error: Option<AttrValue>,
}

impl SignIn {
    /// The form's markup.
    pub fn view(self) -> Html {
        let SignInState {
            user,
            password,
            missing_user,
        } = self.state;
        let onsubmit = {
            let (user, password, missing_user) =
                (user.clone(), password.clone(), missing_user.clone());
            let onsignin = self.onsignin;
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
        let user_field = TextField {
            id: "sign-in-user".into(),
            label: "User",
            value: (*user).clone().into(),
            autocomplete: Some("username"),
            required: true,
            error: missing_user.then_some(AttrValue::Static("Enter your user name.")),
            oninput: Callback::from(move |v| user.set(v)),
            ..TextField::default()
        };
        let password_field = TextField {
            id: "sign-in-password".into(),
            label: "Password",
            value: (*password).clone().into(),
            input_type: Some("password"),
            autocomplete: Some("current-password"),
            oninput: Callback::from(move |v| password.set(v)),
            ..TextField::default()
        };
        html! {
            <form class="sign-in" aria-labelledby="sign-in-heading" {onsubmit} novalidate=true>
                <h2 id="sign-in-heading">{ "Sign in to the contacts service" }</h2>
                if let Some(error) = self.error {
                    <p class="form-error" role="alert">{ error }</p>
                }
                { user_field.view() }
                { password_field.view() }
                <button type="submit" class="primary">{ "Sign in" }</button>
            </form>
        }
    }
}
