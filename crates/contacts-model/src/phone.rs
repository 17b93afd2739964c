use std::cmp::Reverse;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{ErrorCode, ValidationError};
use crate::nanp::{self, Usage};
use crate::text::describe_char;

/// A North American (NANP) phone number, held as its 10 digits.
///
/// Only [`normalize_phone`] builds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// The 10 digits, as the contract sends them (`9147212006`).
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The number as agents read it: `(914) 721-2006`.
    pub fn formatted(&self) -> String {
        let d = &self.0;
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    }
}

impl fmt::Display for Phone {
    /// Shows the 10 digits; use [`Phone::formatted`] for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Whether `c` is a separator people type or paste inside phone numbers.
///
/// Besides the ASCII space, dot, dash and parentheses, this takes every
/// Unicode space (a no-break space copied from a web page) and dash (an en
/// dash from a word processor), since they carry no digit either.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '-' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}'
        )
}

/// Normalises a phone number typed in any common format to its 10 digits.
///
/// Spaces, dots, dashes and parentheses are removed, then an optional leading
/// `+1` or `1`. The area code and the exchange must start with 2-9 and be in
/// use by libphonenumber's NANP data (the area code, and the exchange where
/// the area code takes only some). The error's path is empty; callers put it
/// under the field's path.
pub fn normalize_phone(input: &str) -> Result<Phone, ValidationError> {
    let trimmed = input.trim();
    let (has_plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    // The digits are gathered on the stack: one more than a number with its
    // country code is enough to tell that there are too many.
    let mut buffer = [0u8; 12];
    let mut count = 0;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            buffer[count] = c as u8;
            count += 1;
        } else if !is_separator(c) {
            return Err(invalid_character(c));
        }
        if count == buffer.len() {
            break;
        }
    }
    // ASCII digits only, so always UTF-8.
    let digits = std::str::from_utf8(&buffer[..count]).unwrap_or_default();
    if has_plus && !digits.is_empty() && !digits.starts_with('1') {
        return Err(error(
            ErrorCode::PhoneUnsupportedCountry,
            "Only North American numbers (+1) are accepted; enter a 10-digit number.".into(),
        ));
    }
    let national = match digits.len() {
        10 if !has_plus => digits,
        11 if digits.starts_with('1') => &digits[1..],
        n if n < 10 || (has_plus && n < 11) => {
            let have = if has_plus { n.saturating_sub(1) } else { n };
            return Err(error(
                ErrorCode::PhoneTooShort,
                format!("Enter a 10-digit phone number; this one has {have} digits."),
            ));
        }
        _ => {
            return Err(error(
                ErrorCode::PhoneTooLong,
                "Enter a 10-digit phone number; this one has too many digits.".into(),
            ));
        }
    };
    let bytes = national.as_bytes();
    if bytes[0] < b'2' {
        // Ten digits after a leading 1 are most likely a country code and a
        // number missing a digit, so the message says so.
        let hint = if bytes[0] == b'1' {
            " If the 1 is the country code, enter all 10 digits after it."
        } else {
            ""
        };
        return Err(error(
            ErrorCode::PhoneInvalidAreaCode,
            format!(
                "The area code {} is not valid: it must start with 2-9.{hint}",
                &national[..3]
            ),
        ));
    }
    let (area, exchange) = (&national[..3], &national[3..6]);
    let usage = nanp::usage(number(area), number(exchange));
    if usage == Usage::NoSuchAreaCode {
        return Err(error(
            ErrorCode::PhoneAreaCodeNotInUse,
            format!("The area code {area} is not in use: check the number."),
        ));
    }
    if bytes[3] < b'2' {
        return Err(error(
            ErrorCode::PhoneInvalidExchange,
            format!(
                "The exchange {exchange} is not valid: the three digits after the area code must start with 2-9."
            ),
        ));
    }
    if usage == Usage::NoSuchExchange {
        return Err(error(
            ErrorCode::PhoneExchangeNotInUse,
            format!(
                "The exchange {exchange} is not in use in area code {area}: check the three digits after the area code."
            ),
        ));
    }
    Ok(Phone(national.to_owned()))
}

/// The value of three ASCII digits.
fn number(digits: &str) -> u16 {
    digits.bytes().fold(0, |n, d| n * 10 + u16::from(d - b'0'))
}

fn invalid_character(c: char) -> ValidationError {
    let shown = describe_char(c);
    error(
        ErrorCode::PhoneInvalidCharacter,
        format!(
            "Remove {shown}: a phone number holds only digits, spaces, dots, dashes, parentheses and a leading +1."
        ),
    )
}

fn error(code: ErrorCode, message: String) -> ValidationError {
    ValidationError::new("", code, message)
}

/// Formats a phone number for people: `(914) 721-2006`.
///
/// Input that does not normalise is returned unchanged (trimmed), so the agent
/// sees what they typed next to its error.
pub fn format_phone(input: &str) -> String {
    normalize_phone(input).map_or_else(|_| input.trim().to_owned(), |p| p.formatted())
}

/// Extension markers, matched case-insensitively. At the same position the
/// longest wins, so `extension` beats `ext` and `ext.` beats `ext`.
const EXTENSION_MARKERS: [&str; 6] = [";ext=", "extension", "ext.", "ext", "x", "#"];

/// Splits an extension pasted on a phone number: `914-721-2006 x2006` gives
/// `("914-721-2006", Some("2006"))`.
///
/// Recognises `x`, `ext`, `ext.`, `extension`, `#` and the RFC 3966 `;ext=`.
/// Both parts are trimmed; an empty extension is `None`.
pub fn split_extension(input: &str) -> (&str, Option<&str>) {
    // ASCII lowercasing keeps every byte offset, so offsets found in `lower`
    // are valid in `input`.
    let lower = input.to_ascii_lowercase();
    let marker = EXTENSION_MARKERS
        .iter()
        .filter_map(|m| lower.find(m).map(|at| (at, m.len())))
        .min_by_key(|&(at, len)| (at, Reverse(len)));
    match marker {
        None => (input.trim(), None),
        Some((at, len)) => {
            let extension = input[at + len..]
                .trim_start_matches([' ', ':', '=', '.'])
                .trim();
            (
                input[..at].trim(),
                Some(extension).filter(|e| !e.is_empty()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_valid_numbers() {
        assert_eq!(format_phone("9147212006"), "(914) 721-2006");
        assert_eq!(format_phone(" +1 914 721 2006 "), "(914) 721-2006");
        assert_eq!(format_phone("12"), "12");
    }

    #[test]
    fn splits_extensions() {
        let cases = [
            ("914-721-2006", ("914-721-2006", None)),
            ("1-914-721-2006 x2006", ("1-914-721-2006", Some("2006"))),
            ("914.721.2006 X 12", ("914.721.2006", Some("12"))),
            ("(914) 721-2006 ext. 2006", ("(914) 721-2006", Some("2006"))),
            ("(914) 721-2006 Ext 7", ("(914) 721-2006", Some("7"))),
            ("914 721 2006 extension: 55", ("914 721 2006", Some("55"))),
            (
                "tel:+1-914-721-2006;ext=2006",
                ("tel:+1-914-721-2006", Some("2006")),
            ),
            ("9147212006#99", ("9147212006", Some("99"))),
            ("9147212006 x", ("9147212006", None)),
        ];
        for (input, expected) in cases {
            assert_eq!(split_extension(input), expected, "{input}");
        }
    }
}
