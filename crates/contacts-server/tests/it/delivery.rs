//! Delivery to the targets, over real HTTP: the built `contacts-server`
//! relays its outbox to stand-in receivers for MAS and MDM on 127.0.0.1
//! (`contacts_testkit::receiver`), which record what they get and answer as each
//! test scripts. Backoffs are short so that every test takes seconds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::harness::*;
use contacts_testkit::receiver::{Receiver, Reply};
use serde_json::{Value, json};

use crate::{SERVER, heavy};

/// `[targets]` and `[relay]` for the receivers given (a target without one is held).
fn targets(mas: Option<&Receiver>, mdm: Option<&Receiver>, timeout_ms: u64, relay: &str) -> String {
    let mut toml = String::new();
    for (name, receiver) in [("MAS", mas), ("MDM", mdm)] {
        toml.push_str(&format!("[targets.{name}]\ntimeout_ms = {timeout_ms}\n"));
        if let Some(receiver) = receiver {
            toml.push_str(&format!("url = \"{}\"\n", receiver.url()));
        }
    }
    format!("{toml}[relay]\n{relay}\n")
}

/// Starts the server, relay on, with `customers` and `toml` (targets, relay…).
fn relaying(scratch: &Scratch, customers: &[String], toml: &str) -> Server {
    let config = config_file(&scratch.0, customers, toml);
    SERVER.start_relaying(&scratch.0, &["--config", config.to_str().unwrap()])
}

/// Two receivers, and the server relaying to them for the development
/// customers (each test scripts the receivers before it saves).
fn relaying_to_both(
    scratch: &Scratch,
    timeout_ms: u64,
    relay: &str,
) -> (Receiver, Receiver, Server) {
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let toml = targets(Some(&mas), Some(&mdm), timeout_ms, relay);
    let server = relaying(scratch, &development_customers(), &toml);
    (mas, mdm, server)
}

/// `n` customers, as configured and in order.
fn customers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{:015}", 20_000_000_000_000 + i))
        .collect()
}

/// Waits until `done`, failing the test with `what` after `limit`.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Saves a distinct valid update `n` for `customer` and expects a Success.
fn save(server: &Server, customer: &str, tracking_id: &str, n: usize) {
    let contacts =
        json!([{ "type": "billing", "name": format!("Customer {n}"), "work_phone": "9147212006" }]);
    let reply = server.post_contacts(customer, tracking_id, &contacts);
    assert_eq!(reply.status, 200, "{tracking_id}: {}", reply.text);
}

/// The tracking ids a receiver got, in order of arrival, for each customer.
fn arrivals(receiver: &Receiver) -> HashMap<String, Vec<String>> {
    let mut by_customer: HashMap<String, Vec<String>> = HashMap::new();
    for received in receiver.received() {
        by_customer
            .entry(received.customer().to_owned())
            .or_default()
            .push(received.tracking_id().to_owned());
    }
    by_customer
}

/// Checks that every customer's updates arrived in acceptance order: the
/// arrivals, with a repeat of the one just before collapsed (an attempt
/// sent again), are exactly the accepted ids.
fn assert_in_order(receiver: &Receiver, accepted: &HashMap<String, Vec<String>>) {
    let arrived = arrivals(receiver);
    for (customer, ids) in accepted {
        let mut got = arrived.get(customer).cloned().unwrap_or_default();
        got.dedup();
        assert_eq!(&got, ids, "customer {customer}");
    }
}

/// The ID column of `deliveries list` for a tracking id and target.
fn delivery_id(list: &str, tracking_id: &str, target: &str) -> String {
    list.lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .find(|cells| cells.get(1) == Some(&tracking_id) && cells.get(2) == Some(&target))
        .map(|cells| cells[0].to_owned())
        .unwrap_or_else(|| panic!("{tracking_id} {target} is not listed:\n{list}"))
}

