//! The tagged union every check returns to JavaScript:
//! `{ ok: true, value }` or `{ ok: false, errors: [{ path, code, message }] }`.

use contacts_model::{EnvelopeError, ValidationError, ValidationErrors};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// One thing wrong with the input, as JavaScript sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    /// A JSON path keyed by contact type, or `""` for the value as a whole.
    pub path: String,
    /// A stable code of the model.
    pub code: &'static str,
    /// An English sentence that says what to fix.
    pub message: String,
}

impl From<ValidationError> for Issue {
    fn from(e: ValidationError) -> Self {
        Self {
            path: e.path,
            code: e.code.as_str(),
            message: e.message,
        }
    }
}

impl From<EnvelopeError> for Issue {
    fn from(e: EnvelopeError) -> Self {
        Self {
            path: String::new(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The normalised value, or every issue found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<T>(pub Result<T, Vec<Issue>>);

impl<T> From<Result<T, ValidationErrors>> for Outcome<T> {
    fn from(result: Result<T, ValidationErrors>) -> Self {
        Self(result.map_err(|errors| errors.into_iter().map(Issue::from).collect()))
    }
}

impl<T> From<Result<T, ValidationError>> for Outcome<T> {
    fn from(result: Result<T, ValidationError>) -> Self {
        Self(result.map_err(|error| vec![Issue::from(error)]))
    }
}

impl<T> From<Result<T, EnvelopeError>> for Outcome<T> {
    fn from(result: Result<T, EnvelopeError>) -> Self {
        Self(result.map_err(|error| vec![Issue::from(error)]))
    }
}

impl<T: Serialize> Serialize for Outcome<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tagged = serializer.serialize_struct("Outcome", 2)?;
        match &self.0 {
            Ok(value) => {
                tagged.serialize_field("ok", &true)?;
                tagged.serialize_field("value", value)?;
            }
            Err(errors) => {
                tagged.serialize_field("ok", &false)?;
                tagged.serialize_field("errors", errors)?;
            }
        }
        tagged.end()
    }
}

#[cfg(test)]
mod tests {
    use contacts_model::ErrorCode;
    use serde_json::json;

    use super::*;

    #[test]
    fn serialises_as_a_tagged_union() {
        let ok: Outcome<&str> = Outcome(Ok("9147212006"));
        assert_eq!(
            serde_json::to_value(ok).expect("json"),
            json!({ "ok": true, "value": "9147212006" })
        );
        let error = ValidationError::new("ezpay_id", ErrorCode::EzpayIdNotDigits, "Digits only.");
        let failed: Outcome<&str> = Err(error).into();
        assert_eq!(
            serde_json::to_value(failed).expect("json"),
            json!({ "ok": false, "errors": [
                { "path": "ezpay_id", "code": "ezpay_id.not_digits", "message": "Digits only." }
            ] })
        );
    }
}
