//! A JSON Schema (draft 2020-12) of the request body, built from the model's
//! own tables so that it cannot drift from the validation.
//!
//! The schema describes the body as the contract sends it: phones as their 10
//! digits, text trimmed, absent fields left out. That is exactly what
//! [`validate_request`](crate::validate_request) returns. The validation
//! itself also accepts what agents type (`(914) 721-2006`, a pasted
//! extension, blank strings for absent fields) and normalises it, so a body the
//! schema rejects may still validate; a body the schema accepts validates
//! unless a rule the schema cannot state fails (for example an email domain
//! label that ends with a dash).

use serde_json::{Map, Value, json};

use crate::contact::{ContactType, Field, MAX_EXTENSION_LEN, MAX_NAME_LEN};
use crate::email::{IDN_PREFIX, LOCAL_SPECIALS, MAX_EMAIL_LEN, MAX_LABEL_LEN};
use crate::text::FORBIDDEN_IN_TEXT;
use crate::tracking_id::TrackingId;
use crate::{MAX_CONTACTS, NANP_DATA_SOURCE};

/// The `$id` of the schema.
pub const SCHEMA_ID: &str = "urn:contacts-editor:contacts-request";

/// A NANP number as the contract sends it: area code and exchange start with 2-9.
const PHONE_PATTERN: &str = "^[2-9][0-9]{2}[2-9][0-9]{6}$";

/// The characters trimming removes (Unicode `White_Space`, as `str::trim`).
const WHITESPACE: [(char, char); 10] = [
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// The inside of a regular-expression character class holding `ranges`,
/// written with `\uXXXX` escapes that ECMA-262 (with or without the `u`
/// flag), Python and Rust read alike.
fn class_ranges(ranges: &[(char, char)]) -> String {
    let escape = |c: char| format!("\\u{:04x}", u32::from(c));
    ranges
        .iter()
        .map(|&(first, last)| {
            if first == last {
                escape(first)
            } else {
                format!("{}-{}", escape(first), escape(last))
            }
        })
        .collect()
}

/// A character class matching what trimming removes, e.g. to describe
/// input that the validation trims.
pub fn whitespace_class() -> String {
    format!("[{}]", class_ranges(&WHITESPACE))
}

/// A character class matching what trimming keeps: a pattern of it alone
/// matches text that is not blank.
pub fn not_whitespace_class() -> String {
    format!("[^{}]", class_ranges(&WHITESPACE))
}

/// A character class matching what text may hold.
fn text_char_class() -> String {
    format!("[^{}]", class_ranges(&FORBIDDEN_IN_TEXT))
}

/// A character class matching what trimmed text may start and end with.
fn text_edge_class() -> String {
    format!(
        "[^{}{}]",
        class_ranges(&FORBIDDEN_IN_TEXT),
        class_ranges(&WHITESPACE)
    )
}

/// The JSON Schema (2020-12) of the body of `POST /api/v1/customers/{eZpayID}/contacts`.
pub fn contacts_request_schema() -> Value {
    let contact_ref = json!({ "$ref": "#/$defs/contact" });
    let one_of_each_type: Vec<Value> = ContactType::ALL
        .iter()
        .map(|t| {
            json!({
                "contains": { "properties": { "type": { "const": t.as_str() } } },
                "minContains": 0,
                "maxContains": 1,
            })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Contacts request",
        "description": "The body of POST /api/v1/customers/{eZpayID}/contacts: the billing and service contacts to update, at most one of each type.",
        "type": "object",
        "properties": {
            "request_tracking_id": tracking_id_schema(),
            "contacts": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_CONTACTS,
                "items": contact_ref,
                "allOf": one_of_each_type,
            },
        },
        "required": ["contacts"],
        "additionalProperties": false,
        "$defs": {
            "contact": contact_schema(),
            "phone": {
                "type": "string",
                "description": format!(
                    "A North American (NANP) number as its 10 digits, e.g. 9147212006. \
                     Its area code, and its exchange where the area code takes only some, \
                     must be in use by {NANP_DATA_SOURCE}, which a pattern does not state."
                ),
                "pattern": PHONE_PATTERN,
            },
        },
    })
}

