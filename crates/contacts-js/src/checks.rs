//! The checks behind the exports, on plain Rust values so that they run and
//! are tested on the host. Every rule is the model's; this module only reads
//! what JavaScript handed over and reports a value of the wrong kind.

use serde::Deserializer;

use crate::outcome::Outcome;
use contacts_model::{
    Contact, ContactDraft, ContactsRequest, Envelope, EnvelopeError, ErrorCode, EzpayId, Phone,
    RequestDraft, Text, Valid, ValidationError, ValidationErrors, format_phone, normalize_phone,
    validate_contact, validate_request,
};

/// A JavaScript value handed to a check, as the bridge read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<D> {
    /// A JSON value, read by `D`: the value as `JSON.stringify` (and so
    /// `fetch`) would send it.
    Json(D),
    /// A value JSON cannot hold (`undefined`, a function, a symbol, or an
    /// object holding a BigInt or a cycle), named by its kind.
    NotJson(&'static str),
}

/// Where a value that is not a JSON object is reported, with which code, and
/// how messages name it. The model reports every JSON value that is not an
/// object; these rules only cover values that never became JSON.
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

/// A lone contact is reported as the first contact of a request, as the model does.
const CONTACT: ObjectRule = ObjectRule {
    path: "contacts[0]",
    code: ErrorCode::ContactNotAnObject,
    noun: "A contact",
};

/// Validates and normalises one contact.
pub fn contact<'de, D: Deserializer<'de>>(input: Input<D>) -> Outcome<Valid<Contact>> {
    read_object(input, &CONTACT, ContactDraft::from_deserializer)
        .and_then(|draft| validate_contact(&draft))
        .into()
}

/// Validates and normalises a request body.
pub fn request<'de, D: Deserializer<'de>>(input: Input<D>) -> Outcome<Valid<ContactsRequest>> {
    read_object(input, &REQUEST, RequestDraft::from_deserializer)
        .and_then(|draft| validate_request(&draft))
        .into()
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

/// Reads a parsed response body as a Success or Failure envelope.
/// `undefined` is an empty body.
pub fn response<'de, D: Deserializer<'de>>(input: Input<D>) -> Outcome<Envelope> {
    match input {
        Input::Json(body) => Envelope::from_deserializer(body).into(),
        Input::NotJson("undefined") => Err(EnvelopeError::Empty).into(),
        Input::NotJson(kind) => Err(EnvelopeError::NotJson(format!(
            "a {kind} cannot be read as JSON"
        )))
        .into(),
    }
}

/// Reads a value that should be an object with the model's reader, which
/// reports every JSON value that is not an object.
fn read_object<D, T>(
    input: Input<D>,
    rule: &ObjectRule,
    read: fn(D) -> Result<T, ValidationErrors>,
) -> Result<T, ValidationErrors> {
    match input {
        Input::Json(value) => read(value),
        Input::NotJson(kind) => Err(ValidationError::new(
            rule.path,
            rule.code,
            format!(
                "{} must be a JSON object; this value ({kind}) cannot be written as JSON.",
                rule.noun
            ),
        )
        .into()),
    }
}

fn not_text(path: &str, noun: &str, kind: &str) -> ValidationError {
    ValidationError::new(
        path,
        ErrorCode::NotText,
        format!("{noun} must be text; this value is of type {kind}."),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A JavaScript value as the bridge hands it over, made from JSON text.
    fn json_input(text: &str) -> Input<Value> {
        Input::Json(serde_json::from_str(text).expect("json"))
    }

    /// A value that never became JSON, named by its kind.
    fn not_json(kind: &'static str) -> Input<Value> {
        Input::NotJson(kind)
    }

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
            let outcome = request(json_input(json));
            assert_eq!(codes(&outcome), [("", "request.not_an_object")], "{json}");
        }
        for kind in ["undefined", "function", "object"] {
            let outcome = request(not_json(kind));
            assert_eq!(codes(&outcome), [("", "request.not_an_object")], "{kind}");
        }
        let Err(issues) = request(not_json("undefined")).0 else {
            panic!("undefined is no request")
        };
        assert_eq!(
            issues[0].message,
            "The request must be a JSON object; this value (undefined) cannot be written as JSON."
        );
    }

    #[test]
    fn a_contact_that_is_not_an_object_is_reported_as_the_first_contact() {
        let outcome = contact(json_input("[1]"));
        assert_eq!(codes(&outcome), [("contacts[0]", "contact.not_an_object")]);
    }

    #[test]
    fn objects_are_validated_by_the_model() {
        let outcome = contact(json_input(
            r#"{"type":"billing","name":" Ann ","fax":"(914) 721-2006"}"#,
        ));
        assert_eq!(
            to_json(outcome),
            json!({ "ok": true, "value": { "type": "billing", "name": "Ann", "fax": "9147212006" } })
        );
        let outcome = request(json_input(r#"{"contacts":[{"type":"service"}]}"#));
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
        let outcome = response(json_input(
            r#"{"error":{"code":"500","message":"Service Error","errors":[{"message":"Source not configured"}]},"request_tracking_id":"3432273233"}"#,
        ));
        assert_eq!(to_json(outcome)["value"]["status"], "Failure");
        assert_eq!(
            codes(&response(not_json("undefined"))),
            [("", "response.empty")]
        );
        assert_eq!(
            codes(&response(not_json("bigint"))),
            [("", "response.not_json")]
        );
    }
}
