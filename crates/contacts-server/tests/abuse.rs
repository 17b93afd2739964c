//! The server under abuse and faults, over real sockets against the built
//! binary: malformed and oversized bodies, header injection, malformed
//! credentials, cross-site writes, hostile strings, a full disk, slow clients,
//! 100 concurrent agents, another user's ProfileId, tracking ids reused across
//! sources and users, password guessing (throttling, the bounded argon2
//! queue, a flood while agents save), the connection cap and the shutdown
//! deadline. Every refusal is an envelope (where HTTP
//! parsing lets the server answer at all) and leaves the database unchanged.
//!
//! `CONTACTS_LOAD_SECS` sets how long the 100 agents save (default 10; the
//! hardening issue's full run is 30).

// The helpers below are test code too: a failed setup step is a failed test,
// and `clippy.toml`'s allowance covers only `#[test]` functions themselves.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;

use support::*;

const CONTACTS_PATH: &str = "/api/v1/customers/000010000005008/contacts";

/// Held by the tests that measure time or memory, so that they do not run
/// beside one another on the two cores of CI.
static MEASURING: Mutex<()> = Mutex::new(());

fn measuring() -> std::sync::MutexGuard<'static, ()> {
    MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn host(server: &Server) -> String {
    server.base.strip_prefix("http://").unwrap().to_owned()
}

/// Sends `request` as raw bytes on a fresh connection and reads the answer
/// until the server closes it.
fn raw_exchange(server: &Server, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(host(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut bytes = Vec::new();
    // The server may reset the connection after answering a request it could not parse.
    let _ = stream.read_to_end(&mut bytes);
    parse_reply(&bytes)
}

fn parse_reply(bytes: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .filter_map(|(name, value)| {
            Some((
                ureq::http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                ureq::http::HeaderValue::from_str(value.trim()).ok()?,
            ))
        })
        .collect();
    Reply {
        status,
        headers,
        text: body.to_owned(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// A raw POST of the contacts path with the sample's credentials, the
/// header lines `extra` (each ending in CRLF) and `body`.
fn raw_post(server: &Server, extra: &[u8], body: &[u8]) -> Reply {
    let mut request = format!(
        "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        host(server),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(extra);
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    raw_exchange(server, &request)
}

fn assert_message(reply: &Reply, detail: &str, case: &str) {
    assert!(
        reply.error_messages().iter().any(|m| m.contains(detail)),
        "{case}: {}",
        reply.text
    );
}

#[test]
fn malformed_bodies_are_refused_with_envelopes_and_change_nothing() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0, &[]);
    let before = server.snapshot();
    let contact = json!({ "type": "billing", "name": "A" });
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("0 bytes", Vec::new(), 400, "EOF while parsing"),
        (
            "17 KiB",
            json!({ "contacts": [{ "type": "billing", "name": "x".repeat(17 * 1024) }] })
                .to_string()
                .into_bytes(),
            413,
            "16384 bytes",
        ),
        (
            "10,000 nested arrays",
            "[".repeat(10_000).into_bytes(),
            400,
            "recursion limit exceeded",
        ),
        (
            "10,000 nested objects",
            "{\"a\":".repeat(2_000).into_bytes(),
            400,
            "recursion limit exceeded",
        ),
        (
            "invalid UTF-8",
            b"{\"contacts\": [{\"type\": \"billing\", \"name\": \"\xff\xfe\"}]}".to_vec(),
            400,
            "invalid unicode code point",
        ),
        (
            "a lone surrogate",
            br#"{"contacts": [{"type": "billing", "name": "\ud800"}]}"#.to_vec(),
            400,
            "hex escape",
        ),
        (
            "duplicate top-level key",
            br#"{"contacts": [{"type": "billing", "name": "A"}], "contacts": [{"type": "service", "name": "B"}]}"#.to_vec(),
            400,
            "the key 'contacts' appears twice",
        ),
        (
            "duplicate contact field",
            br#"{"contacts": [{"type": "billing", "name": "A", "name": "B"}]}"#.to_vec(),
            400,
            "the key 'name' appears twice",
        ),
        (
            "contacts as an object",
            br#"{"contacts": {"type": "billing", "name": "A"}}"#.to_vec(),
            400,
            "not an object",
        ),
        (
            "1,000 empty contacts",
            json!({ "contacts": vec![json!({}); 1_000] })
                .to_string()
                .into_bytes(),
            400,
            "this request has 1000",
        ),
        (
            "1,000 contacts",
            json!({ "contacts": vec![contact; 1_000] })
                .to_string()
                .into_bytes(),
            413,
            "16384 bytes",
        ),
        (
            "numbers where strings are expected",
            br#"{"contacts": [{"type": "billing", "name": 12, "work_phone": 9147212006, "email": 1e308}]}"#.to_vec(),
            400,
            "not a number",
        ),
        (
            "a huge number",
            format!("{{\"contacts\": [{{\"type\": \"billing\", \"name\": {}}}]}}", "9".repeat(10_000))
                .into_bytes(),
            400,
            "number out of range",
        ),
        ("a bare string", b"\"contacts\"".to_vec(), 400, "JSON object"),
        ("NUL bytes", b"\0\0\0\0".to_vec(), 400, "expected value"),
    ];
    for (case, body, status, detail) in cases {
        let reply = server.post(ACTIVE, &body, &[("Request-Tracking-Id", "abuse-1")]);
        reply.assert_failure(
            status,
            if status == 413 {
                "Payload Too Large"
            } else {
                "Bad Request"
            },
        );
        assert_eq!(reply.body["request_tracking_id"], "abuse-1", "{case}");
        assert_message(&reply, detail, case);
        assert_eq!(server.snapshot(), before, "{case} changed the database");
    }
    // Every field of a contact sent as a number is reported, each with its path.
    let reply = server.post(
        ACTIVE,
        br#"{"contacts": [{"type": "billing", "name": 12, "work_phone": 9147212006}]}"#,
        &[],
    );
    let fields: Vec<&str> = reply.body["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["contacts[billing].name", "contacts[billing].work_phone"],
        "{}",
        reply.text
    );
    // The server still answers after all that.
    assert_eq!(server.get_contacts(ACTIVE).status, 200);
}

#[test]
fn malformed_stale_and_misdirected_if_match_change_nothing() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0, &[]);
    let before = server.snapshot();
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let huge = format!("\"{}\"", "9".repeat(8 * 1024));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("no quotes", b"If-Match: 1\r\n".to_vec(), "double quotes"),
        (
            "no closing quote",
            b"If-Match: \"1\r\n".to_vec(),
            "double quotes",
        ),
        ("a weak tag", b"If-Match: W/\"1\"\r\n".to_vec(), "weak tag"),
        (
            "a list",
            b"If-Match: \"1\", \"2\"\r\n".to_vec(),
            "not a list",
        ),
        (
            "two headers",
            b"If-Match: \"1\"\r\nIf-Match: \"1\"\r\n".to_vec(),
            "not a list",
        ),
    ];
    for (case, header, detail) in cases {
        let reply = raw_post(&server, &header, body.as_bytes());
        reply.assert_failure(400, "Bad Request");
        assert_message(&reply, detail, case);
        assert_eq!(server.snapshot(), before, "{case} changed the database");
    }

    // A well-formed strong tag that holds no version matches none: 412 with
    // the current version, as RFC 9110 says, like a stale version.
    let unmatched: [(&str, &[u8]); 5] = [
        ("empty tag", b"\"\""),
        ("not a version", b"\"abc\""),
        ("negative", b"\"-1\""),
        ("8 KiB of digits", huge.as_bytes()),
        ("bytes not UTF-8", b"\"\xff\xfe\""),
    ];
    for (case, tag) in unmatched {
        let header = [b"If-Match: ", tag, b"\r\n"].concat();
        let reply = raw_post(&server, &header, body.as_bytes());
        reply.assert_failure(412, "Precondition Failed");
        assert_eq!(
            reply.header("etag"),
            Some("\"1\""),
            "{case}: {}",
            reply.text
        );
        assert_eq!(server.snapshot(), before, "{case} changed the database");
    }

    // A version that is not (or no longer) the current one: 412 with the current version.
    let stale = server.post(
        ACTIVE,
        &body,
        &[("Request-Tracking-Id", "stale-1"), ("If-Match", "\"0\"")],
    );
    stale.assert_failure(412, "Precondition Failed");
    assert_eq!(stale.header("etag"), Some("\"1\""), "{}", stale.text);
    assert_eq!(server.snapshot(), before);
    // A stale tracking id is not spent: sent again at the current version, it applies.
    let current = server.post(
        ACTIVE,
        &body,
        &[("Request-Tracking-Id", "stale-1"), ("If-Match", "\"1\"")],
    );
    assert_eq!(current.status, 200, "{}", current.text);
    let after = server.snapshot();

    // An unknown customer is that first, whatever If-Match says.
    let unknown = server.post(
        "000010000009999",
        &body,
        &[("Request-Tracking-Id", "unknown-1"), ("If-Match", "\"1\"")],
    );
    unknown.assert_failure(404, "Not Found");
    assert_eq!(unknown.header("etag"), None);
    assert_eq!(server.snapshot(), after);
}

