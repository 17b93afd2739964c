//! Bearer tokens over real HTTP, against the built binary: an issuer's key
//! set served on 127.0.0.1 by a small axum server of the test, with P-256
//! keys generated here and tokens signed here. A valid token saves and
//! reads, and the audit trail names its user and issuer; each kind of bad
//! token is refused with its envelope (and its reason in the log, never the
//! token); a ProfileId the token does not grant is 403; bad tokens are
//! throttled per client address; the key set is fetched again for a new
//! `kid` at most once every 10 s, and the keys held keep working while the
//! key server is down; a deployment may take tokens only.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::get;
use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{Value, json};

use contacts_testkit::harness::*;
use contacts_testkit::issuer::serve_on_loopback;

use crate::SERVER;

const AUDIENCE: &str = "contacts-api";

/// A P-256 signing key of the issuer, with its `kid`.
struct IssuerKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    /// The public key as SEC1 bytes, for the HS256-with-the-public-key attack.
    public: Vec<u8>,
    algorithm: Algorithm,
}

impl IssuerKey {
    fn generate(kid: &str) -> Self {
        let secret = p256::SecretKey::generate();
        let der = secret.to_pkcs8_der().unwrap();
        let encoding = EncodingKey::from_ec_der(der.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
        Self {
            kid: kid.to_owned(),
            encoding,
            jwk,
            public,
            algorithm: Algorithm::ES256,
        }
    }

    /// An RSA key generated now (2,048 bits, the size RS256 asks at least;
    /// the `rsa` crate and its arithmetic are optimised in debug builds, see
    /// the workspace's Cargo.toml), with RS256.
    fn generate_rsa(kid: &str) -> Self {
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            encoding,
            jwk,
            public: Vec::new(),
            algorithm: Algorithm::RS256,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).unwrap()
    }
}

/// What the key server serves, and what it saw.
#[derive(Default)]
struct KeyServerState {
    keys: Mutex<Vec<Jwk>>,
    down: Mutex<bool>,
    fetches: AtomicUsize,
    base: Mutex<String>,
}

/// The issuer's key set and discovery document on 127.0.0.1.
struct KeyServer {
    state: Arc<KeyServerState>,
    base: String,
}

impl KeyServer {
    fn start(keys: Vec<Jwk>) -> Self {
        let state = Arc::new(KeyServerState::default());
        *state.keys.lock().unwrap() = keys;
        let base = serve_on_loopback(|base| {
            *state.base.lock().unwrap() = base.to_owned();
            Ok(Router::new()
                .route("/jwks", get(serve_keys))
                .route("/.well-known/openid-configuration", get(serve_discovery))
                .route(
                    "/moved-here",
                    get(|| async { Redirect::temporary("/jwks") }),
                )
                .route("/moved-away", get(redirect_to_another_host))
                .route("/huge", get(serve_huge_keys))
                .with_state(Arc::clone(&state)))
        })
        .unwrap();
        Self { state, base }
    }

