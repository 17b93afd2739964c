use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{ErrorCode, ValidationError};

/// A customer's eZpayID: exactly 15 digits, as `000010000005008`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EzpayId(String);

impl EzpayId {
    /// The number of digits of every eZpayID.
    pub const LEN: usize = 15;

    /// Parses an eZpayID, trimming surrounding spaces (agents paste it).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let id = input.trim();
        let fail = |code, message: String| Err(ValidationError::new("ezpay_id", code, message));
        if id.is_empty() {
            return fail(
                ErrorCode::EzpayIdRequired,
                "Enter the customer's eZpayID (15 digits).".into(),
            );
        }
        if !id.chars().all(|c| c.is_ascii_digit()) {
            return fail(
                ErrorCode::EzpayIdNotDigits,
                "An eZpayID holds digits only, as in 000010000005008.".into(),
            );
        }
        if id.len() != Self::LEN {
            return fail(
                ErrorCode::EzpayIdWrongLength,
                format!("An eZpayID has 15 digits; this one has {}.", id.len()),
            );
        }
        Ok(Self(id.to_owned()))
    }

    /// The 15 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EzpayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EzpayId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl std::str::FromStr for EzpayId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
