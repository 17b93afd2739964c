//! The contract: a save and its answer, every refusal as an envelope that
//! writes nothing, one tracking id one write, `If-Match` and the `ETag` of
//! a replay, customers' states, the audit of reads, and stored contacts that
//! today's validation refuses.

use std::thread;

use contacts_testkit::db::Db;
use contacts_testkit::harness::*;
use serde_json::json;

use crate::SERVER;

#[test]
fn the_sample_request_succeeds_and_get_returns_its_contacts() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let reply = server.post(ACTIVE, &body, &[("Request-Tracking-Id", "67865456")]);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({ "status": "Success", "request_tracking_id": "67865456" })
    );
    assert_eq!(reply.header("request-tracking-id"), Some("67865456"));

    let stored = server.get_contacts(ACTIVE);
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(
        stored.body["customer"],
        json!({ "ezpay_id": ACTIVE, "status": "active" })
    );
    assert_eq!(stored.body["contacts"], sample_contacts());

    let audit = "SELECT count(*) FROM audit WHERE tracking_id = ?1 AND user_name = 'ocsuser' AND profile_id = 'CAAG_302' AND source = 'CAAG'";
    assert_eq!(count(&server.db, audit, "67865456"), 1);
    let outbox = "SELECT count(DISTINCT target) FROM outbox WHERE tracking_id = ?1 AND target IN ('MAS', 'MDM')";
    assert_eq!(count(&server.db, outbox, "67865456"), 2);
}

#[test]
fn every_refusal_is_an_envelope_and_leaves_the_database_unchanged() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let valid = json!({ "contacts": sample_contacts() }).to_string();
    let before = server.snapshot();
    let oversized =
        json!({ "contacts": [{ "type": "billing", "name": "x".repeat(17 * 1024) }] }).to_string();
    let invalid =
        json!({ "contacts": [{ "type": "billing", "name": " ", "email": "a@b" }] }).to_string();

    type Case<'a> = (
        &'a str,
        &'a str,
        String,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "no credentials",
            ACTIVE,
            valid.clone(),
            vec![("Authorization", "")],
            401,
            "Unauthorized",
            "Sign in",
        ),
        (
            "wrong password",
            ACTIVE,
            valid.clone(),
            vec![("Authorization", "Basic b2NzdXNlcjp3cm9uZw==")],
            401,
            "Unauthorized",
            "Sign in",
        ),
        (
            "unknown user",
            ACTIVE,
            valid.clone(),
            vec![("Authorization", "Basic bm9ib2R5Om9jc3VzZXI=")],
            401,
            "Unauthorized",
            "Sign in",
        ),
        (
            "unknown profile",
            ACTIVE,
            valid.clone(),
            vec![("ProfileId", "OTHER_1")],
            500,
            "Service Error",
            "Source not configured",
        ),
        (
            "no profile",
            ACTIVE,
            valid.clone(),
            vec![("ProfileId", "")],
            400,
            "Bad Request",
            "ProfileId header",
        ),
        (
            "unknown customer",
            "000010000009999",
            valid.clone(),
            vec![],
            404,
            "Not Found",
            "000010000009999",
        ),
        (
            "malformed eZpayID",
            "12345",
            valid.clone(),
            vec![],
            400,
            "Bad Request",
            "15 digits",
        ),
        (
            "invalid contacts",
            ACTIVE,
            invalid,
            vec![],
            400,
            "Bad Request",
            "Enter the contact's name.",
        ),
        (
            "not JSON",
            ACTIVE,
            "{\"contacts\": [,]}".into(),
            vec![],
            400,
            "Bad Request",
            "line 1 column 15",
        ),
        (
            "not an object",
            ACTIVE,
            "[]".into(),
            vec![],
            400,
            "Bad Request",
            "JSON object",
        ),
        (
            "wrong content type",
            ACTIVE,
            valid.clone(),
            vec![("Content-Type", "text/plain")],
            415,
            "Unsupported Media Type",
            "application/json",
        ),
        (
            "no content type",
            ACTIVE,
            valid.clone(),
            vec![("Content-Type", "")],
            415,
            "Unsupported Media Type",
            "application/json",
        ),
        (
            "too large",
            ACTIVE,
            oversized,
            vec![],
            413,
            "Payload Too Large",
            "16384 bytes",
        ),
        (
            "bad tracking id",
            ACTIVE,
            valid.clone(),
            vec![("Request-Tracking-Id", "a b")],
            400,
            "Bad Request",
            "Request-Tracking-Id",
        ),
        (
            "header and body ids differ",
            ACTIVE,
            json!({ "request_tracking_id": "B-2", "contacts": sample_contacts() }).to_string(),
            vec![("Request-Tracking-Id", "A-1")],
            400,
            "Bad Request",
            "differ",
        ),
    ];
    for (name, ezpay_id, body, headers, status, message, detail) in cases {
        let reply = server.post(ezpay_id, &body, &headers);
        reply.assert_failure(status, message);
        assert!(
            reply.error_messages().iter().any(|m| m.contains(detail)),
            "{name}: {}",
            reply.text
        );
        assert_eq!(reply.header("www-authenticate"), None, "{name}");
        assert_eq!(server.snapshot(), before, "{name} changed the database");
    }

    let invalid = server.post(
        ACTIVE,
        json!({ "contacts": [{ "type": "billing", "name": "A", "email": "a@b" }] }).to_string(),
        &[],
    );
    let items = &invalid.body["error"]["errors"];
    assert_eq!(
        items[0]["field"], "contacts[billing].email",
        "{}",
        invalid.text
    );
    assert_eq!(items[0]["code"], "email.missing_tld", "{}", invalid.text);

    for path in ["/api/v1/nothing", "/api/v1/customers/000010000005008/other"] {
        server.get(path, &[]).assert_failure(404, "Not Found");
    }
    server
        .get(
            &format!("/api/v1/customers/{ACTIVE}/contacts"),
            &[("ProfileId", "CAAG_302")],
        )
        .assert_failure(401, "Unauthorized");
    assert_eq!(server.snapshot(), before);
}

