//! The tracking id of every request, and the log span that carries it.

use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use contacts_model::{ErrorItem, TrackingId};
use tracing::Instrument;

use crate::http::error::{AppError, Failure, TRACKING_ID_HEADER};

/// The tracking id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The id echoed in the response.
    pub tracking_id: TrackingId,
    /// Whether the client sent it in the header, or the server made it up.
    pub from_header: bool,
}

impl RequestContext {
    /// An error answering this request.
    pub fn fail(&self, failure: impl Into<Failure>) -> AppError {
        AppError {
            failure: failure.into(),
            tracking_id: self.tracking_id.clone(),
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
                    tracking_id: generate(),
                }
            })
    }
}

/// Middleware: reads or makes the tracking id, opens the log span that puts
/// it on every line, and logs the outcome of the request.
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
    let (context, header_error) = match header {
        Some(Ok(tracking_id)) => (
            RequestContext {
                tracking_id,
                from_header: true,
            },
            None,
        ),
        Some(Err(item)) => (
            RequestContext {
                tracking_id: generate(),
                from_header: false,
            },
            Some(item),
        ),
        None => (
            RequestContext {
                tracking_id: generate(),
                from_header: false,
            },
            None,
        ),
    };
    let span = tracing::info_span!(
        "request",
        tracking_id = context.tracking_id.as_str(),
        method = %request.method(),
        path = request.uri().path(),
    );
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
        request.extensions_mut().insert(context);
        let response = next.run(request).await;
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
