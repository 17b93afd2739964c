//! `GET /healthz`: whether the server can read its database.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use contacts_model::Envelope;

use crate::app::AppState;
use crate::error::{AppError, Failure, json_response};
use crate::tracking::RequestContext;

/// The health route.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(health))
}

async fn health(
    State(state): State<AppState>,
    context: RequestContext,
) -> Result<Response, AppError> {
    let store = Arc::clone(&state.store);
    let checked = tokio::task::spawn_blocking(move || store.ping())
        .await
        .map_err(|e| e.to_string())
        .and_then(|pinged| pinged.map_err(|e| e.to_string()));
    if let Err(error) = checked {
        tracing::error!(%error, "health check failed");
        return Err(context.fail(Failure::Internal));
    }
    Ok(json_response(
        StatusCode::OK,
        &Envelope::success(context.tracking_id.as_str()),
        &context.tracking_id,
    ))
}
