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

mod faults;
mod stop;
mod updates;

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
    relaying_with(scratch, customers, toml, &[])
}

/// As [`relaying`], the metrics served on a port of their own.
fn relaying_measured(scratch: &Scratch, customers: &[String], toml: &str) -> Server {
    relaying_with(scratch, customers, toml, &["--metrics-addr", "127.0.0.1:0"])
}

fn relaying_with(scratch: &Scratch, customers: &[String], toml: &str, more: &[&str]) -> Server {
    let config = config_file(&scratch.0, customers, toml);
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend(more);
    SERVER.start_relaying(&scratch.0, &args)
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

/// Discards, as an operator does, the MAS delivery of `tracking_id` listed
/// in `state`, and returns its id.
fn discard_mas(server: &Server, state: &str, tracking_id: &str) -> String {
    let list = server
        .command(&["deliveries", "list", "--state", state])
        .unwrap();
    let id = delivery_id(&list, tracking_id, "MAS");
    let discarded = server.command(&["deliveries", "discard", &id]).unwrap();
    assert!(discarded.contains("discarded"), "{discarded}");
    id
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
        assert_eq!(got.key(), format!("CAAG:67865456:{ACTIVE}.2:{name}"));
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
                "version": 2,
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
        (
            "contacts_delivery_latency_seconds_count",
            vec!["target=\"MDM\""],
            1.0,
        ),
        (
            "contacts_delivery_latency_seconds_bucket",
            vec!["target=\"MAS\"", "le=\"+Inf\""],
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

/// What the engine decides (the body and its version), again on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        each_save_reaches_both_targets_with_the_documented_body_and_headers_and_a_replay_sends_nothing,
    );
}