#[test]
fn each_save_reaches_both_targets_with_the_documented_body_and_headers_and_a_replay_sends_nothing()
{
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let mut toml = targets(Some(&mas), Some(&mdm), 5_000, "");
    toml = toml.replacen(
        "[targets.MAS]\n",
        "[targets.MAS]\nheaders = { Authorization = \"env:TEST_MAS_AUTHORIZATION\", X-Caller = \"contacts\" }\n",
        1,
    );
    let config = config_file(&scratch.0, &development_customers(), &toml);
    let config = config.to_str().unwrap();
    let server = SERVER.start_with_env(
        &scratch.0,
        &["--config", config, "--metrics-addr", "127.0.0.1:0"],
        &[("TEST_MAS_AUTHORIZATION", "Bearer mas-s3cret")],
    );
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let reply = server.post(ACTIVE, &body, &[("Request-Tracking-Id", "67865456")]);
    assert_eq!(reply.status, 200, "{}", reply.text);
    wait_for("both deliveries", Duration::from_secs(10), || {
        mas.applied() == 1 && mdm.applied() == 1
    });

    let stored = server.get_contacts(ACTIVE).body["contacts"].clone();
    for (receiver, name) in [(&mas, "MAS"), (&mdm, "MDM")] {
        let received = receiver.received();
        assert_eq!(received.len(), 1, "{name}");
        let got = &received[0];
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.header("request-tracking-id"), Some("67865456"));
        assert_eq!(got.key(), format!("CAAG:67865456:{name}"));
        let accepted_at = got.body["accepted_at"].as_str().unwrap();
        assert!(
            accepted_at.len() == 24
                && accepted_at.ends_with('Z')
                && accepted_at.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {accepted_at}"
        );
        let mut body = got.body.clone();
        body.as_object_mut().unwrap().remove("accepted_at");
        assert_eq!(
            body,
            json!({
                "request_tracking_id": "67865456",
                "ezpay_id": ACTIVE,
                "source": "CAAG",
                "profile_id": "CAAG_302",
                "user": "ocsuser",
                "contacts": stored,
            })
        );
    }
    let mas_request = &mas.received()[0];
    assert_eq!(
        mas_request.header("authorization"),
        Some("Bearer mas-s3cret")
    );
    assert_eq!(mas_request.header("x-caller"), Some("contacts"));
    assert_eq!(mdm.received()[0].header("authorization"), None);
    let log = std::fs::read_to_string(scratch.0.join("server.log")).unwrap();
    assert!(!log.contains("mas-s3cret"), "a header value was logged");

    // The same request again: the same Success, and nothing new is sent.
    let replay = server.post(ACTIVE, &body, &[("Request-Tracking-Id", "67865456")]);
    assert_eq!(replay.status, 200, "{}", replay.text);
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!((mas.received().len(), mdm.received().len()), (1, 1));

    let delivered = server
        .command(&["deliveries", "list", "--state", "delivered"])
        .unwrap();
    assert_eq!(delivered.lines().count(), 3, "{delivered}");
    let health = server.get("/healthz", &[]);
    assert_eq!(health.body["degraded"], false, "{}", health.text);
    assert_eq!(
        health.body["targets"]["MAS"],
        json!({ "held": false, "pending": 0, "oldest_pending_age_s": null, "dead": 0, "degraded": false })
    );

    let metrics = server.scrape();
    for (name, labels, expected) in [
        ("contacts_saves_total", vec!["outcome=\"applied\""], 1.0),
        ("contacts_saves_total", vec!["outcome=\"replayed\""], 1.0),
        (
            "contacts_deliveries_total",
            vec!["target=\"MAS\"", "result=\"delivered\""],
            1.0,
        ),
        (
            "contacts_deliveries_total",
            vec!["target=\"MDM\"", "result=\"delivered\""],
            1.0,
        ),
        (
            "contacts_delivery_attempts_total",
            vec!["target=\"MAS\""],
            1.0,
        ),
        ("contacts_deliveries_pending", vec!["target=\"MAS\""], 0.0),
        (
            "axum_http_requests_total",
            vec![
                "endpoint=\"/api/v1/customers/{ezpay_id}/contacts\"",
                "method=\"POST\"",
                "status=\"200\"",
            ],
            2.0,
        ),
        (
            "axum_http_requests_duration_seconds_count",
            vec!["method=\"POST\""],
            2.0,
        ),
    ] {
        assert_eq!(
            metric(&metrics, name, &labels),
            expected,
            "{name} {labels:?}\n{metrics}"
        );
    }
    // The API's own address does not serve the metrics.
    assert_eq!(server.get("/metrics", &[]).status, 404);
}

