//! Everything the editor knows besides the form: who is signed in, which
//! customer is open, how its load and the last save went. A [`Reducible`]
//! driven by [`SessionAction`]s, like [`FormState`](crate::form::FormState),
//! so that its rules (a refused credential signs the agent out) are tested
//! on the host; one reducer rather than a hook per value also keeps the
//! editor's download smaller.

use std::rc::Rc;

use contacts_model::{Envelope, EzpayId};
use yew::Reducible;

use crate::api::{Submission, is_unauthorized};
use crate::credentials::Authorization;

/// What the sign-in form says after the service refused the credentials.
pub const SIGNED_OUT: &str = "The contacts service refused the user or password; sign in again.";

/// How the last load of the current contacts ended; a load under way is
/// [`FormState::loading`](crate::form::FormState::loading).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LoadState {
    /// Nothing loaded yet, or a load under way.
    #[default]
    Idle,
    /// Loaded, with the customer's status where the API gave it.
    Loaded {
        /// `active`, `inactive` or `cancelled`.
        status: Option<String>,
    },
    /// The load failed; the panels stay editable.
    Failed(Envelope),
}

/// The last save: its answer and, where it is unsettled (it may have reached
/// the server, and may pass if sent again), the submission. Retry sends that
/// submission again, and so does a Save of the same request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SaveState {
    /// Whether a save is on its way.
    pub in_flight: bool,
    /// The answer to the last save.
    pub answer: Option<Envelope>,
    /// The last submission, while it is unsettled.
    pub retry: Option<Submission>,
}

/// The editor's state besides the form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// The agent's credentials, in memory only.
    pub authorization: Option<Authorization>,
    /// Why the agent was signed out, shown on the sign-in form.
    pub sign_in_error: Option<String>,
    /// The `ProfileId` header.
    pub profile_id: String,
    /// The customer whose contacts are shown.
    pub customer: Option<EzpayId>,
    /// Counts the agent's loads, so that loading the same customer again
    /// fetches its contacts again.
    pub loads: u32,
    /// How the last load ended.
    pub load: LoadState,
    /// The last save.
    pub save: SaveState,
    /// Why the last Save was refused before sending: the messages that
    /// belong to no field (empty where every error has its field).
    pub refused: Option<Vec<String>>,
    /// The tracking id last copied to the clipboard.
    pub copied: Option<String>,
}

/// What can happen to the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
    /// The agent signed in (or the console gave credentials).
    SignIn(Authorization),
    /// The agent changed the ProfileId.
    SetProfile(String),
    /// The agent asked for a customer's contacts.
    OpenCustomer(EzpayId),
    /// A load of the contacts began.
    LoadStarted,
    /// The contacts arrived.
    Loaded {
        /// The customer's status, if the API gave it.
        status: Option<String>,
    },
    /// The contacts could not be loaded.
    LoadFailed(Envelope),
    /// A Save was refused before sending (`Some`) or passed the checks (`None`).
    Refused(Option<Vec<String>>),
    /// A submission was sent.
    SaveStarted,
    /// A submission's answer came, with the submission where it is unsettled.
    SaveEnded {
        /// The server's envelope, or the editor's own for a failed call.
        answer: Envelope,
        /// The submission, where sending it again may pass.
        retry: Option<Submission>,
    },
    /// A tracking id was copied to the clipboard (`None`: the copy failed).
    Copied(Option<String>),
}

impl Session {
    /// A session as the editor starts: the console's credentials, if any,
    /// a ProfileId, and the customer of the URL or the options, if valid.
    pub fn new(
        authorization: Option<Authorization>,
        profile_id: String,
        customer: Option<EzpayId>,
    ) -> Self {
        Self {
            authorization,
            profile_id,
            customer,
            ..Self::default()
        }
    }

    /// Forgets refused credentials, so that the agent signs in again.
    fn sign_out_if_refused(&mut self, envelope: &Envelope) {
        if is_unauthorized(envelope) {
            self.authorization = None;
            self.sign_in_error = Some(SIGNED_OUT.to_owned());
        }
    }
}

impl Reducible for Session {
    type Action = SessionAction;

    fn reduce(self: Rc<Self>, action: SessionAction) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        match action {
            SessionAction::SignIn(authorization) => {
                state.authorization = Some(authorization);
                state.sign_in_error = None;
            }
            SessionAction::SetProfile(profile_id) => state.profile_id = profile_id,
            SessionAction::OpenCustomer(customer) => {
                state.customer = Some(customer);
                state.loads = state.loads.wrapping_add(1);
            }
            SessionAction::LoadStarted => state.load = LoadState::Idle,
            SessionAction::Loaded { status } => state.load = LoadState::Loaded { status },
            SessionAction::LoadFailed(envelope) => {
                state.sign_out_if_refused(&envelope);
                state.load = LoadState::Failed(envelope);
            }
            SessionAction::Refused(messages) => state.refused = messages,
            SessionAction::SaveStarted => state.save.in_flight = true,
            SessionAction::SaveEnded { answer, retry } => {
                state.sign_out_if_refused(&answer);
                state.save = SaveState {
                    in_flight: false,
                    answer: Some(answer),
                    retry,
                };
            }
            SessionAction::Copied(id) => state.copied = id,
        }
        Rc::new(state)
    }
}

#[cfg(test)]
mod tests {
    use contacts_model::ErrorItem;

    use super::*;

    fn signed_in() -> Rc<Session> {
        Rc::new(Session::new(
            Some(Authorization::basic("ocsuser", "ocsuser")),
            "CAAG_302".into(),
            None,
        ))
    }

    fn failure(code: &str) -> Envelope {
        Envelope::failure(
            Some("t-1".into()),
            code.to_owned(),
            "Refused",
            vec![ErrorItem::message("detail")],
        )
    }

    #[test]
    fn refused_credentials_sign_the_agent_out_on_a_load_or_a_save() {
        for action in [
            SessionAction::LoadFailed(failure("401")),
            SessionAction::SaveEnded {
                answer: failure("401"),
                retry: None,
            },
        ] {
            let state = signed_in().reduce(action);
            assert_eq!(state.authorization, None);
            assert_eq!(state.sign_in_error.as_deref(), Some(SIGNED_OUT));
            let again = state.reduce(SessionAction::SignIn(Authorization::basic("a", "b")));
            assert!(again.authorization.is_some());
            assert_eq!(again.sign_in_error, None);
        }
        let state = signed_in().reduce(SessionAction::LoadFailed(failure("500")));
        assert!(state.authorization.is_some());
        assert!(matches!(state.load, LoadState::Failed(_)));
    }

    #[test]
    fn opening_the_same_customer_again_is_a_new_load() {
        let customer = EzpayId::parse("000010000005008").unwrap();
        let first = signed_in().reduce(SessionAction::OpenCustomer(customer.clone()));
        let second = first
            .clone()
            .reduce(SessionAction::OpenCustomer(customer.clone()));
        assert_eq!(second.customer, Some(customer));
        assert_ne!(first.loads, second.loads);
    }

    #[test]
    fn a_save_is_in_flight_until_its_answer_comes() {
        let sent = signed_in().reduce(SessionAction::SaveStarted);
        assert!(sent.save.in_flight);
        let answered = sent.reduce(SessionAction::SaveEnded {
            answer: failure("503"),
            retry: None,
        });
        assert!(!answered.save.in_flight);
        assert_eq!(answered.save.answer, Some(failure("503")));
    }
}
