use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValidationError;
use crate::json_kind::{ObjectOr, ObjectVisitor, object_from};
use crate::text::{Text, with_article};

/// The `status` of a response envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// The update was carried out.
    Success,
    /// The update was refused or failed; `error` says why.
    Failure,
}

/// The response of the Contacts API: Success or Failure.
///
/// Parse one with [`Envelope::from_json`], which accepts a failure with or
/// without `status` (the contract's own failure sample has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// `{"status":"Success","request_tracking_id":…}`
    Success {
        /// The tracking id of the request, echoed.
        request_tracking_id: Option<String>,
    },
    /// `{"status":"Failure","error":{…},"request_tracking_id":…}`
    Failure {
        /// What went wrong.
        error: ErrorBody,
        /// The tracking id of the request, echoed.
        request_tracking_id: Option<String>,
    },
}

/// The `error` member of a Failure envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// An error code such as `"500"` or `"404"`.
    pub code: String,
    /// A short description such as `"Service Error"`.
    pub message: String,
    /// The detailed errors.
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

/// One detailed error of a Failure envelope.
///
/// `message` is the contract's; `field` and `code` are additive extensions
/// that tie an error to an input (a validation path and its stable code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// The actual error message.
    pub message: String,
    /// The JSON path of the input at fault, e.g. `contacts[billing].email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The stable validation code, e.g. `email.missing_tld`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl From<ValidationError> for ErrorItem {
    fn from(e: ValidationError) -> Self {
        Self {
            message: e.message,
            field: Some(e.path),
            code: Some(e.code.as_str().to_owned()),
        }
    }
}

impl ErrorItem {
    /// An item with a message only, as in the contract's sample.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: None,
            code: None,
        }
    }
}

/// Why a response body is not an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The body is empty.
    Empty,
    /// The body is not JSON (an HTML error page, say); holds the parser's words.
    NotJson(String),
    /// The body is JSON but neither a Success nor a Failure envelope.
    NotAnEnvelope(String),
}

impl EnvelopeError {
    /// The stable code of this error: `response.empty`, `response.not_json`
    /// or `response.not_an_envelope`. Like validation codes, a code never
    /// changes meaning once published.
    pub const fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Empty => "response.empty",
            EnvelopeError::NotJson(_) => "response.not_json",
            EnvelopeError::NotAnEnvelope(_) => "response.not_an_envelope",
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Empty => f.write_str("the response body is empty"),
            EnvelopeError::NotJson(why) => write!(f, "the response is not JSON ({why})"),
            EnvelopeError::NotAnEnvelope(why) => {
                write!(
                    f,
                    "the response is not a Success or Failure envelope ({why})"
                )
            }
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// The envelope as it may arrive: every member read whatever JSON it holds
/// and checked afterwards. Reading never asks serde for a type error, whose
/// formatting machinery (floats included) would weigh on the browser.
#[derive(Default)]
struct RawEnvelope {
    status: Text,
    request_tracking_id: Text,
    error: Option<ObjectOr<RawErrorBody>>,
}

/// The `error` member as it may arrive.
#[derive(Default)]
struct RawErrorBody {
    code: Text,
    message: Text,
    errors: Option<RawItems>,
}

/// One item of `error.errors` as it may arrive.
#[derive(Default)]
struct RawErrorItem {
    message: Text,
    field: Text,
    code: Text,
}

/// Declares a visitor that reads an object's known members by name into a
/// raw struct, skipping the others; a member given twice keeps its last value.
macro_rules! raw_object_visitor {
    ($visitor:ident => $raw:ident { $($member:ident),* }) => {
        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = $raw;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$raw, A::Error> {
                let mut raw = $raw::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        $(stringify!($member) => raw.$member = map.next_value()?,)*
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(raw)
            }
        }
    };
}

raw_object_visitor!(RawVisitor => RawEnvelope { status, request_tracking_id, error });
raw_object_visitor!(BodyVisitor => RawErrorBody { code, message, errors });
raw_object_visitor!(ItemVisitor => RawErrorItem { message, field, code });

impl<'de> Deserialize<'de> for ObjectOr<RawErrorBody> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor(BodyVisitor))
    }
}

impl<'de> Deserialize<'de> for ObjectOr<RawErrorItem> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor(ItemVisitor))
    }
}

