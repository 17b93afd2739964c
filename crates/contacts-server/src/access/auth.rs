//! Who the caller is: HTTP Basic credentials checked against argon2 hashes,
//! within the login throttle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use tokio::sync::watch;

use crate::access::throttle::{
    LoginThrottle, PasswordChecks, RefusalLog, Reservation, client_address,
};
use crate::config::{LoginLimits, User};
use crate::http::error::Failure;

/// Hashes a password with argon2id and a random salt, as a PHC string for the config.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks every user's password hash: a PHC string of argon2id at the cost
/// of [`hash_password`]'s, the decoy's that unknown names are checked
/// against, since another cost would let the time of a refusal tell which
/// names exist (and a cheaper one would make guessing cheaper).
pub fn check_hashes(users: &HashMap<String, User>) -> Result<(), String> {
    let mut names: Vec<&String> = users.keys().collect();
    names.sort();
    let want = Params::default();
    for name in names {
        let hash = PasswordHash::new(&users[name].password_hash)
            .map_err(|e| format!("the password hash of user '{name}' is not a PHC string: {e}"))?;
        let same_cost = Params::try_from(&hash).is_ok_and(|have| {
            (have.m_cost(), have.t_cost(), have.p_cost())
                == (want.m_cost(), want.t_cost(), want.p_cost())
        });
        if hash.algorithm != Algorithm::Argon2id.ident() || !same_cost {
            return Err(format!(
                "the password hash of user '{name}' is {} with {}; the server needs argon2id with \
                 m={},t={},p={}, the cost it spends on unknown user names: make it again with \
                 `contacts-server hash-password`",
                hash.algorithm,
                hash.params,
                want.m_cost(),
                want.t_cost(),
                want.p_cost()
            ));
        }
    }
    Ok(())
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown user or wrong password.
    Wrong,
    /// Too many password checks for this user name or client address.
    Throttled(Duration),
    /// The password checks are queued too long to wait.
    Busy,
}

/// The outcome of a password check, `None` while it runs.
type Flight = watch::Receiver<Option<Result<(), Refusal>>>;

/// The users allowed to call the API.
#[derive(Debug)]
pub struct Users {
    users: HashMap<String, User>,
    /// Verified against for an unknown user, so that a wrong user name costs
    /// as long as a wrong password and does not reveal who exists.
    decoy: String,
    /// A digest of each user's last verified credentials, so that a request
    /// does not pay the argon2 cost each time. Keyed by a per-process secret.
    verified: Mutex<HashMap<String, [u8; 32]>>,
    secret: [u8; 32],
    /// The checks under way, by the same digest: a request with the same
    /// credentials waits for that check's outcome rather than running argon2
    /// again (single flight).
    flights: Mutex<HashMap<[u8; 32], Flight>>,
    throttle: Arc<LoginThrottle>,
    checks: Arc<PasswordChecks>,
    refusal_log: RefusalLog,
    /// Whether the client's address is the last `X-Forwarded-For` entry.
    trust_forwarded_for: bool,
}

