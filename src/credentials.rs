//! The `Authorization` header value of a signed-in agent.
//!
//! It lives in the editor's memory only: never in storage, the URL or logs.

use std::fmt;

/// A ready `Authorization` header value, such as `Basic b2NzdXNlcjpvY3N1c2Vy`.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization(String);

impl Authorization {
    /// HTTP Basic credentials of a user and password (UTF-8, as browsers send them).
    pub fn basic(user: &str, password: &str) -> Self {
        Self(format!(
            "Basic {}",
            base64(format!("{user}:{password}").as_bytes())
        ))
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
}

impl fmt::Debug for Authorization {
    /// Never shows the secret, so that no log can leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization(<hidden>)")
    }
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_basic_credentials() {
        assert_eq!(
            Authorization::basic("ocsuser", "ocsuser").header_value(),
            "Basic b2NzdXNlcjpvY3N1c2Vy"
        );
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
        assert_eq!(base64("é".as_bytes()), "w6k=");
    }

    #[test]
    fn hides_the_secret_and_ignores_blank_values() {
        let auth = Authorization::basic("a", "secret");
        assert!(!format!("{auth:?}").contains("YTpzZWNyZXQ"));
        assert_eq!(Authorization::given("  "), None);
        assert_eq!(
            Authorization::given(" Basic x ").map(|a| a.header_value().to_owned()),
            Some("Basic x".into())
        );
    }
}