/// A 10 MiB chunked body is refused after the first 16 KiB: the answer comes
/// while the client is still sending, the server stops reading, and its peak
/// memory does not grow by the size of the body.
#[test]
fn a_10_mib_streamed_body_is_refused_without_reading_it() {
    let _measuring = measuring();
    const TOTAL: usize = 10 * 1024 * 1024;
    const CHUNK: usize = 16 * 1024;
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0, &[]);
    let before = server.snapshot();
    let peak_before = peak_memory_kib(&server);

    let mut stream = TcpStream::connect(host(&server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            format!(
                "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                host(&server)
            )
            .as_bytes(),
        )
        .unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicBool::new(false));
    let mut writer = stream.try_clone().unwrap();
    let sender = {
        let (sent, answered) = (Arc::clone(&sent), Arc::clone(&answered));
        thread::spawn(move || {
            let mut chunk = format!("{CHUNK:x}\r\n").into_bytes();
            chunk.extend(std::iter::repeat_n(b' ', CHUNK));
            chunk.extend_from_slice(b"\r\n");
            // Paced, so that an answer only after the whole body would take over 3 s.
            while sent.load(Ordering::SeqCst) < TOTAL && !answered.load(Ordering::SeqCst) {
                if writer.write_all(&chunk).is_err() {
                    return false;
                }
                sent.fetch_add(CHUNK, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(5));
            }
            true
        })
    };
    let mut head = [0u8; 4096];
    let read = stream.read(&mut head).unwrap();
    answered.store(true, Ordering::SeqCst);
    let sent_when_answered = sent.load(Ordering::SeqCst);
    let mut bytes = head[..read].to_vec();
    let _ = stream.read_to_end(&mut bytes);
    sender.join().unwrap();
    let reply = parse_reply(&bytes);
    reply.assert_failure(413, "Payload Too Large");
    assert_message(&reply, "16384 bytes", "10 MiB");
    // What was sent by then sits mostly in the kernel's socket buffers.
    assert!(
        sent_when_answered < TOTAL,
        "answered only after the whole body"
    );
    // The connection is closed: the rest of the body is not read.
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let written_after: Result<(), std::io::Error> = (0..64).try_for_each(|_| {
        thread::sleep(Duration::from_millis(5));
        stream.write_all(&[b' '; CHUNK])
    });
    assert!(written_after.is_err(), "the server kept reading the body");
    let grown = peak_memory_kib(&server) - peak_before;
    assert!(grown < 4 * 1024, "peak memory grew by {grown} KiB");
    println!(
        "10 MiB stream: 413 after {} KiB sent, server peak memory +{grown} KiB",
        sent_when_answered / 1024
    );

    // A declared 10 MiB body is refused from its Content-Length alone.
    let started = Instant::now();
    let reply = raw_exchange(
        &server,
        format!(
            "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: {TOTAL}\r\nConnection: close\r\n\r\n{{",
            host(&server)
        )
        .as_bytes(),
    );
    reply.assert_failure(413, "Payload Too Large");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.snapshot(), before);
}

/// How many rows of `table` each tracking id has.
/// The server's peak resident memory (`VmHWM`), in KiB.
fn peak_memory_kib(server: &Server) -> i64 {
    let status = fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn tracking_id_injection_is_refused_and_never_echoed() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0, &[]);
    let before = server.snapshot();
    // `{}` is refused by validation, so a request that gets that far writes nothing
    // and its answer shows which tracking id the server settled on.
    let body = b"{}";

    // A bare LF ends a header line: the "injected" line is just another request
    // header, and the echo holds the id alone.
    let reply = raw_post(
        &server,
        b"Request-Tracking-Id: inj-1\nX-Injected: yes\r\n",
        body,
    );
    reply.assert_failure(400, "Bad Request");
    assert_eq!(reply.header("request-tracking-id"), Some("inj-1"));
    assert_eq!(reply.header("x-injected"), None);

    // Bytes HTTP does not allow in a header value: the request cannot be parsed,
    // so the HTTP layer refuses it before any handler (with no envelope) and
    // closes the connection.
    for (case, line) in [
        (
            "bare CR",
            &b"Request-Tracking-Id: a\rX-Injected: yes\r\n"[..],
        ),
        (
            "folded line",
            b"Request-Tracking-Id: a\r\n X-Injected: yes\r\n",
        ),
        ("NUL", b"Request-Tracking-Id: a\0b\r\n"),
    ] {
        let reply = raw_post(&server, line, body);
        assert_eq!(reply.status, 400, "{case}");
        assert_eq!(reply.header("x-injected"), None, "{case}");
    }

    // Values HTTP carries but the tracking id rule refuses: the envelope, with
    // a tracking id of the server's making.
    let long = "7".repeat(10 * 1024);
    let long_line = format!("Request-Tracking-Id: {long}\r\n");
    for (case, line) in [
        ("10 KB", long_line.as_bytes()),
        (
            "encoded CRLF",
            b"Request-Tracking-Id: a%0D%0AX-Injected:%20yes\r\n",
        ),
        ("Latin-1 bytes", b"Request-Tracking-Id: caf\xe9\r\n"),
        ("empty", b"Request-Tracking-Id: \r\n"),
        (
            "HTML",
            b"Request-Tracking-Id: <script>alert(1)</script>\r\n",
        ),
    ] {
        let reply = raw_post(&server, line, body);
        reply.assert_failure(400, "Bad Request");
        assert_message(&reply, "Request-Tracking-Id", case);
        let echoed = reply.header("request-tracking-id").unwrap_or_default();
        assert!(echoed.starts_with("srv-"), "{case}: {echoed}");
        assert_eq!(reply.body["request_tracking_id"], echoed, "{case}");
    }

    // The same in the body.
    let reply = server.post(
        ACTIVE,
        json!({ "request_tracking_id": "a\r\nX-Injected: yes", "contacts": sample_contacts() })
            .to_string(),
        &[],
    );
    reply.assert_failure(400, "Bad Request");
    assert!(
        reply
            .header("request-tracking-id")
            .is_some_and(|id| id.starts_with("srv-")),
        "{}",
        reply.text
    );
    assert_eq!(reply.header("x-injected"), None);
    assert_eq!(server.snapshot(), before);
}