impl Users {
    /// Users from their configuration; every hash is checked here.
    pub fn new(
        users: HashMap<String, User>,
        limits: &LoginLimits,
        trust_forwarded_for: bool,
    ) -> Result<Self, String> {
        check_hashes(&users)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| format!("no random numbers: {e}"))?;
        let decoy = hash_password(&Base64::encode_string(&secret))?;
        Ok(Self {
            users,
            decoy,
            verified: Mutex::new(HashMap::new()),
            secret,
            flights: Mutex::new(HashMap::new()),
            throttle: Arc::new(LoginThrottle::new(limits)),
            checks: Arc::new(PasswordChecks::new(limits)),
            refusal_log: RefusalLog::new(),
            trust_forwarded_for,
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

    /// The user of the request's Basic credentials, once their password is
    /// verified; a refusal is logged (sparingly) and counted.
    pub async fn authenticate(self: &Arc<Self>, parts: &Parts) -> Result<String, Failure> {
        let credentials = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        let Some((user, password)) = credentials else {
            return Err(Failure::Unauthorized);
        };
        let client = client_address(parts, self.trust_forwarded_for);
        let Err(refusal) = self.verify(&user, &password, client).await else {
            return Ok(user);
        };
        if let Some(left_out) = self.refusal_log.admit() {
            // The name tried is untrusted text: logged quoted and escaped.
            let client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            tracing::warn!(user = ?user, client, ?refusal, left_out, "login refused");
        }
        let reason = match refusal {
            Refusal::Wrong => "wrong",
            Refusal::Throttled(_) => "throttled",
            Refusal::Busy => "busy",
        };
        metrics::counter!("contacts_logins_refused_total", "reason" => reason).increment(1);
        Err(match refusal {
            Refusal::Wrong => Failure::Unauthorized,
            Refusal::Throttled(wait) => Failure::TooManyLogins(wait),
            Refusal::Busy => Failure::Busy,
        })
    }

    /// Checks a user's password: from the cache, else by the check of the
    /// same credentials under way, else by a check of its own, within the
    /// user's and the address's allowance, with argon2 in its bounded queue.
    async fn verify(
        self: &Arc<Self>,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(), Refusal> {
        let digest = self.digest(user, password);
        if self.cached(user, &digest) {
            return Ok(());
        }
        let mut outcome = self.flight(user, password, client, digest)?;
        // `None` until the check is done; an error if it never ended (its
        // task was dropped), which only a runtime shutting down does.
        let done = outcome.wait_for(Option::is_some).await;
        done.ok()
            .and_then(|done| *done)
            .unwrap_or(Err(Refusal::Busy))
    }

    /// The outcome of the check of these credentials (by their `digest`):
    /// the one under way, else one started now on a task of its own, so that
    /// a client going away stops no one else's check, after spending the
    /// user's and the address's allowance.
    fn flight(
        self: &Arc<Self>,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
        digest: [u8; 32],
    ) -> Result<Flight, Refusal> {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(outcome) = flights.get(&digest) {
            return Ok(outcome.clone());
        }
        let reservation = self
            .throttle
            .reserve(user, client)
            .map_err(Refusal::Throttled)?;
        let (done, outcome) = watch::channel(None);
        flights.insert(digest, outcome.clone());
        let users = Arc::clone(self);
        let (user, password) = (user.to_owned(), password.to_owned());
        tokio::spawn(async move {
            // Gone from the flights when the check ends, even by a panic.
            let landing = Landing(Arc::clone(&users), digest);
            let checked = users.check(user, password, digest, reservation).await;
            done.send_replace(Some(checked));
            drop(landing);
        });
        Ok(outcome)
    }

    /// Runs argon2 on the password in the checks' queue; a success is cached
    /// and gives the `reservation` back, a failure keeps it spent.
    async fn check(
        self: &Arc<Self>,
        user: String,
        password: String,
        digest: [u8; 32],
        reservation: Reservation,
    ) -> Result<(), Refusal> {
        let users = Arc::clone(self);
        let checked = self.checks.run(move || {
            let known = users.users.get(&user).map(|u| &u.password_hash);
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
            } else {
                reservation.keep();
            }
            ok
        });
        match checked.await {
            Some(true) => Ok(()),
            Some(false) => Err(Refusal::Wrong),
            None => Err(Refusal::Busy),
        }
    }

    /// Whether `user` may send `profile_id`.
    pub fn may_use(&self, user: &str, profile_id: &str) -> bool {
        self.users.get(user).is_some_and(|u| u.may_use(profile_id))
    }
}

/// A check's place among the flights, given up when dropped.
struct Landing(Arc<Users>, [u8; 32]);

impl Drop for Landing {
    fn drop(&mut self) {
        let Self(users, digest) = self;
        users
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(digest);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_argon2id_hashes_at_the_decoys_cost_are_taken() {
        let hash_with = |algorithm, params| {
            Argon2::new(algorithm, argon2::Version::V0x13, params)
                .hash_password(b"password")
                .expect("hashes")
                .to_string()
        };
        let users = |hash: String| {
            HashMap::from([(
                "agent1".to_owned(),
                User {
                    password_hash: hash,
                    profiles: None,
                },
            )])
        };
        assert_eq!(
            check_hashes(&users(hash_password("password").expect("hashes"))),
            Ok(())
        );
        let cheap = Params::new(8, 1, 1, None).expect("params");
        for (hash, expected) in [
            (
                hash_with(Algorithm::Argon2id, cheap.clone()),
                "argon2id with m=8,t=1,p=1",
            ),
            (
                hash_with(Algorithm::Argon2i, Params::default()),
                "argon2i with",
            ),
            ("h".to_owned(), "not a PHC string"),
        ] {
            let error = check_hashes(&users(hash)).expect_err(expected);
            assert!(error.contains(expected), "{error}");
            assert!(error.contains("user 'agent1'"), "{error}");
        }
    }

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
