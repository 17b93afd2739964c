//! What holds off password guessing before argon2 runs: failed password
//! checks limited per user name and per client address (keyed allowances
//! that a check under way holds and a successful one gives back), and a
//! bounded queue for the checks themselves, so that a flood of wrong
//! passwords neither guesses fast nor delays the agents' logins for long,
//! nor fills the log.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, TryAcquireError};

use crate::config::LoginLimits;

/// User names longer than this share the limiter key of their first bytes.
const MAX_KEY_BYTES: usize = 128;

/// How often (in attempts) an allowance forgets the keys that are back to a
/// full allowance.
const FORGET_EVERY: usize = 1_024;

/// The client's address: the last `X-Forwarded-For` entry where the proxy
/// in front is trusted (the one it appended; the ones before it are the
/// client's word), else the peer of the connection. `None` where the app is
/// called in-process, without a connection.
pub fn client_address(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    forwarded.or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    })
}

/// An allowance of attempts per key (a user name, a client address): a
/// burst of `attempts`, refilled evenly over the minute (the generic cell
/// rate algorithm, as governor counts), which forgets now and then the keys
/// that are back to a full allowance, so that a flood of new keys cannot
/// grow it without end. Unlike governor's keyed limiter it can give an
/// attempt back: a password check spends its attempt before argon2 runs, and
/// one that succeeds gives it back (governor has no way to check without
/// spending, nor to give back).
#[derive(Debug)]
pub struct Allowance<K: Clone + Eq + std::hash::Hash> {
    /// When each key's allowance is full again; a key absent, or at a time
    /// past, has its whole allowance.
    full_at: Mutex<HashMap<K, Instant>>,
    /// The time that gives back one attempt.
    refill: Duration,
    /// The whole allowance, as time: `refill` times the attempts.
    burst: Duration,
    spent: AtomicUsize,
}

impl<K: Clone + Eq + std::hash::Hash> Allowance<K> {
    pub fn per_minute(attempts: NonZeroU32) -> Self {
        let refill = Duration::from_secs(60) / attempts.get();
        Self {
            full_at: Mutex::new(HashMap::new()),
            refill,
            burst: refill * attempts.get(),
            spent: AtomicUsize::new(0),
        }
    }

    /// Spends one attempt of `key`, or says how long to wait where its
    /// allowance is spent.
    pub fn spend(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut full_at = self.full_at.lock().unwrap_or_else(PoisonError::into_inner);
        if self.spent.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            full_at.retain(|_, at| *at > now);
        }
        let from = full_at.get(key).map_or(now, |at| (*at).max(now));
        let owed = from + self.refill - now;
        if owed > self.burst {
            return Err(owed - self.burst);
        }
        full_at.insert(key.clone(), from + self.refill);
        Ok(())
    }

    /// Gives back an attempt of `key` spent before.
    pub fn give_back(&self, key: &K) {
        let now = Instant::now();
        let mut full_at = self.full_at.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = full_at.get_mut(key) {
            match at.checked_sub(self.refill).filter(|back| *back > now) {
                Some(back) => *at = back,
                None => {
                    full_at.remove(key);
                }
            }
        }
    }
}

/// The allowance of failed password checks per user name and per client
/// address.
#[derive(Debug)]
pub struct LoginThrottle {
    users: Allowance<String>,
    addresses: Allowance<IpAddr>,
}

impl LoginThrottle {
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            users: Allowance::per_minute(limits.per_user),
            addresses: Allowance::per_minute(limits.per_address),
        }
    }

    /// Spends, before argon2 runs, one password check of `user` and of
    /// `address`, or says how long to wait where either allowance is spent.
    ///
    /// The checks under way are counted with the failed ones: only counting
    /// them before argon2 runs bounds the checks that a burst of
    /// simultaneous guesses gets. The check gives its attempts back unless
    /// it fails ([`Reservation::keep`]): correct credentials spend nothing.
    pub fn reserve(
        self: &Arc<Self>,
        user: &str,
        address: Option<IpAddr>,
    ) -> Result<Reservation, Duration> {
        let mut end = MAX_KEY_BYTES.min(user.len());
        while !user.is_char_boundary(end) {
            end -= 1;
        }
        let user = user[..end].to_owned();
        self.users.spend(&user)?;
        if let Some(address) = address
            && let Err(wait) = self.addresses.spend(&address)
        {
            self.users.give_back(&user);
            return Err(wait);
        }
        Ok(Reservation {
            throttle: Arc::clone(self),
            user,
            address,
            kept: false,
        })
    }
}

