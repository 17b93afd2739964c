//! The relay: a task per configured target that claims due deliveries
//! through the [`Store`], sends them, and records what became of each.
//!
//! At least once: a delivery is marked delivered only after a 2xx, so a crash
//! between the send and the record sends it again (same `Idempotency-Key`)
//! once its claim's lease runs out. In order: the store hands out only the
//! head of each (customer, target) queue, and the next one only after the
//! head is delivered or discarded. A target without a URL is held: no task
//! claims its deliveries, which wait, counted by `/healthz`. A target that
//! is down opens its relay's [`breaker`]: nothing is claimed or read for it
//! but one probe at a time (and the attempts in flight are recorded), so
//! that its outage does not take turns at the store from the saves.

mod backoff;
mod breaker;
mod send;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Client, Url};
use tokio::sync::watch;
use tokio::task::{self, JoinError, JoinSet};
use tracing::Instrument;

use self::breaker::{Breaker, Health};
use crate::config::{DeliverySettings, RelaySettings, Target};
use crate::http::trace_context;
use crate::store::{Attempted, ClaimRequest, ClaimedDelivery, Store, StoreError};

/// How often an idle relay looks for work it was not told about: deliveries
/// an operator retried, or whose claim expired.
const POLL: Duration = Duration::from_secs(1);

/// A claim lasts the target's timeout and this much more, for recording the
/// answer; after it, the delivery may be claimed (and sent) again.
const LEASE_SLACK: Duration = Duration::from_secs(5);

/// The shortest sleep of the loop, so that a delivery due "now" but not yet
/// claimable never makes it spin.
const MIN_SLEEP: Duration = Duration::from_millis(5);

