//! Several server instances on one PostgreSQL database, over real HTTP
//! against the built binary: one tracking id sent to two instances at the
//! same moment, `kill -9` of an instance while it saves and delivers, and
//! the database stopped under load. Each runs on a throwaway PostgreSQL
//! (or `CONTACTS_TEST_POSTGRES_URL`; the outage always on its own server).
//!
//! `CONTACTS_PG_SAVES` sets the number of saves of the two-instance test:
//! 20,000 by default, the figure (about 35 s more than 5,000 on the
//! shared two-core machine).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contacts_testkit::db::{Db, on_postgres};
use contacts_testkit::harness::*;
use contacts_testkit::postgres::Cluster;
use contacts_testkit::receiver::{Receiver, Reply as TargetReply};
use serde_json::json;

use crate::{SERVER, assert_none_failed, shared_load};

/// The customers the saves are spread over.
const CUSTOMERS: usize = 50;

fn customer(i: usize) -> String {
    format!("{:015}", 40_000_000_000_000 + i % CUSTOMERS)
}

pub(crate) fn customers() -> Vec<String> {
    (0..CUSTOMERS).map(customer).collect()
}

/// Saves `i`: a distinct update of customer `i % CUSTOMERS`.
fn save(server: &Server, i: usize, tracking_id: &str) -> Reply {
    try_save(server, i, tracking_id).expect("an answer")
}

/// Saves `i`, or `None` where the server did not answer (it was killed).
fn try_save(server: &Server, i: usize, tracking_id: &str) -> Option<Reply> {
    try_save_at(&server.agent, &server.base, i, tracking_id)
}

/// Saves `i` through `agent` at the server at `base`, or `None` where it
/// did not answer (it stopped).
pub(crate) fn try_save_at(
    agent: &ureq::Agent,
    base: &str,
    i: usize,
    tracking_id: &str,
) -> Option<Reply> {
    let body = json!({ "contacts": [{ "type": "billing", "name": format!("Save {i}") }] });
    let sent = agent
        .post(format!("{base}/api/v1/customers/{}/contacts", customer(i)))
        .header("Authorization", SAMPLE_AUTH)
        .header("ProfileId", "CAAG_302")
        .header("Content-Type", "application/json")
        .header("Request-Tracking-Id", tracking_id)
        .send(body.to_string());
    sent.is_ok().then(|| Server::reply(sent))
}

/// Whether a reply is the Success envelope for `tracking_id`.
pub(crate) fn is_success(reply: &Reply, tracking_id: &str) -> bool {
    reply.status == 200
        && reply.body["status"] == "Success"
        && reply.body["request_tracking_id"] == tracking_id
}

/// Calls `save(i)` for every `i` below `count`, from `clients` threads at once.
fn from_clients(clients: usize, count: usize, save: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    save(i);
                }
            });
        }
    });
}

/// Starts two instances on one database at the same moment (both migrate).
fn two_instances(scratch: &Scratch, extra: &[&str], relay: bool) -> (Server, Server) {
    // The database is chosen on this thread, where `on_postgres` runs.
    let db = Db::for_dir(&scratch.0);
    let mut args = extra.to_vec();
    if !relay {
        args.push("--no-relay");
    }
    let start = || warmed_up(SERVER.start_on(db.clone(), &scratch.0, &args, &[]));
    thread::scope(|scope| {
        let a = scope.spawn(start);
        let b = scope.spawn(start);
        (a.join().unwrap(), b.join().unwrap())
    })
}

/// The server after one request, which pays the password hash (slow in a
/// debug build) once: the load's clients then find it cached.
/// It may take a while on a busy machine: this request waits up to a minute.
fn warmed_up(server: Server) -> Server {
    let patient = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    );
    let reply = Server::reply(
        patient
            .get(server.url(&format!("/api/v1/customers/{}/contacts", customer(0))))
            .header("Authorization", SAMPLE_AUTH)
            .header("ProfileId", "CAAG_302")
            .call(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    server
}

/// Every acknowledged save has its request, its audit row and both outbox
/// rows, once.
fn assert_each_written_once(db: &Db, acknowledged: &[String]) {
    let [requests, audit, outbox] =
        ["requests", "audit", "outbox"].map(|table| db.rows_per_tracking_id(table));
    let rows = |table: &HashMap<String, i64>, id: &String| table.get(id).copied().unwrap_or(0);
    let wrong: Vec<(&String, [i64; 3])> = acknowledged
        .iter()
        .map(|id| (id, [&requests, &audit, &outbox].map(|t| rows(t, id))))
        .filter(|(_, counts)| *counts != [1, 1, 2])
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} acknowledged saves not written exactly once (requests, audit, outbox): {:?}",
        wrong.len(),
        acknowledged.len(),
        &wrong[..wrong.len().min(10)]
    );
}

