//! The issuer's key set (JWKS), cached: fetched at start, fetched again when
//! a token names a key not in it (one fetch at a time, at most one every
//! [`MIN_FETCH_INTERVAL`], so that forged `kid`s cannot flood the issuer),
//! no longer trusted after its maximum age, and kept as it was when a fetch
//! fails. A fetch has a timeout and a size limit and follows no redirect to
//! another host.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use reqwest::redirect::{Attempt, Policy};
use reqwest::{Client, Url};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::{KeySource, Oidc};

/// The shortest time between two fetches of the key set.
pub const MIN_FETCH_INTERVAL: Duration = Duration::from_secs(10);

/// The largest key set (or discovery document) read.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Redirects followed within the same host, at most.
const MAX_REDIRECTS: usize = 3;

/// A key of the set, with the one algorithm it verifies.
pub struct Key {
    pub decoding: DecodingKey,
    pub algorithm: Algorithm,
}

/// The keys of one fetch, with their ids.
struct Fetched {
    keys: Vec<(Option<String>, Arc<Key>)>,
    at: Instant,
}

/// The cached key set of an issuer.
pub struct KeySet {
    issuer: String,
    source: KeySource,
    client: Client,
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    current: RwLock<Option<Fetched>>,
    /// Held while fetching; holds when the last fetch started.
    fetching: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// The key set of `oidc`, not fetched yet.
    pub fn new(oidc: &Oidc) -> Result<Self, String> {
        // The crypto of rustls: ring, installed once for the process (a
        // second installation, by the relay's client, fails harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .user_agent(concat!("contacts-server/", env!("CARGO_PKG_VERSION")))
            .timeout(oidc.fetch_timeout)
            .redirect(Policy::custom(same_host))
            .build()
            .map_err(|e| format!("cannot build the HTTP client of the key set: {e}"))?;
        Ok(Self {
            issuer: oidc.issuer.clone(),
            source: oidc.keys.clone(),
            client,
            algorithms: oidc.algorithms.clone(),
            max_age: oidc.jwks_max_age,
            current: RwLock::new(None),
            fetching: Mutex::new(None),
        })
    }

    /// The key that `kid` names (or the only key, where the token names
    /// none), fetching the set again where it is not in it and the last
    /// fetch is old enough.
    pub async fn key(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        let mut last = self.fetching.lock().await;
        // Another request may have fetched it while this one waited.
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        if last.is_some_and(|at| at.elapsed() < MIN_FETCH_INTERVAL) {
            return None;
        }
        *last = Some(Instant::now());
        self.refresh().await;
        self.cached(kid)
    }

    /// Fetches the set now (at start); a failure is logged and keeps the
    /// keys held.
    pub async fn fetch_now(&self) {
        let mut last = self.fetching.lock().await;
        *last = Some(Instant::now());
        self.refresh().await;
    }

    fn cached(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        let fetched = current.as_ref()?;
        if fetched.at.elapsed() > self.max_age {
            return None;
        }
        match kid {
            Some(kid) => fetched
                .keys
                .iter()
                .find(|(id, _)| id.as_deref() == Some(kid))
                .map(|(_, key)| Arc::clone(key)),
            None => match fetched.keys.as_slice() {
                [(_, only)] => Some(Arc::clone(only)),
                _ => None,
            },
        }
    }

    async fn refresh(&self) {
        metrics::counter!("contacts_jwks_fetches_total").increment(1);
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "key set fetched");
                let fetched = Fetched {
                    keys,
                    at: Instant::now(),
                };
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(fetched);
            }
            Err(error) => {
                metrics::counter!("contacts_jwks_fetch_failures_total").increment(1);
                tracing::warn!(error, "cannot fetch the key set; the keys held are kept");
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<(Option<String>, Arc<Key>)>, String> {
        let url = match &self.source {
            KeySource::Jwks(url) => url.clone(),
            KeySource::Discovery(url) => {
                #[derive(Deserialize)]
                struct Discovery {
                    issuer: String,
                    jwks_uri: String,
                }
                let document: Discovery = self.get_json(url).await?;
                // OpenID Connect Discovery 1.0, 4.3: the document is the
                // issuer's own only where it names the issuer exactly.
                if document.issuer != self.issuer {
                    return Err(format!(
                        "{url}: the document names the issuer {:?}, not {:?}",
                        document.issuer, self.issuer
                    ));
                }
                let jwks =
                    Url::parse(&document.jwks_uri).map_err(|e| format!("{url}: jwks_uri: {e}"))?;
                // In clear only where the issuer itself is (on this machine).
                if jwks.scheme() != "https" && jwks.host_str() != url.host_str() {
                    return Err(format!("{url}: jwks_uri {jwks} is not https"));
                }
                jwks
            }
        };
        #[derive(Deserialize)]
        struct JwkSet {
            keys: Vec<serde_json::Value>,
        }
        let set: JwkSet = self.get_json(&url).await?;
        let keys = set
            .keys
            .into_iter()
            .filter_map(|value| {
                let jwk: Jwk = serde_json::from_value(value).ok()?;
                let key = self.key_of(&jwk)?;
                Some((jwk.common.key_id, Arc::new(key)))
            })
            .collect();
        Ok(keys)
    }

    /// A key of the set, where it is a signing key of an allowed algorithm:
    /// its `alg`, else the one its type and curve imply.
    fn key_of(&self, jwk: &Jwk) -> Option<Key> {
        if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
            return None;
        }
        let implied = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            _ => return None,
        };
        let algorithm = match jwk.common.key_algorithm {
            Some(named) => Algorithm::try_from(named).ok()?,
            None => implied,
        };
        let decoding = DecodingKey::from_jwk(jwk).ok()?;
        let allowed = self.algorithms.contains(&algorithm)
            && algorithm.family() != AlgorithmFamily::Hmac
            && decoding.family() == algorithm.family();
        allowed.then_some(Key {
            decoding,
            algorithm,
        })
    }

    /// A JSON document of at most [`MAX_DOCUMENT_BYTES`].
    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &Url) -> Result<T, String> {
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("{url}: {e}"))?;
        let too_large = || format!("{url}: larger than {MAX_DOCUMENT_BYTES} bytes");
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
    }
}

/// Follows a redirect only to the same scheme and host, a few times.
fn same_host(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let first = attempt.previous().first();
    let same = first.is_some_and(|first| {
        first.scheme() == attempt.url().scheme()
            && first.host_str() == attempt.url().host_str()
            && first.port_or_known_default() == attempt.url().port_or_known_default()
    });
    if same && attempt.previous().len() <= MAX_REDIRECTS {
        attempt.follow()
    } else {
        attempt.stop()
    }
}
