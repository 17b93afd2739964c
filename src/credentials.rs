//! The `Authorization` header value of a signed-in agent.
//!
//! It lives in the editor's memory only: never in storage, the URL or logs.

use std::fmt;

use crate::draft;

/// A ready `Authorization` header value, such as `Basic b2NzdXNlcjpvY3N1c2Vy`.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization(String);

impl Authorization {
    /// HTTP Basic credentials of a user and password: their UTF-8, one
    /// character per byte, encoded by the browser's `btoa`, as browsers send
    /// them.
    pub fn basic(user: &str, password: &str) -> Self {
        let bytes: String = format!("{user}:{password}")
            .bytes()
            .map(char::from)
            .collect();
        let encoded = web_sys::window()
            .and_then(|w| w.btoa(&bytes).ok())
            .unwrap_or_default();
        Self(format!("Basic {encoded}"))
    }

    /// A header value handed over by the embedding console, used as given.
    /// `None` where it is blank.
    pub fn given(value: &str) -> Option<Self> {
        let value = value.trim();
        (!value.is_empty()).then(|| Self(value.to_owned()))
    }

    /// The header value.
    pub fn header_value(&self) -> &str {
        &self.0
    }

    /// Whose drafts these credentials see ([`draft::owner`]): the user name
    /// of Basic credentials, as the bytes they carry (decoded by the
    /// browser's `atob`, one character per byte: it is only hashed, so its
    /// UTF-8 is left as it is); `None` for another scheme or a blank name,
    /// which keep no drafts. The password is dropped at once.
    pub fn owner(&self) -> Option<String> {
        let (scheme, encoded) = self.0.split_at_checked(6)?;
        if !scheme.eq_ignore_ascii_case("basic ") {
            return None;
        }
        let decoded = web_sys::window()?.atob(encoded.trim()).ok()?;
        let (user, _password) = decoded.split_once(":")?;
        (!user.is_empty()).then(|| draft::owner(user))
    }
}

impl fmt::Debug for Authorization {
    /// Never shows the secret, so that no log can leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_secret_and_ignores_blank_values() {
        let auth = Authorization::given("Basic YTpzZWNyZXQ=").unwrap();
        assert!(!format!("{auth:?}").contains("YTpzZWNyZXQ"));
        assert_eq!(Authorization::given("  "), None);
        assert_eq!(
            Authorization::given(" Basic x ").map(|a| a.header_value().to_owned()),
            Some("Basic x".into())
        );
    }
}
