//! The `[auth]` table: whether HTTP Basic is taken, and `[auth.oidc]`, the
//! issuer whose bearer tokens (JWTs) are taken, checked at start.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use reqwest::Url;
use serde::Deserialize;

/// The `[auth]` table as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthFile {
    #[serde(default = "yes")]
    basic: bool,
    oidc: Option<OidcFile>,
}

impl Default for AuthFile {
    fn default() -> Self {
        Self {
            basic: true,
            oidc: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// The `[auth.oidc]` table as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcFile {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    #[serde(default = "default_algorithms")]
    algorithms: Vec<String>,
    #[serde(default = "default_leeway")]
    leeway_seconds: u64,
    #[serde(default = "default_user_claim")]
    user_claim: String,
    profiles_claim: Option<String>,
    profiles: Option<Vec<String>>,
    #[serde(default = "default_max_age")]
    jwks_max_age_seconds: u64,
    #[serde(default = "default_fetch_timeout")]
    jwks_timeout_ms: u64,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}

fn default_leeway() -> u64 {
    30
}

fn default_user_claim() -> String {
    "sub".into()
}

fn default_max_age() -> u64 {
    3_600
}

fn default_fetch_timeout() -> u64 {
    5_000
}

/// How the server takes credentials.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Whether HTTP Basic credentials (the `[users]`) are taken.
    pub basic: bool,
    /// The issuer whose bearer tokens are taken, if any.
    pub oidc: Option<Oidc>,
}

/// An issuer of bearer tokens.
#[derive(Debug, Clone)]
pub struct Oidc {
    /// The `iss` its tokens carry, exactly.
    pub issuer: String,
    /// The `aud` its tokens must name.
    pub audience: String,
    /// Where its key set is: a `jwks_url`, else the `jwks_uri` of the
    /// issuer's `/.well-known/openid-configuration`.
    pub keys: KeySource,
    /// The asymmetric algorithms its keys may sign with.
    pub algorithms: Vec<Algorithm>,
    /// The clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// The claim that names the user.
    pub user_claim: String,
    /// The ProfileIds a token's user may send.
    pub profiles: TokenProfiles,
    /// Keys older than this are no longer trusted.
    pub jwks_max_age: Duration,
    /// A fetch of the key set (or of the discovery document) gives up after this.
    pub fetch_timeout: Duration,
}

/// Where the key set is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A configured `jwks_url`.
    Jwks(Url),
    /// The issuer's discovery document, which names the key set's address.
    Discovery(Url),
}

/// The ProfileIds a token's user may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProfiles {
    /// Those listed by this claim of the token (a JSON array of strings).
    Claim(String),
    /// This fixed list, for every user of the issuer.
    Fixed(BTreeSet<String>),
}

/// Checks the `[auth]` table; `profile_configured` says whether a ProfileId
/// is under `[profiles]`.
pub(super) fn auth(
    file: AuthFile,
    profile_configured: &dyn Fn(&str) -> bool,
) -> Result<Auth, String> {
    let oidc = file
        .oidc
        .map(|oidc| oidc_settings(oidc, profile_configured))
        .transpose()?;
    if !file.basic && oidc.is_none() {
        return Err(
            "auth: basic = false needs an [auth.oidc] issuer, or no one could sign in".into(),
        );
    }
    Ok(Auth {
        basic: file.basic,
        oidc,
    })
}