#[test]
fn unavailable_targets_are_retried_within_the_backoff_and_retry_after_is_honoured() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas.script(std::iter::repeat_n(Reply::Status(503, "busy"), 5));
    let relay = "backoff_base_ms = 100\nbackoff_cap_ms = 3000";
    let config = config_file(
        &scratch.0,
        &development_customers(),
        &targets(Some(&mas), Some(&mdm), 2_000, relay),
    );
    let server = SERVER.start_relaying(
        &scratch.0,
        &[
            "--config",
            config.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
    );
    save(&server, ACTIVE, "retried-1", 1);
    wait_for("the sixth attempt", Duration::from_secs(15), || {
        mas.applied() == 1
    });
    let attempts: Vec<Instant> = mas.received().iter().map(|r| r.at).collect();
    assert_eq!(attempts.len(), 6, "five 503s, then the 200");
    for (k, pair) in attempts.windows(2).enumerate() {
        let wait = pair[1] - pair[0];
        // Full jitter: anywhere from 0 to base × 2^k; a little more for the
        // relay's own work on a busy machine.
        let bound = Duration::from_millis(100 << k) + Duration::from_millis(300);
        assert!(wait <= bound, "wait {k}: {wait:?} > {bound:?}");
    }
    assert_eq!(mdm.received().len(), 1, "MDM was not held up");

    mas.script([Reply::RetryAfter(429, 2)]);
    save(&server, ACTIVE, "retried-2", 2);
    wait_for("the retried delivery", Duration::from_secs(10), || {
        mas.applied() == 2
    });
    let received = mas.received();
    let [first, second] = &received[6..] else {
        panic!("two attempts of retried-2: {}", received.len());
    };
    let wait = second.at - first.at;
    assert!(
        wait >= Duration::from_secs(2) && wait < Duration::from_millis(2_600),
        "Retry-After: 2 honoured: {wait:?}"
    );

    let metrics = server.scrape();
    for (labels, expected) in [
        (vec!["target=\"MAS\"", "result=\"retried\""], 6.0),
        (vec!["target=\"MAS\"", "result=\"delivered\""], 2.0),
        (vec!["target=\"MDM\"", "result=\"delivered\""], 2.0),
    ] {
        assert_eq!(
            metric(&metrics, "contacts_deliveries_total", &labels),
            expected,
            "{labels:?}\n{metrics}"
        );
    }
    assert_eq!(
        metric(
            &metrics,
            "contacts_delivery_attempts_total",
            &["target=\"MAS\""]
        ),
        8.0
    );
}

