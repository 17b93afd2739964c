use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::ValidationError;

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

/// The envelope as it may arrive: every member optional, checked afterwards.
#[derive(Deserialize)]
struct RawEnvelope {
    status: Option<Status>,
    request_tracking_id: Option<String>,
    error: Option<ErrorBody>,
}

impl Envelope {
    /// Parses a response body.
    pub fn from_json(body: &str) -> Result<Self, EnvelopeError> {
        if body.trim().is_empty() {
            return Err(EnvelopeError::Empty);
        }
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Reads an already parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, EnvelopeError> {
        // Serde would read a struct from an array too; an envelope is an object.
        if !value.is_object() {
            return Err(EnvelopeError::NotAnEnvelope("not a JSON object".into()));
        }
        let raw: RawEnvelope = serde_json::from_value(value)
            .map_err(|e| EnvelopeError::NotAnEnvelope(e.to_string()))?;
        match (raw.status, raw.error) {
            (Some(Status::Success), None) => Ok(Envelope::Success {
                request_tracking_id: raw.request_tracking_id,
            }),
            (Some(Status::Failure) | None, Some(error)) => Ok(Envelope::Failure {
                error,
                request_tracking_id: raw.request_tracking_id,
            }),
            (Some(Status::Success), Some(_)) => Err(EnvelopeError::NotAnEnvelope(
                "a Success carries an error".into(),
            )),
            (Some(Status::Failure), None) => Err(EnvelopeError::NotAnEnvelope(
                "a Failure has no error".into(),
            )),
            (None, None) => Err(EnvelopeError::NotAnEnvelope(
                "neither status nor error".into(),
            )),
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
        }
    }
}
