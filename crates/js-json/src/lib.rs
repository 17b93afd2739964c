//! JSON for the browser builds (the editor and `contacts-js`) without a JSON
//! parser or printer in their wasm: text is parsed by the engine's own
//! `JSON.parse`, and the value it makes is read by serde through
//! [`JsJson`], a `Deserializer` of plain JSON data (null, booleans, numbers,
//! strings, arrays and objects). Values are written as JSON text by a small
//! serde `Serializer` of its own ([`stringify`]), which `JSON.parse` turns
//! into objects where JavaScript wants them ([`to_js`]).
//!
//! Only the self-describing part of serde is served: every `deserialize_*`
//! reads what the value is (`deserialize_any`), which is what the model's
//! lenient readers ask for. Errors name kinds, never the values met, so they
//! stay small and never echo untrusted data.
//!
//! Why not serde-wasm-bindgen, measured in the release builds: its
//! `Deserializer`, whose errors format what they met (floats included),
//! makes the editor and the JS package each about 13.4 KiB gzip larger; its
//! `Serializer` in place of [`stringify`] and [`to_js`] makes the editor
//! 1.6 KiB larger, which would take its first load past the 100 KiB budget.

mod error;
mod ser;

use js_sys::{Array, JSON, Object};
use serde::de::{self, DeserializeSeed, Visitor};
use serde::{Serialize, forward_to_deserialize_any};
use wasm_bindgen::{JsCast, JsValue};

pub use error::Error;

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A value made by `JSON.parse`, read by serde.
#[derive(Debug, Clone)]
pub struct JsJson(JsValue);

impl JsJson {
    /// Parses JSON text with `JSON.parse`; the error is the engine's own
    /// words for why the text is not JSON.
    pub fn parse(text: &str) -> Result<Self, String> {
        JSON::parse(text).map(Self).map_err(|e| {
            e.dyn_into::<js_sys::Error>()
                .map_or_else(|_| "not JSON".to_owned(), |e| e.message().into())
        })
    }

    /// A value as `fetch` would send it: `JSON.parse(JSON.stringify(value))`.
    /// `None` where JSON cannot hold the value (`undefined`, a function, a
    /// symbol, or an object holding a BigInt or a cycle).
    pub fn from_js(value: &JsValue) -> Option<Self> {
        let text = JSON::stringify(value).ok()?.as_string()?;
        JSON::parse(&text).ok().map(Self)
    }
}

impl AsRef<JsValue> for JsJson {
    fn as_ref(&self) -> &JsValue {
        &self.0
    }
}

/// A value as the plain object `JSON.parse` makes of its JSON text.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, Error> {
    let text = stringify(value)?;
    JSON::parse(&text).map_err(|_| de::Error::custom("JSON.parse refused the text written"))
}

/// A value as compact JSON text, as `JSON.stringify` writes it.
pub fn stringify<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    ser::to_string(value)
}

/// What a JSON value is, with what serde needs of it.
enum Kind {
    String(String),
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    Array(Items),
    Object(Entries),
}

impl JsJson {
    /// Asks JavaScript what the value is. Not generic, so that its calls
    /// into JavaScript are compiled once rather than for every visitor.
    fn kind(self) -> Kind {
        let value = self.0;
        // Strings first: most values of a contact are, and each question
        // asked of the value is a call into JavaScript.
        if let Some(text) = value.as_string() {
            Kind::String(text)
        } else if value.is_null() || value.is_undefined() {
            Kind::Null
        } else if let Some(boolean) = value.as_bool() {
            Kind::Bool(boolean)
        } else if let Some(number) = value.as_f64() {
            if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER {
                Kind::Integer(number as i64)
            } else {
                Kind::Float(number)
            }
        } else if Array::is_array(&value) {
            Kind::Array(Items {
                items: value.unchecked_into(),
                next: 0,
            })
        } else {
            Kind::Object(Entries {
                entries: Object::entries(value.unchecked_ref()),
                next: 0,
                value: JsValue::NULL,
            })
        }
    }
}

impl<'de> de::Deserializer<'de> for JsJson {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind() {
            Kind::String(text) => visitor.visit_string(text),
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(boolean) => visitor.visit_bool(boolean),
            Kind::Integer(number) => visitor.visit_i64(number),
            Kind::Float(number) => visitor.visit_f64(number),
            Kind::Array(items) => visitor.visit_seq(items),
            Kind::Object(entries) => visitor.visit_map(entries),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The items of an array.
struct Items {
    items: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.next_item()
            .map(|item| seed.deserialize(item))
            .transpose()
    }
}

impl Items {
    /// The next item, if any (not generic, like [`JsJson::kind`]).
    fn next_item(&mut self) -> Option<JsJson> {
        if self.next >= self.items.length() {
            return None;
        }
        let item = self.items.get(self.next);
        self.next += 1;
        Some(JsJson(item))
    }
}

/// The members of an object, from `Object.entries`: `[key, value]` pairs.
struct Entries {
    entries: Array,
    next: u32,
    /// The value of the key read last.
    value: JsValue,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        self.next_key().map(|key| seed.deserialize(key)).transpose()
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(self.take_value())
    }
}

impl Entries {
    /// The next member's key, keeping its value for [`Entries::take_value`]
    /// (not generic, like [`JsJson::kind`]).
    fn next_key(&mut self) -> Option<JsJson> {
        if self.next >= self.entries.length() {
            return None;
        }
        // `Object.entries` gives `[key, value]` arrays.
        let entry: Array = self.entries.get(self.next).unchecked_into();
        self.next += 1;
        self.value = entry.get(1);
        Some(JsJson(entry.get(0)))
    }

    fn take_value(&mut self) -> JsJson {
        JsJson(std::mem::replace(&mut self.value, JsValue::NULL))
    }
}