fn tracking_id_schema() -> Value {
    json!({
        "type": "string",
        "description": "Unique tracking identifier; the Request-Tracking-Id header is preferred.",
        "minLength": 1,
        "maxLength": TrackingId::MAX_LEN,
        "pattern": format!("^[A-Za-z0-9._:-]{{1,{}}}$", TrackingId::MAX_LEN),
    })
}

fn contact_schema() -> Value {
    let types: Vec<&str> = ContactType::ALL.iter().map(|t| t.as_str()).collect();
    let mut properties = Map::new();
    properties.insert(
        "type".to_owned(),
        json!({ "type": "string", "title": "Type", "enum": types }),
    );
    for field in Field::ALL {
        let mut schema = field_schema(field);
        if let Value::Object(map) = &mut schema {
            map.insert("title".to_owned(), field.label().into());
        }
        properties.insert(field.json_name().to_owned(), schema);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": ["type", Field::Name.json_name()],
        "additionalProperties": false,
        "dependentRequired": {
            Field::WorkPhoneExtension.json_name(): [Field::WorkPhone.json_name()],
        },
    })
}

fn field_schema(field: Field) -> Value {
    match field {
        Field::Name | Field::OrganizationName => text_schema(MAX_NAME_LEN),
        Field::Email => json!({
            "type": "string",
            "format": "email",
            "minLength": 1,
            "maxLength": MAX_EMAIL_LEN,
            "pattern": email_pattern(),
        }),
        Field::WorkPhoneExtension => json!({
            "type": "string",
            "pattern": format!("^[0-9]{{1,{MAX_EXTENSION_LEN}}}$"),
        }),
        Field::WorkPhone | Field::MobilePhone | Field::Fax => {
            json!({ "$ref": "#/$defs/phone" })
        }
    }
}

/// Trimmed, non-empty text of at most `max` characters, without control
/// characters. The pattern states the length too, so that it still holds
/// where a description lets the text be padded with whitespace.
fn text_schema(max: usize) -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        "pattern": format!(
            "^{edge}(?:{inner}{{0,{}}}{edge})?$",
            max.saturating_sub(2),
            edge = text_edge_class(),
            inner = text_char_class(),
        ),
    })
}