    fn serve(&self, keys: Vec<Jwk>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    fn set_down(&self, down: bool) {
        *self.state.down.lock().unwrap() = down;
    }

    fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// The `[auth.oidc]` table naming this issuer, its key set at
    /// `jwks_path` (else found by discovery), with `extra` lines.
    fn oidc_table(&self, jwks_path: Option<&str>, extra: &str) -> String {
        let jwks = jwks_path.map_or_else(String::new, |path| {
            format!("jwks_url = \"{}/{path}\"\n", self.base)
        });
        format!(
            "[auth.oidc]\nissuer = \"{}\"\naudience = \"{AUDIENCE}\"\n{jwks}{extra}\n",
            self.base
        )
    }
}

async fn serve_keys(State(state): State<Arc<KeyServerState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    if *state.down.lock().unwrap() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = state.keys.lock().unwrap().clone();
    Json(JwkSet { keys }).into_response()
}

/// The same port under another host name.
async fn redirect_to_another_host(State(state): State<Arc<KeyServerState>>) -> Redirect {
    let base = state.base.lock().unwrap().clone();
    Redirect::temporary(&format!("{}/jwks", base.replace("127.0.0.1", "localhost")))
}

/// The key set padded past the server's 64 KiB limit.
async fn serve_huge_keys(State(state): State<Arc<KeyServerState>>) -> Response {
    let keys = state.keys.lock().unwrap().clone();
    Json(json!({ "keys": keys, "padding": "x".repeat(100 * 1024) })).into_response()
}

async fn serve_discovery(State(state): State<Arc<KeyServerState>>) -> Response {
    let base = state.base.lock().unwrap().clone();
    Json(json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") })).into_response()
}

/// Claims of a valid token of `issuer` for agent-7 with profile CAAG_302.
fn claims(issuer: &str) -> Value {
    let now = get_current_timestamp();
    json!({
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "agent-7",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "profiles": ["CAAG_302"],
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// POSTs the sample contacts with `token`, on a connection of its own: a
/// POST refused before its body is read leaves its connection closed by the
/// server, and the client would otherwise send the next request on it.
fn post_with_token(server: &Server, token: &str, tracking_id: &str) -> Reply {
    let body = json!({ "contacts": sample_contacts() }).to_string();
    server.post(
        ACTIVE,
        &body,
        &[
            ("Authorization", &bearer(token)),
            ("Request-Tracking-Id", tracking_id),
            ("Connection", "close"),
        ],
    )
}

fn get_with_token(server: &Server, token: &str) -> Reply {
    server.get(
        &format!("/api/v1/customers/{ACTIVE}/contacts"),
        &[("Authorization", &bearer(token)), ("ProfileId", "CAAG_302")],
    )
}

fn base64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn assert_refused(reply: &Reply, reason: &str, case: &str) {
    reply.assert_failure(401, "Unauthorized");
    let messages = reply.error_messages();
    assert!(
        messages.iter().any(|m| m.contains(reason)),
        "{case}: {messages:?}"
    );
}

/// A server taking the tokens of `issuer` (its `jwks_url` given), and
/// `per_address` bad credentials a minute from one client address.
fn start_with_address_allowance(dir: &Path, issuer: &KeyServer, per_address: u32) -> Server {
    let extra = format!(
        "{}[limits]\nlogin_attempts_per_address = {per_address}\n",
        issuer.oidc_table(Some("jwks"), "")
    );
    SERVER.start_configured(dir, &extra, &[])
}

/// An issuer serving one key, `key-1`, and a scratch directory.
fn one_key_issuer() -> (IssuerKey, KeyServer, Scratch) {
    let key = IssuerKey::generate("key-1");
    let issuer = KeyServer::start(vec![key.jwk.clone()]);
    (key, issuer, Scratch::new())
}

fn log_of(dir: &Path) -> String {
    fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

#[test]
fn a_valid_token_saves_and_reads_and_the_audit_names_its_user_and_issuer() {
    let (key, issuer, dir) = one_key_issuer();
    // The key set found by discovery: no jwks_url.
    let server = SERVER.start_configured(&dir.0, &issuer.oidc_table(None, ""), &[]);
    let started = Instant::now();
    let token = key.sign(&claims(&issuer.base));

    let saved = post_with_token(&server, &token, "TOKEN-SAVE-1");
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["status"], "Success", "{}", saved.text);
    let read = get_with_token(&server, &token);
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(
        read.body["contacts"].as_array().map(Vec::len),
        Some(2),
        "{}",
        read.text
    );

    let users = server.db.texts(
        "SELECT user_name FROM audit WHERE tracking_id = ?1",
        "TOKEN-SAVE-1",
    );
    assert_eq!(users, [format!("agent-7 ({})", issuer.base)]);
    // An RS256 key of the same issuer, once it lists it.
    let rsa = IssuerKey::generate_rsa("rsa-1");
    issuer.serve(vec![key.jwk.clone(), rsa.jwk.clone()]);
    thread::sleep(Duration::from_millis(10_500).saturating_sub(started.elapsed()));
    let by_rsa = post_with_token(&server, &rsa.sign(&claims(&issuer.base)), "TOKEN-SAVE-2");
    assert_eq!(by_rsa.status, 200, "{}", by_rsa.text);
    // Basic still works beside tokens.
    let basic = server.post_contacts(ACTIVE, "BASIC-SAVE-1", &sample_contacts());
    assert_eq!(basic.status, 200, "{}", basic.text);
    assert_eq!(issuer.fetches(), 2, "fetched at start, then for rsa-1");
}

#[test]
fn each_kind_of_bad_token_is_refused_with_its_envelope_and_changes_nothing() {
    let (key, issuer, dir) = one_key_issuer();
    let stranger = IssuerKey::generate("key-1");
    let server = SERVER.start_configured(&dir.0, &issuer.oidc_table(Some("jwks"), ""), &[]);
    let valid = claims(&issuer.base);
    let now = get_current_timestamp();

    let header_none = base64url(br#"{"alg":"none","typ":"JWT","kid":"key-1"}"#);
    let payload = base64url(valid.to_string().as_bytes());
    let alg_none = format!("{header_none}.{payload}.");

    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("key-1".into());
    let with_public_key = encode(
        &hs256,
        &valid,
        &EncodingKey::from_secret(&key.public).unwrap(),
    )
    .unwrap();

    let genuine = key.sign(&valid);
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let raised = base64url(
        with(valid.clone(), "profiles", json!(["CAAG_302", "CAAG_999"]))
            .to_string()
            .as_bytes(),
    );
    parts[1] = &raised;
    let tampered = parts.join(".");

    let mut unknown_kid = Header::new(Algorithm::ES256);
    unknown_kid.kid = Some("key-404".into());
    let unknown = encode(&unknown_kid, &valid, &key.encoding).unwrap();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            key.sign(&with(valid.clone(), "exp", json!(now - 600))),
            "has expired",
        ),
        (
            "not yet valid",
            key.sign(&with(valid.clone(), "nbf", json!(now + 600))),
            "not valid yet",
        ),
        (
            "wrong issuer",
            key.sign(&with(valid.clone(), "iss", json!("https://evil.example"))),
            "another issuer",
        ),
        (
            "wrong audience",
            key.sign(&with(valid.clone(), "aud", json!("another-api"))),
            "another audience",
        ),
        ("alg none", alg_none, "not a well-formed JWT"),
        (
            "HS256 with the public key",
            with_public_key,
            "algorithm is not its key's",
        ),
        ("tampered payload", tampered, "signature does not verify"),
        (
            "signed by another key of the same kid",
            stranger.sign(&valid),
            "signature does not verify",
        ),
        ("unknown kid", unknown, "a key the issuer does not list"),
        ("garbage", "a.b.c".into(), "not a well-formed JWT"),
    ];
    let before = server.snapshot();
    for (i, (case, token, reason)) in cases.iter().enumerate() {
        let reply = post_with_token(&server, token, &format!("BAD-TOKEN-{i}"));
        assert_refused(&reply, reason, case);
        let read = get_with_token(&server, token);
        assert_refused(&read, reason, case);
    }
    assert_eq!(server.snapshot(), before, "no bad token wrote anything");

    // A ProfileId the token does not list is forbidden.
    let none = with(valid.clone(), "profiles", json!([]));
    let reply = post_with_token(&server, &key.sign(&none), "NO-PROFILE-1");
    reply.assert_failure(403, "Forbidden");
    assert_eq!(server.snapshot(), before);

    // The log says why, never the token.
    let log = log_of(&dir.0);
    for code in [
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "malformed",
        "wrong_algorithm",
        "bad_signature",
        "unknown_key",
    ] {
        assert!(log.contains(&format!("reason=\"{code}\"")), "{code}: {log}");
    }
    for (case, token, _) in &cases {
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            signature.len() < 8 || !log.contains(signature),
            "{case}: the token is logged"
        );
    }
}

#[test]
fn bad_tokens_are_throttled_per_address_and_good_ones_are_not() {
    let (key, issuer, dir) = one_key_issuer();
    let server = start_with_address_allowance(&dir.0, &issuer, 5);
    let valid = claims(&issuer.base);
    let expired = key.sign(&with(valid.clone(), "exp", json!(0)));
    let statuses: Vec<u16> = (0..8)
        .map(|_| get_with_token(&server, &expired).status)
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let throttled = get_with_token(&server, &expired);
    throttled.assert_failure(429, "Too Many Requests");
    assert!(throttled.header("retry-after").is_some());
    // A valid token of the same address spends nothing and is not refused.
    let token = key.sign(&valid);
    for _ in 0..20 {
        assert_eq!(get_with_token(&server, &token).status, 200);
    }
}

#[test]
fn a_new_key_is_fetched_once_and_forged_kids_cannot_flood_the_issuer() {
    let old = IssuerKey::generate("old");
    let new = IssuerKey::generate("new");
    let issuer = KeyServer::start(vec![old.jwk.clone()]);
    let dir = Scratch::new();
    let server = start_with_address_allowance(&dir.0, &issuer, 100_000);
    // The server fetched the key set before it listened.
    let fetched_at_start = Instant::now();
    assert_eq!(issuer.fetches(), 1, "fetched at start");
    let valid = claims(&issuer.base);
    assert_eq!(get_with_token(&server, &old.sign(&valid)).status, 200);

    // The issuer rotates; within 10 s of the last fetch, the new key is
    // not fetched yet, however many kids are tried.
    issuer.serve(vec![old.jwk.clone(), new.jwk.clone()]);
    let early = get_with_token(&server, &new.sign(&valid));
    assert_refused(&early, "a key the issuer does not list", "early");
    let flooded = flood_of_forged_kids(&server, &old.sign(&valid));
    let elapsed = fetched_at_start.elapsed();
    let allowed = 1 + usize::try_from(elapsed.as_secs() / 10).unwrap();
    assert!(
        issuer.fetches() <= allowed,
        "{} fetches in {elapsed:?} for {flooded} forged kids",
        issuer.fetches()
    );

    // 10 s after the last fetch, the new key is fetched once and accepted.
    thread::sleep(Duration::from_millis(10_500).saturating_sub(fetched_at_start.elapsed()));
    let fetches = issuer.fetches();
    let later = get_with_token(&server, &new.sign(&valid));
    assert_eq!(later.status, 200, "{}", later.text);
    let fetched_again = Instant::now();
    // One fetch for the new key, unless a flood's fetch already brought it.
    assert_eq!(issuer.fetches(), fetches.max(2));
    // After it, 1,000 forged kids fetch at most once per 10 s.
    let flooded = flood_of_forged_kids(&server, &old.sign(&valid));
    let elapsed = fetched_again.elapsed();
    let allowed = fetches.max(2) + usize::try_from(elapsed.as_secs() / 10).unwrap();
    assert!(
        issuer.fetches() <= allowed,
        "{} fetches, {allowed} allowed, after {flooded} forged kids in {elapsed:?}",
        issuer.fetches()
    );
    assert_eq!(get_with_token(&server, &old.sign(&valid)).status, 200);
    assert_eq!(get_with_token(&server, &new.sign(&valid)).status, 200);
}

/// Sends 1,000 tokens of random kids (the genuine token's payload and
/// signature under forged headers), 8 at a time; each is refused.
fn flood_of_forged_kids(server: &Server, genuine: &str) -> usize {
    let (_, signed) = genuine.split_once('.').unwrap();
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(move || {
                for _ in 0..125 {
                    let mut bytes = [0u8; 12];
                    getrandom::fill(&mut bytes).unwrap();
                    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": base64url(&bytes) });
                    let token = format!("{}.{signed}", base64url(header.to_string().as_bytes()));
                    let reply = get_with_token(server, &token);
                    assert_refused(&reply, "a key the issuer does not list", "forged kid");
                }
            });
        }
    });
    1_000
}