/// Builds the HTTP client the relay tasks share. It follows no redirect:
/// only the target's own 2xx counts, and a 3xx is judged as an answer.
pub fn client() -> Result<Client, String> {
    // The crypto of rustls: ring, installed once for the process (a second
    // installation fails harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .user_agent(concat!("contacts-server/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Starts one task per configured target on the current runtime; they look
/// for work when either of `wake` changes (this instance's saves, the other
/// instances' saves) and stop claiming when `stop` changes; then the
/// attempts in flight may run for `deadline`, and what they came to is
/// recorded.
pub fn spawn(
    store: &Arc<dyn Store>,
    delivery: &DeliverySettings,
    wake: [&watch::Sender<()>; 2],
    stop: &watch::Receiver<bool>,
    deadline: Duration,
) -> Result<JoinSet<()>, String> {
    let client = client()?;
    let owner: Arc<str> = format!(
        "relay-{}-{:08x}",
        std::process::id(),
        backoff::random() as u32
    )
    .into();
    let mut tasks = JoinSet::new();
    for target in &delivery.targets {
        let Some(url) = target.url.clone() else {
            tracing::warn!(
                target = target.name,
                "no url configured: its deliveries are held"
            );
            continue;
        };
        tracing::info!(target = target.name, %url, "relay started");
        let relay = TargetRelay {
            store: Arc::clone(store),
            client: client.clone(),
            owner: Arc::clone(&owner),
            target: target.clone(),
            url,
            settings: delivery.relay.clone(),
            deadline,
        };
        tasks.spawn(Arc::new(relay).run(wake.map(watch::Sender::subscribe), stop.clone()));
    }
    Ok(tasks)
}

/// The relay of one target.
#[derive(Debug)]
struct TargetRelay {
    store: Arc<dyn Store>,
    client: Client,
    owner: Arc<str>,
    target: Target,
    url: Url,
    settings: RelaySettings,
    /// How long the attempts in flight may run once the server stops.
    deadline: Duration,
}

/// What an attempt came to for its delivery (by id), and what it says of
/// the target.
type Outcome = (i64, Attempted, Health);

/// The attempts being sent, and the delivery of each (by its task).
type InFlight = (JoinSet<Outcome>, HashMap<task::Id, i64>);

impl TargetRelay {
    /// What an attempt that ended came to, its task forgotten and its answer
    /// told to the breaker.
    fn ended(
        &self,
        sending: &mut HashMap<task::Id, i64>,
        breaker: &mut Breaker,
        joined: Result<(task::Id, Outcome), JoinError>,
    ) -> Option<(i64, Attempted)> {
        match joined {
            Ok((task, (id, attempted, health))) => {
                sending.remove(&task);
                breaker.answered(health, &self.settings, Instant::now());
                Some((id, attempted))
            }
            Err(error) => {
                sending.remove(&error.id());
                None
            }
        }
    }
}

impl TargetRelay {
    async fn run(
        self: Arc<Self>,
        [mut queued, mut heard]: [watch::Receiver<()>; 2],
        mut stop: watch::Receiver<bool>,
    ) {
        let (mut in_flight, mut sending): InFlight = Default::default();
        let mut breaker = Breaker::new(self.target.name);
        let mut finished = Vec::new();
        // The next due time, kept between rounds: a save adds only deliveries
        // due at once (which the claim finds) or waiting behind their head,
        // so it is read again only after what can move it (a record, a
        // claim, the poll), not at every save.
        let mut next_due: Option<Instant> = None;
        let mut next_due_known = false;
        while !*stop.borrow() {
            queued.mark_unchanged();
            heard.mark_unchanged();
            // The attempts that ended are recorded together: one commit.
            while let Some(joined) = in_flight.try_join_next_with_id() {
                finished.extend(self.ended(&mut sending, &mut breaker, joined));
            }
            if !finished.is_empty() {
                next_due_known = false;
            }
            let free = self.settings.concurrency.saturating_sub(in_flight.len());
            let limit = breaker.limit(free, Instant::now());
            if limit == 0 {
                self.record(std::mem::take(&mut finished)).await;
            } else {
                // A failed record leaves the claims to expire: the deliveries
                // are sent again, which at-least-once allows.
                match self
                    .record_and_claim(std::mem::take(&mut finished), limit)
                    .await
                {
                    Ok(claimed) => {
                        let full = claimed.len() == limit;
                        breaker.claimed(claimed.len());
                        if !claimed.is_empty() {
                            next_due_known = false;
                        }
                        for delivery in claimed {
                            let id = delivery.id;
                            let task = in_flight.spawn(Arc::clone(&self).attempt(delivery));
                            sending.insert(task.id(), id);
                        }
                        // Where every free slot was filled, more may be due:
                        // look again when an attempt ends. Otherwise sleep
                        // until the next one is due.
                        if !full && !next_due_known {
                            match self.next_due().await {
                                Ok(due) => {
                                    next_due = due.map(instant_of);
                                    next_due_known = true;
                                }
                                Err(error) => {
                                    tracing::error!(%error, target = self.target.name, "cannot read the outbox")
                                }
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, target = self.target.name, "cannot record and claim deliveries");
                    }
                }
            }
            let poll = Instant::now() + POLL;
            // An open breaker sleeps until its probe may go, and waits for
            // the probe's answer: the saves that come meanwhile wake nothing
            // (their wake-up waits, coalesced, and the probe's round claims
            // what they queued), nor does the poll.
            let open_until = breaker.open_until(Instant::now());
            let deaf = open_until.is_some() || breaker.probing();
            let wake = open_until.unwrap_or_else(|| next_due.map_or(poll, |due| due.min(poll)));
            let wake = wake.max(Instant::now() + MIN_SLEEP);
            tokio::select! {
                Some(joined) = in_flight.join_next_with_id(), if !in_flight.is_empty() => finished.extend(self.ended(&mut sending, &mut breaker, joined)),
                // Saves that come while a round runs wake it once.
                Ok(()) = queued.changed(), if !deaf => {}
                Ok(()) = heard.changed(), if !deaf => {}
                () = tokio::time::sleep_until(wake.into()) => {
                    next_due = None;
                    next_due_known = false;
                }
                _ = stop.changed() => {}
            }
        }
        // The attempts in flight may run until the shutdown deadline. Those
        // still running then are cut, and recorded as failed attempts due at
        // once, so that the restart sends them again (with their key)
        // without waiting for their claims to run out.
        let deadline = tokio::time::Instant::now() + self.deadline;
        loop {
            match tokio::time::timeout_at(deadline, in_flight.join_next_with_id()).await {
                Ok(Some(joined)) => {
                    finished.extend(self.ended(&mut sending, &mut breaker, joined));
                }
                Ok(None) => break,
                Err(_) => {
                    in_flight.abort_all();
                    tracing::warn!(
                        target = self.target.name,
                        in_flight = sending.len(),
                        "delivery attempts still in flight at the shutdown deadline; they are sent again after the restart"
                    );
                    let at = SystemTime::now();
                    finished.extend(sending.drain().map(|(_, id)| {
                        let error = "cut by the shutdown deadline".to_owned();
                        (
                            id,
                            Attempted::Retry {
                                at,
                                status: None,
                                error,
                            },
                        )
                    }));
                    break;
                }
            }
        }
        self.record(finished).await;
    }

    /// Records what attempts came to. A failed record leaves their claims to
    /// expire: the deliveries are sent again, which at-least-once allows.
    async fn record(&self, finished: Vec<(i64, Attempted)>) {
        if finished.is_empty() {
            return;
        }
        if let Err(error) = self.store.record(Arc::clone(&self.owner), finished).await {
            tracing::error!(%error, target = self.target.name, "cannot record delivery attempts");
        }
    }

    async fn record_and_claim(
        &self,
        finished: Vec<(i64, Attempted)>,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.store
            .record_and_claim(
                finished,
                ClaimRequest {
                    owner: Arc::clone(&self.owner),
                    targets: vec![self.target.name],
                    now: SystemTime::now(),
                    limit,
                    lease: self.target.timeout + LEASE_SLACK,
                },
            )
            .await
    }

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        self.store.next_due(vec![self.target.name]).await
    }

    /// One attempt, a span of the saving request's trace (a new trace for a
    /// delivery queued before traces were kept): the send, with that span's
    /// `traceparent`, and what it came to.
    async fn attempt(self: Arc<Self>, delivery: ClaimedDelivery) -> Outcome {
        let attempt = delivery.attempts.saturating_add(1);
        let span = tracing::info_span!(
            "delivery_attempt",
            target = self.target.name,
            tracking_id = delivery.tracking_id.as_str(),
            trace_id = tracing::field::Empty,
            attempt,
        );
        let saved = delivery
            .traceparent
            .as_deref()
            .and_then(trace_context::parse);
        let traceparent = trace_context::traceparent(&trace_context::start(&span, saved.as_ref()));
        self.send(delivery, &traceparent).instrument(span).await
    }

    async fn send(&self, delivery: ClaimedDelivery, traceparent: &str) -> Outcome {
        let name = self.target.name;
        let answer = send::post(
            &self.client,
            &self.target,
            &self.url,
            &delivery,
            traceparent,
        )
        .await;
        let health = answer.health();
        let attempted = send::judge(&self.settings, &delivery, answer, SystemTime::now());
        metrics::counter!("contacts_delivery_attempts_total", "target" => name).increment(1);
        let result = match &attempted {
            Attempted::Delivered { status } => {
                tracing::info!(status, "delivered");
                if let Some(latency) = since_acceptance(&delivery.payload) {
                    metrics::histogram!("contacts_delivery_latency_seconds", "target" => name)
                        .record(latency.as_secs_f64());
                }
                "delivered"
            }
            Attempted::Retry { at, error, .. } => {
                let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                tracing::warn!(%error, wait_ms = wait.as_millis(), "delivery failed; retrying");
                "retried"
            }
            Attempted::Dead { error, .. } => {
                tracing::error!(%error, "delivery dead; see `contacts-server deliveries list --state dead`");
                "dead"
            }
        };
        metrics::counter!("contacts_deliveries_total", "target" => name, "result" => result)
            .increment(1);
        (delivery.id, attempted, health)
    }
}

/// The time from the acceptance of a delivery's update (`accepted_at` in its
/// body) to now: the delivery latency, once the target answered 2xx.
fn since_acceptance(payload: &str) -> Option<Duration> {
    #[derive(serde::Deserialize)]
    struct Accepted {
        accepted_at: String,
    }
    let accepted = serde_json::from_str::<Accepted>(payload).ok()?;
    let at = humantime::parse_rfc3339(&accepted.accepted_at).ok()?;
    Some(SystemTime::now().duration_since(at).unwrap_or_default())
}

/// The monotonic instant of a wall-clock time (now, if it is past).
fn instant_of(time: SystemTime) -> Instant {
    Instant::now() + time.duration_since(SystemTime::now()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_runs_from_the_acceptance_in_the_body() {
        let accepted = SystemTime::now() - Duration::from_secs(90);
        let payload = format!(
            r#"{{"accepted_at":"{}","contacts":[]}}"#,
            humantime::format_rfc3339_millis(accepted)
        );
        let latency = since_acceptance(&payload).expect("a latency");
        assert!(latency >= Duration::from_secs(90) && latency < Duration::from_secs(95));
        assert_eq!(since_acceptance("{}"), None);
    }
}
