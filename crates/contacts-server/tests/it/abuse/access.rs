//! Who may do what: malformed credentials, another user's ProfileId,
//! tracking ids reused across sources and users, cross-site writes, and
//! CORS for the console's origins only.

use std::fs;

use contacts_testkit::harness::*;
use serde_json::json;

use super::{CONTACTS_PATH, assert_message, basic, host, raw_exchange, two_sources_config};
use crate::SERVER;

#[test]
fn malformed_basic_credentials_are_unauthorized() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
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

/// Another user's ProfileId is refused, whatever the request; an unknown one
/// is still the contract's "Source not configured".
#[test]
fn another_users_profile_is_forbidden_and_changes_nothing() {
    let scratch = Scratch::new();
    let config = two_sources_config(&scratch.0, "");
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
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

/// Tracking ids are unique per source: the same id from two sources is two
/// requests; from another user of the same source, with the same body, it
/// is refused (422), not a replay of someone else's request.
#[test]
fn tracking_ids_are_per_source_and_never_replayed_to_another_user() {
    let scratch = Scratch::new();
    let config = two_sources_config(&scratch.0, "");
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
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

#[test]
fn cross_site_writes_are_refused() {
    let scratch = Scratch::new();
    let config = config_file(
        &scratch.0,
        &development_customers(),
        "console_origins = [\"https://console.example.com\"]",
    );
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
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
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
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

/// The same on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        malformed_basic_credentials_are_unauthorized,
        cross_site_writes_are_refused,
        cors_is_granted_to_console_origins_only,
        another_users_profile_is_forbidden_and_changes_nothing,
        tracking_ids_are_per_source_and_never_replayed_to_another_user,
    );
}
