//! Refuses JSON objects that hold one key twice.
//!
//! `serde_json` keeps the last of duplicate keys silently, while other
//! parsers (a proxy, a log pipeline, the console) may keep the first: the
//! server would then store something other than what was checked or shown.
//! A body with a duplicate key is therefore a bad request.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Walks any JSON value and fails on the first object with a repeated key.
/// `serde_json`'s recursion limit still bounds the depth of the walk.
#[derive(Debug)]
pub struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!(
                    "the key '{shown}' appears twice in one object"
                )));
            }
            seen.insert(key);
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E: de::Error>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicate_keys_at_any_depth_with_their_position() {
        for (body, duplicate) in [
            (r#"{"a": 1, "b": 2}"#, false),
            (r#"{"a": {"x": 1}, "b": {"x": 1}}"#, false),
            (r#"{"a": 1, "a": 2}"#, true),
            (
                r#"{"contacts": [{"type": "billing", "name": "A", "name": "B"}]}"#,
                true,
            ),
            (r#"[[{"k": [], "k": null}]]"#, true),
            // The same key after unescaping is the same key.
            (r#"{"name": 1, "n\u0061me": 2}"#, true),
        ] {
            let result = serde_json::from_str::<UniqueKeys>(body);
            assert_eq!(result.is_err(), duplicate, "{body}");
            if let Err(e) = result {
                assert!(e.to_string().contains("column"), "{e}");
            }
        }
    }
}
