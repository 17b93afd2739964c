//! Who the caller is, by a bearer token: a JWT of the configured issuer,
//! checked with `jsonwebtoken` for its signature (the algorithm pinned to
//! the key's), `iss`, `aud`, `exp` and `nbf`. Bad tokens spend their client
//! address's allowance, as wrong passwords do; the log says why a token was
//! refused, never the token.

use std::collections::BTreeSet;
use std::net::IpAddr;

use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};

use crate::access::jwks::KeySet;
use crate::access::throttle::{Allowance, RefusalLog, client_address};
use crate::config::{LoginLimits, Oidc, TokenProfiles};
use crate::http::error::Failure;

/// Tokens longer than this are refused unread.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// User names (the user claim) longer than this are refused.
const MAX_USER_CHARS: usize = 256;

/// The user a token names, its issuer, and the ProfileIds it grants.
#[derive(Debug, Clone)]
pub struct TokenUser {
    pub user: String,
    pub issuer: String,
    pub profiles: BTreeSet<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Malformed,
    Expired,
    NotYetValid,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    UnknownKey,
    WrongAlgorithm,
    MissingClaim,
}

impl Refusal {
    /// The reason as the log and the metrics name it.
    fn code(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::BadSignature => "bad_signature",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::UnknownKey => "unknown_key",
            Refusal::WrongAlgorithm => "wrong_algorithm",
            Refusal::MissingClaim => "missing_claim",
        }
    }

    /// The reason as the envelope says it.
    fn reason(self) -> &'static str {
        match self {
            Refusal::Malformed => "the token is not a well-formed JWT",
            Refusal::Expired => "the token has expired",
            Refusal::NotYetValid => "the token is not valid yet (nbf)",
            Refusal::BadSignature => "the token's signature does not verify",
            Refusal::WrongIssuer => "the token is from another issuer",
            Refusal::WrongAudience => "the token is for another audience",
            Refusal::UnknownKey => "the token is signed by a key the issuer does not list",
            Refusal::WrongAlgorithm => "the token's algorithm is not its key's",
            Refusal::MissingClaim => "the token lacks a claim this server needs",
        }
    }

    fn of(kind: &ErrorKind) -> Self {
        match kind {
            ErrorKind::ExpiredSignature => Refusal::Expired,
            ErrorKind::ImmatureSignature => Refusal::NotYetValid,
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
            ErrorKind::InvalidAudience => Refusal::WrongAudience,
            ErrorKind::InvalidAlgorithm => Refusal::WrongAlgorithm,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                Refusal::MissingClaim
            }
            _ => Refusal::Malformed,
        }
    }
}

/// The configured issuer of bearer tokens and its cached key set.
#[derive(Debug)]
pub struct Issuer {
    settings: Oidc,
    keys: KeySet,
    throttle: Allowance<IpAddr>,
    refusal_log: RefusalLog,
    /// Whether the client's address is the last `X-Forwarded-For` entry.
    trust_forwarded_for: bool,
}

impl Issuer {
    /// The issuer of `settings`, its key set fetched once (a failure is
    /// logged: the keys are fetched again when a token needs them).
    pub async fn start(
        settings: Oidc,
        limits: &LoginLimits,
        trust_forwarded_for: bool,
    ) -> Result<Self, String> {
        let keys = KeySet::new(&settings)?;
        keys.fetch_now().await;
        Ok(Self {
            settings,
            keys,
            throttle: Allowance::per_minute(limits.per_address),
            refusal_log: RefusalLog::new(),
            trust_forwarded_for,
        })
    }

    /// The user of a bearer token; a refusal is logged (sparingly, with its
    /// reason) and counted, and spends the client address's allowance.
    pub async fn authenticate(&self, token: &str, parts: &Parts) -> Result<TokenUser, Failure> {
        let refusal = match self.verify(token).await {
            Ok(user) => return Ok(user),
            Err(refusal) => refusal,
        };
        let client = client_address(parts, self.trust_forwarded_for);
        let throttled = client.and_then(|address| self.throttle.spend(&address).err());
        if let Some(left_out) = self.refusal_log.admit() {
            let client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            tracing::warn!(
                reason = refusal.code(),
                client,
                throttled = throttled.is_some(),
                left_out,
                "bearer token refused"
            );
        }
        metrics::counter!("contacts_tokens_refused_total", "reason" => refusal.code()).increment(1);
        Err(match throttled {
            Some(wait) => Failure::TooManyLogins(wait),
            None => Failure::TokenRefused(refusal.reason()),
        })
    }

    async fn verify(&self, token: &str) -> Result<TokenUser, Refusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Malformed);
        }
        let header = decode_header(token).map_err(|_| Refusal::Malformed)?;
        let key = self
            .keys
            .key(header.kid.as_deref())
            .await
            .ok_or(Refusal::UnknownKey)?;
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.settings.leeway_seconds;
        let claims = decode::<Map<String, Value>>(token, &key.decoding, &validation)
            .map_err(|e| Refusal::of(e.kind()))?
            .claims;
        let user = claims
            .get(&self.settings.user_claim)
            .and_then(Value::as_str)
            .filter(|user| !user.is_empty() && user.chars().count() <= MAX_USER_CHARS)
            .ok_or(Refusal::MissingClaim)?;
        let profiles = match &self.settings.profiles {
            TokenProfiles::Fixed(list) => list.clone(),
            TokenProfiles::Claim(name) => match claims.get(name) {
                None => BTreeSet::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or(Refusal::MissingClaim)?,
                Some(_) => return Err(Refusal::MissingClaim),
            },
        };
        Ok(TokenUser {
            user: user.to_owned(),
            issuer: self.settings.issuer.clone(),
            profiles,
        })
    }
}

/// The token of `Authorization: Bearer …`, where the header is one.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