#[test]
fn the_keys_held_keep_working_while_the_key_server_is_down() {
    let (key, issuer, dir) = one_key_issuer();
    let server = SERVER.start_configured(&dir.0, &issuer.oidc_table(Some("jwks"), ""), &[]);
    // The server fetched the key set before it listened.
    let started = Instant::now();
    issuer.set_down(true);
    let valid = claims(&issuer.base);
    // Past the 10 s, an unknown kid makes the server try again: the fetch
    // fails, and the keys held are kept.
    thread::sleep(Duration::from_millis(10_500).saturating_sub(started.elapsed()));
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("rotated".into());
    let unknown = encode(&header, &valid, &key.encoding).unwrap();
    assert_refused(
        &get_with_token(&server, &unknown),
        "a key the issuer does not list",
        "unknown",
    );
    assert_eq!(issuer.fetches(), 2, "tried again once");
    let reply = post_with_token(&server, &key.sign(&valid), "WHILE-DOWN-1");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(log_of(&dir.0).contains("cannot fetch the key set"));
}

#[test]
fn the_key_set_is_fetched_within_its_host_and_its_size() {
    let (key, issuer, _) = one_key_issuer();
    let token = key.sign(&claims(&issuer.base));
    let cases = [
        ("moved-here", 1, 200),
        ("moved-away", 0, 401),
        ("huge", 0, 401),
    ];
    for (path, fetches, status) in cases {
        let dir = Scratch::new();
        let before = issuer.fetches();
        let server = SERVER.start_configured(&dir.0, &issuer.oidc_table(Some(path), ""), &[]);
        assert_eq!(issuer.fetches() - before, fetches, "{path}");
        let reply = get_with_token(&server, &token);
        assert_eq!(reply.status, status, "{path}: {}", reply.text);
        if status == 401 {
            assert!(
                log_of(&dir.0).contains("cannot fetch the key set"),
                "{path}"
            );
        }
    }
}

