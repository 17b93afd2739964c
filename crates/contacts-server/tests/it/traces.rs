//! W3C Trace Context end to end, over real HTTP: a save's trace id (the
//! caller's `traceparent`, or a new trace) is in the outbox rows, in the
//! `traceparent` MAS and MDM receive (a span of its own per attempt), on the
//! JSON log lines of the request and of its deliveries, and in the spans
//! exported by OTLP/HTTP to a stand-in collector
//! (`contacts_testkit::otlp`), flushed when the server stops.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::harness::*;
use contacts_testkit::otlp::{Collector, Span};
use contacts_testkit::receiver::{Receiver, Reply};
use serde_json::{Value, json};

use crate::SERVER;

/// The caller's trace, and its span (the console's request).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A server relaying to `mas` and `mdm` with short backoffs, JSON logs, and
/// `env` added to its environment.
fn relaying(scratch: &Scratch, mas: &Receiver, mdm: &Receiver, env: &[(&str, &str)]) -> Server {
    let toml = format!(
        "[targets.MAS]\nurl = \"{}\"\n[targets.MDM]\nurl = \"{}\"\n[relay]\nbackoff_base_ms = 50\nbackoff_cap_ms = 100\n",
        mas.url(),
        mdm.url()
    );
    let config = config_file(&scratch.0, &development_customers(), &toml);
    let mut env = env.to_vec();
    env.push(("CONTACTS_LOG_FORMAT", "json"));
    SERVER.start_on(
        contacts_testkit::db::Db::for_dir(&scratch.0),
        &scratch.0,
        &["--config", config.to_str().unwrap()],
        &env,
    )
}

