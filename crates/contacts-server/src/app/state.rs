//! The application's state, and the substates that the handlers and the
//! extractors take from it (axum's `FromRef`): each layer names only the
//! parts it needs, so that this module imports them and none of them imports
//! it back.

use std::sync::Arc;

use axum::extract::FromRef;
use tokio::sync::watch;

use crate::access::auth::Users;
use crate::access::caller::{Profiles, Schemes};
use crate::config::DeliverySettings;
use crate::contacts::ContactsState;
use crate::contacts::in_flight::InFlight;
use crate::http::web::Web;
use crate::ops::health::Probes;
use crate::store::Store;

/// Everything the routes share; each field is a substate of its own
/// (`#[derive(FromRef)]`).
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub users: Arc<Users>,
    /// Which credentials are taken, and the bearer tokens' issuer.
    pub schemes: Arc<Schemes>,
    pub profiles: Arc<Profiles>,
    pub in_flight: Arc<InFlight>,
    pub web: Arc<Web>,
    /// The targets, the relay's settings and the health thresholds.
    pub delivery: Arc<DeliverySettings>,
    /// Told after every applied update, so that the relay sends it at once
    /// rather than at its next poll.
    pub queued: Arc<watch::Sender<()>>,
    /// The database's answer and the queue figures, shared by the probes
    /// and the metrics.
    pub probes: Arc<Probes>,
}

impl FromRef<AppState> for ContactsState {
    fn from_ref(state: &AppState) -> Self {
        ContactsState {
            store: Arc::clone(&state.store),
            in_flight: Arc::clone(&state.in_flight),
            queued: Arc::clone(&state.queued),
        }
    }
}
