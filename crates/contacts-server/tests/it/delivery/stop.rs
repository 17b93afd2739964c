//! SIGTERM under load: the server stops taking requests, finishes those in
//! flight and the delivery attempts being sent until its shutdown deadline,
//! records them, and exits. Measured: every save answered 200 was stored,
//! every delivery a target got is recorded delivered but for the attempts
//! cut at the deadline, and only those are sent again after the restart.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::*;
use crate::postgres::{customers as load_customers, is_success, try_save_at};

/// Clients saving at once, and how long before the SIGTERM.
const CLIENTS: usize = 8;
const LOAD: Duration = Duration::from_secs(3);
/// The server's shutdown deadline, and what the stop may take beyond it
/// (recording the last attempts, the process's teardown) on a loaded machine.
const DEADLINE: Duration = Duration::from_millis(1_000);
const SLACK: Duration = Duration::from_millis(1_500);
/// For the last half second before the SIGTERM on, MAS answers this slowly:
/// longer than the deadline, so that attempts are still in flight at it.
const SLOW: Duration = Duration::from_secs(3);
const SLOW_BEFORE: Duration = Duration::from_millis(500);

/// The number of attempts the server said it cut at the shutdown deadline,
/// over its targets.
fn cut_at_the_deadline(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("in flight at the shutdown deadline"))
        .filter_map(|line| {
            let (_, after) = line.split_once("in_flight=")?;
            after
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// Each key a receiver got, and how many times.
fn keys(receiver: &Receiver) -> HashMap<String, usize> {
    let mut keys = HashMap::new();
    for received in receiver.received() {
        *keys.entry(received.key().to_owned()).or_default() += 1;
    }
    keys
}

#[test]
fn sigterm_under_load_loses_no_save_and_sends_again_only_what_was_cut_at_the_deadline() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let toml = format!(
        "[limits]\nshutdown_timeout_ms = {}\n{}",
        DEADLINE.as_millis(),
        targets(Some(&mas), Some(&mdm), 10_000, "")
    );
    let mut server = relaying(&scratch, &load_customers(), &toml);
    let (agent, base) = (server.agent.clone(), server.base.clone());
    let answered = Mutex::new(Vec::new());
    let (next, refused, unanswered) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let stopped = AtomicBool::new(false);
    let (exited_after, status) = thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while !stopped.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let id = format!("stop-{i}");
                    match try_save_at(&agent, &base, i, &id) {
                        Some(reply) if is_success(&reply, &id) => answered.lock().unwrap().push(id),
                        Some(_) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        // Stopped: the connection is refused.
                        None => {
                            unanswered.fetch_add(1, Ordering::Relaxed);
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
            });
        }
        thread::sleep(LOAD - SLOW_BEFORE);
        mas.otherwise(Reply::Slow(SLOW));
        thread::sleep(SLOW_BEFORE);
        let term = std::process::Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let asked = Instant::now();
        let status = loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                asked.elapsed() < Duration::from_secs(30),
                "still running 30 s after SIGTERM"
            );
            thread::sleep(Duration::from_millis(10));
        };
        let exited_after = asked.elapsed();
        stopped.store(true, Ordering::Relaxed);
        (exited_after, status)
    });
    assert!(status.success(), "{status}");
    let answered: HashSet<String> = answered.into_inner().unwrap().into_iter().collect();
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    let cut = cut_at_the_deadline(&log);

    // What the targets got before the restart, against what was recorded.
    let delivered: HashSet<String> = server
        .db
        .texts(
            "SELECT idempotency_key FROM outbox WHERE state = 'delivered' AND ?1 = ?1",
            "",
        )
        .into_iter()
        .collect();
    let before: Vec<HashMap<String, usize>> = [&mas, &mdm].map(keys).into();
    let unrecorded: usize = before
        .iter()
        .map(|got| got.keys().filter(|key| !delivered.contains(*key)).count())
        .sum();

    // Restarted, the server sends what is left.
    mas.otherwise(Reply::Status(200, ""));
    let restarted = relaying(&scratch, &load_customers(), &toml);
    let stored = restarted.db.rows_per_tracking_id("requests");
    let lost: Vec<&String> = answered
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    wait_for(
        "every save answered 200 at both targets",
        Duration::from_secs(60),
        || {
            [&mas, &mdm].iter().all(|receiver| {
                let got: HashSet<String> = receiver.tracking_ids().into_iter().collect();
                answered.iter().all(|id| got.contains(id))
            })
        },
    );
    let after: Vec<HashMap<String, usize>> = [&mas, &mdm].map(keys).into();
    let sent_twice: usize = after
        .iter()
        .map(|got| {
            got.values()
                .filter(|n| **n > 1)
                .map(|n| n - 1)
                .sum::<usize>()
        })
        .sum();
    let sent_twice_unrecorded = after
        .iter()
        .zip(&before)
        .flat_map(|(got, before)| {
            got.iter()
                .filter(|(key, n)| **n > 1 && before.contains_key(*key))
                .map(|(key, _)| key)
        })
        .all(|key| !delivered.contains(key));
    eprintln!(
        "SIGTERM after {} s of saves from {CLIENTS} clients: {} answered 200, {} answered otherwise, {} not answered (the connection refused or closed); exited {} ms after SIGTERM (deadline {} ms); {} stored of the {} answered 200; deliveries before the stop: MAS {}, MDM {}, of which {unrecorded} not recorded delivered; attempts cut at the deadline: {cut}; sent twice after the restart: {sent_twice}",
        LOAD.as_secs(),
        answered.len(),
        refused.into_inner(),
        unanswered.into_inner(),
        exited_after.as_millis(),
        DEADLINE.as_millis(),
        answered.len() - lost.len(),
        answered.len(),
        before[0].len(),
        before[1].len(),
    );
    assert!(
        lost.is_empty(),
        "saves answered 200 but not stored: {lost:?}"
    );
    assert!(
        exited_after <= DEADLINE + SLACK,
        "exited {exited_after:?} after SIGTERM, deadline {DEADLINE:?}"
    );
    assert!(
        unrecorded <= cut,
        "{unrecorded} deliveries sent but not recorded, {cut} cut at the deadline"
    );
    assert!(
        sent_twice <= cut && sent_twice_unrecorded,
        "{sent_twice} sent twice, {cut} cut at the deadline"
    );
    assert!(
        !answered.is_empty() && cut > 0,
        "the load and the cut happened"
    );
}

/// The same on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        sigterm_under_load_loses_no_save_and_sends_again_only_what_was_cut_at_the_deadline,
    );
}
