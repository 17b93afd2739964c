//! `If-Match` on `POST …/contacts`: the version of the customer's contacts
//! an update was made from, so that it is applied only if nothing changed
//! since (else 412). The header is optional, so that the contract's POST
//! stays valid as documented.
//!
//! This API's entity tags are strong and hold the decimal version, such as
//! `"3"`, as `GET …/contacts` gives them in `ETag`. `If-Match` takes exactly
//! one of them, or `*` (any version: the same as no header). Anything else is
//! a bad request that says what to send: a weak tag (`W/"3"`, which RFC 9110
//! would let never match, so that the client could only loop on 412), a list
//! of tags, or text that is not one of this API's tags.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use contacts_model::ErrorItem;

use crate::http::error::{AppError, Failure};
use crate::http::tracking::RequestContext;

/// The version an update requires the contacts to be at; `None` where any
/// will do (no `If-Match`, or `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let mut values = parts.headers.get_all(header::IF_MATCH).iter();
        let parsed = match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(value), None) => parse(value.to_str().unwrap_or_default()),
            (Some(_), Some(_)) => Err(ONE_TAG),
        };
        match parsed {
            Ok(version) => Ok(IfMatch(version)),
            Err(why) => {
                let context = RequestContext::from_request_parts(parts, state).await?;
                Err(context.fail(Failure::BadRequest(vec![ErrorItem::message(why)])))
            }
        }
    }
}

const ONE_TAG: &str = "Send one If-Match header with one ETag, such as \"3\", not a list.";

/// Reads an `If-Match` value: `Some(version)` for `"N"`, `None` for `*`.
fn parse(value: &str) -> Result<Option<u64>, &'static str> {
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    if value.contains(',') {
        return Err(ONE_TAG);
    }
    if value.starts_with("W/") {
        return Err(
            "If-Match takes the strong ETag that GET gave, such as \"3\"; a weak tag (W/…) cannot be compared: load the contacts again.",
        );
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
        .map(Some)
        .ok_or(
            "If-Match takes the ETag that GET …/contacts gave, a version in double quotes such as \"3\", or *.",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_strong_tag_or_any() {
        let cases = [
            ("\"3\"", Ok(Some(3))),
            (" \"18446744073709551615\" ", Ok(Some(u64::MAX))),
            ("*", Ok(None)),
            ("3", Err("version in double quotes")),
            ("\"\"", Err("version in double quotes")),
            ("\"-1\"", Err("version in double quotes")),
            ("\"+1\"", Err("version in double quotes")),
            ("\"18446744073709551616\"", Err("version in double quotes")),
            ("\"abc\"", Err("version in double quotes")),
            ("\"3", Err("version in double quotes")),
            ("", Err("version in double quotes")),
            ("W/\"3\"", Err("weak tag")),
            ("\"3\", \"4\"", Err("not a list")),
        ];
        for (value, expected) in cases {
            match (parse(value), expected) {
                (Ok(version), Ok(wanted)) => assert_eq!(version, wanted, "{value}"),
                (Err(why), Err(said)) => assert!(why.contains(said), "{value}: {why}"),
                (got, _) => panic!("{value}: {got:?}"),
            }
        }
    }
}
