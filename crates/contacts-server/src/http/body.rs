//! The JSON body extractor: bounded, typed as JSON, parsed with the position
//! of any syntax error, and rejected with envelopes.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use contacts_model::{ErrorCode, ErrorItem, ValidationError};
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutError;

use crate::http::error::{AppError, Failure};
use crate::http::tracking::RequestContext;
use crate::http::unique_keys::UniqueKeys;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// A JSON object read from the request body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let (mut parts, body) = request.into_parts();
        let context = RequestContext::from_request_parts(&mut parts, state).await?;
        let declared_json = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !declared_json {
            return Err(context.fail(Failure::UnsupportedMediaType));
        }
        // A body declared too large is refused at once, not after the client
        // has trickled 16 KiB of it or the read deadline has passed.
        let declared_length = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > BODY_LIMIT as u64) {
            return Err(context.fail(Failure::PayloadTooLarge(BODY_LIMIT)));
        }
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    context.fail(Failure::PayloadTooLarge(BODY_LIMIT))
                } else if timed_out(&rejection) {
                    context.fail(Failure::RequestTimeout)
                } else {
                    context.fail(Failure::BadRequest(vec![ErrorItem::message(format!(
                        "The body could not be read: {}",
                        rejection.body_text()
                    ))]))
                }
            })?;
        parse(&bytes)
            .map(JsonBody)
            .map_err(|failure| context.fail(failure))
    }
}

/// Whether reading the body failed because the client was too slow.
fn timed_out(rejection: &BytesRejection) -> bool {
    let mut cause = std::error::Error::source(rejection);
    while let Some(error) = cause {
        if error.is::<TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Whether a Content-Type names JSON: `application/json`, any parameters allowed.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Parses a body that must be a JSON object without duplicate keys.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    let not_json = |e: serde_json::Error| {
        Failure::BadRequest(vec![ErrorItem::message(format!(
            "The body is not valid JSON: {e}."
        ))])
    };
    serde_json::from_slice::<UniqueKeys>(bytes).map_err(not_json)?;
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(not_json)?;
    if !value.is_object() {
        return Err(Failure::from(ValidationError::new(
            "",
            ErrorCode::RequestNotAnObject,
            "The body must be a JSON object with 'contacts'.",
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        Failure::BadRequest(vec![ErrorItem::message(format!(
            "The body does not have the expected shape: {e}."
        ))])
    })
}

#[cfg(test)]
mod tests {
    use contacts_model::RequestDraft;

    use super::*;

    #[test]
    fn knows_json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonp"));
        assert!(!is_json(""));
    }

    #[test]
    fn syntax_errors_give_their_position() {
        let Err(Failure::BadRequest(items)) = parse::<RequestDraft>(b"{\n  \"contacts\": [,]\n}")
        else {
            panic!("a syntax error must be a bad request");
        };
        assert!(
            items[0].message.contains("line 2 column 16"),
            "{}",
            items[0].message
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let body = br#"{"contacts": [{"type": "billing", "name": "A", "name": "B"}]}"#;
        let Err(Failure::BadRequest(items)) = parse::<RequestDraft>(body) else {
            panic!("a duplicate key must be a bad request");
        };
        assert!(
            items[0]
                .message
                .contains("the key 'name' appears twice in one object at line 1 column 53"),
            "{}",
            items[0].message
        );
    }

    #[test]
    fn only_objects_are_bodies() {
        for body in ["[]", "\"x\"", "12", "null"] {
            let Err(Failure::BadRequest(items)) = parse::<RequestDraft>(body.as_bytes()) else {
                panic!("{body} must be refused");
            };
            assert_eq!(
                items[0].code.as_deref(),
                Some("request.not_an_object"),
                "{body}"
            );
        }
    }
}
