//! What every handler shares, in a module of its own so that the handlers and
//! `app.rs` (which builds the state and the router) need not import each other.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRef;
use tokio::sync::watch;

use crate::auth::Users;
use crate::config::Delivery;
use crate::contacts::InFlight;
use crate::store::Store;
use crate::web::Web;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub users: Arc<Users>,
    pub profiles: Arc<HashMap<String, String>>,
    pub in_flight: Arc<InFlight>,
    pub web: Arc<Web>,
    /// The targets, the relay's settings and the health thresholds.
    pub delivery: Arc<Delivery>,
    /// Told after every applied update, so that the relay sends it at once
    /// rather than at its next poll.
    pub queued: Arc<watch::Sender<()>>,
}

impl FromRef<AppState> for Arc<Web> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.web)
    }
}