#[test]
fn malformed_basic_credentials_are_unauthorized() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0, &[]);
    let before = server.snapshot();
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let padding_missing = "Basic b2NzdXNlcjpvY3N1c2Vy"
        .trim_end_matches('=')
        .to_owned()
        + "=";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no colon", b"Basic b2NzdXNlcm9jc3VzZXI=".to_vec()),
        ("bad base64", b"Basic !!not*base64!!".to_vec()),
        ("broken padding", padding_missing.into_bytes()),
        ("scheme only", b"Basic".to_vec()),
        ("scheme and space", b"Basic ".to_vec()),
        ("empty", Vec::new()),
        ("empty user and password", b"Basic Og==".to_vec()),
        ("not UTF-8 once decoded", b"Basic //46YQ==".to_vec()),
        ("not ASCII", b"Basic b2Nz\xe9XNlcjpvY3N1c2Vy".to_vec()),
        (
            "two credentials",
            b"Basic b2NzdXNlcjpvY3N1c2Vy b2NzdXNlcjpvY3N1c2Vy".to_vec(),
        ),
        ("another scheme", b"Bearer b2NzdXNlcjpvY3N1c2Vy".to_vec()),
        (
            "8 KB",
            format!("Basic {}", "QUFB".repeat(2048)).into_bytes(),
        ),
    ];
    for (case, value) in cases {
        // The header is written last, so it replaces nothing: remove the sample's.
        let mut request = format!(
            "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: {}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nAuthorization: ",
            host(&server),
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&value);
        request.extend_from_slice(b"\r\n\r\n");
        request.extend_from_slice(body.as_bytes());
        let reply = raw_exchange(&server, &request);
        reply.assert_failure(401, "Unauthorized");
        assert_message(&reply, "Sign in", case);
        assert_eq!(reply.header("www-authenticate"), None, "{case}");
        assert_eq!(server.snapshot(), before, "{case} changed the database");
    }
}

/// SQL and markup in every text field are data: stored and returned exactly,
/// never executed, never served as HTML.
#[test]
fn hostile_strings_are_stored_and_returned_verbatim() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0, &[]);
    let tables_before = server.db.tables();
    let contacts = json!([{
        "type": "billing",
        "name": "Robert'); DROP TABLE contacts;--",
        "organization_name": "' OR '1'='1' UNION SELECT * FROM audit --",
        "email": "o'hara\"--@example.com",
    }, {
        "type": "service",
        "name": "<script>alert(document.cookie)</script>",
        "organization_name": "<img src=x onerror=alert(1)>&amp;{{7*7}}${7*7}",
    }]);
    let reply = server.post_contacts(INACTIVE, "hostile-1", &contacts);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let stored = server.get_contacts(INACTIVE);
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.body["contacts"], contacts);
    assert_eq!(stored.header("content-type"), Some("application/json"));
    assert_eq!(stored.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(server.db.tables(), tables_before);
    let customers = count(
        &server.db,
        "SELECT count(*) FROM customers WHERE ?1 = ?1",
        "",
    );
    assert_eq!(customers, 3);
    // The demo contacts of another customer are untouched.
    assert_eq!(
        server.get_contacts(ACTIVE).body["contacts"],
        sample_contacts()
    );
}

#[test]
fn cross_site_writes_are_refused() {
    let scratch = Scratch::new();
    let config = config_file(
        &scratch.0,
        &development_customers(),
        "console_origins = [\"https://console.example.com\"]",
    );
    let server = Server::start(&scratch.0, &["--config", config.to_str().unwrap()]);
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let before = server.snapshot();
    let own = server.base.clone();
    let refused: [(&str, &[(&str, &str)]); 5] = [
        (
            "Sec-Fetch-Site cross-site",
            &[("Sec-Fetch-Site", "cross-site")],
        ),
        ("foreign Origin", &[("Origin", "https://evil.example")]),
        ("opaque Origin", &[("Origin", "null")]),
        (
            "look-alike Origin",
            &[("Origin", "https://console.example.com.evil.example")],
        ),
        (
            "own Origin claimed cross-site",
            &[("Origin", own.as_str()), ("Sec-Fetch-Site", "cross-site")],
        ),
    ];
    for (case, headers) in refused {
        let reply = server.post(ACTIVE, &body, headers);
        reply.assert_failure(403, "Forbidden");
        assert_message(&reply, "own pages", case);
        assert_eq!(server.snapshot(), before, "{case} changed the database");
    }
    let accepted: [(&str, &[(&str, &str)]); 4] = [
        ("no Origin (curl)", &[]),
        (
            "own Origin",
            &[("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")],
        ),
        (
            "console Origin",
            &[
                ("Origin", "https://console.example.com"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        ),
        (
            "same-site without Origin",
            &[("Sec-Fetch-Site", "same-site")],
        ),
    ];
    for (index, (case, headers)) in accepted.into_iter().enumerate() {
        let id = format!("site-{index}");
        let mut headers = headers.to_vec();
        headers.push(("Request-Tracking-Id", &id));
        let reply = server.post(ACTIVE, &body, &headers);
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);
    }
    // Reads from another site pass: without CORS its page cannot see the answer.
    let read = server.get(
        CONTACTS_PATH,
        &[
            ("Authorization", SAMPLE_AUTH),
            ("ProfileId", "CAAG_302"),
            ("Origin", "https://evil.example"),
        ],
    );
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.header("access-control-allow-origin"), None);
}