/// The attempts a password check spent in advance: given back when dropped,
/// unless the check failed and [`Reservation::keep`] kept them spent.
#[derive(Debug)]
pub struct Reservation {
    throttle: Arc<LoginThrottle>,
    user: String,
    address: Option<IpAddr>,
    kept: bool,
}

impl Reservation {
    /// Keeps the attempts spent: the check failed.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        self.throttle.users.give_back(&self.user);
        if let Some(address) = self.address {
            self.throttle.addresses.give_back(&address);
        }
    }
}

/// Refused logins logged per second, after a first burst.
const LOG_LINES_PER_SECOND: u32 = 10;
const LOG_BURST: u32 = 50;

/// The lines that refused logins may write to the log: a burst, then
/// `LOG_LINES_PER_SECOND`, so that a flood of guesses writes a bounded log.
/// The refusals left out are counted, and the next line logged says how many
/// (`/metrics` counts every refusal).
#[derive(Debug)]
pub struct RefusalLog {
    lines: DefaultDirectRateLimiter,
    left_out: AtomicU64,
}

impl RefusalLog {
    pub fn new() -> Self {
        let rate = NonZeroU32::new(LOG_LINES_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(LOG_BURST).unwrap_or(NonZeroU32::MIN);
        Self {
            lines: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            left_out: AtomicU64::new(0),
        }
    }

    /// Whether this refusal may be logged: `Some` with the number of
    /// refusals left out since the last line, or `None` (and counted).
    pub fn admit(&self) -> Option<u64> {
        if self.lines.check().is_ok() {
            Some(self.left_out.swap(0, Ordering::Relaxed))
        } else {
            self.left_out.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// The argon2 checks: at most `limit` run at once; a check that would wait
/// longer than `max_wait` for its turn is refused at once.
#[derive(Debug)]
pub struct PasswordChecks {
    permits: Arc<Semaphore>,
    limit: usize,
    max_wait: Duration,
    waiting: AtomicUsize,
    /// The checks running now and the most ever seen at once, counted inside
    /// the blocking task around argon2 itself, not by the semaphore: they
    /// show what actually ran, and `/metrics` reports them.
    running: AtomicUsize,
    peak: AtomicUsize,
    /// A moving average of the recent checks' durations, in microseconds.
    mean_micros: AtomicU64,
}

/// Counts a waiting check while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PasswordChecks {
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.concurrent_checks)),
            limit: limits.concurrent_checks,
            max_wait: limits.max_wait,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            // A first guess, replaced as soon as checks are measured.
            mean_micros: AtomicU64::new(50_000),
        }
    }

    /// Runs `check` on a blocking thread in its turn, or `None` where its
    /// turn would come too late.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return None,
            Err(TryAcquireError::NoPermits) => {
                let ahead = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
                let _waiting = Waiting(&self.waiting);
                let rounds = u32::try_from(ahead.div_ceil(self.limit)).unwrap_or(u32::MAX);
                let mean = Duration::from_micros(self.mean_micros.load(Ordering::Relaxed));
                if mean.saturating_mul(rounds) > self.max_wait {
                    return None;
                }
                let acquire = Arc::clone(&self.permits).acquire_owned();
                tokio::time::timeout(self.max_wait, acquire)
                    .await
                    .ok()?
                    .ok()?
            }
        };
        let checks = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let running = checks.running.fetch_add(1, Ordering::SeqCst) + 1;
            let peak = checks
                .peak
                .fetch_max(running, Ordering::SeqCst)
                .max(running);
            // Set here rather than at start, where no recorder is installed yet.
            metrics::gauge!("contacts_password_checks_limit").set(checks.limit as f64);
            metrics::gauge!("contacts_password_checks_peak").set(peak as f64);
            let started = Instant::now();
            let outcome = check();
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let mean = checks.mean_micros.load(Ordering::Relaxed);
            checks
                .mean_micros
                .store(mean - mean / 8 + micros / 8, Ordering::Relaxed);
            checks.running.fetch_sub(1, Ordering::SeqCst);
            metrics::counter!("contacts_password_checks_total").increment(1);
            drop(permit);
            outcome
        })
        .await
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_user: u32, per_address: u32) -> LoginLimits {
        LoginLimits {
            per_user: NonZeroU32::new(per_user).expect("positive"),
            per_address: NonZeroU32::new(per_address).expect("positive"),
            concurrent_checks: 2,
            max_wait: Duration::from_secs(2),
        }
    }

    #[test]
    fn failed_checks_spend_the_allowance_per_user_and_per_address() {
        let throttle = Arc::new(LoginThrottle::new(&limits(3, 5)));
        let home: IpAddr = [10, 0, 0, 1].into();
        let fail = |user: &str, address: IpAddr| {
            throttle.reserve(user, Some(address)).map(Reservation::keep)
        };
        for _ in 0..3 {
            assert_eq!(fail("alice", home), Ok(()));
        }
        let wait = fail("alice", home).expect_err("spent");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another name from the same address has its own allowance, until
        // the address has spent its own.
        assert_eq!(fail("bob", home), Ok(()));
        assert_eq!(fail("carol", home), Ok(()));
        assert!(fail("dave", home).is_err());
        assert_eq!(fail("erin", [10, 0, 0, 2].into()), Ok(()));
        // The address refused dave: his name's attempt was given back.
        for _ in 0..3 {
            assert_eq!(fail("dave", [10, 0, 0, 3].into()), Ok(()));
        }
    }

    #[test]
    fn checks_under_way_hold_their_attempts_and_successful_ones_give_them_back() {
        let throttle = Arc::new(LoginThrottle::new(&limits(3, 100)));
        let home: IpAddr = [10, 0, 0, 1].into();
        // A burst: three checks under way at once, the fourth refused.
        let under_way: Vec<Reservation> = (0..3)
            .map(|_| throttle.reserve("alice", Some(home)).expect("allowed"))
            .collect();
        assert!(throttle.reserve("alice", Some(home)).is_err());
        // They succeed: nothing stays spent, again and again.
        drop(under_way);
        for _ in 0..100 {
            drop(throttle.reserve("alice", Some(home)).expect("allowed"));
        }
        // One fails: two left.
        throttle
            .reserve("alice", Some(home))
            .expect("allowed")
            .keep();
        let two = [
            throttle.reserve("alice", Some(home)).expect("allowed"),
            throttle.reserve("alice", Some(home)).expect("allowed"),
        ];
        assert!(throttle.reserve("alice", None).is_err());
        drop(two);
    }

    #[test]
    fn logs_a_burst_of_refusals_then_counts_the_rest() {
        let log = RefusalLog::new();
        for _ in 0..LOG_BURST {
            assert_eq!(log.admit(), Some(0));
        }
        let left_out = (0..100).filter(|_| log.admit().is_none()).count();
        // At most a line or two came back during the loop.
        assert!(left_out >= 98, "{left_out}");
        std::thread::sleep(Duration::from_millis(
            1_100 / u64::from(LOG_LINES_PER_SECOND),
        ));
        assert_eq!(log.admit(), Some(left_out as u64));
    }

    #[tokio::test]
    async fn refuses_at_once_a_check_that_would_wait_too_long() {
        let checks = Arc::new(PasswordChecks::new(&LoginLimits {
            max_wait: Duration::from_millis(1),
            ..limits(1, 1)
        }));
        let slow = || std::thread::sleep(Duration::from_millis(300));
        let (first, second, third) =
            tokio::join!(checks.run(slow), checks.run(slow), checks.run(slow),);
        // Two run; the third would have waited about 300 ms.
        assert_eq!(
            [first, second, third]
                .iter()
                .filter(|r| r.is_some())
                .count(),
            2
        );
        assert_eq!(checks.peak.load(Ordering::SeqCst), 2);
    }
}
