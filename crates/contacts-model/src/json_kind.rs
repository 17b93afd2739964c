//! Visitor methods shared by the lenient readers of untrusted JSON.

/// Implements `Visitor` methods that turn the listed JSON kinds into
/// `$wrong("kind")`, draining arrays and objects so parsing goes on.
macro_rules! reject_json_kinds {
    ($wrong:path => $($kind:ident),* $(,)?) => {
        $( reject_json_kinds!(@one $wrong, $kind); )*
    };
    (@one $wrong:path, null) => {
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrong("null"))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrong("null"))
        }
    };
    (@one $wrong:path, boolean) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($wrong("boolean"))
        }
    };
    (@one $wrong:path, number) => {
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($wrong("number"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($wrong("number"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($wrong("number"))
        }
    };
    (@one $wrong:path, string) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($wrong("string"))
        }
    };
    (@one $wrong:path, array) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok($wrong("array"))
        }
    };
    (@one $wrong:path, object) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok($wrong("object"))
        }
    };
}

/// A JSON value read where an object is expected: the object, or the kind of
/// the value found instead (`"array"`, `"null"`, …), so that the caller can
/// say what it got.
pub(crate) enum ObjectOr<T> {
    /// An object, read by the wrapped visitor.
    Object(T),
    /// Another kind of JSON value, named here.
    Other(&'static str),
}

/// Reads an [`ObjectOr`]: objects go to the wrapped visitor's `visit_map`.
pub(crate) struct ObjectVisitor<V>(pub(crate) V);

impl<'de, V: serde::de::Visitor<'de>> serde::de::Visitor<'de> for ObjectVisitor<V> {
    type Value = ObjectOr<V::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map).map(ObjectOr::Object)
    }

    fn visit_some<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    reject_json_kinds!(ObjectOr::Other => null, boolean, number, string, array);
}

/// Reads any value of a serde data format as an [`ObjectOr`] with `visitor`.
pub(crate) fn object_from<'de, D: serde::Deserializer<'de>, V: serde::de::Visitor<'de>>(
    deserializer: D,
    visitor: V,
) -> Result<ObjectOr<V::Value>, D::Error> {
    deserializer.deserialize_any(ObjectVisitor(visitor))
}

/// Reads JSON text as an [`ObjectOr`] with `visitor`; nothing may follow the value.
#[cfg(feature = "json")]
pub(crate) fn object_from_text<'de, V: serde::de::Visitor<'de>>(
    json: &'de str,
    visitor: V,
) -> Result<ObjectOr<V::Value>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let object = object_from(&mut deserializer, visitor)?;
    deserializer.end()?;
    Ok(object)
}

/// The object read, or words for what came instead (`an array`, or the
/// parser's own words) for the caller's error message.
pub(crate) fn expect_object<T, E: std::fmt::Display>(
    read: Result<ObjectOr<T>, E>,
) -> Result<T, String> {
    match read {
        Ok(ObjectOr::Object(object)) => Ok(object),
        Ok(ObjectOr::Other(kind)) => Err(crate::text::with_article(kind)),
        Err(e) => Err(format!("this ({e})")),
    }
}

/// Records a key that a reader does not know. The keys stay sorted and each
/// appears once, so that errors about them come in a stable order.
pub(crate) fn note_unknown_key(unknown: &mut Vec<String>, key: String) {
    if let Err(at) = unknown.binary_search(&key) {
        unknown.insert(at, key);
    }
}

/// Marks member `bit` of an object as read; a member given twice is an error,
/// as it is for the structs that serde derives.
pub(crate) fn mark_read<E: serde::de::Error>(
    read: &mut u16,
    bit: usize,
    name: &'static str,
) -> Result<(), E> {
    if *read & (1 << bit) != 0 {
        return Err(E::duplicate_field(name));
    }
    *read |= 1 << bit;
    Ok(())
}
