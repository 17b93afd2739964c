//! The probes. `GET /livez`: the process serves (no database). `GET
//! /readyz`: the database answers (migrations are done before the server
//! listens), else the 503 envelope. `GET /healthz`: whether the server can
//! read its database, and how the delivery to each target goes: pending
//! count, oldest pending age, dead count, whether it is held (no URL), and
//! `degraded` past the thresholds.
//!
//! The database's answer and the queue figures are read at most once per
//! [`MAX_AGE`] and shared by every probe and by `/metrics` ([`Probes`]), so
//! that probes, authenticated or not, cannot take the database's connections
//! from the API and the relay.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use contacts_model::{Envelope, Status};
use serde::Serialize;

use crate::config::{DeliverySettings, HealthThresholds};
use crate::http::error::{AppError, Failure, json_response};
use crate::http::tracking::RequestContext;
use crate::ops::recent::Recent;
use crate::store::{Store, TargetQueue, every_target};

/// How long a reading of the database serves the probes.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// The probes' routes.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Probes>: FromRef<S>,
    Arc<DeliverySettings>: FromRef<S>,
{
    Router::new()
        .route("/livez", get(live))
        .route("/readyz", get(ready))
        .route("/healthz", get(health))
}

/// What the probes and the metrics read from the database, each at most once
/// per [`MAX_AGE`].
#[derive(Debug)]
pub struct Probes {
    store: Arc<dyn Store>,
    ready: Recent<Result<(), Failure>>,
    queues: Recent<Result<Arc<[TargetQueue]>, Failure>>,
}

impl Probes {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            ready: Recent::new(MAX_AGE),
            queues: Recent::new(MAX_AGE),
        }
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> Result<(), Failure> {
        self.ready
            .get(|| async { self.store.ping().await.map_err(Failure::from) })
            .await
    }

    /// The figures of every target's queue, read at most [`MAX_AGE`] ago.
    pub async fn queues(&self) -> Result<Arc<[TargetQueue]>, Failure> {
        self.queues
            .get(|| async {
                let queues = self.store.target_queues(SystemTime::now()).await?;
                Ok(every_target(queues).into())
            })
            .await
    }
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

/// `GET /livez`: the Success envelope, whatever the database does.
async fn live(context: RequestContext) -> Response {
    let envelope = Envelope::success(context.tracking_id.as_str());
    json_response(StatusCode::OK, &envelope, &context.tracking_id)
}

/// `GET /readyz`: the Success envelope while the database answers, else the
/// 503 envelope.
async fn ready(
    State(probes): State<Arc<Probes>>,
    context: RequestContext,
) -> Result<Response, AppError> {
    probes
        .ready()
        .await
        .map_err(|failure| context.fail(failure))?;
    Ok(live(context).await)
}

async fn health(
    State(probes): State<Arc<Probes>>,
    State(delivery): State<Arc<DeliverySettings>>,
    context: RequestContext,
) -> Result<Response, AppError> {
    let queues = probes
        .queues()
        .await
        .map_err(|failure| context.fail(failure))?;
    let targets: BTreeMap<String, TargetHealth> = queues
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
