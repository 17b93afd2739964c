//! The one error type of the API; every failure becomes a contract envelope.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contacts_model::{Envelope, ErrorItem, EzpayId, TrackingId, ValidationError, ValidationErrors};
use serde::Serialize;

use crate::store::StoreError;

/// The response header that echoes the tracking id on every API response.
pub const TRACKING_ID_HEADER: HeaderName = HeaderName::from_static("request-tracking-id");

/// What went wrong, independent of who asked.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The request is malformed or invalid; the items say where and why.
    BadRequest(Vec<ErrorItem>),
    /// Missing or wrong credentials.
    Unauthorized,
    /// A bearer token refused, for this reason.
    TokenRefused(&'static str),
    /// No bearer token where the server takes no other credentials.
    TokenRequired,
    /// A write sent by a page of another site (cross-site request forgery).
    CrossSite,
    /// A preflight from a page of an origin not configured as a console.
    CrossOrigin,
    /// The ProfileId names no configured source.
    SourceNotConfigured,
    /// The ProfileId exists but is not one of this user's.
    ProfileNotGranted(String),
    /// Too many password checks for this user name or client address; try
    /// again after the duration.
    TooManyLogins(Duration),
    /// The password checks are queued too long; try again shortly.
    Busy,
    /// No customer has this eZpayID.
    CustomerNotFound(EzpayId),
    /// No route has this path.
    RouteNotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// A request with this tracking id is being processed right now.
    InFlight,
    /// This tracking id was already used for a different request.
    TrackingIdReused,
    /// `If-Match` named a version of the contacts that is no longer current;
    /// the current one goes in the answer's `ETag`.
    PreconditionFailed(u64),
    /// The body is larger than the limit.
    PayloadTooLarge(usize),
    /// The body is not declared as JSON.
    UnsupportedMediaType,
    /// The client did not send the whole body in time.
    RequestTimeout,
    /// A fault of the server; the details are logged, not sent.
    Internal,
    /// The database cannot be reached now; the details are logged.
    DatabaseUnavailable,
}

impl Failure {
    fn status(&self) -> StatusCode {
        match self {
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::Unauthorized | Failure::TokenRefused(_) | Failure::TokenRequired => {
                StatusCode::UNAUTHORIZED
            }
            Failure::CrossSite | Failure::CrossOrigin | Failure::ProfileNotGranted(_) => {
                StatusCode::FORBIDDEN
            }
            Failure::SourceNotConfigured | Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Failure::TooManyLogins(_) => StatusCode::TOO_MANY_REQUESTS,
            Failure::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Failure::CustomerNotFound(_) | Failure::RouteNotFound => StatusCode::NOT_FOUND,
            Failure::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Failure::InFlight => StatusCode::CONFLICT,
            Failure::TrackingIdReused => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Failure::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Failure::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Failure::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The contract's short description for `error.message`.
    fn summary(&self) -> &'static str {
        match self {
            Failure::BadRequest(_) => "Bad Request",
            Failure::Unauthorized | Failure::TokenRefused(_) | Failure::TokenRequired => {
                "Unauthorized"
            }
            Failure::CrossSite | Failure::CrossOrigin | Failure::ProfileNotGranted(_) => {
                "Forbidden"
            }
            Failure::SourceNotConfigured | Failure::Internal | Failure::DatabaseUnavailable => {
                "Service Error"
            }
            Failure::TooManyLogins(_) => "Too Many Requests",
            Failure::Busy => "Service Unavailable",
            Failure::CustomerNotFound(_) | Failure::RouteNotFound => "Not Found",
            Failure::MethodNotAllowed => "Method Not Allowed",
            Failure::InFlight => "Conflict",
            Failure::TrackingIdReused => "Unprocessable Entity",
            Failure::PreconditionFailed(_) => "Precondition Failed",
            Failure::PayloadTooLarge(_) => "Payload Too Large",
            Failure::UnsupportedMediaType => "Unsupported Media Type",
            Failure::RequestTimeout => "Request Timeout",
        }
    }

    /// The `Retry-After` seconds of a refusal that passes with time.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Failure::TooManyLogins(wait) => Some(retry_after_seconds(*wait)),
            Failure::Busy => Some(1),
            _ => None,
        }
    }

    fn items(self) -> Vec<ErrorItem> {
        let one = |m: String| vec![ErrorItem::message(m)];
        match self {
            Failure::BadRequest(items) => items,
            Failure::Unauthorized => one(
                "Sign in with a valid user and password (HTTP Basic authorization).".into(),
            ),
            Failure::TokenRefused(reason) => one(format!(
                "The bearer token was refused: {reason}. Sign in again to get a new one."
            )),
            Failure::TokenRequired => one(
                "Send a bearer token of the configured issuer (Authorization: Bearer …)."
                    .into(),
            ),
            Failure::CrossSite => one(
                "Writes are accepted from this server's own pages and the configured console origins only."
                    .into(),
            ),
            Failure::CrossOrigin => one(
                "Pages of other origins may call the API only from the configured console origins."
                    .into(),
            ),
            Failure::SourceNotConfigured => one("Source not configured".into()),
            Failure::ProfileNotGranted(profile_id) => one(format!(
                "This user may not use the ProfileId {profile_id}; send one of the user's own."
            )),
            Failure::TooManyLogins(wait) => one(format!(
                "Too many sign-in attempts for this user or from this address; try again in {} s.",
                retry_after_seconds(wait)
            )),
            Failure::Busy => one(
                "The server is checking too many passwords right now; try again in a moment."
                    .into(),
            ),
            Failure::CustomerNotFound(id) => one(format!("No customer has the eZpayID {id}.")),
            Failure::RouteNotFound => one("No resource has this address.".into()),
            Failure::MethodNotAllowed => one("This resource does not accept this method.".into()),
            Failure::InFlight => one(
                "A request with this Request-Tracking-Id is being processed; wait for its answer."
                    .into(),
            ),
            Failure::TrackingIdReused => one(
                "This Request-Tracking-Id was already used for a different request; send a new one."
                    .into(),
            ),
            Failure::PreconditionFailed(version) => one(format!(
                "The contacts changed since they were loaded (If-Match); they are now at version \"{version}\" (ETag). Load them again, merge, and send the update with the new If-Match."
            )),
            Failure::PayloadTooLarge(limit) => {
                one(format!("The body is larger than {limit} bytes."))
            }
            Failure::UnsupportedMediaType => {
                one("Send the body as JSON with 'Content-Type: application/json'.".into())
            }
            Failure::RequestTimeout => {
                one("The body did not arrive in time; send the request again.".into())
            }
            Failure::Internal => one("The server failed; try again later.".into()),
            Failure::DatabaseUnavailable => one(
                "The database is unavailable; nothing was saved. Try again in a moment.".into(),
            ),
        }
    }
}