fn oidc_settings(
    file: OidcFile,
    profile_configured: &dyn Fn(&str) -> bool,
) -> Result<Oidc, String> {
    checked_url("issuer", &file.issuer)?;
    if file.audience.is_empty() {
        return Err("auth.oidc: audience must not be empty".into());
    }
    let keys = match &file.jwks_url {
        Some(url) => KeySource::Jwks(checked_url("jwks_url", url)?),
        None => {
            let base = file.issuer.trim_end_matches('/');
            let url = format!("{base}/.well-known/openid-configuration");
            KeySource::Discovery(Url::parse(&url).map_err(|e| format!("auth.oidc: issuer: {e}"))?)
        }
    };
    if file.algorithms.is_empty() {
        return Err("auth.oidc: list at least one algorithm, such as \"RS256\"".into());
    }
    let algorithms = file
        .algorithms
        .iter()
        .map(|name| asymmetric_algorithm(name))
        .collect::<Result<Vec<_>, String>>()?;
    let profiles = match (file.profiles_claim, file.profiles) {
        (Some(_), Some(_)) => {
            return Err(
                "auth.oidc: give profiles_claim or a fixed list of profiles, not both".into(),
            );
        }
        (None, Some(list)) => {
            if let Some(unknown) = list.iter().find(|p| !profile_configured(p)) {
                return Err(format!(
                    "auth.oidc: the profile '{unknown}' is not configured under [profiles]"
                ));
            }
            TokenProfiles::Fixed(list.into_iter().collect())
        }
        (claim, None) => TokenProfiles::Claim(claim.unwrap_or_else(|| "profiles".into())),
    };
    if file.user_claim.is_empty() {
        return Err("auth.oidc: user_claim must not be empty".into());
    }
    if file.jwks_max_age_seconds == 0 || file.jwks_timeout_ms == 0 {
        return Err(
            "auth.oidc: jwks_max_age_seconds and jwks_timeout_ms must be at least 1".into(),
        );
    }
    Ok(Oidc {
        issuer: file.issuer,
        audience: file.audience,
        keys,
        algorithms,
        leeway_seconds: file.leeway_seconds,
        user_claim: file.user_claim,
        profiles,
        jwks_max_age: Duration::from_secs(file.jwks_max_age_seconds),
        fetch_timeout: Duration::from_millis(file.jwks_timeout_ms),
    })
}

/// A JWS algorithm by its name, where it is not a shared-secret one (HMAC):
/// a public key must never serve as a shared secret.
fn asymmetric_algorithm(name: &str) -> Result<Algorithm, String> {
    let algorithm = Algorithm::from_str(name)
        .map_err(|_| format!("auth.oidc: '{name}' is not a JWS algorithm"))?;
    if algorithm.family() == AlgorithmFamily::Hmac {
        return Err(format!(
            "auth.oidc: '{name}' is a shared-secret algorithm; take asymmetric ones only (RS256, ES256, EdDSA …)"
        ));
    }
    Ok(algorithm)
}

/// An `https` address, or an `http` one on this machine (for development
/// and tests): keys fetched in clear over the network could be replaced.
fn checked_url(name: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("auth.oidc: {name} '{text}': {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "auth.oidc: {name} '{text}' must be an https address (http only on this machine)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Auth, String> {
        let file: AuthFile = toml::from_str(text).map_err(|e| e.to_string())?;
        auth(file, &|p| p == "CAAG_302")
    }

    #[test]
    fn reads_an_issuer_with_its_defaults() {
        let auth = parse(
            "basic = false\n[oidc]\nissuer = \"https://idp.example.com/\"\naudience = \"contacts\"",
        )
        .expect("valid");
        assert!(!auth.basic);
        let oidc = auth.oidc.expect("oidc");
        assert_eq!(
            oidc.keys,
            KeySource::Discovery(
                Url::parse("https://idp.example.com/.well-known/openid-configuration")
                    .expect("url")
            )
        );
        assert_eq!(oidc.algorithms, [Algorithm::RS256, Algorithm::ES256]);
        assert_eq!(oidc.user_claim, "sub");
        assert_eq!(oidc.profiles, TokenProfiles::Claim("profiles".into()));
    }

    #[test]
    fn refuses_unsafe_or_inconsistent_issuers() {
        let base = "[oidc]\nissuer = \"https://idp.example.com\"\naudience = \"contacts\"\n";
        let cases = [
            ("basic = false", "needs an [auth.oidc]"),
            (&*format!("{base}algorithms = [\"HS256\"]"), "shared-secret"),
            (
                &*format!("{base}algorithms = [\"none\"]"),
                "not a JWS algorithm",
            ),
            (&*format!("{base}algorithms = []"), "at least one algorithm"),
            (
                &*format!("{base}jwks_url = \"http://idp.example.com/jwks\""),
                "must be an https address",
            ),
            (
                &*format!("{base}profiles = [\"CAAG_999\"]"),
                "'CAAG_999' is not configured",
            ),
            (
                &*format!("{base}profiles = [\"CAAG_302\"]\nprofiles_claim = \"p\""),
                "not both",
            ),
            (&*format!("{base}audiences = []"), "unknown field"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