#[test]
fn keys_past_their_maximum_age_are_not_trusted() {
    let (key, issuer, dir) = one_key_issuer();
    let table = issuer.oidc_table(Some("jwks"), "jwks_max_age_seconds = 1");
    let server = SERVER.start_configured(&dir.0, &table, &[]);
    let token = key.sign(&claims(&issuer.base));
    assert_eq!(get_with_token(&server, &token).status, 200);
    // The key server goes down; a second later the keys held are too old,
    // and within 10 s of the last fetch none is tried.
    issuer.set_down(true);
    thread::sleep(Duration::from_millis(1_500));
    let reply = get_with_token(&server, &token);
    assert_refused(&reply, "a key the issuer does not list", "too old");
    assert_eq!(issuer.fetches(), 1);
}

#[test]
fn a_token_only_deployment_refuses_basic_credentials() {
    let (key, issuer, dir) = one_key_issuer();
    let config = dir.0.join("tokens-only.toml");
    fs::write(
        &config,
        format!(
            "[auth]\nbasic = false\n{}[profiles]\nCAAG_302 = \"CAAG\"\n[customers]\n\"{ACTIVE}\" = \"active\"\n",
            issuer.oidc_table(Some("jwks"), "profiles = [\"CAAG_302\"]")
        ),
    )
    .unwrap();
    let server = SERVER.start(&dir.0, &["--config", config.to_str().unwrap()]);
    let basic = server.post_contacts(ACTIVE, "BASIC-OFF-1", &sample_contacts());
    basic.assert_failure(401, "Unauthorized");
    assert!(
        basic.error_messages()[0].contains("Authorization: Bearer"),
        "{}",
        basic.text
    );
    // The fixed list of the issuer grants CAAG_302, whatever the token lists.
    let token = key.sign(&with(claims(&issuer.base), "profiles", json!([])));
    let saved = post_with_token(&server, &token, "TOKEN-ONLY-1");
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(get_with_token(&server, &token).status, 200);
}