/// The console's origin may call the API from its pages (CORS); any other
/// origin gets no CORS header and its preflight a 403 envelope.
#[test]
fn cors_is_granted_to_console_origins_only() {
    const CONSOLE: &str = "https://console.example.com";
    let scratch = Scratch::new();
    let config = config_file(
        &scratch.0,
        &development_customers(),
        &format!("console_origins = [\"{CONSOLE}\"]"),
    );
    let server = Server::start(&scratch.0, &["--config", config.to_str().unwrap()]);
    let preflight = |origin: &str| {
        Server::reply(
            server
                .agent
                .options(server.url(CONTACTS_PATH))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization,content-type,if-match,profileid,request-tracking-id",
                )
                .call(),
        )
    };
    let cors_headers = |reply: &Reply| {
        let mut pairs: Vec<(String, String)> = reply
            .headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("access-control-") || *name == "vary")
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    };
    let pairs = |expected: &[(&str, &str)]| -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    };
    let before = server.snapshot();

    // tower-http's CorsLayer answers a granted preflight with 200 and an
    // empty body, and writes its lists with lower-case names and no spaces.
    let granted = preflight(CONSOLE);
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.text, "");
    assert_eq!(
        cors_headers(&granted),
        pairs(&[
            (
                "access-control-allow-headers",
                "accept,authorization,content-type,profileid,request-tracking-id,if-match"
            ),
            ("access-control-allow-methods", "GET,POST"),
            ("access-control-allow-origin", CONSOLE),
            ("access-control-max-age", "600"),
            ("vary", "origin"),
        ])
    );
    assert!(granted.header("content-security-policy").is_some());
    assert_eq!(granted.header("x-content-type-options"), Some("nosniff"));

    for origin in [
        "https://evil.example",
        "https://console.example.com.evil.example",
        "null",
        server.base.as_str(),
    ] {
        let refused = preflight(origin);
        refused.assert_failure(403, "Forbidden");
        assert_message(&refused, "console origins", origin);
        assert_eq!(cors_headers(&refused), pairs(&[]), "{origin}");
        assert!(refused.header("content-security-policy").is_some());
    }
    assert_eq!(
        server.snapshot(),
        before,
        "a preflight changed the database"
    );

    let actual = [("Origin", CONSOLE), ("Sec-Fetch-Site", "cross-site")];
    let exposed = pairs(&[
        ("access-control-allow-origin", CONSOLE),
        ("access-control-expose-headers", "request-tracking-id,etag"),
        ("vary", "origin"),
    ]);
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let saved = server.post(
        ACTIVE,
        &body,
        &[actual[0], actual[1], ("Request-Tracking-Id", "cors-1")],
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(cors_headers(&saved), exposed);
    assert_eq!(saved.header("request-tracking-id"), Some("cors-1"));
    assert!(saved.header("content-security-policy").is_some());
    // A failure is readable too, so that the editor shows its envelope.
    let unauthorized = server.post(
        ACTIVE,
        &body,
        &[actual[0], actual[1], ("Authorization", "Basic eDp5")],
    );
    unauthorized.assert_failure(401, "Unauthorized");
    assert_eq!(cors_headers(&unauthorized), exposed);
    let mut read_headers = vec![("Authorization", SAMPLE_AUTH), ("ProfileId", "CAAG_302")];
    read_headers.extend(actual);
    let read = server.get(CONTACTS_PATH, &read_headers);
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(cors_headers(&read), exposed);

    assert_eq!(
        count(
            &server.db,
            "SELECT COUNT(*) FROM requests WHERE tracking_id = ?1",
            "cors-1"
        ),
        1
    );
}

/// The database reaches its configured size, as a disk fills: the update
/// fails with a Failure envelope and changes nothing; reads still work; once
/// space is freed the same request succeeds.
#[test]
fn a_full_database_fails_cleanly_and_recovers() {
    const MAX_BYTES: i64 = 1024 * 1024;
    let scratch = Scratch::new();
    let config = config_file(
        &scratch.0,
        &development_customers(),
        &format!("[limits]\nmax_database_bytes = {MAX_BYTES}"),
    );
    let server = Server::start(&scratch.0, &["--config", config.to_str().unwrap()]);
    // Rows over half a page each: a new audit row never fits beside the last one,
    // so every update needs a fresh page.
    let big = |name: char| {
        json!([
            { "type": "billing", "name": name.to_string().repeat(100), "organization_name": "o".repeat(100),
              "email": format!("{}@{}.example.com", "e".repeat(64), "d".repeat(60)),
              "work_phone": "9147212006", "work_phone_extension": "123456", "mobile_phone": "9147212006", "fax": "9147212006" },
            { "type": "service", "name": name.to_string().repeat(100), "organization_name": "o".repeat(100),
              "email": format!("{}@{}.example.com", "s".repeat(64), "d".repeat(60)),
              "work_phone": "9147212006", "mobile_phone": "9147212006", "fax": "9147212006" },
        ])
    };
    for (id, name) in [("fill-1", 'a'), ("fill-2", 'b')] {
        let reply = server.post_contacts(INACTIVE, id, &big(name));
        assert_eq!(reply.status, 200, "{}", reply.text);
    }

    let ballast = rusqlite::Connection::open(server.db.path()).unwrap();
    ballast
        .execute_batch(&format!(
            "PRAGMA synchronous = OFF; PRAGMA max_page_count = {}; CREATE TABLE ballast (b BLOB);",
            MAX_BYTES / 4096
        ))
        .unwrap();
    for size in [3000, 500, 50, 1] {
        while ballast
            .execute("INSERT INTO ballast VALUES (zeroblob(?1))", [size])
            .is_ok()
        {}
    }
    let before = server.snapshot();
    let reply = server.post_contacts(INACTIVE, "full-1", &big('c'));
    assert_storage_failure(&reply, "full-1");
    assert_eq!(
        server.snapshot(),
        before,
        "a failed update changed the database"
    );
    assert_eq!(server.get_contacts(INACTIVE).body["contacts"], big('b'));
    assert_eq!(server.get("/healthz", &[]).status, 200);

    ballast.execute_batch("DROP TABLE ballast").unwrap();
    let reply = server.post_contacts(INACTIVE, "full-1", &big('c'));
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.get_contacts(INACTIVE).body["contacts"], big('c'));
    let audit = count(
        &server.db,
        "SELECT count(*) FROM audit WHERE tracking_id = ?1",
        "full-1",
    );
    assert_eq!(audit, 1);
}

/// Asserts the envelope of an update the storage could not write: a service
/// error that tells the agent to try again, echoing the tracking id.
fn assert_storage_failure(reply: &Reply, tracking_id: &str) {
    reply.assert_failure(500, "Service Error");
    assert_message(reply, "try again later", tracking_id);
    assert_eq!(reply.body["request_tracking_id"], tracking_id);
}

/// Files made immutable with `chattr +i`, which binds root too (chmod does
/// not); dropping the guard clears the flag, so that the scratch directory can
/// be removed even when the test fails.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(files: Vec<PathBuf>) -> Self {
        // The guard exists before the flag is set: a partial failure is cleared too.
        let guard = Self(files);
        if let Err(error) = chattr("+i", &guard.0) {
            panic!("{error}");
        }
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        match chattr("-i", &self.0) {
            Ok(()) => {}
            // A second panic while unwinding would abort and hide the first.
            Err(error) if thread::panicking() => eprintln!("{error}"),
            Err(error) => panic!("{error}"),
        }
    }
}

