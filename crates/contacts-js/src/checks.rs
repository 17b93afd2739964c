//! The checks behind the exports, on plain Rust values so that they run and
//! are tested on the host. Every rule is the model's; this module only reads
//! what JavaScript handed over and reports a value of the wrong kind.

use contacts_model::{
    Contact, ContactDraft, ContactsRequest, Envelope, EnvelopeError, ErrorCode, EzpayId, Phone,
    RequestDraft, Text, Valid, ValidationError, format_phone, normalize_phone, validate_contact,
    validate_request,
};
use serde::de::DeserializeOwned;

use crate::outcome::Outcome;

/// A JavaScript value handed to a check, as the bridge read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// JSON text: the value as `JSON.stringify` (and so `fetch`) would send it.
    Json(&'a str),
    /// A value JSON cannot hold (`undefined`, a function, a symbol, or an
    /// object holding a BigInt or a cycle), named by its kind.
    NotJson(&'static str),
}

/// Where a non-object is reported, with which code, and how to name the value.
struct ObjectRule {
    path: &'static str,
    code: ErrorCode,
    noun: &'static str,
}

const REQUEST: ObjectRule = ObjectRule {
    path: "",
    code: ErrorCode::RequestNotAnObject,
    noun: "The request",
};

/// A lone contact is checked as the first contact of a request, as
/// [`validate_contact`] reports a contact whose type is wrong.
const CONTACT: ObjectRule = ObjectRule {
    path: "contacts[0]",
    code: ErrorCode::ContactNotAnObject,
    noun: "A contact",
};

/// Validates and normalises one contact.
pub fn contact(input: Input<'_>) -> Outcome<Valid<Contact>> {
    match read_object::<ContactDraft>(input, &CONTACT) {
        Ok(draft) => validate_contact(&draft).into(),
        Err(error) => Err(error).into(),
    }
}

/// Validates and normalises a request body.
pub fn request(input: Input<'_>) -> Outcome<Valid<ContactsRequest>> {
    match read_object::<RequestDraft>(input, &REQUEST) {
        Ok(draft) => validate_request(&draft).into(),
        Err(error) => Err(error).into(),
    }
}

/// Normalises a phone number to its 10 digits. An absent value reads as `""`.
pub fn phone(input: &Text) -> Outcome<Phone> {
    match input {
        Text::WrongType(kind) => Err(not_text("", "A phone number", kind)).into(),
        text => normalize_phone(text.as_str()).into(),
    }
}

/// Formats a phone number for people; anything that is not text formats as `""`.
pub fn formatted_phone(input: &Text) -> String {
    format_phone(input.as_str())
}

/// Checks an eZpayID. An absent value reads as `""`.
pub fn ezpay_id(input: &Text) -> Outcome<EzpayId> {
    match input {
        Text::WrongType(kind) => Err(not_text("ezpay_id", "An eZpayID", kind)).into(),
        text => EzpayId::parse(text.as_str()).into(),
    }
}

/// Reads a response body (JSON text) as a Success or Failure envelope.
/// `undefined` is an empty body.
pub fn response(input: Input<'_>) -> Outcome<Envelope> {
    match input {
        Input::Json(body) => Envelope::from_json(body).into(),
        Input::NotJson("undefined") => Err(EnvelopeError::Empty).into(),
        Input::NotJson(kind) => Err(EnvelopeError::NotJson(format!(
            "a {kind} cannot be read as JSON"
        )))
        .into(),
    }
}

fn read_object<T: DeserializeOwned>(
    input: Input<'_>,
    rule: &ObjectRule,
) -> Result<T, ValidationError> {
    let fail = |message: String| ValidationError::new(rule.path, rule.code, message);
    let (json, kind) = match input {
        Input::Json(json) => (json, json_kind(json)),
        Input::NotJson("object" | "array") => {
            return Err(fail(format!(
                "{} cannot be written as JSON: it holds a BigInt or refers to itself.",
                rule.noun
            )));
        }
        Input::NotJson(kind) => ("", kind),
    };
    match kind {
        "object" => serde_json::from_str(json)
            .map_err(|e| fail(format!("{} could not be read: {e}.", rule.noun))),
        kind => Err(fail(format!(
            "{} must be a JSON object, not {}.",
            rule.noun,
            with_article(kind)
        ))),
    }
}

/// The kind of the JSON value that `json` holds, told by its first character.
/// Only meant for text that `JSON.stringify` wrote.
fn json_kind(json: &str) -> &'static str {
    match json.trim_start().bytes().next() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

fn with_article(kind: &str) -> String {
    match kind {
        "null" | "undefined" => kind.to_owned(),
        "array" => "an array".to_owned(),
        "object" => "an object".to_owned(),
        _ => format!("a {kind}"),
    }
}

fn not_text(path: &str, noun: &str, kind: &str) -> ValidationError {
    ValidationError::new(
        path,
        ErrorCode::NotText,
        format!("{noun} must be text, not {}.", with_article(kind)),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn to_json<T: serde::Serialize>(outcome: Outcome<T>) -> Value {
        serde_json::to_value(outcome).expect("json")
    }

    fn codes<T>(outcome: &Outcome<T>) -> Vec<(&str, &str)> {
        match &outcome.0 {
            Ok(_) => Vec::new(),
            Err(issues) => issues.iter().map(|i| (i.path.as_str(), i.code)).collect(),
        }
    }

    #[test]
    fn a_request_that_is_not_an_object_is_reported_at_the_root() {
        for json in ["42", "\"x\"", "[]", "null", "true"] {
            let outcome = request(Input::Json(json));
            assert_eq!(codes(&outcome), [("", "request.not_an_object")], "{json}");
        }
        for kind in ["undefined", "function", "object"] {
            let outcome = request(Input::NotJson(kind));
            assert_eq!(codes(&outcome), [("", "request.not_an_object")], "{kind}");
        }
        let Err(issues) = request(Input::NotJson("undefined")).0 else {
            panic!("undefined is no request")
        };
        assert_eq!(
            issues[0].message,
            "The request must be a JSON object, not undefined."
        );
    }

    #[test]
    fn a_contact_that_is_not_an_object_is_reported_as_the_first_contact() {
        let outcome = contact(Input::Json("[1]"));
        assert_eq!(codes(&outcome), [("contacts[0]", "contact.not_an_object")]);
    }

    #[test]
    fn objects_are_validated_by_the_model() {
        let outcome = contact(Input::Json(
            r#"{"type":"billing","name":" Ann ","fax":"(914) 721-2006"}"#,
        ));
        assert_eq!(
            to_json(outcome),
            json!({ "ok": true, "value": { "type": "billing", "name": "Ann", "fax": "9147212006" } })
        );
        let outcome = request(Input::Json(r#"{"contacts":[{"type":"service"}]}"#));
        assert_eq!(
            codes(&outcome),
            [("contacts[service].name", "name.required")]
        );
    }

    #[test]
    fn strings_absent_values_and_other_kinds() {
        assert_eq!(
            to_json(phone(&Text::from("+1 914.721.2006"))),
            json!({ "ok": true, "value": "9147212006" })
        );
        assert_eq!(codes(&phone(&Text::Absent)), [("", "phone.too_short")]);
        assert_eq!(
            codes(&phone(&Text::WrongType("number"))),
            [("", "field.not_text")]
        );
        assert_eq!(
            codes(&ezpay_id(&Text::Absent)),
            [("ezpay_id", "ezpay_id.required")]
        );
        assert_eq!(
            codes(&ezpay_id(&Text::WrongType("object"))),
            [("ezpay_id", "field.not_text")]
        );
        assert_eq!(formatted_phone(&Text::from("9147212006")), "(914) 721-2006");
        assert_eq!(formatted_phone(&Text::WrongType("number")), "");
    }

    #[test]
    fn responses_with_and_without_a_body() {
        let outcome = response(Input::Json(
            r#"{"error":{"code":"500","message":"Service Error","errors":[{"message":"Source not configured"}]},"request_tracking_id":"3432273233"}"#,
        ));
        assert_eq!(to_json(outcome)["value"]["status"], "Failure");
        assert_eq!(
            codes(&response(Input::NotJson("undefined"))),
            [("", "response.empty")]
        );
        assert_eq!(
            codes(&response(Input::NotJson("bigint"))),
            [("", "response.not_json")]
        );
        assert_eq!(
            codes(&response(Input::Json("<html>"))),
            [("", "response.not_json")]
        );
    }
}
