//! JavaScript exports of the contact model: the same validation as the editor
//! and the server, as an npm-shaped package with TypeScript types.
//!
//! Every export is a thin shim: it reads the JavaScript value, runs the
//! model's check (see [`checks`]) and hands back a plain object, the tagged
//! union `{ ok: true, value }` or `{ ok: false, errors: [{ path, code, message }] }`.
//! Bad data never throws.
//!
//! A value is checked exactly as `fetch` would send it to the server: it goes
//! through `JSON.stringify` and `JSON.parse` (an `undefined` field is absent,
//! a `Date` is a string) and `js-json` reads the result into the model's
//! readers; the result comes back as a plain object, written by
//! serde-wasm-bindgen. The engine's own JSON does
//! the parsing, so the wasm carries no JSON parser.

pub mod checks;
pub mod outcome;

use js_sys::{Array, JSON};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use contacts_model::{Envelope, Text};
use js_json::JsJson;

use crate::checks::Input;

#[wasm_bindgen(typescript_custom_section)]
const HAND_WRITTEN_TYPES: &str = include_str!("types.d.ts");

#[wasm_bindgen(typescript_custom_section)]
const MODEL_TYPES: &str = include_str!(concat!(env!("OUT_DIR"), "/model_types.d.ts"));

/// The JSON Schema of the request, generated from the model by `build.rs`.
const SCHEMA_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/schema.json"));

/// Validates and normalises one contact (`{ type, name, … }`).
#[wasm_bindgen(js_name = validateContact, unchecked_return_type = "ValidationResult<Contact>")]
pub fn validate_contact(
    #[wasm_bindgen(unchecked_param_type = "unknown")] input: &JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&checks::contact(input_of(input)))
}

/// Validates and normalises the body of `POST /api/v1/customers/{eZpayID}/contacts`.
#[wasm_bindgen(
    js_name = validateContactsRequest,
    unchecked_return_type = "ValidationResult<ContactsRequest>"
)]
pub fn validate_contacts_request(
    #[wasm_bindgen(unchecked_param_type = "unknown")] input: &JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&checks::request(input_of(input)))
}

/// Normalises a phone number typed in any common format to its 10 digits.
#[wasm_bindgen(js_name = normalizePhone, unchecked_return_type = "ValidationResult<string>")]
pub fn normalize_phone(
    #[wasm_bindgen(unchecked_param_type = "string")] input: &JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&checks::phone(&text_of(input)))
}

/// Formats a phone number for people, `(914) 721-2006`; input that does not
/// normalise is returned trimmed, and a value that is not text as `""`.
#[wasm_bindgen(js_name = formatPhone)]
pub fn format_phone(#[wasm_bindgen(unchecked_param_type = "string")] input: &JsValue) -> String {
    checks::formatted_phone(&text_of(input))
}

/// Checks a customer's eZpayID: 15 digits, surrounding spaces trimmed.
#[wasm_bindgen(js_name = validateEzpayId, unchecked_return_type = "ValidationResult<string>")]
pub fn validate_ezpay_id(
    #[wasm_bindgen(unchecked_param_type = "string")] input: &JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&checks::ezpay_id(&text_of(input)))
}

/// Reads a Contacts API response: a string is the body text
/// (`await response.text()`), any other value the parsed body
/// (`await response.json()`). A Failure without `status` is accepted.
#[wasm_bindgen(js_name = parseResponse, unchecked_return_type = "ParseResult<Envelope>")]
pub fn parse_response(
    #[wasm_bindgen(unchecked_param_type = "unknown")] body: &JsValue,
) -> Result<JsValue, JsValue> {
    let outcome = match body.as_string() {
        Some(text) => Envelope::from_body(&text, JsJson::parse).into(),
        None => checks::response(input_of(body)),
    };
    to_js(&outcome)
}

/// The JSON Schema (draft 2020-12) of the request body, generated from the
/// model's own tables. Each call returns a fresh object.
#[wasm_bindgen(js_name = contactsRequestSchema, unchecked_return_type = "JsonSchema")]
pub fn contacts_request_schema() -> Result<JsValue, JsValue> {
    JSON::parse(SCHEMA_JSON)
}

/// A value as `fetch` would send it, for the model's readers; or the kind
/// of a value JSON cannot hold.
fn input_of(value: &JsValue) -> Input<JsJson> {
    JsJson::from_js(value).map_or_else(|| Input::NotJson(kind_of(value)), Input::Json)
}

/// Reads a value that should be text; `null` and `undefined` are absent.
fn text_of(value: &JsValue) -> Text {
    match value.as_string() {
        Some(text) => Text::Given(text),
        None if value.is_null() || value.is_undefined() => Text::Absent,
        None => Text::WrongType(kind_of(value)),
    }
}

/// The kind of a JavaScript value, as error messages name it.
fn kind_of(value: &JsValue) -> &'static str {
    if value.is_undefined() {
        "undefined"
    } else if value.is_null() {
        "null"
    } else if value.as_bool().is_some() {
        "boolean"
    } else if value.as_f64().is_some() {
        "number"
    } else if value.is_string() {
        "string"
    } else if value.is_bigint() {
        "bigint"
    } else if value.is_symbol() {
        "symbol"
    } else if value.is_function() {
        "function"
    } else if Array::is_array(value) {
        "array"
    } else {
        "object"
    }
}

/// Hands a result to JavaScript as a plain object. Serialising an outcome
/// cannot fail on any input; an error here would be a bug and is thrown.
fn to_js(outcome: &impl Serialize) -> Result<JsValue, JsValue> {
    outcome
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(JsValue::from)
}