#[test]
fn two_instances_write_each_tracking_id_once() {
    let _load = shared_load();
    on_postgres(|| {
        let saves: usize = std::env::var("CONTACTS_PG_SAVES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        const CLIENTS: usize = 16;
        let scratch = Scratch::new();
        let config = config_file(&scratch.0, &customers(), "");
        let (a, b) = two_instances(&scratch, &["--config", config.to_str().unwrap()], false);
        let migrations = a.db.texts(
            "SELECT version::text FROM schema_migrations WHERE ?1 = ?1 ORDER BY version",
            "",
        );
        let each_once: Vec<String> = (1..=migrations.len()).map(|v| v.to_string()).collect();
        assert_eq!(
            migrations, each_once,
            "two instances starting together migrate once"
        );

        let acknowledged = Mutex::new(Vec::with_capacity(saves));
        let failures = Mutex::new(Vec::new());
        let duplicates = Mutex::new(Vec::new());
        let started = Instant::now();
        from_clients(CLIENTS, saves, |i| {
            let id = format!("twice-{i}");
            let (here, there) = if i.is_multiple_of(2) {
                (&a, &b)
            } else {
                (&b, &a)
            };
            // One save in twenty goes to both instances at the same moment.
            let replies = if i.is_multiple_of(20) {
                let barrier = Barrier::new(2);
                thread::scope(|both| {
                    let other = both.spawn(|| {
                        barrier.wait();
                        save(there, i, &id)
                    });
                    barrier.wait();
                    let mine = save(here, i, &id);
                    vec![mine, other.join().unwrap()]
                })
            } else {
                vec![save(here, i, &id)]
            };
            let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
            let answered = replies.iter().all(|reply| {
                is_success(reply, &id)
                    || (reply.status == 409 && reply.body["error"]["code"] == "409")
            });
            if !answered || !replies.iter().any(|reply| is_success(reply, &id)) {
                let texts: Vec<&str> = replies.iter().map(|r| r.text.as_str()).collect();
                failures.lock().unwrap().push(format!("{id}: {texts:?}"));
                return;
            }
            if replies.len() == 2 {
                duplicates.lock().unwrap().push(statuses);
            }
            acknowledged.lock().unwrap().push(id);
        });
        let elapsed = started.elapsed();
        assert_none_failed(failures);
        let acknowledged = acknowledged.into_inner().unwrap();
        assert_eq!(acknowledged.len(), saves);
        assert_each_written_once(&a.db, &acknowledged);
        // The operators' commands take the same URL, also from CONTACTS_DB.
        let listed = a
            .command(&["deliveries", "list", "--state", "pending", "--limit", "2"])
            .unwrap();
        assert_eq!(listed.matches("\tpending\t").count(), 2, "{listed}");
        let migrated = SERVER
            .command()
            .arg("migrate")
            .env("CONTACTS_DB", a.db.arg())
            .output()
            .unwrap();
        assert!(migrated.status.success());
        let said = String::from_utf8_lossy(&migrated.stdout);
        assert!(
            said.ends_with(&format!(": schema version {}\n", migrations.len())),
            "{said}"
        );
        let duplicates = duplicates.into_inner().unwrap();
        let conflicts = duplicates.iter().filter(|s| s.contains(&409)).count();
        println!(
            "two instances: {saves} saves from {CLIENTS} clients in {:.1} s ({:.0}/s); \
             {} sent to both at once: each written once, {} answered a replay, {conflicts} a 409",
            elapsed.as_secs_f64(),
            saves as f64 / elapsed.as_secs_f64(),
            duplicates.len(),
            duplicates.len() - conflicts,
        );
    });
}

fn unix_millis() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Every customer's deliveries arrived at `receiver` in acceptance order
/// (the outbox ids of `target`), a delivery sent again just after itself
/// counted once.
fn assert_in_order(db: &Db, receiver: &Receiver, target: &str) {
    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
    for row in db.texts(
        "SELECT ezpay_id || ' ' || tracking_id FROM outbox WHERE target = ?1 ORDER BY id",
        target,
    ) {
        let (customer, id) = row.split_once(' ').unwrap();
        accepted
            .entry(customer.to_owned())
            .or_default()
            .push(id.to_owned());
    }
    let mut arrived: HashMap<String, Vec<String>> = HashMap::new();
    for received in receiver.received() {
        arrived
            .entry(received.customer().to_owned())
            .or_default()
            .push(received.tracking_id().to_owned());
    }
    for (customer, ids) in &accepted {
        let mut got = arrived.get(customer).cloned().unwrap_or_default();
        got.dedup();
        assert_eq!(&got, ids, "{target}, customer {customer}");
    }
}

#[test]
fn a_killed_instance_loses_nothing_and_its_claims_are_taken_over() {
    let _load = shared_load();
    on_postgres(|| {
        const CLIENTS: usize = 8;
        const SAVES: usize = 2_000;
        const KILL_AFTER: usize = 500;
        let scratch = Scratch::new();
        // Slow targets keep deliveries in flight, claimed, when the kill
        // comes; then they answer at once.
        let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
        mas.otherwise(TargetReply::Slow(Duration::from_millis(300)));
        mdm.otherwise(TargetReply::Slow(Duration::from_millis(300)));
        let targets = format!(
            "[targets.MAS]\nurl = \"{}\"\ntimeout_ms = 1000\n[targets.MDM]\nurl = \"{}\"\ntimeout_ms = 1000\n",
            mas.url(),
            mdm.url()
        );
        let config = config_file(&scratch.0, &customers(), &targets);
        let (mut a, b) = two_instances(&scratch, &["--config", config.to_str().unwrap()], true);

        let killed = AtomicBool::new(false);
        let acknowledged = Mutex::new(Vec::new());
        let refused_by_b = Mutex::new(Vec::new());
        let mut claimed_by_a = Vec::new();
        let started = Instant::now();
        thread::scope(|scope| {
            scope.spawn(|| {
                from_clients(CLIENTS, SAVES, |i| {
                    let id = format!("kill-{i}");
                    // After the kill, everything goes to the instance left.
                    let to_a = i.is_multiple_of(2) && !killed.load(Ordering::Relaxed);
                    let server = if to_a { &a } else { &b };
                    match try_save(server, i, &id) {
                        Some(reply) if is_success(&reply, &id) => {
                            acknowledged.lock().unwrap().push(id);
                        }
                        // The killed instance's last answers may be lost.
                        _ if to_a => {}
                        reply => refused_by_b
                            .lock()
                            .unwrap()
                            .push(reply.map_or_else(|| "no answer".to_owned(), |r| r.text)),
                    }
                });
            });
            while acknowledged.lock().unwrap().len() < KILL_AFTER {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the load is too slow"
                );
                thread::sleep(Duration::from_millis(5));
            }
            // SIGKILL: no shutdown, its claims stay until their lease ends.
            let killed_now = std::process::Command::new("kill")
                .args(["-KILL", &a.child.id().to_string()])
                .status()
                .unwrap();
            assert!(killed_now.success());
            killed.store(true, Ordering::Relaxed);
            thread::sleep(Duration::from_millis(100));
            for receiver in [&mas, &mdm] {
                receiver.otherwise(TargetReply::Status(200, "{}"));
            }
            claimed_by_a = b.db.texts(
                &format!(
                    "SELECT id::text FROM outbox WHERE state = 'pending' \
                     AND claimed_by LIKE ?1 AND claimed_until > {}",
                    unix_millis()
                ),
                &format!("relay-{}-%", a.child.id()),
            );
        });
        a.child.wait().unwrap();
        let refused_by_b = refused_by_b.into_inner().unwrap();
        assert!(
            refused_by_b.is_empty(),
            "the instance left refused {}: {:?}",
            refused_by_b.len(),
            &refused_by_b[..refused_by_b.len().min(3)]
        );
        let acknowledged = acknowledged.into_inner().unwrap();
        assert!(acknowledged.len() >= KILL_AFTER);
        assert_each_written_once(&b.db, &acknowledged);
        assert!(
            !claimed_by_a.is_empty(),
            "the killed instance held no claim: nothing to take over"
        );

        // The instance left delivers everything, the dead one's claims once
        // their lease (the 1 s timeout and 5 s) has run out.
        let deadline = Instant::now() + Duration::from_secs(90);
        let undelivered = || {
            b.db.texts(
                "SELECT count(*)::text FROM outbox WHERE state <> 'delivered' AND ?1 = ?1",
                "",
            )[0]
            .clone()
        };
        while undelivered() != "0" {
            assert!(
                Instant::now() < deadline,
                "{} deliveries still pending after 90 s",
                undelivered()
            );
            thread::sleep(Duration::from_millis(200));
        }
        let by_a = claimed_by_a.join(",");
        let taken_over = b.db.texts(
            &format!(
                "SELECT id::text FROM outbox WHERE id IN ({by_a}) AND state = 'delivered' AND ?1 = ?1"
            ),
            "",
        );
        assert_eq!(taken_over.len(), claimed_by_a.len());
        // Saves the killed instance wrote but could not acknowledge are
        // delivered too: every outbox row, once in effect.
        let written =
            b.db.texts("SELECT tracking_id FROM outbox WHERE target = ?1", "MAS");
        for (receiver, target) in [(&mas, "MAS"), (&mdm, "MDM")] {
            assert_eq!(receiver.applied(), written.len(), "{target}");
            let received: std::collections::HashSet<String> =
                receiver.tracking_ids().into_iter().collect();
            assert!(
                acknowledged.iter().all(|id| received.contains(id)),
                "{target}"
            );
            assert_in_order(&b.db, receiver, target);
        }
        println!(
            "kill -9: {} saves acknowledged by two instances, 0 lost; {} deliveries claimed by \
             the killed instance delivered by the other after the lease; all {} delivered in \
             {:.1} s",
            acknowledged.len(),
            claimed_by_a.len(),
            2 * written.len(),
            started.elapsed().as_secs_f64()
        );
    });
}

