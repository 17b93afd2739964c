//! `JsJson` against serde_json: the same JSON text, parsed by the engine and
//! read through `JsJson`, gives the same value as serde_json's own parser.
//!
//! Run: `cargo test -p js-json --target wasm32-unknown-unknown` (in Node).
#![cfg(target_arch = "wasm32")]

use js_json::JsJson;
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn read(text: &str) -> Result<Value, String> {
    let parsed = JsJson::parse(text)?;
    Value::deserialize(parsed).map_err(|e| e.to_string())
}

#[wasm_bindgen_test]
fn reads_every_kind_of_json_value_as_serde_json_does() {
    for text in [
        "null",
        "true",
        "false",
        "0",
        "-17",
        "9007199254740991",
        "1.5",
        "-2.25e-3",
        r#""text with \"quotes\", é and \u2028""#,
        "[]",
        r#"[1, "two", [3], {"four": null}]"#,
        "{}",
        r#"{"contacts":[{"type":"billing","name":"John Smith"}],"n":7,"deep":{"a":[true]}}"#,
    ] {
        let expected: Value = serde_json::from_str(text).expect(text);
        assert_eq!(read(text), Ok(expected), "{text}");
    }
}

#[wasm_bindgen_test]
fn text_that_is_not_json_is_refused_in_the_engines_words() {
    for text in ["", "{", "<html>", "[1,]", "{\"a\":1}x"] {
        let why = read(text).expect_err(text);
        assert!(!why.is_empty(), "{text}");
    }
}

#[wasm_bindgen_test]
fn options_read_null_as_none_and_values_as_some() {
    let absent = Option::<String>::deserialize(JsJson::parse("null").expect("null"));
    assert_eq!(absent, Ok(None));
    let present = Option::<String>::deserialize(JsJson::parse(r#""x""#).expect("x"));
    assert_eq!(present, Ok(Some("x".to_owned())));
}

#[wasm_bindgen_test]
fn type_errors_name_the_kind_not_the_value() {
    let error = String::deserialize(JsJson::parse("1.5").expect("1.5")).expect_err("a number");
    assert_eq!(
        error.to_string(),
        "invalid type: a number, expected a string"
    );
    let error = u8::deserialize(JsJson::parse(r#""secret""#).expect("text")).expect_err("text");
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[wasm_bindgen_test]
fn values_go_through_json_as_fetch_sends_them() {
    let date = js_sys::Date::new(&JsValue::from_f64(0.0));
    let read = Value::deserialize(JsJson::from_js(&date).expect("a date is JSON"));
    assert_eq!(read, Ok(Value::from("1970-01-01T00:00:00.000Z")));
    assert!(JsJson::from_js(&JsValue::UNDEFINED).is_none());
    assert!(JsJson::from_js(&JsValue::bigint_from_str("1")).is_none());
}