fn chattr(flag: &str, files: &[PathBuf]) -> Result<(), String> {
    let output = std::process::Command::new("chattr")
        .arg(flag)
        .args(files)
        .output()
        .map_err(|e| format!("cannot run chattr (Debian package e2fsprogs) to set {flag}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "chattr {flag} {files:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The database becomes read-only under a running server: the update fails
/// with a Failure envelope and writes nothing, reads and the health check
/// still answer, and once the fault clears the same request (same tracking
/// id) is applied exactly once, beside the earlier update.
///
/// In WAL mode a commit is written to the `-wal` file, so that file must be
/// read-only for the fault to bite (the main file alone is written only by
/// checkpoints, and a commit would still succeed). The `-shm` file is left
/// writable: it is the memory-mapped WAL index, and on an immutable mapped
/// file the kernel answers SQLite's next store with SIGBUS, killing any
/// process that uses the database; no server can answer that with an envelope.
#[test]
fn a_read_only_database_fails_cleanly_and_recovers() {
    let scratch = Scratch::new();
    let mut server = Server::start(&scratch.0, &[]);
    let named = |contacts: &Value, name: &str| -> Value {
        let mut contact = contacts.clone();
        contact["name"] = json!(name);
        contact
    };
    let sample = sample_contacts();
    let first = json!([
        named(&sample[0], "Ada Lovelace"),
        named(&sample[1], "Ada Lovelace")
    ]);
    let refused = json!([named(&sample[1], "Grace Hopper")]);
    let reply = server.post_contacts(ACTIVE, "readonly-1", &first);
    assert_eq!(reply.status, 200, "{}", reply.text);

    let wal = scratch.0.join("contacts.sqlite-wal");
    assert!(wal.exists(), "the server's database is not in WAL mode");
    let before = server.snapshot();
    let read_only = Immutable::set(vec![server.db.path().to_owned(), wal]);
    let reply = server.post_contacts(ACTIVE, "readonly-2", &refused);
    assert_storage_failure(&reply, "readonly-2");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited under the fault"
    );
    // A read must be audited, and the audit row cannot be written: the
    // contacts are not sent unaudited, and the refusal is an envelope.
    server
        .get_contacts(ACTIVE)
        .assert_failure(500, "Service Error");
    assert_eq!(server.get("/healthz", &[]).status, 200);

    drop(read_only);
    assert_eq!(
        server.snapshot(),
        before,
        "the refused update or read left something in the database"
    );
    assert_eq!(server.get_contacts(ACTIVE).body["contacts"], first);
    let reply = server.post_contacts(ACTIVE, "readonly-2", &refused);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        server.get_contacts(ACTIVE).body["contacts"],
        json!([first[0], refused[0]])
    );
    // Each update once: one audit row and one outbox row per target.
    for tracking_id in ["readonly-1", "readonly-2"] {
        let rows = |table: &str| {
            count(
                &server.db,
                &format!("SELECT count(*) FROM {table} WHERE tracking_id = ?1"),
                tracking_id,
            )
        };
        assert_eq!((rows("audit"), rows("outbox")), (1, 2), "{tracking_id}");
    }
}

/// Slow clients (slowloris: headers at one byte a second; a body that
/// trickles) neither stall the others nor hold their connection for long.
#[test]
fn slow_clients_do_not_stall_others() {
    let _measuring = measuring();
    const SLOW_CLIENTS: usize = 16;
    let scratch = Scratch::new();
    let server = Server::start_configured(
        &scratch.0,
        "[limits]\nheader_read_timeout_ms = 1500\nbody_read_timeout_ms = 1500",
        &[],
    );
    // The first request pays for the password check; the others find it cached.
    assert_eq!(server.get_contacts(ACTIVE).status, 200);
    let started = Instant::now();
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let mut stream = TcpStream::connect(host(&server)).unwrap();
            thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_millis(10)))
                    .unwrap();
                let request = format!("GET {CONTACTS_PATH} HTTP/1.1\r\nHost: x\r\n");
                let opened = Instant::now();
                for byte in request.bytes() {
                    if opened.elapsed() > Duration::from_secs(4)
                        || stream.write_all(&[byte]).is_err()
                    {
                        break;
                    }
                    match stream.read(&mut [0u8; 512]) {
                        Ok(_) => return opened.elapsed(),
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(_) => return opened.elapsed(),
                    }
                    thread::sleep(Duration::from_secs(1));
                }
                Duration::MAX
            })
        })
        .collect();
    let slow_body = {
        let mut stream = TcpStream::connect(host(&server)).unwrap();
        thread::spawn(move || {
            stream
                .write_all(
                    format!(
                        "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
                    )
                    .as_bytes(),
                )
                .unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(4)))
                .unwrap();
            let mut bytes = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stream.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                bytes.extend_from_slice(&buffer[..read]);
                if bytes.windows(4).any(|w| w == b"\r\n\r\n") && bytes.ends_with(b"}") {
                    break;
                }
            }
            parse_reply(&bytes)
        })
    };

    let mut slowest = Duration::ZERO;
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        let reply = server.get_contacts(ACTIVE);
        assert_eq!(reply.status, 200, "{}", reply.text);
        slowest = slowest.max(asked.elapsed());
        served += 1;
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a request took {slowest:?}"
    );

    let held: Vec<Duration> = slow.into_iter().map(|h| h.join().unwrap()).collect();
    for time in &held {
        assert!(
            *time < Duration::from_secs(3),
            "a slow client held its connection {time:?}"
        );
    }
    let reply = slow_body.join().unwrap();
    reply.assert_failure(408, "Request Timeout");
    assert_message(&reply, "did not arrive in time", "slow body");
    println!(
        "slowloris: {SLOW_CLIENTS} slow clients closed after at most {:?}; {served} other requests, slowest {slowest:?}",
        held.iter().max().unwrap()
    );
}

