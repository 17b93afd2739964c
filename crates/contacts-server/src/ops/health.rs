//! `GET /healthz`: whether the server can read its database, and how the
//! delivery to each target goes: pending count, oldest pending age, dead
//! count, whether it is held (no URL), and `degraded` past the thresholds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use contacts_model::Status;
use serde::Serialize;

use crate::config::{DeliverySettings, HealthThresholds};
use crate::http::error::{AppError, json_response};
use crate::http::tracking::RequestContext;
use crate::store::{Store, TargetQueue, every_target};

/// The health route.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Arc<DeliverySettings>: FromRef<S>,
{
    Router::new().route("/healthz", get(health))
}

/// The Success envelope, with the delivery figures.
#[derive(Debug, Serialize)]
struct Health<'a> {
    status: Status,
    request_tracking_id: &'a str,
    /// Whether any target is past a threshold.
    degraded: bool,
    targets: BTreeMap<String, TargetHealth>,
}

#[derive(Debug, Serialize)]
struct TargetHealth {
    held: bool,
    pending: u64,
    oldest_pending_age_s: Option<f64>,
    dead: u64,
    degraded: bool,
}

impl TargetHealth {
    fn new(queue: &TargetQueue, held: bool, thresholds: &HealthThresholds) -> Self {
        let degraded = queue.pending > thresholds.max_pending
            || queue.dead > thresholds.max_dead
            || queue
                .oldest_pending_age
                .is_some_and(|age| age > thresholds.max_oldest_pending);
        Self {
            held,
            pending: queue.pending,
            oldest_pending_age_s: queue.oldest_pending_age.map(|age| age.as_secs_f64()),
            dead: queue.dead,
            degraded,
        }
    }
}

async fn health(
    State(store): State<Arc<dyn Store>>,
    State(delivery): State<Arc<DeliverySettings>>,
    context: RequestContext,
) -> Result<Response, AppError> {
    store.ping().await?;
    let queues = store.target_queues(SystemTime::now()).await?;
    let targets: BTreeMap<String, TargetHealth> = every_target(queues)
        .iter()
        .map(|queue| {
            let held = delivery
                .targets
                .iter()
                .any(|t| t.name == queue.target && t.url.is_none());
            (
                queue.target.clone(),
                TargetHealth::new(queue, held, &delivery.health),
            )
        })
        .collect();
    let body = Health {
        status: Status::Success,
        request_tracking_id: context.tracking_id.as_str(),
        degraded: targets.values().any(|t| t.degraded),
        targets,
    };
    Ok(json_response(StatusCode::OK, &body, &context.tracking_id))
}