#[test]
fn the_database_stopped_under_load_gives_envelopes_and_the_server_recovers() {
    let _load = shared_load();
    const CLIENTS: usize = 4;
    const OUTAGE: Duration = Duration::from_secs(5);
    let scratch = Scratch::new();
    let cluster = Cluster::start(false).unwrap();
    let db = Db::Postgres(cluster.create_database("contacts").unwrap());
    let config = config_file(&scratch.0, &customers(), "");
    let server = warmed_up(SERVER.start_on(
        db,
        &scratch.0,
        &["--no-relay", "--config", config.to_str().unwrap()],
        &[],
    ));

    let stop = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    // (sent, answered, tracking id, reply)
    let replies = Mutex::new(Vec::new());
    let mut stopped_at = Instant::now();
    let mut back_at = Instant::now();
    let mut health_while_away = None;
    thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let id = format!("outage-{i}");
                    let sent = Instant::now();
                    let reply = save(&server, i, &id);
                    replies
                        .lock()
                        .unwrap()
                        .push((sent, Instant::now(), id, reply));
                    thread::sleep(Duration::from_millis(5));
                }
            });
        }
        thread::sleep(Duration::from_secs(2));
        stopped_at = Instant::now();
        cluster.stop().unwrap();
        thread::sleep(Duration::from_secs(1));
        health_while_away = Some(server.get("/healthz", &[]));
        thread::sleep(OUTAGE.saturating_sub(stopped_at.elapsed()));
        cluster.start_again().unwrap();
        back_at = Instant::now();
        thread::sleep(Duration::from_secs(6));
        stop.store(true, Ordering::Relaxed);
    });

    let health = health_while_away.unwrap();
    health.assert_failure(503, "Service Error");
    let replies = replies.into_inner().unwrap();
    let mut acknowledged = Vec::new();
    let mut unavailable = 0;
    let mut slowest = (Duration::ZERO, String::new());
    for (sent, answered, id, reply) in &replies {
        if *answered - *sent > slowest.0 {
            slowest = (
                *answered - *sent,
                format!(
                    "sent {:?} after the stop: {}",
                    sent.checked_duration_since(stopped_at),
                    reply.text
                ),
            );
        }
        if is_success(reply, id) {
            acknowledged.push(id.clone());
            continue;
        }
        reply.assert_failure(503, "Service Error");
        assert!(
            reply.error_messages()[0].contains("database is unavailable"),
            "{}",
            reply.text
        );
        assert!(
            *answered > stopped_at && *sent < back_at + Duration::from_secs(5),
            "a failure outside the outage: {}",
            reply.text
        );
        unavailable += 1;
    }
    let recovered = replies
        .iter()
        .filter(|(sent, _, id, reply)| *sent > back_at && is_success(reply, id))
        .map(|(_, answered, _, _)| *answered - back_at)
        .min()
        .expect("a save succeeded after the database came back");
    assert!(
        recovered <= Duration::from_secs(5),
        "the first save after the database came back succeeded {recovered:?} later"
    );
    assert!(unavailable > 0, "no request met the outage");
    assert!(
        slowest.0 < Duration::from_secs(8),
        "a request waited {slowest:?}"
    );
    let slowest = slowest.0;
    assert_each_written_once(&server.db, &acknowledged);
    println!(
        "outage: {} saves, {} answered 503 'database unavailable' while it was stopped, \
         the slowest answer {:.2} s; the first success {:.2} s after it was back; 0 lost",
        replies.len(),
        unavailable,
        slowest.as_secs_f64(),
        recovered.as_secs_f64()
    );
}