#[test]
fn a_refused_delivery_is_dead_holds_back_its_customer_only_and_is_sent_by_retry() {
    let scratch = Scratch::new();
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 200";
    let (mas, mdm, server) = relaying_to_both(&scratch, 2_000, relay);
    mas.script([Reply::Status(
        400,
        "{\"error\":\"work_phone refused\"}\u{1b}[2J",
    )]);
    save(&server, ACTIVE, "refused-1", 1);
    wait_for("the refusal", Duration::from_secs(10), || {
        mas.received().len() == 1
    });
    save(&server, ACTIVE, "held-back-2", 2);
    save(&server, INACTIVE, "other-customer-3", 3);
    wait_for(
        "MDM and the other customer",
        Duration::from_secs(10),
        || mdm.applied() == 3 && mas.applied() == 1,
    );
    thread::sleep(Duration::from_millis(500));
    let got = mas.tracking_ids();
    assert_eq!(
        got,
        ["refused-1", "other-customer-3"],
        "the dead one holds back its customer only"
    );

    let dead = server
        .command(&["deliveries", "list", "--state", "dead"])
        .unwrap();
    let lines: Vec<&str> = dead.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{dead}");
    let cells: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(
        &cells[1..6],
        ["refused-1", "MAS", ACTIVE, "dead", "1"],
        "{dead}"
    );
    assert_eq!(
        cells[7], "HTTP 400: {\\\"error\\\":\\\"work_phone refused\\\"}\\u{1b}[2J",
        "kept, escaped"
    );
    let pending = server
        .command(&[
            "deliveries",
            "list",
            "--state",
            "pending",
            "--customer",
            ACTIVE,
        ])
        .unwrap();
    assert!(pending.contains("held-back-2\tMAS"), "{pending}");
    let health = server.get("/healthz", &[]);
    assert_eq!(health.body["degraded"], true, "{}", health.text);
    assert_eq!(health.body["targets"]["MAS"]["dead"], 1, "{}", health.text);
    assert_eq!(
        health.body["targets"]["MAS"]["pending"], 1,
        "{}",
        health.text
    );
    assert_eq!(
        health.body["targets"]["MDM"]["degraded"], false,
        "{}",
        health.text
    );

    // The target is fixed (it now answers 200): the operator retries.
    let id = delivery_id(&dead, "refused-1", "MAS");
    let retried = server.command(&["deliveries", "retry", &id]).unwrap();
    assert!(retried.contains("will be sent again"), "{retried}");
    wait_for("the retried deliveries", Duration::from_secs(10), || {
        mas.applied() == 3
    });
    let got = mas.tracking_ids();
    assert_eq!(
        got,
        ["refused-1", "other-customer-3", "refused-1", "held-back-2"]
    );

    // A dead delivery discarded holds back nothing more.
    mas.script([Reply::Status(422, "no")]);
    save(&server, ACTIVE, "discarded-4", 4);
    wait_for("the second refusal", Duration::from_secs(10), || {
        mas.received().len() == 5
    });
    save(&server, ACTIVE, "after-discard-5", 5);
    let dead = server
        .command(&["deliveries", "list", "--state", "dead"])
        .unwrap();
    let id = delivery_id(&dead, "discarded-4", "MAS");
    assert!(
        server
            .command(&["deliveries", "discard", &id])
            .unwrap()
            .contains("discarded")
    );
    assert!(
        server
            .command(&["deliveries", "discard", &id])
            .unwrap_err()
            .contains("no dead or pending delivery")
    );
    wait_for(
        "the one after the discarded",
        Duration::from_secs(10),
        || mas.applied() == 4,
    );
    assert_eq!(
        mas.received().last().unwrap().tracking_id(),
        "after-discard-5"
    );
    let actions = count(
        &server.db,
        "SELECT count(*) FROM audit WHERE action IN ('delivery.retry', 'delivery.discard') AND ezpay_id = ?1",
        ACTIVE,
    );
    assert_eq!(actions, 2, "both operators' actions are in the audit trail");
}

#[test]
fn a_target_that_never_answers_times_out_and_holds_up_nothing_else() {
    let scratch = Scratch::new();
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 100";
    let (mas, mdm, server) = relaying_to_both(&scratch, 300, relay);
    mas.otherwise(Reply::Hang);
    save(&server, ACTIVE, "hanging-1", 1);
    wait_for(
        "a second attempt after the timeout",
        Duration::from_secs(10),
        || mas.received().len() >= 2,
    );
    let received = mas.received();
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= Duration::from_millis(300),
        "the timeout fired after {gap:?}"
    );
    assert_eq!(mdm.applied(), 1);
    let pending = server
        .command(&["deliveries", "list", "--state", "pending"])
        .unwrap();
    assert!(pending.contains("no answer within 300 ms"), "{pending}");
}

