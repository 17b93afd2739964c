use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{ErrorCode, ValidationError};

/// A `Request-Tracking-Id`: 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
///
/// The bound keeps it safe to echo in headers, logs and the database.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingId(String);

impl TrackingId {
    /// The longest tracking id accepted, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a tracking id as sent (surrounding spaces are trimmed).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let id = input.trim();
        let fail =
            |code, message: &str| Err(ValidationError::new("request_tracking_id", code, message));
        if id.is_empty() {
            return fail(
                ErrorCode::TrackingIdRequired,
                "The Request-Tracking-Id is empty; send one or leave the header out.",
            );
        }
        if id.chars().count() > Self::MAX_LEN {
            return fail(
                ErrorCode::TrackingIdTooLong,
                "The Request-Tracking-Id is too long: use at most 64 characters.",
            );
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return fail(
                ErrorCode::TrackingIdInvalidCharacter,
                "The Request-Tracking-Id may hold only letters, digits, '-', '_', '.' and ':'.",
            );
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TrackingId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}
