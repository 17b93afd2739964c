//! A development issuer of bearer tokens: a P-256 key pair generated at
//! start (never written anywhere), its key set and discovery document, a
//! freshly minted ES256 token at `GET /token`, and the files of a folder
//! (the demo console) for every other address.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};
use tower_http::services::ServeDir;

use crate::dev_issuer::{JWKS_PATH, TOKEN_PATH};

/// What the issuer's tokens say: for which audience, whom, which
/// ProfileIds, for how long.
#[derive(Debug, Clone)]
pub struct Grant {
    pub audience: String,
    pub subject: String,
    pub profiles: Vec<String>,
    pub lifetime: Duration,
}

impl Grant {
    /// The development grant of [`crate::dev_issuer`].
    pub fn development() -> Self {
        use crate::dev_issuer::{AUDIENCE, LIFETIME, PROFILES, SUBJECT};
        Self {
            audience: AUDIENCE.to_owned(),
            subject: SUBJECT.to_owned(),
            profiles: PROFILES.map(str::to_owned).to_vec(),
            lifetime: LIFETIME,
        }
    }
}

/// An issuer at `origin` (its `iss`) with a key pair of its own.
pub struct Issuer {
    origin: String,
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    grant: Grant,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key is left out.
        f.debug_struct("Issuer")
            .field("origin", &self.origin)
            .field("kid", &self.kid)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// An issuer at `origin` with a P-256 key pair generated now.
    pub fn generate(origin: &str, grant: Grant) -> Result<Self, String> {
        let secret = p256::SecretKey::generate();
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the issuer's key: {e}"))?;
        let encoding = EncodingKey::from_ec_der(der.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
            .map_err(|e| format!("cannot make the issuer's JWK: {e}"))?;
        let kid = format!("dev-{}", get_current_timestamp());
        jwk.common.key_id = Some(kid.clone());
        Ok(Self {
            origin: origin.to_owned(),
            kid,
            encoding,
            jwk,
            grant,
        })
    }

    /// The origin its tokens name as their issuer.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The claims of a token minted now, valid for the grant's lifetime.
    pub fn claims(&self) -> Value {
        let now = get_current_timestamp();
        json!({
            "iss": self.origin,
            "aud": self.grant.audience,
            "sub": self.grant.subject,
            "profiles": self.grant.profiles,
            "iat": now,
            "nbf": now,
            "exp": now + self.grant.lifetime.as_secs(),
        })
    }

    /// `claims` signed with the issuer's key (ES256, its `kid`).
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).map_err(|e| format!("cannot sign a token: {e}"))
    }

    /// A token minted now.
    pub fn token(&self) -> Result<String, String> {
        self.sign(&self.claims())
    }

    /// Its key set: the public key.
    pub fn key_set(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }

    /// Its routes: the discovery document, the key set, `GET /token`
    /// (`{"token": "<JWT>"}`), and the files of `console` (with their content
    /// types) for every other address, or a page saying that the folder is
    /// absent.
    pub fn router(self: Arc<Self>, console: PathBuf) -> Router {
        let routes = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route(JWKS_PATH, get(key_set))
            .route(TOKEN_PATH, get(token))
            .with_state(self);
        if console.is_dir() {
            routes.fallback_service(ServeDir::new(console))
        } else {
            let page = format!(
                "<!doctype html><html lang=\"en\"><title>Demo console absent</title><p>The demo console's folder, {}, is absent: there is nothing to show here. The development issuer's token is at <a href=\"{TOKEN_PATH}\">{TOKEN_PATH}</a>.</p></html>",
                console.display()
            );
            routes.fallback(move || async move { (StatusCode::NOT_FOUND, Html(page)) })
        }
    }
}

fn json_response(value: &Value) -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        value.to_string(),
    )
        .into_response()
}

async fn discovery(State(issuer): State<Arc<Issuer>>) -> Response {
    json_response(&json!({
        "issuer": issuer.origin,
        "jwks_uri": format!("{}{JWKS_PATH}", issuer.origin),
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn key_set(State(issuer): State<Arc<Issuer>>) -> Response {
    match serde_json::to_value(issuer.key_set()) {
        Ok(keys) => json_response(&keys),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn token(State(issuer): State<Arc<Issuer>>) -> Response {
    match issuer.token() {
        Ok(token) => json_response(&json!({ "token": token })),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

/// Serves the router that `make` builds for its origin on a free port of
/// 127.0.0.1, from a thread of its own, as long as the process lives (for
/// tests): the origin, `http://127.0.0.1:PORT`.
pub fn serve_on_loopback(
    make: impl FnOnce(&str) -> Result<Router, String>,
) -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    let origin = format!("http://{addr}");
    let router = make(&origin)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                let _ = axum::serve(listener, router).await;
            }
        });
    });
    Ok(origin)
}

/// An issuer of `grant` on a free port of 127.0.0.1 (see
/// [`serve_on_loopback`]), serving `console`: its origin.
pub fn start_on_loopback(grant: Grant, console: PathBuf) -> Result<String, String> {
    serve_on_loopback(|origin| Ok(Arc::new(Issuer::generate(origin, grant)?).router(console)))
}
