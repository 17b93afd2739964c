//! The `Authorization` header value of a signed-in agent, and where it comes
//! from: the agent, the console's fixed value, or the console's `getToken`.
//!
//! It lives in the editor's memory only: never in storage, the URL or logs.

use std::fmt;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

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

    /// Whose drafts these credentials see, before [`draft::owner`] digests
    /// it: the user name of Basic credentials, as the bytes they carry
    /// (decoded by the browser's `atob`, one character per byte: it is only
    /// digested, so its UTF-8 is left as it is), the password dropped at
    /// once; or a bearer token's issuer and subject (`iss`, `sub`), which
    /// stay the same from one token of the agent to the next. `None` for
    /// another scheme or a blank user, which keep no drafts.
    pub fn user(&self) -> Option<String> {
        let (scheme, encoded) = self.0.split_once(' ')?;
        let window = web_sys::window()?;
        let user = if scheme.eq_ignore_ascii_case("basic") {
            let decoded = window.atob(encoded.trim()).ok()?;
            decoded.split_once(':')?.0.to_owned()
        } else if scheme.eq_ignore_ascii_case("bearer") {
            // The claims, base64url without padding, which `atob` reads once
            // made base64; the token is the server's to check, not the editor's.
            let claims: String = (encoded.split('.').nth(1)?.chars())
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            let claims = js_sys::JSON::parse(&window.atob(&claims).ok()?).ok()?;
            let claim = |name: &str| Reflect::get(&claims, &name.into()).ok()?.as_string();
            format!("{}\n{}", claim("iss")?, claim("sub")?)
        } else {
            return None;
        };
        (!user.trim().is_empty()).then_some(user)
    }
}

/// The console's `getToken`: a function that returns the agent's bearer
/// token, or a Promise of it. It is called before each request, with
/// `{refused: true}` after the service refused the last token.
#[derive(Debug, Clone, PartialEq)]
pub struct GetToken(pub js_sys::Function);

impl GetToken {
    fn bearer(token: &str) -> Authorization {
        Authorization(format!("Bearer {}", token.trim()))
    }

    /// The `Authorization` of the token `getToken` gives (`Bearer …`), or
    /// why there is none: it threw, it rejected, or it gave no token.
    pub async fn authorization(&self, refused: bool) -> Result<Authorization, String> {
        let hint = js_sys::Object::new();
        if refused {
            let _ = Reflect::set(&hint, &"refused".into(), &true.into());
        }
        let reason = |e: JsValue| {
            e.dyn_ref::<js_sys::Error>().map_or_else(
                || "getToken failed".to_owned(),
                |e| String::from(e.message()),
            )
        };
        let given = self.0.call1(&JsValue::NULL, &hint).map_err(reason)?;
        let token = JsFuture::from(js_sys::Promise::resolve(&given))
            .await
            .map_err(reason)?;
        token
            .as_string()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Self::bearer(&t))
            .ok_or_else(|| "getToken gave no token".to_owned())
    }
}

/// Where the `Authorization` of each call comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Signer {
    /// Credentials the agent typed, or the console's fixed `authorization`.
    Fixed(Authorization),
    /// The console's `getToken`, asked before each request.
    Host(GetToken),
}

impl Signer {
    /// The `Authorization` of the next request; `refused` where the service
    /// refused the last one (only the host can then give another).
    pub async fn authorization(&self, refused: bool) -> Result<Authorization, String> {
        match self {
            Signer::Fixed(authorization) => Ok(authorization.clone()),
            Signer::Host(get_token) => get_token.authorization(refused).await,
        }
    }

    /// Whose drafts these are: the [`draft::owner`] of the user of the
    /// credentials, or of the token `getToken` gives now, salted with
    /// `salt` ([`draft::salt`]).
    pub async fn owner(&self, salt: &str) -> Option<String> {
        let user = self.authorization(false).await.ok()?.user()?;
        draft::owner(salt, &user).await
    }

    /// Whether a refused request is worth one more try with a fresh token.
    pub fn renews(&self) -> bool {
        matches!(self, Signer::Host(_))
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