/// `error.errors` as it may arrive: a list, or the kind of value found instead.
struct RawItems(Result<Vec<ObjectOr<RawErrorItem>>, &'static str>);

impl RawItems {
    fn other(kind: &'static str) -> Self {
        Self(Err(kind))
    }
}

impl<'de> Deserialize<'de> for RawItems {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = RawItems;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawItems, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawItems(Ok(items)))
    }

    reject_json_kinds!(RawItems::other => null, boolean, number, string, object);
}

impl Envelope {
    /// Parses a response body.
    ///
    /// It is read straight into the envelope's members, without building a
    /// tree of JSON values first.
    #[cfg(feature = "json")]
    pub fn from_json(body: &str) -> Result<Self, EnvelopeError> {
        if body.trim().is_empty() {
            return Err(EnvelopeError::Empty);
        }
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let read = object_from(&mut deserializer, RawVisitor)
            .and_then(|raw| deserializer.end().map(|()| raw));
        match read {
            Ok(raw) => Self::from_raw(raw),
            // A member of the wrong kind may come before a syntax error: a
            // body that is not JSON at all is reported as such.
            Err(e) if e.is_data() => match serde_json::from_str::<IgnoredAny>(body) {
                Ok(_) => Err(EnvelopeError::NotAnEnvelope(e.to_string())),
                Err(syntax) => Err(EnvelopeError::NotJson(syntax.to_string())),
            },
            Err(e) => Err(EnvelopeError::NotJson(e.to_string())),
        }
    }

    /// Parses a response body with the caller's JSON parser, which says in
    /// words why text is not JSON. The browser builds pass `JSON.parse`
    /// through `js-json`, so that they carry no JSON parser of their own.
    pub fn from_body<'de, D: Deserializer<'de>>(
        body: &str,
        parse: impl FnOnce(&str) -> Result<D, String>,
    ) -> Result<Self, EnvelopeError> {
        if body.trim().is_empty() {
            return Err(EnvelopeError::Empty);
        }
        Self::from_deserializer(parse(body).map_err(EnvelopeError::NotJson)?)
    }

    /// Reads an already parsed JSON value of any serde data format.
    pub fn from_deserializer<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, EnvelopeError> {
        object_from(deserializer, RawVisitor)
            .map_err(|e| EnvelopeError::NotAnEnvelope(e.to_string()))
            .and_then(Self::from_raw)
    }

    /// Reads an already parsed JSON value.
    #[cfg(feature = "json")]
    pub fn from_value(value: serde_json::Value) -> Result<Self, EnvelopeError> {
        Self::from_deserializer(value)
    }

    /// Checks that the members read make a Success or a Failure.
    fn from_raw(object: ObjectOr<RawEnvelope>) -> Result<Self, EnvelopeError> {
        let raw = match object {
            ObjectOr::Object(raw) => raw,
            ObjectOr::Other(_) => return Err(not_an_envelope("not a JSON object".into())),
        };
        let status = match optional_text(raw.status, "status")?.as_deref() {
            None => None,
            Some("Success") => Some(Status::Success),
            Some("Failure") => Some(Status::Failure),
            Some(other) => {
                return Err(not_an_envelope(format!(
                    "unknown status `{other}`, expected `Success` or `Failure`"
                )));
            }
        };
        let request_tracking_id = optional_text(raw.request_tracking_id, "request_tracking_id")?;
        let error = match raw.error {
            None | Some(ObjectOr::Other("null")) => None,
            Some(ObjectOr::Other(kind)) => return Err(wrong_kind("error", "an object", kind)),
            Some(ObjectOr::Object(body)) => Some(ErrorBody::from_raw(body)?),
        };
        match (status, error) {
            (Some(Status::Success), None) => Ok(Envelope::Success {
                request_tracking_id,
            }),
            (Some(Status::Failure) | None, Some(error)) => Ok(Envelope::Failure {
                error,
                request_tracking_id,
            }),
            (Some(Status::Success), Some(_)) => {
                Err(not_an_envelope("a Success carries an error".into()))
            }
            (Some(Status::Failure), None) => Err(not_an_envelope("a Failure has no error".into())),
            (None, None) => Err(not_an_envelope("neither status nor error".into())),
        }
    }

    /// A Success echoing `request_tracking_id`.
    pub fn success(request_tracking_id: impl Into<String>) -> Self {
        Envelope::Success {
            request_tracking_id: Some(request_tracking_id.into()),
        }
    }