#[test]
fn a_target_down_during_1000_saves_loses_nothing_and_gets_them_in_order() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mut mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas.down();
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 1000\nmax_attempts = 1000";
    let ids = customers(50);
    let server = relaying(
        &scratch,
        &ids,
        &targets(Some(&mas), Some(&mdm), 2_000, relay),
    );
    // The first request pays the password hash (about a second in a debug
    // build); ten agents paying it at once would time out.
    assert_eq!(server.get_contacts(&ids[0]).status, 200);
    // Ten agents, each saving for its five customers in turn: the order of
    // each customer's updates is the order of its agent's Successes.
    let accepted: HashMap<String, Vec<String>> = thread::scope(|scope| {
        let agents: Vec<_> = ids
            .chunks(5)
            .map(|mine| {
                let server = &server;
                scope.spawn(move || {
                    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
                    for round in 0..20 {
                        for customer in mine {
                            let id = format!("c{customer}-{round}");
                            save(server, customer, &id, round);
                            accepted.entry(customer.clone()).or_default().push(id);
                        }
                    }
                    accepted
                })
            })
            .collect();
        agents
            .into_iter()
            .flat_map(|agent| agent.join().unwrap())
            .collect()
    });
    assert_eq!(accepted.values().map(Vec::len).sum::<usize>(), 1_000);
    wait_for("MDM, while MAS is down", Duration::from_secs(30), || {
        mdm.applied() == 1_000
    });
    assert_eq!(mas.received().len(), 0);
    let health = server.get("/healthz", &[]);
    assert_eq!(
        health.body["targets"]["MAS"]["pending"], 1_000,
        "{}",
        health.text
    );

    mas.up().unwrap();
    let back = Instant::now();
    wait_for("MAS once it is back", Duration::from_secs(60), || {
        mas.applied() == 1_000
    });
    println!(
        "MAS: 1,000 deliveries in {:.1} s once back",
        back.elapsed().as_secs_f64()
    );
    assert_in_order(&mas, &accepted);
    assert_in_order(&mdm, &accepted);
    assert_eq!(mdm.received().len(), 1_000, "each sent once");
}

#[test]
fn a_kill_during_delivery_loses_nothing_and_breaks_no_order() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    for receiver in [&mas, &mdm] {
        receiver.otherwise(Reply::Slow(Duration::from_millis(20)));
    }
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 200\nconcurrency = 2";
    let ids = customers(10);
    let config = config_file(
        &scratch.0,
        &ids,
        &targets(Some(&mas), Some(&mdm), 1_000, relay),
    );
    let args = ["--config", config.to_str().unwrap()];
    // The updates are accepted first, without the relay, so that the kill
    // comes in the middle of their delivery.
    let server = SERVER.start(&scratch.0, &args);
    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
    for round in 0..20 {
        for customer in &ids {
            let id = format!("k{customer}-{round}");
            save(&server, customer, &id, round);
            accepted.entry(customer.clone()).or_default().push(id);
        }
    }
    drop(server);
    let mut server = SERVER.start_relaying(&scratch.0, &args);
    wait_for("some deliveries", Duration::from_secs(20), || {
        mas.received().len() >= 30
    });
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let before = (mas.received().len(), mdm.received().len());
    assert!(
        before.0 < 200 || before.1 < 200,
        "the kill came too late to test anything: {before:?}"
    );

    let server = SERVER.start_relaying(&scratch.0, &args);
    wait_for(
        "every update at both targets",
        Duration::from_secs(30),
        || mas.applied() == 200 && mdm.applied() == 200,
    );
    assert_in_order(&mas, &accepted);
    assert_in_order(&mdm, &accepted);
    drop(server);
}