impl From<StoreError> for Failure {
    /// Logs the error, whose details stay on the server.
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failed");
        match error {
            StoreError::Unavailable(_) => Failure::DatabaseUnavailable,
            StoreError::Failed(_) => Failure::Internal,
        }
    }
}

/// Whole seconds, rounded up, at least 1.
fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl From<ValidationErrors> for Failure {
    fn from(errors: ValidationErrors) -> Self {
        Failure::BadRequest(errors.into_iter().map(ErrorItem::from).collect())
    }
}

impl From<ValidationError> for Failure {
    fn from(error: ValidationError) -> Self {
        Failure::BadRequest(vec![error.into()])
    }
}

/// A failure answering one request: rendered as a Failure envelope that
/// echoes the request's tracking id, with the matching HTTP status.
///
/// A handler uses `?` on what converts to a [`Failure`] (a [`StoreError`]
/// among them): the error then names no tracking id, and the tracking
/// middleware, which holds the request's, renders it ([`render_untracked`]).
#[derive(Debug)]
pub struct AppError {
    /// What went wrong.
    pub failure: Failure,
    /// The tracking id to echo; `None` for the request's own.
    pub tracking_id: Option<TrackingId>,
}

impl<F: Into<Failure>> From<F> for AppError {
    fn from(failure: F) -> Self {
        AppError {
            failure: failure.into(),
            tracking_id: None,
        }
    }
}

/// A failure answered without its tracking id, which the tracking
/// middleware renders again with it.
#[derive(Debug, Clone)]
struct Untracked(Failure);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let Some(tracking_id) = &self.tracking_id else {
            // The envelope without an id, should no middleware know it.
            let mut response = render(self.failure.clone(), None);
            response.extensions_mut().insert(Untracked(self.failure));
            return response;
        };
        render(self.failure, Some(tracking_id))
    }
}

/// The response of a handler, with a failure that named no tracking id
/// rendered again with the request's.
pub fn render_untracked(mut response: Response, tracking_id: &TrackingId) -> Response {
    match response.extensions_mut().remove::<Untracked>() {
        Some(Untracked(failure)) => render(failure, Some(tracking_id)),
        None => response,
    }
}

/// The Failure envelope of `failure`, echoing `tracking_id`.
fn render(failure: Failure, tracking_id: Option<&TrackingId>) -> Response {
    let status = failure.status();
    let retry_after = failure.retry_after();
    let version = match failure {
        Failure::PreconditionFailed(version) => Some(version),
        _ => None,
    };
    let envelope = Envelope::failure(
        tracking_id.map(TrackingId::to_string),
        status.as_u16().to_string(),
        failure.summary(),
        failure.items(),
    );
    let mut response = with_etag(json_response(status, &envelope, tracking_id), version);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A response with the contacts' version as its `ETag`, where there is one:
/// a strong entity tag holding the decimal version, such as `"3"`.
pub fn with_etag(mut response: Response, version: Option<u64>) -> Response {
    if let Some(version) = version
        && let Ok(value) = HeaderValue::from_str(&format!("\"{version}\""))
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// A JSON response that echoes the tracking id in a header and is never cached.
pub fn json_response<'a>(
    status: StatusCode,
    body: &impl Serialize,
    tracking_id: impl Into<Option<&'a TrackingId>>,
) -> Response {
    // Serialising these plain data types cannot fail; the fallback keeps the
    // envelope promise even so.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| {
        br#"{"status":"Failure","error":{"code":"500","message":"Service Error","errors":[]}}"#
            .to_vec()
    });
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(value) = tracking_id
        .into()
        .and_then(|id| HeaderValue::from_str(id.as_str()).ok())
    {
        headers.insert(TRACKING_ID_HEADER, value);
    }
    response
}