    /// A Failure with `code`, `message` and detailed errors.
    pub fn failure(
        request_tracking_id: Option<String>,
        code: impl Into<String>,
        message: impl Into<String>,
        errors: Vec<ErrorItem>,
    ) -> Self {
        Envelope::Failure {
            error: ErrorBody {
                code: code.into(),
                message: message.into(),
                errors,
            },
            request_tracking_id,
        }
    }

    /// `Success` or `Failure`.
    pub fn status(&self) -> Status {
        match self {
            Envelope::Success { .. } => Status::Success,
            Envelope::Failure { .. } => Status::Failure,
        }
    }

    /// The echoed tracking id, if any.
    pub fn request_tracking_id(&self) -> Option<&str> {
        match self {
            Envelope::Success {
                request_tracking_id,
            }
            | Envelope::Failure {
                request_tracking_id,
                ..
            } => request_tracking_id.as_deref(),
        }
    }

    /// The error of a Failure.
    pub fn error(&self) -> Option<&ErrorBody> {
        match self {
            Envelope::Success { .. } => None,
            Envelope::Failure { error, .. } => Some(error),
        }
    }
}

impl ErrorBody {
    fn from_raw(raw: RawErrorBody) -> Result<Self, EnvelopeError> {
        let errors = match raw.errors.map(|items| items.0) {
            None => Vec::new(),
            Some(Err(kind)) => return Err(wrong_kind("errors", "an array", kind)),
            Some(Ok(items)) => items
                .into_iter()
                .map(|item| match item {
                    ObjectOr::Object(item) => ErrorItem::from_raw(item),
                    ObjectOr::Other(kind) => Err(wrong_kind("errors[]", "an object", kind)),
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            code: required_text(raw.code, "code")?,
            message: required_text(raw.message, "message")?,
            errors,
        })
    }
}

impl ErrorItem {
    fn from_raw(raw: RawErrorItem) -> Result<Self, EnvelopeError> {
        Ok(Self {
            message: required_text(raw.message, "message")?,
            field: optional_text(raw.field, "field")?,
            code: optional_text(raw.code, "code")?,
        })
    }
}

fn not_an_envelope(why: String) -> EnvelopeError {
    EnvelopeError::NotAnEnvelope(why)
}

fn wrong_kind(member: &str, expected: &str, kind: &str) -> EnvelopeError {
    not_an_envelope(format!(
        "`{member}` must be {expected}, not {}",
        with_article(kind)
    ))
}

/// A member that may be missing or `null`, and otherwise is a string.
fn optional_text(text: Text, member: &str) -> Result<Option<String>, EnvelopeError> {
    match text {
        Text::Absent => Ok(None),
        Text::Given(s) => Ok(Some(s)),
        Text::WrongType(kind) => Err(wrong_kind(member, "a string", kind)),
    }
}

/// A member that must be a string.
fn required_text(text: Text, member: &str) -> Result<String, EnvelopeError> {
    optional_text(text, member)?.ok_or_else(|| not_an_envelope(format!("missing `{member}`")))
}

/// The envelope as sent: always with `status`.
#[derive(Serialize)]
struct WireEnvelope<'a> {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_tracking_id: Option<&'a str>,
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireEnvelope {
            status: self.status(),
            error: self.error(),
            request_tracking_id: self.request_tracking_id(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_bad_body_has_its_code() {
        let cases = [
            (" ", "response.empty"),
            ("<html>502 Bad Gateway</html>", "response.not_json"),
            (r#"{"status":"Failure"}"#, "response.not_an_envelope"),
            ("[1]", "response.not_an_envelope"),
        ];
        for (body, code) in cases {
            let error = Envelope::from_json(body).expect_err(body);
            assert_eq!(error.code(), code, "{body}");
            let error = Envelope::from_body(body, parse).expect_err(body);
            assert_eq!(error.code(), code, "{body}");
        }
    }

    /// A caller's parser, here serde_json's, as the browser's would be.
    fn parse(text: &str) -> Result<serde_json::Value, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_callers_parser_reads_as_the_text_reader_does() {
        let bodies = [
            r#"{"status":"Success","request_tracking_id":"7"}"#,
            r#"{"error":{"code":"500","message":"Service Error","errors":[{"message":"Source not configured"}]}}"#,
        ];
        for body in bodies {
            assert_eq!(
                Envelope::from_body(body, parse),
                Envelope::from_json(body),
                "{body}"
            );
        }
        let Err(EnvelopeError::NotJson(why)) = Envelope::from_body("{", parse) else {
            panic!("a cut body is not JSON");
        };
        assert!(why.contains("EOF"), "the parser's own words: {why}");
    }
}
