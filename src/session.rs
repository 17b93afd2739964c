//! Who calls the API: the agent's credentials and the ProfileId. A
//! [`Reducible`] driven by [`SessionAction`]s, so that its rule (credentials
//! the service refused are forgotten, and the agent signs in again) is tested
//! on the host. The customer and what happened to its contacts are the
//! form's ([`FormState`](crate::form::FormState)).

use std::rc::Rc;

use yew::Reducible;

use crate::api::ApiConfig;
use crate::credentials::{Authorization, Signer};

/// What the sign-in form says after the service refused the credentials.
pub const SIGNED_OUT: &str = "The contacts service refused the user or password; sign in again.";

/// The agent's credentials, held in memory only.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Credentials {
    /// None yet: the agent signs in.
    #[default]
    Missing,
    /// The service refused the last ones: the agent signs in again.
    Refused,
    /// Credentials to send, or the console's `getToken` to ask for them.
    Given(Signer),
}

/// Who calls the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The agent's credentials.
    pub credentials: Credentials,
    /// The `ProfileId` header.
    pub profile_id: String,
}

/// What can happen to the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
    /// The agent signed in.
    SignIn(Authorization),
    /// The agent changed the ProfileId.
    SetProfile(String),
    /// The service refused the credentials: forget them.
    SignOut,
}

impl Session {
    /// A session as the editor starts: the console's credentials or
    /// `getToken`, if any, and a ProfileId.
    pub fn new(signer: Option<Signer>, profile_id: String) -> Self {
        Self {
            credentials: signer.map_or(Credentials::Missing, Credentials::Given),
            profile_id,
        }
    }

    /// Where and as whom to call the API, once the agent has credentials.
    pub fn api_config(&self, api_base: &str) -> Option<ApiConfig> {
        let Credentials::Given(signer) = &self.credentials else {
            return None;
        };
        Some(ApiConfig {
            api_base: api_base.to_owned(),
            profile_id: self.profile_id.clone(),
            signer: signer.clone(),
        })
    }
}

impl Reducible for Session {
    type Action = SessionAction;

    fn reduce(self: Rc<Self>, action: SessionAction) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        match action {
            SessionAction::SignIn(authorization) => {
                state.credentials = Credentials::Given(Signer::Fixed(authorization));
            }
            SessionAction::SetProfile(profile_id) => state.profile_id = profile_id,
            SessionAction::SignOut => state.credentials = Credentials::Refused,
        }
        Rc::new(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        let given = || {
            Credentials::Given(Signer::Fixed(
                Authorization::given("Basic b2NzdXNlcjpvY3N1c2Vy").unwrap(),
            ))
        };
        let other = Authorization::given("Basic YTpi").unwrap();
        let cases = [
            (
                Credentials::Missing,
                SessionAction::SignIn(other.clone()),
                Credentials::Given(Signer::Fixed(other.clone())),
            ),
            (
                Credentials::Refused,
                SessionAction::SignIn(other.clone()),
                Credentials::Given(Signer::Fixed(other.clone())),
            ),
            (given(), SessionAction::SignOut, Credentials::Refused),
            (
                given(),
                SessionAction::SetProfile("CAAG_999".into()),
                given(),
            ),
        ];
        for (before, action, after) in cases {
            let session = Rc::new(Session {
                credentials: before.clone(),
                profile_id: "CAAG_302".into(),
            });
            let reduced = session.reduce(action.clone());
            assert_eq!(reduced.credentials, after, "{before:?} {action:?}");
        }
    }

    #[test]
    fn calls_need_credentials_and_carry_the_profile() {
        let mut session = Session::new(None, "CAAG_302".into());
        assert_eq!(session.api_config(""), None);
        session.credentials = Credentials::Refused;
        assert_eq!(session.api_config(""), None);
        let session = Rc::new(Session::new(
            Some(Signer::Fixed(Authorization::given("Basic YTpi").unwrap())),
            "CAAG_302".into(),
        ))
        .reduce(SessionAction::SetProfile("CAAG_999".into()));
        let config = session.api_config("https://api").unwrap();
        assert_eq!(config.profile_id, "CAAG_999");
        assert_eq!(config.api_base, "https://api");
    }
}
