//! `JsJson` against serde_json: the same JSON text, parsed by the engine and
//! read through `JsJson`, gives the same value as serde_json's own parser.
//!
//! Run: `cargo test -p js-json --target wasm32-unknown-unknown` (in Node).
#![cfg(target_arch = "wasm32")]

use js_json::{JsJson, stringify};
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

#[wasm_bindgen_test]
fn writes_json_text() {
    // serde_json's map keeps its keys sorted.
    let value = serde_json::json!({"status": "Success", "list": [1, "two", null]});
    assert_eq!(
        stringify(&value),
        Ok(r#"{"list":[1,"two",null],"status":"Success"}"#.to_owned())
    );
}

/// What `JSON.stringify` writes for the value `JSON.parse` makes of `text`.
fn engine_text(text: &str) -> String {
    let value = js_sys::JSON::parse(text).expect("JSON");
    js_sys::JSON::stringify(&value)
        .expect("stringify")
        .as_string()
        .expect("text")
}

#[wasm_bindgen_test]
fn writes_what_json_stringify_writes() {
    for text in [
        r#""plain""#,
        r#""quote \" backslash \\ slash / tab \t newline \n return \r""#,
        r#""controls \u0000 \u0001 \b \f \u001f \u007f""#,
        r#""non-ASCII é ü 中文 😀 U+2028 \u2028""#,
        "[true,false,null,0,-7,9007199254740991,1.5,-0.25,1e+21,1e-7]",
        r#"{"contacts":[{"fax":"","name":"A <b>","type":"billing"}],"n":{}}"#,
        "[[],[[]],{}]",
    ] {
        let value: Value = serde_json::from_str(text).expect(text);
        assert_eq!(stringify(&value), Ok(engine_text(text)), "{text}");
    }
}

#[wasm_bindgen_test]
fn writes_rust_shapes_as_json_and_refuses_keys_that_are_not_strings() {
    #[derive(serde::Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(u8, char),
        Struct { f: Option<f64> },
    }
    let shapes = (
        Shape::Unit,
        Shape::Newtype(1),
        Shape::Tuple(2, '"'),
        Shape::Struct { f: None },
        f64::NAN,
    );
    assert_eq!(
        stringify(&shapes),
        Ok(r#"["Unit",{"Newtype":1},{"Tuple":[2,"\""]},{"Struct":{"f":null}},null]"#.to_owned())
    );
    let numbered = std::collections::BTreeMap::from([(1, "one")]);
    let error = stringify(&numbered).expect_err("a number is no JSON key");
    assert!(error.to_string().contains("keys are strings"), "{error}");
    let read_back = js_json::to_js(&serde_json::json!({"a": [1]})).expect("an object");
    assert_eq!(
        js_sys::JSON::stringify(&read_back)
            .ok()
            .and_then(|t| t.as_string()),
        Some(r#"{"a":[1]}"#.to_owned())
    );
}