/// Saves the sample contacts as `tracking_id` with `extra` headers.
fn save(server: &Server, tracking_id: &str, extra: &[(&str, &str)]) {
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let mut headers = vec![("Request-Tracking-Id", tracking_id)];
    headers.extend_from_slice(extra);
    let reply = server.post(&development_customers()[0], &body, &headers);
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Waits until `done`, failing with `what` after 20 s.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The `traceparent` of each delivery `receiver` got for `tracking_id`, split
/// into its trace id and span id.
fn received_traces(receiver: &Receiver, tracking_id: &str) -> Vec<(String, String)> {
    receiver
        .received()
        .iter()
        .filter(|r| r.tracking_id() == tracking_id)
        .map(|r| {
            let header = r.header("traceparent").expect("a traceparent");
            let fields: Vec<&str> = header.split('-').collect();
            assert_eq!(fields.len(), 4, "{header}");
            assert_eq!((fields[0], fields[3].len()), ("00", 2), "{header}");
            (fields[1].to_owned(), fields[2].to_owned())
        })
        .collect()
}

/// The JSON log lines written so far whose span names `tracking_id`.
fn log_lines(scratch: &Scratch, tracking_id: &str) -> Vec<Value> {
    std::fs::read_to_string(scratch.0.join("server.log"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .filter(|line| line["span"]["tracking_id"] == tracking_id)
        .collect()
}

/// The trace ids on `lines`, and the messages of the lines of spans named `span`.
fn trace_ids_and_messages(lines: &[Value], span: &str) -> (HashSet<String>, Vec<String>) {
    let traces = lines
        .iter()
        .map(|line| {
            line["span"]["trace_id"]
                .as_str()
                .unwrap_or("none")
                .to_owned()
        })
        .collect();
    let messages = lines
        .iter()
        .filter(|line| line["span"]["name"] == span)
        .map(|line| line["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    (traces, messages)
}

/// The stored `traceparent` of each of `tracking_id`'s outbox rows.
fn stored_traces(server: &Server, tracking_id: &str) -> Vec<String> {
    server.db.texts(
        "SELECT traceparent FROM outbox WHERE tracking_id = ?1 ORDER BY target",
        tracking_id,
    )
}

/// The caller's `traceparent` is taken: its trace id is stored, sent to MAS
/// (twice: a 503, then a 200, each attempt a span of its own) and MDM,
/// logged, and exported with a span per request, store transaction and
/// attempt, each under the right parent, flushed by SIGTERM.
#[test]
fn a_callers_trace_reaches_the_targets_the_outbox_the_logs_and_the_collector() {
    let scratch = Scratch::new();
    let collector = Collector::start().unwrap();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas.script([Reply::Status(503, "busy")]);
    let mut server = relaying(
        &scratch,
        &mas,
        &mdm,
        // A batch is exported only at the stop: the flush is what is tested.
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    save(&server, "traced-1", &[("traceparent", &traceparent)]);
    wait_for("the deliveries", || {
        mas.received().len() == 2 && mdm.received().len() == 1
    });

    let to_mas = received_traces(&mas, "traced-1");
    let to_mdm = received_traces(&mdm, "traced-1");
    let attempts: Vec<&(String, String)> = to_mas.iter().chain(&to_mdm).collect();
    assert!(
        attempts.iter().all(|(trace, _)| trace == TRACE_ID),
        "{attempts:?}"
    );
    let attempt_spans: HashSet<&str> = attempts.iter().map(|(_, span)| span.as_str()).collect();
    assert_eq!(
        attempt_spans.len(),
        3,
        "a span id per attempt: {attempts:?}"
    );
    assert!(!attempt_spans.contains(CALLER_SPAN));

    let stored = stored_traces(&server, "traced-1");
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0], stored[1], "one request, one stored context");
    let request_span = stored[0]
        .strip_prefix(&format!("00-{TRACE_ID}-"))
        .and_then(|rest| rest.strip_suffix("-01"))
        .unwrap_or_else(|| panic!("the caller's trace, sampled: {}", stored[0]))
        .to_owned();
    assert_ne!(
        request_span, CALLER_SPAN,
        "the request is a span of its own"
    );

    wait_for("the delivered lines", || {
        trace_ids_and_messages(&log_lines(&scratch, "traced-1"), "delivery_attempt")
            .1
            .iter()
            .filter(|m| *m == "delivered")
            .count()
            == 2
    });
    let lines = log_lines(&scratch, "traced-1");
    let (traces, served) = trace_ids_and_messages(&lines, "request");
    assert_eq!(traces, HashSet::from([TRACE_ID.to_owned()]), "{lines:?}");
    assert!(served.contains(&"served".to_owned()), "{served:?}");
    let (_, delivered) = trace_ids_and_messages(&lines, "delivery_attempt");
    assert!(
        delivered.contains(&"delivery failed; retrying".to_owned()),
        "{delivered:?}"
    );

    assert!(collector.spans().is_empty(), "exported before the stop");
    let status = server.terminate();
    assert!(status.success(), "{status}");
    let spans: Vec<Span> = collector
        .spans()
        .into_iter()
        .filter(|span| span.trace_id == TRACE_ID)
        .collect();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let request = named("request");
    assert_eq!(request.len(), 1, "{spans:?}");
    assert_eq!(
        (
            request[0].span_id.as_str(),
            request[0].parent_span_id.as_str()
        ),
        (request_span.as_str(), CALLER_SPAN)
    );
    assert_eq!(request[0].attribute("tracking_id"), Some("traced-1"));
    let transaction = named("store_transaction");
    assert_eq!(transaction.len(), 1, "{spans:?}");
    assert_eq!(transaction[0].parent_span_id, request_span);
    let exported_attempts = named("delivery_attempt");
    assert_eq!(exported_attempts.len(), 3, "{spans:?}");
    for span in &exported_attempts {
        assert_eq!(span.parent_span_id, request_span, "{span:?}");
        assert!(attempt_spans.contains(span.span_id.as_str()), "{span:?}");
    }
    let mut targets: Vec<(&str, &str)> = exported_attempts
        .iter()
        .map(|s| {
            (
                s.attribute("target").unwrap_or_default(),
                s.attribute("attempt").unwrap_or_default(),
            )
        })
        .collect();
    targets.sort_unstable();
    assert_eq!(targets, [("MAS", "1"), ("MAS", "2"), ("MDM", "1")]);
}

/// Without a `traceparent`, or with a malformed one (ignored, not refused),
/// a save starts a trace of its own, carried the same way; nothing is
/// exported without an endpoint.
#[test]
fn a_save_without_a_valid_traceparent_starts_a_trace_carried_the_same_way() {
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let server = relaying(&scratch, &mas, &mdm, &[]);
    let malformed = format!("00-{TRACE_ID}-{}-01", "z".repeat(16));
    save(&server, "untraced-1", &[]);
    save(&server, "malformed-1", &[("traceparent", &malformed)]);
    wait_for("the deliveries", || {
        mas.received().len() == 2 && mdm.received().len() == 2
    });
    let mut fresh = HashSet::new();
    for tracking_id in ["untraced-1", "malformed-1"] {
        let sent: Vec<(String, String)> = received_traces(&mas, tracking_id)
            .into_iter()
            .chain(received_traces(&mdm, tracking_id))
            .collect();
        assert_eq!(sent.len(), 2, "{tracking_id}: {sent:?}");
        let trace_id = sent[0].0.clone();
        assert_eq!(sent[1].0, trace_id, "{tracking_id}: one trace");
        assert_ne!(
            trace_id, TRACE_ID,
            "{tracking_id}: the malformed one is ignored"
        );
        assert_eq!(trace_id.len(), 32);
        for stored in stored_traces(&server, tracking_id) {
            assert!(
                stored.starts_with(&format!("00-{trace_id}-")),
                "{tracking_id}: {stored}"
            );
        }
        wait_for("the delivered lines", || {
            trace_ids_and_messages(&log_lines(&scratch, tracking_id), "delivery_attempt")
                .1
                .len()
                == 2
        });
        let (traces, _) = trace_ids_and_messages(&log_lines(&scratch, tracking_id), "request");
        assert_eq!(traces, HashSet::from([trace_id.clone()]), "{tracking_id}");
        fresh.insert(trace_id);
    }
    assert_eq!(fresh.len(), 2, "a new trace per request");
}

/// The same on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        a_callers_trace_reaches_the_targets_the_outbox_the_logs_and_the_collector,
        a_save_without_a_valid_traceparent_starts_a_trace_carried_the_same_way,
    );
}
