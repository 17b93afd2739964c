//! The tracking id of every request, its trace context (W3C Trace Context,
//! `trace_context.rs`), and the span that carries both onto every log line.
//! They travel with the request (an extension), and the middleware renders
//! with the id the failures that handlers return with `?`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use contacts_model::{ErrorItem, TrackingId};
use opentelemetry::trace::SpanContext;
use tracing::Instrument;

use crate::http::error::{AppError, Failure, TRACKING_ID_HEADER, render_untracked};
use crate::http::trace_context;

/// The tracking id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The id echoed in the response.
    pub tracking_id: TrackingId,
    /// Whether the client sent it in the header, or the server made it up.
    pub from_header: bool,
    /// The request's span in its trace: the caller's trace (its
    /// `traceparent`), or a new one.
    pub trace: SpanContext,
    /// The id of the body where it [settled](Self::settle) there, shared
    /// with the middleware that renders the failures.
    from_body: Arc<OnceLock<TrackingId>>,
}

impl RequestContext {
    /// An error answering this request.
    pub fn fail(&self, failure: impl Into<Failure>) -> AppError {
        AppError {
            failure: failure.into(),
            tracking_id: Some(self.tracking_id.clone()),
        }
    }

    fn new(tracking_id: TrackingId, from_header: bool) -> Self {
        Self {
            tracking_id,
            from_header,
            trace: SpanContext::empty_context(),
            from_body: Arc::default(),
        }
    }

    /// Settles the tracking id once the body is read: the header's, else the
    /// body's, else the generated one. A header and a body that disagree are
    /// a bad request.
    pub fn settle(&mut self, in_body: Option<&TrackingId>) -> Result<(), AppError> {
        match in_body {
            Some(body_id) if self.from_header && *body_id != self.tracking_id => {
                Err(self.fail(Failure::BadRequest(vec![ErrorItem {
                    message: "The Request-Tracking-Id header and request_tracking_id in the body differ; send one id.".into(),
                    field: Some("request_tracking_id".into()),
                    code: None,
                }])))
            }
            Some(body_id) if !self.from_header => {
                self.tracking_id = body_id.clone();
                let _ = self.from_body.set(body_id.clone());
                tracing::Span::current().record("tracking_id", body_id.as_str());
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl<S: Sync> FromRequestParts<S> for RequestContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!("the tracking middleware is missing from this route");
                AppError {
                    failure: Failure::Internal,
                    tracking_id: Some(generate()),
                }
            })
    }
}

/// Middleware: reads or makes the tracking id, takes the `traceparent` (a
/// malformed one starts a new trace, as a missing one does), opens the span
/// that puts both on every line, renders with the id the failures that named
/// none, and logs the outcome of the request.
pub async fn track(mut request: Request, next: Next) -> Response {
    let header = request.headers().get(TRACKING_ID_HEADER).map(|v| {
        v.to_str()
            .map_err(|_| ())
            .and_then(|s| TrackingId::parse(s).map_err(|e| tracing::debug!(%e)))
            .map_err(|()| {
                ErrorItem::message(
                    "The Request-Tracking-Id may hold only letters, digits, '-', '_', '.' and ':', at most 64.",
                )
            })
    });
    let (mut context, header_error) = match header {
        Some(Ok(tracking_id)) => (RequestContext::new(tracking_id, true), None),
        Some(Err(item)) => (RequestContext::new(generate(), false), Some(item)),
        None => (RequestContext::new(generate(), false), None),
    };
    let span = tracing::info_span!(
        "request",
        tracking_id = context.tracking_id.as_str(),
        trace_id = tracing::field::Empty,
        method = %request.method(),
        path = request.uri().path(),
    );
    let caller = trace_context::from_headers(request.headers());
    context.trace = trace_context::start(&span, caller.as_ref());
    async move {
        if let Some(item) = header_error {
            return context
                .fail(Failure::BadRequest(vec![ErrorItem {
                    field: Some("request_tracking_id".into()),
                    ..item
                }]))
                .into_response();
        }
        let started = Instant::now();
        let from_body = Arc::clone(&context.from_body);
        let header_id = context.tracking_id.clone();
        request.extensions_mut().insert(context);
        let response = next.run(request).await;
        let response = render_untracked(response, from_body.get().unwrap_or(&header_id));
        tracing::info!(
            status = response.status().as_u16(),
            micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "served"
        );
        response
    }
    .instrument(span)
    .await
}

/// A fresh tracking id for a request that came without one: `srv-` and 16
/// random hexadecimal digits, so that it can be told from a client's.
pub fn generate() -> TrackingId {
    let mut bytes = [0u8; 8];
    // The operating system's generator does not fail on the platforms served;
    // should it, the clock still gives a usable, if guessable, id.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos as u64).to_be_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match TrackingId::parse(&format!("srv-{hex}")) {
        Ok(id) => id,
        Err(_) => unreachable!("srv- and hexadecimal digits form a valid tracking id"),
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::middleware::from_fn;
    use axum::routing::post;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;

    /// What a store call returning an error comes to.
    fn unavailable() -> Result<(), Failure> {
        Err(Failure::DatabaseUnavailable)
    }

    /// Settles the body's id, then fails with `?`, naming no tracking id.
    async fn settles_then_fails(mut context: RequestContext) -> Result<Response, AppError> {
        let id = TrackingId::parse("from-body-1").map_err(|e| context.fail(e))?;
        context.settle(Some(&id))?;
        unavailable()?;
        Ok(StatusCode::OK.into_response())
    }

    async fn answer(request: Request) -> (StatusCode, Option<String>, Value) {
        let app = Router::new()
            .route("/", post(settles_then_fails))
            .layer(from_fn(track));
        let Ok(response) = app.oneshot(request).await;
        let status = response.status();
        let header = response
            .headers()
            .get(TRACKING_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        let body = serde_json::from_slice(&body).expect("an envelope");
        (status, header, body)
    }

    #[tokio::test]
    async fn a_failure_returned_with_question_mark_echoes_the_settled_id() {
        let request = Request::post("/").body(Body::empty()).expect("a request");
        let (status, header, body) = answer(request).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header.as_deref(), Some("from-body-1"));
        assert_eq!(body["request_tracking_id"], "from-body-1");
        assert_eq!(body["error"]["code"], "503");
    }

    #[tokio::test]
    async fn a_body_id_other_than_the_header_one_is_refused_with_the_header_one() {
        let request = Request::post("/")
            .header(TRACKING_ID_HEADER, "from-header-1")
            .body(Body::empty())
            .expect("a request");
        let (status, header, body) = answer(request).await;
        // The body's id differs from the header's: a bad request, echoing the header's.
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(header.as_deref(), Some("from-header-1"));
        assert_eq!(body["request_tracking_id"], "from-header-1");
    }
}
