//! `If-Match` on `POST …/contacts`: the version of the customer's contacts
//! an update was made from, so that it is applied only if nothing changed
//! since (else 412). The header is optional, so that the contract's POST
//! stays valid as documented.
//!
//! This API's entity tags are strong and hold the decimal version, such as
//! `"3"`, as `GET …/contacts` gives them in `ETag`. `If-Match` takes exactly
//! one entity tag, or `*` (any version: the same as no header). A
//! well-formed strong tag that is no version of this API's (`"abc"`, `""`,
//! `"-1"`) matches no version, so, as RFC 9110 says, the update gets 412 with
//! the current version, like a stale one. Anything else is a bad request that
//! says what to send: a weak tag (`W/"3"`, which RFC 9110 would let never
//! match, so that the client could only loop on 412), a list of tags, or
//! text that is not an entity tag at all.

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
            (Some(value), None) => parse(value.as_bytes()),
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

/// A version that no contacts ever reach: both engines keep versions as
/// signed 64-bit integers. A strong tag that is not a version stands for it,
/// so that the store answers it as a stale version, in its order of checks.
const NO_VERSION: u64 = u64::MAX;

/// Reads an `If-Match` value: `Some(version)` for a strong tag (`"N"`, or
/// [`NO_VERSION`] for one that holds no version), `None` for `*`.
fn parse(value: &[u8]) -> Result<Option<u64>, &'static str> {
    let value = value.trim_ascii();
    if value == b"*" {
        return Ok(None);
    }
    if value.starts_with(b"W/") {
        return Err(
            "If-Match takes the strong ETag that GET gave, such as \"3\"; a weak tag (W/…) cannot be compared: load the contacts again.",
        );
    }
    // RFC 9110's `opaque-tag`: `"`, any visible character but `"` (or
    // obs-text), `"`.
    let tag = value.strip_prefix(b"\"").and_then(|rest| {
        let end = rest.iter().position(|&b| b == b'"')?;
        Some((&rest[..end], rest[end + 1..].trim_ascii_start()))
    });
    match tag {
        Some((opaque, []))
            if opaque.iter().all(|&b| b == 0x21 || b >= 0x23) && !opaque.contains(&0x7f) =>
        {
            Ok(Some(version(opaque).unwrap_or(NO_VERSION)))
        }
        Some((_, [b',', ..])) => Err(ONE_TAG),
        _ if value.contains(&b',') => Err(ONE_TAG),
        _ => Err(
            "If-Match takes the ETag that GET …/contacts gave, a version in double quotes such as \"3\", or *.",
        ),
    }
}

/// The version a tag's text holds: decimal digits only.
fn version(opaque: &[u8]) -> Option<u64> {
    if opaque.is_empty() || !opaque.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(opaque).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_strong_tag_or_any() {
        let huge = format!("\"{}\"", "9".repeat(8 * 1024));
        let cases: [(&[u8], _); 17] = [
            (b"\"3\"", Ok(Some(3))),
            (b" \"18446744073709551614\" ", Ok(Some(u64::MAX - 1))),
            (b"*", Ok(None)),
            // Well-formed strong tags that hold no version match none.
            (b"\"\"", Ok(Some(NO_VERSION))),
            (b"\"-1\"", Ok(Some(NO_VERSION))),
            (b"\"+1\"", Ok(Some(NO_VERSION))),
            (b"\"18446744073709551616\"", Ok(Some(NO_VERSION))),
            (b"\"abc\"", Ok(Some(NO_VERSION))),
            (b"\"a,b\"", Ok(Some(NO_VERSION))),
            (b"\"\xff\xfe\"", Ok(Some(NO_VERSION))),
            (huge.as_bytes(), Ok(Some(NO_VERSION))),
            (b"3", Err("version in double quotes")),
            (b"\"3", Err("version in double quotes")),
            (b"\"a b\"", Err("version in double quotes")),
            (b"", Err("version in double quotes")),
            (b"W/\"3\"", Err("weak tag")),
            (b"\"3\", \"4\"", Err("not a list")),
        ];
        for (value, expected) in cases {
            let shown = String::from_utf8_lossy(value);
            match (parse(value), expected) {
                (Ok(version), Ok(wanted)) => assert_eq!(version, wanted, "{shown}"),
                (Err(why), Err(said)) => assert!(why.contains(said), "{shown}: {why}"),
                (got, _) => panic!("{shown}: {got:?}"),
            }
        }
    }
}