#[test]
fn retention_prunes_what_expired_keeps_pending_and_dead_and_the_file_stops_growing() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 100";
    let retention = "[retention]\nidempotency_window = \"1s\"\ndelivered_retention = \"1s\"\naudit_retention = \"2s\"\ninterval = \"200ms\"\nbatch = 100\n";
    let ids = customers(20);
    let toml = format!("{}{retention}", targets(Some(&mas), Some(&mdm), 300, relay));
    let server = relaying(&scratch, &ids, &toml);

    // A steady load: four agents saving for ten seconds, and every two
    // seconds the pages in use (the file's size once the WAL is checkpointed
    // into it), and the two files' sizes as they are.
    let sizes = |db: &PathBuf| -> [u64; 3] {
        let size = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", db.display())).map_or(0, |m| m.len())
        };
        let connection = rusqlite::Connection::open(db).unwrap();
        let pages: i64 = connection
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        let page_size: i64 = connection
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        [
            u64::try_from(pages * page_size).unwrap(),
            size(""),
            size("-wal"),
        ]
    };
    // The first save pays the password hash; the load starts after it.
    save(&server, &ids[0], "warm-up", 0);
    let load = Duration::from_secs(10);
    let started = Instant::now();
    let saves = AtomicUsize::new(0);
    let mut measured = Vec::new();
    thread::scope(|scope| {
        for agent in 0..4 {
            let (server, ids, saves) = (&server, &ids, &saves);
            scope.spawn(move || {
                let mut n = 0;
                while started.elapsed() < load {
                    save(
                        server,
                        &ids[(agent * 5 + n) % ids.len()],
                        &format!("load-{agent}-{n}"),
                        n,
                    );
                    saves.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            });
        }
        for at in (2..=10).step_by(2) {
            while started.elapsed() < Duration::from_secs(at) {
                thread::sleep(Duration::from_millis(50));
            }
            measured.push((
                at,
                saves.load(Ordering::Relaxed),
                sizes(&server.db.path().to_owned()),
            ));
        }
    });
    let saved = saves.into_inner();
    println!("retention under a steady load (windows of 1 s):");
    for (at, saves, [pages, file, wal]) in &measured {
        println!(
            "  at {at:2} s: {saves:5} saves; pages in use {pages:8} bytes; file {file:8} bytes; WAL {wal:8} bytes"
        );
    }
    // Without retention every save adds 4–5 KB. From 4 s to 10 s, once the
    // windows have passed, the pages in use grow by far less than the saves
    // in between would add (the machine's load sets how many there are).
    let ((_, saves_4, [at_4, ..]), (_, saves_10, [at_10, ..])) = (measured[1], measured[4]);
    let unpruned = (saves_10 - saves_4) as u64 * 4_000;
    assert!(
        at_10.saturating_sub(at_4) < unpruned / 4,
        "the database grew from {at_4} bytes at 4 s to {at_10} at 10 s over {} saves",
        saves_10 - saves_4
    );
    let delivered = count(
        &server.db,
        "SELECT count(*) FROM outbox WHERE state = 'delivered' AND ?1 = ?1",
        "",
    );
    assert!(
        delivered < 2 * saved as i64 / 2,
        "{delivered} delivered rows of {saved} saves are left"
    );

    // A dead (MAS refuses) and a pending (MDM never answers) delivery outlive
    // every window. The relay first catches up with the load.
    wait_for("the relay to catch up", Duration::from_secs(30), || {
        let health = server.get("/healthz", &[]);
        health.body["targets"]["MAS"]["pending"] == 0
            && health.body["targets"]["MDM"]["pending"] == 0
    });
    mas.script([Reply::Status(400, "no")]);
    mdm.otherwise(Reply::Hang);
    save(&server, &ids[0], "kept-1", 1);
    let db = server.db.clone();
    let rows = |sql: &str| count(&db, sql, "kept-1");
    wait_for(
        "the idempotency record and the audit row to go",
        Duration::from_secs(10),
        || {
            rows("SELECT count(*) FROM requests WHERE tracking_id = ?1") == 0
                && rows("SELECT count(*) FROM audit WHERE tracking_id = ?1") == 0
        },
    );
    assert_eq!(
        rows("SELECT count(*) FROM outbox WHERE tracking_id = ?1 AND state IN ('dead', 'pending')"),
        2
    );
    assert_eq!(
        rows("SELECT count(*) FROM outbox WHERE state = 'delivered' AND ?1 = ?1"),
        0,
        "the delivered rows of the load expired"
    );
    // After the window the tracking id may be used again.
    save(&server, &ids[1], "kept-1", 2);
}

#[test]
fn a_target_without_a_url_is_held() {
    let scratch = Scratch::new();
    let mdm = Receiver::start("MDM");
    let server = relaying(
        &scratch,
        &development_customers(),
        &targets(None, Some(&mdm), 1_000, ""),
    );
    save(&server, ACTIVE, "held-1", 1);
    wait_for("MDM", Duration::from_secs(10), || mdm.applied() == 1);
    let health = server.get("/healthz", &[]);
    let mas: &Value = &health.body["targets"]["MAS"];
    assert_eq!(
        (mas["held"].clone(), mas["pending"].clone()),
        (json!(true), json!(1)),
        "{}",
        health.text
    );
    let pending = server
        .command(&["deliveries", "list", "--state", "pending"])
        .unwrap();
    assert!(pending.contains("held-1\tMAS"), "{pending}");
}
