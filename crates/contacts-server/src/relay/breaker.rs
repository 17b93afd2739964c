//! A target's circuit breaker: while the target is down, its relay claims
//! and reads nothing, and records only the attempts that were in flight when
//! it opened, until one probe may go.
//!
//! Without it, every head of queue that comes due (each new customer's
//! first update, each retry) costs an attempt and a record, and with SQLite
//! each record a turn at the writer the agents' saves share. With it, an
//! outage costs the attempts that were in flight when it began, then one
//! probe per wait: the waits grow as the deliveries' own backoff does
//! (`backoff_base_ms × 2^(tries − 1)`, capped at `backoff_cap_ms`, equal
//! jitter), or follow the target's `Retry-After`.
//!
//! What opens it: no answer (a refused or reset connection, a timeout), a
//! 502, 503 or 504 (the target or its gateway says it is unavailable) and a
//! 429 (the target as a whole asks for fewer requests). Any other answer, a
//! 500 included, says the target is there: a failure that may belong to the
//! one update (a 500 on a body the target cannot handle) must not hold back
//! the other customers, so it only delays its own delivery, by that
//! delivery's backoff. The breaker is each relay's own, in memory: with
//! several instances on PostgreSQL each probes for itself, and a restart
//! starts closed.

use std::time::{Duration, Instant};

use super::backoff;
use crate::config::RelaySettings;

/// What an attempt's answer says about the target, not about the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The target answered as a service does (a 2xx, a refusal, a 500…).
    Reached,
    /// Down: no answer, 502, 503, 504 or 429; its `Retry-After`, if any.
    Down { retry_after: Option<Duration> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Deliveries go as they come due.
    Closed,
    /// Nothing goes before `until`; from then on, one probe, when a delivery
    /// is due.
    Open { until: Instant },
    /// The probe is in flight: nothing else goes until it is answered.
    Probing,
}

/// The breaker of one target's relay.
#[derive(Debug)]
pub struct Breaker {
    target: &'static str,
    state: State,
    /// The failed tries in a row (the one that opened it, then the probes).
    trips: u32,
}

impl Breaker {
    /// A closed breaker (`contacts_delivery_target_open{target}` 0).
    pub fn new(target: &'static str) -> Self {
        metrics::gauge!("contacts_delivery_target_open", "target" => target).set(0.0);
        Self {
            target,
            state: State::Closed,
            trips: 0,
        }
    }

    /// How many deliveries may be claimed `now`, of `free` slots.
    pub fn limit(&self, free: usize, now: Instant) -> usize {
        match self.state {
            State::Closed => free,
            State::Open { until } if until <= now => free.min(1),
            State::Open { .. } | State::Probing => 0,
        }
    }

    /// Open, and its wait not over at `now`: when it is. Until then the
    /// relay sleeps; the saves' wake-ups and the poll wait for it.
    pub fn open_until(&self, now: Instant) -> Option<Instant> {
        match self.state {
            State::Open { until } if until > now => Some(until),
            _ => None,
        }
    }

    /// Whether the probe is in flight.
    pub fn probing(&self) -> bool {
        self.state == State::Probing
    }

    /// `count` deliveries were claimed: while open, that was the probe.
    pub fn claimed(&mut self, count: usize) {
        if count > 0 && matches!(self.state, State::Open { .. }) {
            self.state = State::Probing;
        }
    }

    /// An attempt ended at `now`, with what it says of the target.
    pub fn answered(&mut self, health: Health, settings: &RelaySettings, now: Instant) {
        match (health, self.state) {
            (Health::Reached, State::Closed) => {}
            (Health::Reached, _) => {
                tracing::info!(
                    target = self.target,
                    tries = self.trips,
                    "the target answers again: its deliveries go on"
                );
                self.set(State::Closed);
                self.trips = 0;
            }
            // An attempt sent before the breaker opened: it is open already.
            (Health::Down { .. }, State::Open { .. }) => {}
            (Health::Down { retry_after }, State::Closed | State::Probing) => {
                self.trips = self.trips.saturating_add(1);
                let wait = retry_after.map_or_else(
                    || backoff::equal_jitter(settings, self.trips, backoff::random()),
                    |asked| asked.min(settings.backoff_cap),
                );
                tracing::warn!(
                    target = self.target,
                    tries = self.trips,
                    wait_ms = wait.as_millis(),
                    "the target is down: its relay sends nothing until one probe after the wait"
                );
                self.set(State::Open { until: now + wait });
            }
        }
    }

    fn set(&mut self, state: State) {
        let open = if state == State::Closed { 0.0 } else { 1.0 };
        metrics::gauge!("contacts_delivery_target_open", "target" => self.target).set(open);
        self.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RelaySettings {
        RelaySettings {
            max_attempts: 20,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_millis(1_000),
            concurrency: 8,
        }
    }

    const DOWN: Health = Health::Down { retry_after: None };

    #[test]
    fn a_down_target_gets_nothing_until_the_wait_then_one_probe() {
        let settings = settings();
        let now = Instant::now();
        let mut breaker = Breaker::new("MAS");
        assert_eq!(breaker.limit(8, now), 8);
        breaker.answered(Health::Reached, &settings, now);
        assert_eq!(breaker.limit(8, now), 8);

        breaker.answered(DOWN, &settings, now);
        let until = breaker.open_until(now).expect("open");
        let wait = until - now;
        assert!(wait >= Duration::from_millis(50) && wait <= Duration::from_millis(100));
        assert_eq!(breaker.limit(8, now), 0);
        // The other attempts of the round fail too: one trip only.
        breaker.answered(DOWN, &settings, now);
        assert_eq!(breaker.open_until(now), Some(until));

        assert_eq!(breaker.open_until(until), None);
        assert_eq!(breaker.limit(8, until), 1, "one probe");
        breaker.claimed(0);
        assert_eq!(breaker.limit(8, until), 1, "none was due: still one probe");
        breaker.claimed(1);
        assert_eq!(breaker.limit(8, until), 0, "the probe is in flight");
        assert!(breaker.probing());
        assert_eq!(breaker.open_until(until), None);

        // The probe fails: a longer wait (the second try's bound).
        breaker.answered(DOWN, &settings, until);
        let wait = breaker.open_until(until).expect("open again") - until;
        assert!(wait >= Duration::from_millis(100) && wait <= Duration::from_millis(200));
        let later = until + wait;
        breaker.claimed(1);
        breaker.answered(Health::Reached, &settings, later);
        assert_eq!(breaker.limit(8, later), 8, "closed");
        assert!(!breaker.probing());
        assert_eq!(breaker.open_until(later), None);
        // Its count started again.
        breaker.answered(DOWN, &settings, later);
        assert!(breaker.open_until(later).expect("open") - later <= Duration::from_millis(100));
    }

    #[test]
    fn a_retry_after_sets_the_wait_up_to_the_cap() {
        let settings = settings();
        let now = Instant::now();
        let mut breaker = Breaker::new("MDM");
        let asked = |seconds| Health::Down {
            retry_after: Some(Duration::from_secs(seconds)),
        };
        breaker.answered(asked(0), &settings, now);
        assert_eq!(breaker.open_until(now), None);
        assert_eq!(breaker.limit(8, now), 1);
        breaker.claimed(1);
        breaker.answered(asked(60), &settings, now);
        assert_eq!(
            breaker.open_until(now),
            Some(now + Duration::from_millis(1_000))
        );
    }
}
