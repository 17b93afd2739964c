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
