//! HTTP Basic credentials checked against argon2 hashes, and the caller's source.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64ct::{Base64, Encoding};
use contacts_model::ErrorItem;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::{AppError, Failure};
use crate::state::AppState;
use crate::tracking::RequestContext;

/// The most argon2 verifications run at once; each takes tens of MiB, so a
/// flood of wrong passwords queues instead of exhausting memory.
const MAX_CONCURRENT_VERIFICATIONS: usize = 4;

/// Hashes a password with argon2id and a random salt, as a PHC string for the config.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// The users allowed to call the API.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<String, String>,
    /// Verified against for an unknown user, so that a wrong user name costs
    /// as long as a wrong password and does not reveal who exists.
    decoy: String,
    /// A digest of each user's last verified credentials, so that a request
    /// does not pay the argon2 cost each time. Keyed by a per-process secret.
    verified: Mutex<HashMap<String, [u8; 32]>>,
    secret: [u8; 32],
    permits: Semaphore,
}

impl Users {
    /// Users from their names and argon2 PHC hashes; every hash is checked here.
    pub fn new(hashes: HashMap<String, String>) -> Result<Self, String> {
        for (user, hash) in &hashes {
            PasswordHash::new(hash).map_err(|e| {
                format!("the password hash of user '{user}' is not a PHC string: {e}")
            })?;
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| format!("no random numbers: {e}"))?;
        let decoy = hash_password(&Base64::encode_string(&secret))?;
        Ok(Self {
            hashes,
            decoy,
            verified: Mutex::new(HashMap::new()),
            secret,
            permits: Semaphore::new(MAX_CONCURRENT_VERIFICATIONS),
        })
    }

    fn digest(&self, user: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.secret);
        hasher.update(user.as_bytes());
        hasher.update([0]);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    fn cached(&self, user: &str, digest: &[u8; 32]) -> bool {
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified
            .get(user)
            .is_some_and(|known| bool::from(known.ct_eq(digest)))
    }

    /// Checks a user's password: from the cache, else with argon2 on a blocking thread.
    pub async fn verify(self: &Arc<Self>, user: &str, password: &str) -> bool {
        let digest = self.digest(user, password);
        if self.cached(user, &digest) {
            return true;
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let users = Arc::clone(self);
        let (user, password) = (user.to_owned(), password.to_owned());
        let checked = tokio::task::spawn_blocking(move || {
            let known = users.hashes.get(&user);
            let hash = known.unwrap_or(&users.decoy);
            let matches = PasswordHash::new(hash).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            });
            let ok = matches && known.is_some();
            if ok {
                users
                    .verified
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(user, digest);
            }
            ok
        })
        .await;
        checked.unwrap_or(false)
    }
}

/// Reads `Authorization: Basic …` into a user and a password.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Base64::decode_vec(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Who is calling: an authenticated user, through a configured profile.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user name of the Basic credentials.
    pub user: String,
    /// The ProfileId header, trimmed.
    pub profile_id: String,
    /// The source the profile belongs to, e.g. `CAAG`.
    pub source: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let context = RequestContext::from_request_parts(parts, state).await?;
        let credentials = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        let Some((user, password)) = credentials else {
            return Err(context.fail(Failure::Unauthorized));
        };
        if !state.users.verify(&user, &password).await {
            return Err(context.fail(Failure::Unauthorized));
        }
        // The sample header reads `CAAG_302 (QA Environment)`: the id is the first word.
        let Some(profile_id) = parts
            .headers
            .get("profileid")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_whitespace().next())
            .map(str::to_owned)
        else {
            // A request without a ProfileId is the client's mistake, not an
            // unconfigured source: it names no source at all.
            return Err(context.fail(Failure::BadRequest(vec![ErrorItem {
                message: "Send the ProfileId header, e.g. 'ProfileId: CAAG_302'.".into(),
                field: Some("ProfileId".into()),
                code: None,
            }])));
        };
        let Some(source) = state.profiles.get(&profile_id) else {
            tracing::info!(user, profile_id, "unknown profile");
            return Err(context.fail(Failure::SourceNotConfigured));
        };
        Ok(Caller {
            user,
            source: source.clone(),
            profile_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_basic_credentials() {
        let cases = [
            ("Basic b2NzdXNlcjpvY3N1c2Vy", Some(("ocsuser", "ocsuser"))),
            ("basic  b2NzdXNlcjpvY3N1c2Vy ", Some(("ocsuser", "ocsuser"))),
            // "a:b:c": the password may hold a colon.
            ("Basic YTpiOmM=", Some(("a", "b:c"))),
            ("Bearer b2NzdXNlcjpvY3N1c2Vy", None),
            ("Basic !!!", None),
            // "nocolon"
            ("Basic bm9jb2xvbg==", None),
            ("Basic", None),
        ];
        for (header, expected) in cases {
            let got = basic_credentials(header);
            let expected = expected.map(|(u, p)| (u.to_owned(), p.to_owned()));
            assert_eq!(got, expected, "{header}");
        }
    }
}