/// 100 agents save 100 different customers at once for `CONTACTS_LOAD_SECS`:
/// every Success is stored exactly once with its audit and outbox rows, and
/// each customer ends with its agent's last acknowledged save.
#[test]
fn a_hundred_agents_lose_and_duplicate_nothing() {
    let _measuring = measuring();
    const AGENTS: usize = 100;
    let seconds: u64 = std::env::var("CONTACTS_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let scratch = Scratch::new();
    let customers: Vec<String> = (0..AGENTS)
        .map(|i| format!("{:015}", 20_000_000 + i))
        .collect();
    let config = config_file(&scratch.0, &customers, "");
    let server = Server::start(&scratch.0, &["--config", config.to_str().unwrap()]);
    // One request first, so that the 100 agents find the password check cached.
    assert_eq!(server.get_contacts(&customers[0]).status, 200);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let failures = Mutex::new(Vec::new());
    let results: Vec<(Vec<String>, Vec<Duration>, Option<usize>)> = thread::scope(|scope| {
        let handles: Vec<_> = customers
            .iter()
            .enumerate()
            .map(|(agent, ezpay_id)| {
                let (server, failures) = (&server, &failures);
                scope.spawn(move || {
                    let mut acknowledged = Vec::new();
                    let mut latencies = Vec::new();
                    let mut last = None;
                    let mut save = 0;
                    while Instant::now() < deadline {
                        let id = format!("agent{agent}-{save}");
                        let contacts = json!([{ "type": "billing", "name": format!("Agent {agent} save {save}") }]);
                        let sent = Instant::now();
                        let reply = server.post_contacts(ezpay_id, &id, &contacts);
                        latencies.push(sent.elapsed());
                        if reply.status == 200 && reply.body["status"] == "Success" {
                            acknowledged.push(id);
                            last = Some(save);
                        } else {
                            failures.lock().unwrap().push(format!("{id}: {} {}", reply.status, reply.text));
                        }
                        save += 1;
                    }
                    (acknowledged, latencies, last)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    let acknowledged: Vec<&String> = results.iter().flat_map(|(ids, _, _)| ids).collect();
    let [requests, audit, outbox] =
        ["requests", "audit", "outbox"].map(|table| server.db.rows_per_tracking_id(table));
    let stored: HashMap<&String, (i64, i64, i64)> = requests
        .iter()
        .map(|(id, n)| {
            let rows = |table: &HashMap<String, i64>| table.get(id).copied().unwrap_or(0);
            (id, (*n, rows(&audit), rows(&outbox)))
        })
        .collect();
    let lost: Vec<&&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(**id))
        .collect();
    let duplicated: Vec<(&&String, &(i64, i64, i64))> = stored
        .iter()
        .filter(|(_, counts)| **counts != (1, 1, 2))
        .collect();
    assert!(lost.is_empty(), "{} lost: {lost:?}", lost.len());
    assert!(duplicated.is_empty(), "{duplicated:?}");
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "requests stored that were never acknowledged"
    );
    let audit_rows = count(
        &server.db,
        "SELECT count(*) FROM audit WHERE action = 'update' AND ?1 = ?1",
        "",
    );
    assert_eq!(usize::try_from(audit_rows).unwrap(), acknowledged.len());

    for ((_, _, last), (agent, ezpay_id)) in results.iter().zip(customers.iter().enumerate()) {
        let last = last.expect("every agent saved at least once");
        let contacts = server.get_contacts(ezpay_id).body["contacts"].clone();
        assert_eq!(
            contacts,
            json!([{ "type": "billing", "name": format!("Agent {agent} save {last}") }])
        );
    }

    let mut latencies: Vec<Duration> = results
        .iter()
        .flat_map(|(_, l, _)| l.iter().copied())
        .collect();
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "100 agents for {seconds} s: {} saves acknowledged, 0 lost, 0 duplicated, {:.0} saves/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        acknowledged.len(),
        acknowledged.len() as f64 / seconds as f64,
        percentile(50).as_secs_f64() * 1000.0,
        percentile(99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}

/// `Authorization: Basic …` for a user and password.
fn basic(user: &str, password: &str) -> String {
    use base64ct::{Base64, Encoding};
    format!(
        "Basic {}",
        Base64::encode_string(format!("{user}:{password}").as_bytes())
    )
}

/// A GET of the active customer's contacts as `user` with `password`, from
/// `forwarded_for` (which counts only with `--trust-forwarded-for`).
fn sign_in(server: &Server, user: &str, password: &str, forwarded_for: &str) -> Reply {
    server.get(
        CONTACTS_PATH,
        &[
            ("Authorization", &basic(user, password)),
            ("ProfileId", "CAAG_302"),
            ("X-Forwarded-For", forwarded_for),
        ],
    )
}

/// Starts the server with `config`, trusting `X-Forwarded-For` and serving `/metrics`.
fn start_behind_proxy(dir: &Path, config: &Path) -> Server {
    let config = config.to_str().unwrap();
    let flags = ["--trust-forwarded-for", "--metrics-addr", "127.0.0.1:0"];
    Server::start(dir, &[&["--config", config][..], &flags].concat())
}

/// Users of two sources, all with the development password `ocsuser`:
/// `alice` and `bob` of CAAG, `olga` of OCS, and `carol` in the short form
/// (every profile).
fn two_sources_config(dir: &Path, extra: &str) -> PathBuf {
    let hash = development_hash();
    let path = dir.join("contacts.toml");
    fs::write(
        &path,
        format!(
            "{extra}\n[users]\ncarol = \"{hash}\"\n\
             [users.alice]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n\
             [users.bob]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n\
             [users.olga]\npassword_hash = \"{hash}\"\nprofiles = [\"OCS_1\"]\n\
             [profiles]\nCAAG_302 = \"CAAG\"\nOCS_1 = \"OCS\"\n\
             [customers]\n\"{ACTIVE}\" = \"active\"\n"
        ),
    )
    .unwrap();
    path
}

/// Another user's ProfileId is refused, whatever the request; an unknown one
/// is still the contract's "Source not configured".
#[test]
fn another_users_profile_is_forbidden_and_changes_nothing() {
    let scratch = Scratch::new();
    let config = two_sources_config(&scratch.0, "");
    let server = Server::start(&scratch.0, &["--config", config.to_str().unwrap()]);
    let alice = basic("alice", "ocsuser");
    let body = json!({ "contacts": sample_contacts() }).to_string();
    assert_eq!(
        server
            .post(
                ACTIVE,
                &body,
                &[("Authorization", &alice), ("Request-Tracking-Id", "own-1")]
            )
            .status,
        200
    );
    let before = server.snapshot();
    // A POST refused before its body is read ends its connection (the
    // server cannot know where the unread body ends): each says so itself,
    // so that the client does not reuse it.
    let close = ("Connection", "close");
    let reads = [("GET", "OCS_1"), ("POST", "OCS_1"), ("POST", "OCS_1 (QA)")];
    for (method, profile) in reads {
        let headers = [("Authorization", alice.as_str()), ("ProfileId", profile)];
        let reply = if method == "GET" {
            server.get(CONTACTS_PATH, &headers)
        } else {
            server.post(
                ACTIVE,
                &body,
                &[
                    headers[0],
                    headers[1],
                    ("Request-Tracking-Id", "other-1"),
                    close,
                ],
            )
        };
        reply.assert_failure(403, "Forbidden");
        assert_message(&reply, "ProfileId OCS_1", method);
    }
    for (user, profile) in [("alice", "NOPE_9"), ("olga", "NOPE_9")] {
        let reply = server.post(
            ACTIVE,
            &body,
            &[
                ("Authorization", &basic(user, "ocsuser")),
                ("ProfileId", profile),
                close,
            ],
        );
        reply.assert_failure(500, "Service Error");
        assert_eq!(reply.error_messages(), ["Source not configured"]);
    }
    assert_eq!(
        server.snapshot(),
        before,
        "a refused profile changed the database"
    );
    // The short form means every profile, and says so at start.
    let carol = basic("carol", "ocsuser");
    for profile in ["CAAG_302", "OCS_1"] {
        let reply = server.get(
            CONTACTS_PATH,
            &[("Authorization", &carol), ("ProfileId", profile)],
        );
        assert_eq!(reply.status, 200, "{profile}: {}", reply.text);
    }
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    assert!(
        log.contains("users.carol = \"hash\" lets this user use every profile"),
        "{log}"
    );
    assert!(!log.contains("users.alice = "), "{log}");
}

/// Wrong passwords are counted per user name and per client address before
/// argon2 runs: the eleventh check of a name is 429 with `Retry-After`, an
/// agent already signed in goes on working, and the refusals are logged
/// with the name and the address, never the password.
#[test]
fn failed_logins_are_throttled_per_user_and_per_address() {
    let scratch = Scratch::new();
    let config = two_sources_config(&scratch.0, "[limits]\nlogin_attempts_per_address = 5");
    let server = start_behind_proxy(&scratch.0, &config);
    let alice = basic("alice", "ocsuser");
    let signed_in = [("Authorization", alice.as_str()), ("ProfileId", "CAAG_302")];
    assert_eq!(server.get(CONTACTS_PATH, &signed_in).status, 200);
    let guess = |user: &str, n: usize, address: &str| {
        let password = format!("guess-{n}-secret");
        sign_in(&server, user, &password, &format!("203.0.113.9, {address}"))
    };
    // Each guess comes from its own address: only the name's allowance
    // counts, 10 checks, of which the sign-in above spent one.
    for n in 0..9 {
        guess("alice", n, &format!("10.0.0.{n}")).assert_failure(401, "Unauthorized");
    }
    let refused = guess("alice", 10, "10.0.0.10");
    refused.assert_failure(429, "Too Many Requests");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=6).contains(&wait), "Retry-After: {wait}");
    assert_message(&refused, "Too many sign-in attempts", "429");
    // Even the right password waits now, unless already checked: the cache.
    guess("alice", 11, "10.0.0.11").assert_failure(429, "Too Many Requests");
    assert_eq!(server.get(CONTACTS_PATH, &signed_in).status, 200);

    // One address, many names: the address's allowance.
    for n in 0..5 {
        guess(&format!("user{n}"), n, "10.1.1.1").assert_failure(401, "Unauthorized");
    }
    guess("user5", 5, "10.1.1.1").assert_failure(429, "Too Many Requests");
    guess("user6", 6, "10.1.1.2").assert_failure(401, "Unauthorized");

    let metrics = server.scrape();
    // 1 + 9 + 5 + 1 checks ran; the 429s never reached argon2.
    assert_eq!(
        metric(&metrics, "contacts_password_checks_total", &[]),
        16.0,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "contacts_logins_refused_total",
            &["reason=\"throttled\""]
        ),
        3.0
    );
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("login refused"))
        .collect();
    assert_eq!(refusals.len(), 18, "{log}");
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("user=\"alice\"") && l.contains("client=\"10.0.0.3\"")),
        "{refusals:?}"
    );
    assert!(!log.contains("secret"), "a password was logged:\n{log}");
}

