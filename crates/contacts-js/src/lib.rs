//! JavaScript exports of the contact model: the same validation as the editor
//! and the server, as an npm-shaped package with TypeScript types.
//!
//! Every export is a thin shim: it reads the JavaScript value, runs the
//! model's check (see [`checks`]) and hands back a plain object, the tagged
//! union `{ ok: true, value }` or `{ ok: false, errors: [{ path, code, message }] }`.
//! Bad data never throws.
//!
//! Objects cross the boundary as JSON text: the value goes through
//! `JSON.stringify`, so it is checked exactly as `fetch` would send it to the
//! server (an `undefined` field is absent, a `Date` is a string), and the
//! result comes back as a plain object, written by serde-wasm-bindgen.

pub mod checks;
pub mod outcome;

use js_sys::{Array, JSON};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use contacts_model::Text;

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
    let json = json_text(input);
    to_js(&checks::contact(input_of(&json)))
}

/// Validates and normalises the body of `POST /api/v1/customers/{eZpayID}/contacts`.
#[wasm_bindgen(
    js_name = validateContactsRequest,
    unchecked_return_type = "ValidationResult<ContactsRequest>"
)]
pub fn validate_contacts_request(
    #[wasm_bindgen(unchecked_param_type = "unknown")] input: &JsValue,
) -> Result<JsValue, JsValue> {
    let json = json_text(input);
    to_js(&checks::request(input_of(&json)))
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
    let json = match body.as_string() {
        Some(text) => Ok(text),
        None => json_text(body),
    };
    to_js(&checks::response(input_of(&json)))
}

/// The JSON Schema (draft 2020-12) of the request body, generated from the
/// model's own tables. Each call returns a fresh object.
#[wasm_bindgen(js_name = contactsRequestSchema, unchecked_return_type = "JsonSchema")]
pub fn contacts_request_schema() -> Result<JsValue, JsValue> {
    JSON::parse(SCHEMA_JSON)
}

/// Writes a value as `JSON.stringify` would, or names its kind where JSON cannot hold it.
fn json_text(value: &JsValue) -> Result<String, &'static str> {
    JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| kind_of(value))
}

fn input_of<'a>(json: &'a Result<String, &'static str>) -> Input<'a> {
    match json {
        Ok(text) => Input::Json(text),
        Err(kind) => Input::NotJson(kind),
    }
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