#[test]
fn one_tracking_id_is_one_write() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let replies: Vec<String> = (0..20)
        .map(|_| {
            let reply = server.post_contacts(INACTIVE, "retry-1", &sample_contacts());
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.text
        })
        .collect();
    assert!(replies.iter().all(|r| *r == replies[0]), "{replies:?}");
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM requests WHERE tracking_id = ?1",
            "retry-1"
        ),
        1
    );
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM audit WHERE tracking_id = ?1",
            "retry-1"
        ),
        1
    );
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM outbox WHERE tracking_id = ?1",
            "retry-1"
        ),
        2
    );

    let before = server.snapshot();
    let other = json!([{ "type": "billing", "name": "Someone Else" }]);
    server
        .post_contacts(INACTIVE, "retry-1", &other)
        .assert_failure(422, "Unprocessable Entity");
    server
        .post_contacts(CANCELLED, "retry-1", &sample_contacts())
        .assert_failure(422, "Unprocessable Entity");
    assert_eq!(server.snapshot(), before);

    // Concurrent copies of one request: each is applied once or told to wait.
    let statuses: Vec<u16> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| server.post_contacts(INACTIVE, "burst-1", &other).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM audit WHERE tracking_id = ?1",
            "burst-1"
        ),
        1
    );
}

/// The contacts' version: the ETag of `GET`, which is also `version` in its body.
fn version(server: &Server, ezpay_id: &str) -> String {
    let reply = server.get_contacts(ezpay_id);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let etag = reply.header("etag").expect("an ETag").to_owned();
    assert_eq!(
        etag,
        format!("\"{}\"", reply.body["version"].as_str().expect("a version"))
    );
    etag
}

/// POSTs the sample contacts to the active customer with `If-Match`.
fn post_at(server: &Server, tracking_id: &str, if_match: &str) -> Reply {
    let body = json!({ "contacts": sample_contacts() }).to_string();
    server.post(
        ACTIVE,
        &body,
        &[("Request-Tracking-Id", tracking_id), ("If-Match", if_match)],
    )
}

#[test]
fn if_match_applies_an_update_only_at_the_version_it_was_loaded_at() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let post = |tracking_id: &str, if_match: &str| post_at(&server, tracking_id, if_match);
    let loaded = version(&server, ACTIVE);

    let first = post("agent-a", &loaded);
    assert_eq!(first.status, 200, "{}", first.text);
    let after_a = version(&server, ACTIVE);
    assert_ne!(after_a, loaded);
    assert_eq!(
        first.header("etag"),
        Some(after_a.as_str()),
        "the new version"
    );

    // Agent B loaded the same version: refused, nothing written, told the current one.
    let before = server.snapshot();
    let stale = post("agent-b", &loaded);
    stale.assert_failure(412, "Precondition Failed");
    assert!(
        stale.error_messages()[0].contains("changed since they were loaded"),
        "{}",
        stale.text
    );
    assert_eq!(stale.header("etag"), Some(after_a.as_str()));
    assert_eq!(server.snapshot(), before);

    // A retry of A's request replays its answer (idempotency comes first),
    // with the version its save produced.
    let replay = post("agent-a", &loaded);
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("etag"), Some(after_a.as_str()));
    assert_eq!(server.snapshot(), before);

    // Without If-Match, or with `*`, the contract's POST applies as documented.
    let plain = server.post_contacts(ACTIVE, "no-precondition", &sample_contacts());
    assert_eq!(plain.status, 200, "{}", plain.text);
    let any = post("any-version", "*");
    assert_eq!(any.status, 200, "{}", any.text);
    assert_ne!(version(&server, ACTIVE), after_a);

    // The check is in the write transaction: of eight agents at one version, one wins.
    let current = version(&server, ACTIVE);
    let statuses: Vec<u16> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (post, current) = (&post, &current);
                scope.spawn(move || post(&format!("race-{i}"), current).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [200, 412, 412, 412, 412, 412, 412, 412],
        "{statuses:?}"
    );
}