/// Without `--trust-forwarded-for` the header is the client's word: the
/// connection's address counts.
#[test]
fn forwarded_for_is_ignored_unless_trusted() {
    let scratch = Scratch::new();
    let server =
        Server::start_configured(&scratch.0, "[limits]\nlogin_attempts_per_address = 3", &[]);
    let statuses: Vec<u16> = (0..4)
        .map(|n| sign_in(&server, &format!("user{n}"), "x", &format!("10.0.0.{n}")).status)
        .collect();
    assert_eq!(statuses, [401, 401, 401, 429]);
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    assert!(log.contains("client=\"127.0.0.1\""), "{log}");
}

/// The password checks' queue is bounded: with one check at a time and no
/// wait allowed, simultaneous guesses beyond the one running are refused at
/// once with 503, and never more checks run at once than the limit.
#[test]
fn the_password_check_queue_is_bounded() {
    let _measuring = measuring();
    let scratch = Scratch::new();
    let server = Server::start_configured(
        &scratch.0,
        "[limits]\nmax_password_checks = 1\npassword_check_max_wait_ms = 1",
        &["--trust-forwarded-for", "--metrics-addr", "127.0.0.1:0"],
    );
    let replies: Vec<Reply> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let server = &server;
                scope.spawn(move || {
                    sign_in(server, &format!("user{n}"), "wrong", &format!("10.0.0.{n}"))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    for reply in &replies {
        match reply.status {
            401 => reply.assert_failure(401, "Unauthorized"),
            _ => {
                reply.assert_failure(503, "Service Unavailable");
                assert_eq!(reply.header("retry-after"), Some("1"));
            }
        }
    }
    assert!(!busy.is_empty(), "no check was refused");
    let metrics = server.scrape();
    assert_eq!(
        metric(&metrics, "contacts_password_checks_peak", &[]),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "contacts_password_checks_total", &[]) as usize,
        replies.len() - busy.len()
    );
}

/// The issue's flood: 32 clients send wrong passwords for the agents' own
/// names, 300 requests/s in all for 10 s, from 32 addresses, while 4 agents
/// (signed in before) save: every save succeeds quickly, the flood gets 401
/// and then 429, always as envelopes, and argon2 never runs more than its
/// limit at once.
#[test]
fn a_flood_of_wrong_passwords_does_not_hold_up_the_agents() {
    let _measuring = measuring();
    const FLOODERS: usize = 32;
    const AGENTS: usize = 4;
    const RATE: u64 = 300;
    const SECONDS: u64 = 10;
    let scratch = Scratch::new();
    let hash = development_hash();
    let users: String = (0..AGENTS)
        .map(|n| {
            format!("[users.agent{n}]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n")
        })
        .collect();
    let customers: Vec<String> = (0..AGENTS)
        .map(|n| format!("{:015}", 30_000_000 + n))
        .collect();
    let config = scratch.0.join("contacts.toml");
    fs::write(
        &config,
        format!(
            "{users}[profiles]\nCAAG_302 = \"CAAG\"\n[customers]\n{}",
            customers
                .iter()
                .map(|c| format!("\"{c}\" = \"active\"\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let server = start_behind_proxy(&scratch.0, &config);
    let agent_auth: Vec<String> = (0..AGENTS)
        .map(|n| basic(&format!("agent{n}"), "ocsuser"))
        .collect();
    for (auth, customer) in agent_auth.iter().zip(&customers) {
        let reply = server.get(
            &format!("/api/v1/customers/{customer}/contacts"),
            &[("Authorization", auth), ("ProfileId", "CAAG_302")],
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let limit = metric(&server.scrape(), "contacts_password_checks_limit", &[]);

    let started = Instant::now();
    let deadline = started + Duration::from_secs(SECONDS);
    let interval = Duration::from_micros(1_000_000 * FLOODERS as u64 / RATE);
    // When each refusal came, its status, and whether it was an envelope;
    // how long each save took, and its status.
    type Refusals = Vec<(Duration, u16, bool)>;
    type Saves = Vec<(Duration, u16)>;
    let (flood, saves): (Vec<Refusals>, Vec<Saves>) = thread::scope(|scope| {
        let flooders: Vec<_> = (0..FLOODERS)
            .map(|client| {
                let server = &server;
                scope.spawn(move || {
                    let mut replies = Vec::new();
                    let mut next = Instant::now() + interval * client as u32 / FLOODERS as u32;
                    let mut n = 0;
                    while next < deadline {
                        thread::sleep(next.saturating_duration_since(Instant::now()));
                        let reply = sign_in(
                            server,
                            &format!("agent{}", client % AGENTS),
                            &format!("guess{client}-{n}"),
                            &format!("10.9.0.{client}"),
                        );
                        let envelope = reply.body["status"] == "Failure"
                            && reply.body["error"]["code"].as_str()
                                == Some(reply.status.to_string().as_str());
                        replies.push((started.elapsed(), reply.status, envelope));
                        next += interval;
                        n += 1;
                    }
                    replies
                })
            })
            .collect();
        let agents: Vec<_> = (0..AGENTS)
                .map(|agent| {
                    let (server, auth, customer) = (&server, &agent_auth[agent], &customers[agent]);
                    scope.spawn(move || {
                        let mut saves = Vec::new();
                        let mut n = 0;
                        while Instant::now() < deadline {
                            let body = json!({ "contacts": [{ "type": "billing", "name": format!("Agent {agent} save {n}") }] });
                            let sent = Instant::now();
                            let reply = server.post(
                                customer,
                                body.to_string(),
                                &[("Authorization", auth), ("Request-Tracking-Id", &format!("agent{agent}-{n}"))],
                            );
                            saves.push((sent.elapsed(), reply.status));
                            n += 1;
                            thread::sleep(Duration::from_millis(50));
                        }
                        saves
                    })
                })
                .collect();
        (
            flooders.into_iter().map(|h| h.join().unwrap()).collect(),
            agents.into_iter().map(|h| h.join().unwrap()).collect(),
        )
    });

    // Every save must succeed; how fast is printed below, not asserted: a
    // timed assertion fails whenever the shared machine is loaded (on an idle
    // machine p99 was 78 ms, at a load average of 12 it was 1.1 s).
    let saves: Vec<(Duration, u16)> = saves.into_iter().flatten().collect();
    let failed: Vec<&(Duration, u16)> = saves.iter().filter(|(_, status)| *status != 200).collect();
    assert!(failed.is_empty(), "agents' saves failed: {failed:?}");
    let mut latencies: Vec<Duration> = saves.iter().map(|(latency, _)| *latency).collect();
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let p99 = percentile(99);

    let mut flood: Vec<(Duration, u16, bool)> = flood.into_iter().flatten().collect();
    flood.sort_by_key(|(at, _, _)| *at);
    assert!(
        flood.iter().all(|(_, _, envelope)| *envelope),
        "a refusal was not an envelope"
    );
    let count = |status: u16| flood.iter().filter(|(_, s, _)| *s == status).count();
    let (unauthorized, throttled, busy) = (count(401), count(429), count(503));
    assert_eq!(
        unauthorized + throttled + busy,
        flood.len(),
        "statuses other than 401, 429 and 503"
    );
    // Each name's allowance is 10 checks a minute, refilled evenly; the
    // agent's sign-in spent one: 9 to 11 checks per name in 10 s. The checks
    // the allowance lets through at the start all queue at once; on a slow
    // machine those whose turn would come too late are refused with 503.
    assert!(
        (AGENTS * 9..=AGENTS * 11).contains(&(unauthorized + busy)),
        "{unauthorized} 401s, {busy} 503s"
    );
    assert!(unauthorized >= AGENTS, "{unauthorized} 401s");
    assert!(throttled * 10 > flood.len() * 9, "{throttled} 429s");
    let last_checked = flood.iter().rposition(|(_, s, _)| *s != 429).unwrap();
    let first_throttled = flood.iter().position(|(_, s, _)| *s == 429).unwrap();

    // The log holds a burst of refusals, then about 10 lines a second, each
    // saying how many were left out before it: bounded, and nothing uncounted.
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("login refused"))
        .collect();
    let left_out: usize = lines
        .iter()
        .filter_map(|l| l.split("left_out=").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(
        lines.len() <= 50 + 10 * (SECONDS as usize + 2),
        "{} lines",
        lines.len()
    );
    assert!(
        (flood.len() * 9 / 10..=flood.len()).contains(&(lines.len() + left_out)),
        "{} lines and {left_out} left out for {} refusals",
        lines.len(),
        flood.len()
    );

    let metrics = server.scrape();
    let peak = metric(&metrics, "contacts_password_checks_peak", &[]);
    let checks = metric(&metrics, "contacts_password_checks_total", &[]);
    assert!(peak >= 1.0 && peak <= limit, "peak {peak}, limit {limit}");
    println!(
        "flood: {} wrong-password requests in {SECONDS} s ({:.0}/s) from {FLOODERS} clients: {unauthorized} × 401, {busy} × 503, {throttled} × 429, all envelopes; \
         first 429 at {:.2} s, last 401/503 at {:.2} s; \
         argon2 checks {checks} (4 sign-ins + the flood's), at most {peak} at once (limit {limit}); \
         {} log lines ({left_out} refusals left out); \
         {AGENTS} agents: {} saves, all 200, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        flood.len(),
        flood.len() as f64 / SECONDS as f64,
        flood[first_throttled].0.as_secs_f64(),
        flood[last_checked].0.as_secs_f64(),
        lines.len(),
        saves.len(),
        percentile(50).as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}

/// At most `max_connections` connections are served at once; the next one
/// waits in the backlog until one closes.
#[test]
fn open_connections_are_capped() {
    let scratch = Scratch::new();
    let server = Server::start_configured(&scratch.0, "[limits]\nmax_connections = 2", &[]);
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(host(&server)).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(host(&server)).unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buffer = [0u8; 64];
    let waited = third.read(&mut buffer);
    assert!(
        matches!(&waited, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a third connection was served: {waited:?}"
    );
    drop(idle);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut bytes = Vec::new();
    let _ = third.read_to_end(&mut bytes);
    assert!(
        bytes.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}

/// A graceful shutdown waits for the requests in progress only until its
/// deadline: a body that trickles in does not keep the server alive.
#[test]
fn shutdown_has_a_deadline() {
    let scratch = Scratch::new();
    let mut server = Server::start_configured(
        &scratch.0,
        "[limits]\nshutdown_timeout_ms = 500\nbody_read_timeout_ms = 60000",
        &[],
    );
    let mut stream = TcpStream::connect(host(&server)).unwrap();
    stream
        .write_all(
            format!(
                "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still running after the deadline"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    assert!(log.contains("at the shutdown deadline"), "{log}");
}

/// Tracking ids are unique per source: the same id from two sources is two
/// requests; from another user of the same source, with the same body, it
/// is refused (422), not a replay of someone else's request.
#[test]
fn tracking_ids_are_per_source_and_never_replayed_to_another_user() {
    let scratch = Scratch::new();
    let config = two_sources_config(&scratch.0, "");
    let server = Server::start(&scratch.0, &["--config", config.to_str().unwrap()]);
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let send = |user: &str, profile: &str| {
        server.post(
            ACTIVE,
            &body,
            &[
                ("Authorization", &basic(user, "ocsuser")),
                ("ProfileId", profile),
                ("Request-Tracking-Id", "T-1"),
            ],
        )
    };
    for (user, profile) in [("alice", "CAAG_302"), ("olga", "OCS_1")] {
        let reply = send(user, profile);
        assert_eq!(reply.status, 200, "{user}: {}", reply.text);
        assert_eq!(reply.body["request_tracking_id"], "T-1");
    }
    let requests = "SELECT count(*) FROM requests WHERE tracking_id = ?1";
    assert_eq!(count(&server.db, requests, "T-1"), 2);
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM outbox WHERE tracking_id = ?1",
            "T-1"
        ),
        4
    );
    let before = server.snapshot();
    let refused = send("bob", "CAAG_302");
    refused.assert_failure(422, "Unprocessable Entity");
    assert_message(&refused, "already used", "another user");
    // carol may use CAAG too: the same refusal.
    send("carol", "CAAG_302").assert_failure(422, "Unprocessable Entity");
    // The sender's own retry is still a replay.
    assert_eq!(send("alice", "CAAG_302").status, 200);
    assert_eq!(server.snapshot(), before, "a refusal or a replay wrote");
}

/// The storage cases again on PostgreSQL. A full disk and a read-only file
/// are faults of the SQLite file; PostgreSQL's outage is `tests/postgres.rs`.
mod on_postgres {
    use super::support::postgres_too;

    postgres_too!(
        malformed_bodies_are_refused_with_envelopes_and_change_nothing,
        a_10_mib_streamed_body_is_refused_without_reading_it,
        tracking_id_injection_is_refused_and_never_echoed,
        malformed_basic_credentials_are_unauthorized,
        hostile_strings_are_stored_and_returned_verbatim,
        cross_site_writes_are_refused,
        cors_is_granted_to_console_origins_only,
        a_hundred_agents_lose_and_duplicate_nothing,
        another_users_profile_is_forbidden_and_changes_nothing,
        tracking_ids_are_per_source_and_never_replayed_to_another_user,
        malformed_stale_and_misdirected_if_match_change_nothing,
    );
}