/// One `@` between a local part of ASCII letters, digits and
/// ``!#$%&'*+/=?^_`{|}~-`` in dot-separated runs, and a domain of
/// dot-separated labels of letters, digits and inner dashes, at most 63
/// characters each, that ends in two or more letters or an `xn--` label.
fn email_pattern() -> String {
    let specials: String = LOCAL_SPECIALS
        .chars()
        .filter(|&c| c != '.' && c != '-')
        .collect();
    let atom = format!("[A-Za-z0-9{specials}-]+");
    let inner = MAX_LABEL_LEN - 2;
    let label =
        format!("[\\p{{L}}\\p{{N}}](?:[\\p{{L}}\\p{{N}}-]{{0,{inner}}}[\\p{{L}}\\p{{N}}])?");
    let tld = format!(
        "(?:\\p{{L}}{{2,{MAX_LABEL_LEN}}}|[Xx][Nn]--(?:[A-Za-z0-9-]{{0,{}}}[A-Za-z0-9]))",
        MAX_LABEL_LEN - IDN_PREFIX.len() - 1
    );
    format!("^{atom}(?:\\.{atom})*@(?:{label}\\.)+{tld}$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact_def(schema: &Value) -> &Value {
        &schema["$defs"]["contact"]
    }

    #[test]
    fn request_has_contacts_and_nothing_unknown() {
        let schema = contacts_request_schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["contacts"]));
        assert_eq!(schema["additionalProperties"], false);
        let contacts = &schema["properties"]["contacts"];
        assert_eq!(contacts["minItems"], 1);
        assert_eq!(contacts["maxItems"], MAX_CONTACTS);
        assert_eq!(contacts["items"]["$ref"], "#/$defs/contact");
        assert_eq!(
            contacts["allOf"].as_array().map(Vec::len),
            Some(ContactType::ALL.len())
        );
    }

    #[test]
    fn contact_lists_every_field_and_type() {
        let schema = contacts_request_schema();
        let contact = contact_def(&schema);
        assert_eq!(contact["additionalProperties"], false);
        assert_eq!(contact["required"], json!(["type", "name"]));
        assert_eq!(
            contact["properties"]["type"]["enum"],
            json!(["billing", "service"])
        );
        let properties = contact["properties"].as_object().expect("properties");
        assert_eq!(properties.len(), Field::ALL.len() + 1);
        for field in Field::ALL {
            let property = &properties[field.json_name()];
            assert_eq!(property["title"], field.label(), "{field:?}");
            if field.is_phone() {
                assert_eq!(property["$ref"], "#/$defs/phone", "{field:?}");
            } else {
                assert_eq!(property["type"], "string", "{field:?}");
            }
        }
        assert_eq!(properties["name"]["maxLength"], MAX_NAME_LEN);
        assert_eq!(properties["email"]["maxLength"], MAX_EMAIL_LEN);
        assert_eq!(
            contact["dependentRequired"]["work_phone_extension"],
            json!(["work_phone"])
        );
    }

    fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
        ranges
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
    }

    /// The character classes of the patterns are the validation's own
    /// predicates, for every character.
    #[test]
    fn classes_match_the_validation_for_every_character() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(
                in_ranges(&FORBIDDEN_IN_TEXT, c),
                crate::text::is_forbidden_in_text(c),
                "{c:?}"
            );
            assert_eq!(in_ranges(&WHITESPACE, c), c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn patterns_are_written_with_escapes() {
        assert_eq!(
            class_ranges(&[('\u{0}', '\u{1f}'), (' ', ' ')]),
            "\\u0000-\\u001f\\u0020"
        );
        let schema = contacts_request_schema();
        let properties = &contact_def(&schema)["properties"];
        assert_eq!(
            properties["name"]["pattern"],
            format!(
                "^{0}(?:{1}{{0,98}}{0})?$",
                text_edge_class(),
                text_char_class()
            )
        );
        assert_eq!(
            properties["email"]["pattern"],
            "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@\
             (?:[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?\\.)+\
             (?:\\p{L}{2,63}|[Xx][Nn]--(?:[A-Za-z0-9-]{0,58}[A-Za-z0-9]))$"
        );
    }

    /// The sample request of the contract, normalised, fits the schema's
    /// shape: its keys are the schema's properties and its types are listed.
    #[test]
    fn sample_request_fits_the_schema() {
        let sample: Value = serde_json::from_str(include_str!(
            "../tests/fixtures/contract-sample-request.json"
        ))
        .expect("the fixture is JSON");
        let draft: crate::RequestDraft = serde_json::from_value(sample.clone()).expect("draft");
        let valid = crate::validate_request(&draft).expect("the sample is valid");
        assert_eq!(serde_json::to_value(&*valid).expect("json"), sample);

        let schema = contacts_request_schema();
        let contact = contact_def(&schema);
        let types = contact["properties"]["type"]["enum"]
            .as_array()
            .expect("enum");
        for item in sample["contacts"].as_array().expect("contacts") {
            let item = item.as_object().expect("contact");
            assert!(types.contains(&item["type"]));
            for key in contact["required"].as_array().expect("required") {
                assert!(item.contains_key(key.as_str().expect("key")), "{key}");
            }
            for (key, value) in item {
                assert!(contact["properties"].get(key).is_some(), "{key}");
                if Field::parse(key).is_some_and(Field::is_phone) {
                    let phone = value.as_str().expect("phone");
                    let normalised = crate::normalize_phone(phone).expect("phone");
                    assert_eq!(normalised.digits(), phone, "phones are sent as digits");
                }
            }
        }
    }
}
