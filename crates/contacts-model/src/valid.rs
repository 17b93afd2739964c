use serde::Serialize;

/// A value that has passed validation.
///
/// Only this crate's validation functions build one, so a function that takes
/// a `Valid<T>` cannot be handed unvalidated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Valid<T>(T);

impl<T> Valid<T> {
    /// Wraps a value that the caller, inside this crate, has just validated.
    pub(crate) fn new_unchecked(value: T) -> Self {
        Self(value)
    }

    /// Gives up the proof of validity and returns the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Valid<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> AsRef<T> for Valid<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}
