//! Metrics in the Prometheus text format, served on a listener of their own
//! (`--metrics-addr`), never on the API's address. The HTTP metrics come from
//! `axum-prometheus`'s layer; the relay, the saves and the pruning record
//! theirs with the `metrics` macros; the queue gauges are the figures the
//! probes share, read from the store at most once a second.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_prometheus::metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use axum_prometheus::utils::SECONDS_DURATION_BUCKETS;
use axum_prometheus::{
    AXUM_HTTP_REQUESTS_DURATION_SECONDS, EndpointLabel, PrometheusMetricLayer,
    PrometheusMetricLayerBuilder,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Limits;
use crate::http::listen;
use crate::ops::health::Probes;

/// The bounds of `contacts_delivery_latency_seconds`: from a target that
/// answers at once to one that was down for an hour.
const DELIVERY_LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// The layer that counts HTTP requests by route and status, and times them.
/// It records nothing until [`Endpoint::bind`] installs the recorder.
pub fn http_layer() -> PrometheusMetricLayer<'static> {
    PrometheusMetricLayerBuilder::new()
        // Paths that match no route (static files, probes) share one label,
        // so that a scan of random paths cannot grow the metrics.
        .with_endpoint_label_type(EndpointLabel::MatchedPathWithFallbackFn(|_| {
            "fallback".to_owned()
        }))
        .build()
}

/// The metrics listener, bound and ready to serve.
#[derive(Debug)]
pub struct Endpoint {
    listener: TcpListener,
    scrape: Scrape,
}

#[derive(Debug, Clone)]
struct Scrape {
    handle: PrometheusHandle,
    probes: Arc<Probes>,
}

impl Endpoint {
    /// Installs the process's metrics recorder and binds `addr`.
    pub async fn bind(addr: SocketAddr, probes: Arc<Probes>) -> Result<Self, String> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(AXUM_HTTP_REQUESTS_DURATION_SECONDS.to_owned()),
                SECONDS_DURATION_BUCKETS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("contacts_delivery_latency_seconds".to_owned()),
                    DELIVERY_LATENCY_BUCKETS,
                )
            })
            .map_err(|e| format!("metrics: {e}"))?
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder)
            .map_err(|_| "metrics: a recorder is already installed in this process".to_owned())?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
        Ok(Self {
            listener,
            scrape: Scrape { handle, probes },
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, String> {
        self.listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))
    }

    /// Serves `GET /metrics` until `stop` changes.
    pub async fn serve(self, limits: Limits, mut stop: watch::Receiver<bool>) {
        let router = Router::new()
            .route("/metrics", get(scrape))
            .with_state(self.scrape);
        listen::serve(self.listener, router, &limits, async move {
            let _ = stop.changed().await;
        })
        .await;
    }
}

async fn scrape(State(scrape): State<Scrape>) -> Response {
    match scrape.probes.queues().await {
        Ok(queues) => {
            for queue in queues.iter() {
                let target = queue.target.clone();
                metrics::gauge!("contacts_deliveries_pending", "target" => target.clone())
                    .set(queue.pending as f64);
                metrics::gauge!("contacts_deliveries_dead", "target" => target.clone())
                    .set(queue.dead as f64);
                metrics::gauge!("contacts_deliveries_oldest_pending_age_seconds", "target" => target)
                    .set(queue.oldest_pending_age.map_or(0.0, |age| age.as_secs_f64()));
            }
        }
        // The store's error is logged where it was read.
        Err(_) => tracing::error!("cannot read the delivery queues for metrics"),
    }
    scrape.handle.run_upkeep();
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        scrape.handle.render(),
    )
        .into_response()
}