/// The editor retries a save whose answer it lost; the replay's ETag is what
/// its next save sends as If-Match.
#[test]
fn a_replay_answers_with_the_etag_of_its_save_and_the_next_save_applies() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let post = |tracking_id: &str, if_match: &str| post_at(&server, tracking_id, if_match);
    let loaded = version(&server, ACTIVE);
    let saved = post("lost-answer", &loaded);
    assert_eq!(saved.status, 200, "{}", saved.text);
    let etag = saved.header("etag").expect("an ETag").to_owned();

    let replay = post("lost-answer", &loaded);
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.header("etag"), Some(etag.as_str()));
    let next = post("next-save", &etag);
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(next.header("etag"), Some(version(&server, ACTIVE).as_str()));

    // Once someone else has saved, the replay still names its own version,
    // and a save at it is stale: the client reloads.
    let replay = post("lost-answer", &loaded);
    assert_eq!(replay.header("etag"), Some(etag.as_str()));
    post("after-the-replay", &etag).assert_failure(412, "Precondition Failed");
}

#[test]
fn inactive_and_cancelled_customers_are_updatable() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    for (ezpay_id, status) in [(INACTIVE, "inactive"), (CANCELLED, "cancelled")] {
        let empty = server.get_contacts(ezpay_id);
        assert_eq!(empty.body["contacts"], json!([]), "{}", empty.text);
        // Typed as agents paste them; stored as the contract sends them.
        let typed = json!([{ "type": "service", "name": " Ann Lee ", "work_phone": "+1 (914) 721-2006 ext. 77" }]);
        let reply = server.post_contacts(ezpay_id, &format!("status-{status}"), &typed);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let stored = server.get_contacts(ezpay_id);
        assert_eq!(stored.body["customer"]["status"], status);
        assert_eq!(
            stored.body["contacts"],
            json!([{ "type": "service", "name": "Ann Lee", "work_phone": "9147212006", "work_phone_extension": "77" }])
        );
    }
}

#[test]
fn a_missing_tracking_id_is_made_or_taken_from_the_body() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let made = server.post(ACTIVE, &body, &[]);
    assert_eq!(made.status, 200, "{}", made.text);
    let id = made.body["request_tracking_id"].as_str().unwrap();
    assert!(id.starts_with("srv-"), "{id}");
    assert_eq!(made.header("request-tracking-id"), Some(id));

    let in_body =
        json!({ "request_tracking_id": "body-7", "contacts": sample_contacts() }).to_string();
    let reply = server.post(ACTIVE, &in_body, &[]);
    assert_eq!(
        reply.body["request_tracking_id"], "body-7",
        "{}",
        reply.text
    );
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM requests WHERE tracking_id = ?1",
            "body-7"
        ),
        1
    );
}

