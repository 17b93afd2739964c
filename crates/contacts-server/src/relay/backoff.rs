//! When to try again: exponential backoff with full jitter, or the target's
//! `Retry-After`.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;

use crate::config::RelaySettings;

/// The wait after `attempts` failed attempts: a uniformly random time
/// between zero and `base × 2^(attempts − 1)`, that bound capped at `cap`
/// ("full jitter": relays that failed together do not retry together).
pub fn backoff(settings: &RelaySettings, attempts: u32, random: u64) -> Duration {
    Duration::from_millis(random % bound_ms(settings, attempts).saturating_add(1))
}

/// The wait of a target's circuit breaker after `trips` failed tries in a
/// row: a uniformly random time between half of the bound of [`backoff`] and
/// that bound ("equal jitter": never zero, so that a target down for long is
/// not probed at once again by chance).
pub fn equal_jitter(settings: &RelaySettings, trips: u32, random: u64) -> Duration {
    let bound_ms = bound_ms(settings, trips);
    let half = bound_ms / 2;
    Duration::from_millis(half + random % (bound_ms - half).saturating_add(1))
}

/// `base × 2^(attempts − 1)`, capped at `cap`, in milliseconds.
fn bound_ms(settings: &RelaySettings, attempts: u32) -> u64 {
    let bound = settings
        .backoff_base
        .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1)))
        .min(settings.backoff_cap);
    u64::try_from(bound.as_millis()).unwrap_or(u64::MAX)
}

/// Reads a `Retry-After` header: a number of seconds, or an HTTP date (a
/// date past means now). `None` where it is neither.
pub fn retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// A random number from the operating system, for the jitter.
pub fn random() -> u64 {
    let mut bytes = [0u8; 8];
    // Should the generator fail, no jitter is still a valid backoff.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RelaySettings {
        RelaySettings {
            max_attempts: 20,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_millis(300_000),
            concurrency: 8,
        }
    }

    #[test]
    fn the_bound_doubles_up_to_the_cap_and_the_wait_stays_within_it() {
        let settings = settings();
        for (attempts, bound_ms) in [
            (1, 500),
            (2, 1_000),
            (3, 2_000),
            (10, 256_000),
            (11, 300_000),
            (40, 300_000),
        ] {
            assert_eq!(
                backoff(&settings, attempts, u64::MAX - 1),
                Duration::from_millis((u64::MAX - 1) % (bound_ms + 1))
            );
            assert_eq!(
                backoff(&settings, attempts, bound_ms),
                Duration::from_millis(bound_ms),
                "{attempts}"
            );
            assert_eq!(
                backoff(&settings, attempts, bound_ms + 1),
                Duration::ZERO,
                "{attempts}"
            );
            for _ in 0..100 {
                assert!(backoff(&settings, attempts, random()) <= Duration::from_millis(bound_ms));
            }
        }
    }

    #[test]
    fn the_breaker_waits_between_half_the_bound_and_the_bound() {
        let settings = settings();
        for (trips, bound_ms) in [(1, 500), (2, 1_000), (11, 300_000), (40, 300_000)] {
            let half = Duration::from_millis(bound_ms / 2);
            assert_eq!(equal_jitter(&settings, trips, 0), half, "{trips}");
            assert_eq!(
                equal_jitter(&settings, trips, bound_ms / 2),
                Duration::from_millis(bound_ms),
                "{trips}"
            );
            for _ in 0..100 {
                let wait = equal_jitter(&settings, trips, random());
                assert!(wait >= half && wait <= Duration::from_millis(bound_ms));
            }
        }
    }

    #[test]
    fn reads_retry_after_in_seconds_or_as_a_date() {
        let now = httpdate::parse_http_date("Tue, 01 Dec 2026 10:00:00 GMT").expect("a date");
        let read = |text: &'static str| retry_after(&HeaderValue::from_static(text), now);
        assert_eq!(read("2"), Some(Duration::from_secs(2)));
        assert_eq!(read(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            read("Tue, 01 Dec 2026 10:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(read("Tue, 01 Dec 2026 09:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("soon"), None);
        assert_eq!(read("-1"), None);
    }
}