/// Saves at an API-only instance (`--no-relay`) wake the relay of another
/// instance on the database (`LISTEN`/`NOTIFY`): their deliveries go out
/// without waiting for its poll.
#[test]
fn a_save_at_an_api_only_instance_wakes_the_relay_of_another() {
    on_postgres(|| {
        let scratch = Scratch::new();
        let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
        let targets = format!(
            "[targets.MAS]\nurl = \"{}\"\n[targets.MDM]\nurl = \"{}\"\n",
            mas.url(),
            mdm.url()
        );
        let config = config_file(&scratch.0, &customers(), &targets);
        let db = Db::for_dir(&scratch.0);
        let config = config.to_str().unwrap();
        let api = warmed_up(SERVER.start_on(
            db.clone(),
            &scratch.0,
            &["--config", config, "--no-relay"],
            &[],
        ));
        let _relay = warmed_up(SERVER.start_on(db, &scratch.0, &["--config", config], &[]));
        // The relay polls every second: told at each save, it sends at once.
        // Polled only, most of eight saves spaced by 0.3 s would wait for
        // the poll more than 0.6 s.
        let mut waits = Vec::new();
        for i in 0..8 {
            let id = format!("woken-{i}");
            let sent = Instant::now();
            assert!(is_success(&save(&api, i, &id), &id));
            while mas.applied() <= i || mdm.applied() <= i {
                assert!(
                    sent.elapsed() < Duration::from_secs(10),
                    "{id} not delivered"
                );
                thread::sleep(Duration::from_millis(5));
            }
            waits.push(sent.elapsed());
            thread::sleep(Duration::from_millis(300));
        }
        let slow = waits
            .iter()
            .filter(|wait| **wait > Duration::from_millis(600))
            .count();
        assert!(slow <= 1, "saved to delivered: {waits:?}");
    });
}