/// Every read of a customer's contacts is in the audit trail: who, which
/// customer, which profile, when. A refused read records nothing.
#[test]
fn reads_are_audited() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    let reply = server.get(
        &format!("/api/v1/customers/{ACTIVE}/contacts"),
        &[
            ("Authorization", SAMPLE_AUTH),
            ("ProfileId", "CAAG_302"),
            ("Request-Tracking-Id", "read-1"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let read = server.db.texts(
        "SELECT ezpay_id || ' ' || user_name || ' ' || profile_id || ' ' || source FROM audit
         WHERE action = 'read' AND tracking_id = ?1",
        "read-1",
    );
    assert_eq!(read, [format!("{ACTIVE} ocsuser CAAG_302 CAAG")]);
    // SQLite keeps times as RFC 3339 text; PostgreSQL as timestamps.
    if let Db::Sqlite(_) = server.db {
        let at = server.db.texts(
            "SELECT at FROM audit WHERE action = 'read' AND tracking_id = ?1",
            "read-1",
        );
        assert!(at[0].starts_with("20") && at[0].ends_with('Z'), "{at:?}");
    }
    let before = server.snapshot();
    server
        .get(
            "/api/v1/customers/000000000000001/contacts",
            &[("Authorization", SAMPLE_AUTH), ("ProfileId", "CAAG_302")],
        )
        .assert_failure(404, "Not Found");
    server
        .get(
            &format!("/api/v1/customers/{ACTIVE}/contacts"),
            &[
                ("Authorization", "Basic b2NzdXNlcjp3cm9uZw=="),
                ("ProfileId", "CAAG_302"),
            ],
        )
        .assert_failure(401, "Unauthorized");
    assert_eq!(server.snapshot(), before);
}

/// Contacts stored by an older version (or imported) that today's
/// validation refuses are returned as stored with their errors, and a POST
/// replaces them.
#[test]
fn contacts_refused_today_stay_readable_and_replaceable() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    server.db.execute(
        "UPDATE contacts SET email = 'bob@localhost', work_phone = '12345'
         WHERE ezpay_id = ?1 AND type = 'service'",
        ACTIVE,
    );
    let reply = server.get_contacts(ACTIVE);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["status"], "Success");
    let service = &reply.body["contacts"][1];
    assert_eq!(
        (&service["type"], &service["email"], &service["work_phone"]),
        (&json!("service"), &json!("bob@localhost"), &json!("12345"))
    );
    assert_eq!(
        reply.body["contacts"][0]["email"],
        "IDZAFEROVIC@APPLE-BANK.COM"
    );
    let errors = reply.body["errors"].as_array().unwrap();
    let flagged: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(flagged.len(), 2, "{errors:?}");
    assert!(
        flagged
            .iter()
            .all(|(path, _)| path.starts_with("contacts[service].")),
        "{flagged:?}"
    );
    assert!(errors.iter().all(|e| e["message"].is_string()));

    let contacts = json!([{ "type": "service", "name": "Bob", "email": "bob@example.com" }]);
    let saved = server.post_contacts(ACTIVE, "fix-1", &contacts);
    assert_eq!(saved.status, 200, "{}", saved.text);
    let audit =
        "SELECT count(*) FROM audit WHERE tracking_id = ?1 AND old_contacts LIKE '%bob@localhost%'";
    assert_eq!(count(&server.db, audit, "fix-1"), 1);
    let reply = server.get_contacts(ACTIVE);
    assert_eq!(reply.body.get("errors"), None, "{}", reply.text);
    assert_eq!(reply.body["contacts"][1], contacts[0]);
}

/// What the reference rules of issue 23 refuse (an area code not in use, an
/// exchange not in use where the area code takes only some, a doubled dot)
/// is flagged with its own code when stored, and a POST fixes it.
#[test]
fn stored_contacts_the_reference_rules_refuse_are_flagged_and_fixable() {
    let scratch = Scratch::new();
    let server = SERVER.start(&scratch.0, &[]);
    server.db.execute(
        "UPDATE contacts SET email = 'bob..lee@example.com', mobile_phone = '3705550123',
         fax = '2682001234' WHERE ezpay_id = ?1 AND type = 'service'",
        ACTIVE,
    );
    let reply = server.get_contacts(ACTIVE);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let service = &reply.body["contacts"][1];
    assert_eq!(service["mobile_phone"], "3705550123", "returned as stored");
    let flagged: Vec<(&str, &str)> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        flagged,
        [
            ("contacts[service].email", "email.misplaced_dot"),
            (
                "contacts[service].mobile_phone",
                "phone.area_code_not_in_use"
            ),
            ("contacts[service].fax", "phone.exchange_not_in_use"),
        ]
    );

    let fixed = json!([{ "type": "service", "name": "Bob", "email": "bob.lee@example.com",
        "mobile_phone": "9147212006", "fax": "2684601234" }]);
    let saved = server.post_contacts(ACTIVE, "fix-reference", &fixed);
    assert_eq!(saved.status, 200, "{}", saved.text);
    let reply = server.get_contacts(ACTIVE);
    assert_eq!(reply.body.get("errors"), None, "{}", reply.text);
}

/// The same on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        the_sample_request_succeeds_and_get_returns_its_contacts,
        every_refusal_is_an_envelope_and_leaves_the_database_unchanged,
        one_tracking_id_is_one_write,
        if_match_applies_an_update_only_at_the_version_it_was_loaded_at,
        a_replay_answers_with_the_etag_of_its_save_and_the_next_save_applies,
        inactive_and_cancelled_customers_are_updatable,
        a_missing_tracking_id_is_made_or_taken_from_the_body,
        reads_are_audited,
        contacts_refused_today_stay_readable_and_replaceable,
        stored_contacts_the_reference_rules_refuse_are_flagged_and_fixable,
    );
}
