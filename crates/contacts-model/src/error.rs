use std::fmt;

use serde::{Serialize, Serializer};

/// Declares the stable error codes: each variant with its published string.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// A stable validation error code.
        ///
        /// A code never changes meaning once published; its message may.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The published string of this code, e.g. `phone.too_short`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    /// The request body is not a JSON object.
    RequestNotAnObject = "request.not_an_object",
    /// A field that the contract does not define.
    UnknownField = "field.unknown",
    /// A value that should be a string is a number, boolean, array or object.
    NotText = "field.not_text",
    /// `contacts` is missing.
    ContactsRequired = "contacts.required",
    /// `contacts` is not an array.
    ContactsNotAList = "contacts.not_a_list",
    /// `contacts` is an empty array.
    ContactsEmpty = "contacts.empty",
    /// More contacts than one of each type.
    ContactsTooMany = "contacts.too_many",
    /// An item of `contacts` is not an object.
    ContactNotAnObject = "contact.not_an_object",
    /// A contact without a `type`.
    TypeRequired = "type.required",
    /// A `type` other than `billing` or `service`.
    TypeUnknown = "type.unknown",
    /// Two contacts of the same type.
    TypeDuplicate = "type.duplicate",
    /// A missing or blank name.
    NameRequired = "name.required",
    /// A name longer than 100 characters.
    NameTooLong = "name.too_long",
    /// A control character (such as a line break) in a text field.
    ControlCharacter = "text.control_character",
    /// An organization name longer than 100 characters.
    OrganizationTooLong = "organization_name.too_long",
    /// An email address longer than 254 characters.
    EmailTooLong = "email.too_long",
    /// A space inside an email address.
    EmailContainsSpace = "email.contains_space",
    /// An email address without `@`.
    EmailMissingAt = "email.missing_at",
    /// An email address with more than one `@`.
    EmailMultipleAt = "email.multiple_at",
    /// Nothing before the `@`.
    EmailMissingLocalPart = "email.missing_local_part",
    /// Nothing after the `@`.
    EmailMissingDomain = "email.missing_domain",
    /// A domain without a dot, such as `example`.
    EmailMissingTld = "email.missing_tld",
    /// A top-level domain that is neither two or more letters nor an `xn--` (internationalised) one.
    EmailInvalidTld = "email.invalid_tld",
    /// A domain with an empty label or a character a domain cannot hold.
    EmailInvalidDomain = "email.invalid_domain",
    /// A character an address cannot hold before the `@`: anything but ASCII
    /// letters, digits, dots and ``!#$%&'*+/=?^_`{|}~-`` (so no quotes, and
    /// nothing outside ASCII).
    EmailInvalidCharacter = "email.invalid_character",
    /// A part before the `@` that starts or ends with a dot, or has two in a row.
    EmailMisplacedDot = "email.misplaced_dot",
    /// A domain label (between dots) longer than 63 characters.
    EmailLabelTooLong = "email.label_too_long",
    /// A character other than digits, spaces, dots, dashes, parentheses and a leading `+`.
    PhoneInvalidCharacter = "phone.invalid_character",
    /// Fewer than 10 digits.
    PhoneTooShort = "phone.too_short",
    /// More than 10 digits (after an optional leading `1`).
    PhoneTooLong = "phone.too_long",
    /// A `+` country code other than `+1`.
    PhoneUnsupportedCountry = "phone.unsupported_country",
    /// An area code that starts with 0 or 1.
    PhoneInvalidAreaCode = "phone.invalid_area_code",
    /// An exchange (the three digits after the area code) that starts with 0 or 1.
    PhoneInvalidExchange = "phone.invalid_exchange",
    /// An area code with no numbers in use, by libphonenumber's NANP data.
    PhoneAreaCodeNotInUse = "phone.area_code_not_in_use",
    /// An exchange not in use in an area code that takes only some, by
    /// libphonenumber's NANP data.
    PhoneExchangeNotInUse = "phone.exchange_not_in_use",
    /// An extension typed on a mobile or fax number, which cannot have one.
    PhoneExtensionNotAllowed = "phone.extension_not_allowed",
    /// An extension that is not all digits.
    ExtensionNotDigits = "extension.not_digits",
    /// An extension longer than 6 digits.
    ExtensionTooLong = "extension.too_long",
    /// An extension without a work phone.
    ExtensionWithoutWorkPhone = "extension.without_work_phone",
    /// An extension both pasted on the work phone and typed in its field, and they differ.
    ExtensionConflict = "extension.conflict",
    /// A missing eZpayID.
    EzpayIdRequired = "ezpay_id.required",
    /// An eZpayID with a character that is not a digit.
    EzpayIdNotDigits = "ezpay_id.not_digits",
    /// An eZpayID that is not 15 digits long.
    EzpayIdWrongLength = "ezpay_id.wrong_length",
    /// An empty tracking id.
    TrackingIdRequired = "tracking_id.required",
    /// A tracking id longer than 64 characters.
    TrackingIdTooLong = "tracking_id.too_long",
    /// A tracking id with a character other than letters, digits, `-`, `_`, `.` and `:`.
    TrackingIdInvalidCharacter = "tracking_id.invalid_character",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One validation failure: where, which rule (a stable code), and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// A JSON path keyed by contact type, e.g. `contacts[billing].email`.
    pub path: String,
    /// The stable code of the rule that failed.
    pub code: ErrorCode,
    /// An English sentence that says what to fix.
    pub message: String,
}

impl ValidationError {
    /// A new error at `path`.
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }

    /// The same error, its path put under `prefix` (`email` under `contacts[billing]`).
    #[must_use]
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

impl std::error::Error for ValidationError {}

/// Every failure found in one value, in the order of its fields. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    /// The errors in order.
    pub fn as_slice(&self) -> &[ValidationError] {
        &self.0
    }

    /// The first error at exactly `path`, if any.
    pub fn at(&self, path: &str) -> Option<&ValidationError> {
        self.0.iter().find(|e| e.path == path)
    }

    /// The errors as a vector.
    pub fn into_vec(self) -> Vec<ValidationError> {
        self.0
    }

    /// Turns a list of errors into `Err` where it is not empty.
    pub(crate) fn check(errors: Vec<ValidationError>) -> Result<(), ValidationErrors> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(error: ValidationError) -> Self {
        Self(vec![error])
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            let (group, rule) = s.split_once('.').expect(s);
            assert!(!group.is_empty() && !rule.is_empty(), "{s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
                "{s}"
            );
        }
    }

    #[test]
    fn under_prefixes_the_path() {
        let e = ValidationError::new("email", ErrorCode::EmailMissingAt, "m");
        assert_eq!(e.under("contacts[billing]").path, "contacts[billing].email");
        let e = ValidationError::new("", ErrorCode::TypeRequired, "m");
        assert_eq!(e.under("contacts[0]").path, "contacts[0]");
    }
}