/// Retention on PostgreSQL: expired idempotency records and audit rows go,
/// pending deliveries stay, and a tracking id is accepted again after its
/// window.
#[test]
fn retention_prunes_expired_records() {
    on_postgres(|| {
        let scratch = Scratch::new();
        let retention = "[retention]\nidempotency_window = \"1s\"\ndelivered_retention = \"1s\"\naudit_retention = \"1s\"\ninterval = \"200ms\"\nbatch = 100\n";
        let config = config_file(&scratch.0, &customers(), retention);
        let db = Db::for_dir(&scratch.0);
        let args = ["--config", config.to_str().unwrap(), "--no-relay"];
        let server = warmed_up(SERVER.start_on(db, &scratch.0, &args, &[]));
        for i in 0..5 {
            let id = format!("expiring-{i}");
            assert!(is_success(&save(&server, i, &id), &id));
        }
        let count = |table: &str| {
            server.db.texts(
                &format!("SELECT count(*)::text FROM {table} WHERE ?1 = ?1"),
                "",
            )
        };
        let started = Instant::now();
        while count("requests") != ["0"] || count("audit") != ["0"] {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "not pruned: requests {:?}, audit {:?}",
                count("requests"),
                count("audit")
            );
            thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(count("outbox"), ["10"], "pending deliveries are kept");
        // The window has passed: the same tracking id is a new save.
        let again = save(&server, 0, "expiring-0");
        assert!(is_success(&again, "expiring-0"), "{}", again.text);
        assert_eq!(count("outbox"), ["12"]);
    });
}
