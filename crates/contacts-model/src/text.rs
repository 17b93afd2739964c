use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A field of untrusted input that should hold a string.
///
/// It accepts any JSON value so that validation, not the parser, decides what
/// is wrong and reports it with a stable code and a path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Text {
    /// The field is missing or `null`.
    #[default]
    Absent,
    /// The field holds a string, exactly as given.
    Given(String),
    /// The field holds another kind of JSON value, named here (`"number"`, …).
    WrongType(&'static str),
}

impl Text {
    /// The trimmed string, or `None` where the field is absent, blank or not a string.
    ///
    /// Empty strings count as absent, as the validation policy says.
    pub fn trimmed(&self) -> Option<&str> {
        match self {
            Text::Given(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            Text::Absent | Text::WrongType(_) => None,
        }
    }

    /// Whether the field is missing or `null`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Text::Absent)
    }

    /// The string as given, or `""` where there is none.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Given(s) => s,
            Text::Absent | Text::WrongType(_) => "",
        }
    }
}

/// The characters text may not hold, as inclusive ranges: the control
/// characters (such as a line break or a tab), the line and paragraph
/// separators, the bidirectional overrides and isolates that would make a name
/// read differently from how it is stored, and the invisible characters that
/// play no part in any script (zero width space, word joiner, byte order
/// mark). The zero width joiner and non-joiner stay allowed: some scripts need
/// them. The JSON Schema is built from this same table.
pub(crate) const FORBIDDEN_IN_TEXT: [(char, char); 7] = [
    ('\u{0}', '\u{1f}'),
    ('\u{7f}', '\u{9f}'),
    ('\u{200b}', '\u{200b}'),
    ('\u{2028}', '\u{202e}'),
    ('\u{2060}', '\u{2060}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{feff}', '\u{feff}'),
];

/// Whether `c` must not appear in text (see [`FORBIDDEN_IN_TEXT`]).
pub(crate) fn is_forbidden_in_text(c: char) -> bool {
    FORBIDDEN_IN_TEXT
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// A character as a message names it: `'x'`, or by its code point where it
/// is invisible or easily mistaken (`the character U+0007`, `'é' (U+00E9)`).
pub(crate) fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else if c.is_control() {
        format!("the character U+{:04X}", u32::from(c))
    } else {
        format!("'{c}' (U+{:04X})", u32::from(c))
    }
}

/// A JSON kind as a sentence names it: `an array`, `a number`.
pub(crate) fn with_article(kind: &str) -> String {
    match kind {
        "null" => "null".to_owned(),
        k if k.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {k}"),
        k => format!("a {k}"),
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Text::Given(value.to_owned())
    }
}

impl From<String> for Text {
    fn from(value: String) -> Self {
        Text::Given(value)
    }
}

impl From<Option<String>> for Text {
    fn from(value: Option<String>) -> Self {
        value.map_or(Text::Absent, Text::Given)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Given(s) => serializer.serialize_str(s),
            Text::Absent | Text::WrongType(_) => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Given(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text::Given(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }

    reject_json_kinds!(Text::WrongType => boolean, number, array, object);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_json_value() {
        let cases = [
            (r#""a b""#, Text::Given("a b".into())),
            ("null", Text::Absent),
            ("true", Text::WrongType("boolean")),
            ("12", Text::WrongType("number")),
            ("-1.5", Text::WrongType("number")),
            ("[1,[2]]", Text::WrongType("array")),
            (r#"{"a":{"b":1}}"#, Text::WrongType("object")),
        ];
        for (json, expected) in cases {
            let got: Text = serde_json::from_str(json).expect(json);
            assert_eq!(got, expected, "{json}");
        }
    }

    #[test]
    fn names_kinds_with_their_article() {
        assert_eq!(with_article("array"), "an array");
        assert_eq!(with_article("object"), "an object");
        assert_eq!(with_article("number"), "a number");
        assert_eq!(with_article("null"), "null");
    }

    #[test]
    fn blank_strings_are_absent() {
        assert_eq!(Text::from("  ").trimmed(), None);
        assert_eq!(Text::from(" x ").trimmed(), Some("x"));
        assert_eq!(Text::WrongType("number").trimmed(), None);
    }
}
