//! What makes an update one at its target: no redirect counts as its
//! delivery, a discard during a send keeps its order, a tracking id used
//! again after the window is a new update with a new key, and a delivery
//! queued before the key per update keeps the key it had.

use contacts_testkit::db::Db;

use super::*;

#[test]
fn a_redirect_is_dead_at_once_with_its_location_and_nothing_reaches_the_location() {
    let scratch = Scratch::new();
    let elsewhere = Receiver::start("ELSEWHERE");
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let statuses = [301, 302, 303, 307, 308];
    let ids = customers(statuses.len());
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 100";
    let server = relaying(
        &scratch,
        &ids,
        &targets(Some(&mas), Some(&mdm), 2_000, relay),
    );
    // One customer per status, each saved once the one before was answered,
    // so that the scripted answers meet the customers in order.
    for (n, (status, customer)) in statuses.iter().zip(&ids).enumerate() {
        mas.script([Reply::Redirect(*status, elsewhere.url())]);
        save(&server, customer, &format!("redirected-{status}"), n);
        wait_for("the redirect", Duration::from_secs(10), || {
            mas.received().len() == n + 1
        });
    }
    wait_for("MDM", Duration::from_secs(10), || mdm.applied() == 5);
    let list = |state: &str| {
        server
            .command(&["deliveries", "list", "--state", state])
            .unwrap()
    };
    wait_for("five dead deliveries", Duration::from_secs(10), || {
        list("dead").lines().count() == 6
    });
    let dead = list("dead");
    for (status, customer) in statuses.iter().zip(&ids) {
        let line = dead
            .lines()
            .find(|line| line.contains(&format!("redirected-{status}\t")))
            .unwrap_or_else(|| panic!("{status} is not dead:\n{dead}"));
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(&cells[2..6], ["MAS", customer, "dead", "1"], "{line}");
        assert_eq!(
            cells[7],
            format!("HTTP {status}: redirected to {} ", elsewhere.url()),
            "the status and the Location are kept"
        );
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(mas.received().len(), 5, "a redirect is not retried");
    assert_eq!(
        elsewhere.received().len(),
        0,
        "nothing reached the Location"
    );
    let delivered = list("delivered");
    assert!(!delivered.contains("\tMAS\t"), "{delivered}");
    assert_eq!(delivered.lines().count(), 6, "MDM's five: {delivered}");
}

#[test]
fn a_delivery_discarded_while_it_is_sent_is_not_overtaken_by_the_next() {
    let scratch = Scratch::new();
    let (mas, mdm, server) = relaying_to_both(&scratch, 10_000, "concurrency = 4");
    mas.script([Reply::Slow(Duration::from_secs(3))]);
    save(&server, ACTIVE, "being-sent-1", 1);
    wait_for("the first attempt", Duration::from_secs(10), || {
        mas.received().len() == 1
    });
    save(&server, ACTIVE, "next-2", 2);
    discard_mas(&server, "pending", "being-sent-1");
    wait_for("the next delivery", Duration::from_secs(15), || {
        mas.received().len() == 2
    });
    let received = mas.received();
    assert_eq!(received[1].tracking_id(), "next-2");
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= Duration::from_secs(3),
        "the next went {gap:?} after the discarded one, before its answer"
    );
    assert_eq!(mdm.tracking_ids(), ["being-sent-1", "next-2"]);
    let discarded = server
        .command(&["deliveries", "list", "--state", "discarded"])
        .unwrap();
    assert!(discarded.contains("being-sent-1\tMAS"), "{discarded}");
}

#[test]
fn a_tracking_id_used_again_after_the_window_is_a_new_update_with_a_new_key() {
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let retention = "[retention]\nidempotency_window = \"1s\"\ninterval = \"200ms\"\n";
    let toml = format!("{}{retention}", targets(Some(&mas), Some(&mdm), 2_000, ""));
    let server = relaying(&scratch, &development_customers(), &toml);
    save(&server, ACTIVE, "used-twice", 1);
    wait_for("the first update", Duration::from_secs(10), || {
        mas.applied() == 1 && mdm.applied() == 1
    });
    let db = server.db.clone();
    wait_for("the window to pass", Duration::from_secs(10), || {
        count(
            &db,
            "SELECT count(*) FROM requests WHERE tracking_id = ?1",
            "used-twice",
        ) == 0
    });
    save(&server, ACTIVE, "used-twice", 2);
    // The receivers deduplicate on the key, as a well-behaved target does:
    // both updates are applied only if their keys differ.
    wait_for("the second update", Duration::from_secs(10), || {
        mas.applied() == 2 && mdm.applied() == 2
    });
    for (receiver, name) in [(&mas, "MAS"), (&mdm, "MDM")] {
        let received = receiver.received();
        let [first, second] = &received[..] else {
            panic!("{name}: two deliveries, got {}", received.len());
        };
        assert_eq!(first.key(), format!("CAAG:used-twice:{ACTIVE}.2:{name}"));
        assert_eq!(second.key(), format!("CAAG:used-twice:{ACTIVE}.3:{name}"));
        assert_eq!(
            (&first.body["version"], &second.body["version"]),
            (&json!(2), &json!(3)),
            "the newer has the higher version"
        );
        assert_eq!(second.body["contacts"][0]["name"], "Customer 2");
        assert!(
            first.body["accepted_at"].as_str() < second.body["accepted_at"].as_str(),
            "{name}"
        );
    }
}

/// The schema of the release before the key per update: SQLite's
/// migrations 1 to 7, PostgreSQL's 1 and 2, each counted as its engine
/// counts them.
fn schema_before_the_key_per_update(db: &Db) -> String {
    match db {
        Db::Sqlite(_) => [
            include_str!("../../../src/store/migrations/sqlite/0001_schema.sql"),
            include_str!("../../../src/store/migrations/sqlite/0002_delivery_states.sql"),
            include_str!("../../../src/store/migrations/sqlite/0003_outbox_pending_index.sql"),
            include_str!("../../../src/store/migrations/sqlite/0004_audit_by_customer.sql"),
            include_str!("../../../src/store/migrations/sqlite/0005_idempotency_per_source.sql"),
            include_str!("../../../src/store/migrations/sqlite/0006_contacts_version.sql"),
            include_str!("../../../src/store/migrations/sqlite/0007_request_version.sql"),
            "PRAGMA user_version = 7;",
        ]
        .join("\n"),
        Db::Postgres(_) => [
            include_str!("../../../src/store/migrations/postgres/0001_schema.sql"),
            include_str!("../../../src/store/migrations/postgres/0002_save_function.sql"),
            "CREATE TABLE schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             );
             INSERT INTO schema_migrations (version) VALUES (1), (2);",
        ]
        .join("\n"),
    }
}

#[test]
fn a_delivery_queued_before_the_upgrade_keeps_the_key_it_had() {
    let scratch = Scratch::new();
    let db = Db::for_dir(&scratch.0);
    db.batch(&schema_before_the_key_per_update(&db));
    // An update accepted by the release before, still queued for MAS: its
    // body as that release wrote it (no version).
    db.execute(
        r#"INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at)
           VALUES ('queued-before', ?1, 'MAS',
                   '{"accepted_at":"2026-11-30T10:00:00.000Z","contacts":[],"ezpay_id":"000010000005008","profile_id":"CAAG_302","request_tracking_id":"queued-before","source":"CAAG","user":"ocsuser"}',
                   '2026-11-30T10:00:00.000Z')"#,
        ACTIVE,
    );
    let mas = Receiver::start("MAS");
    let server = relaying(
        &scratch,
        &development_customers(),
        &targets(Some(&mas), None, 2_000, ""),
    );
    // A save after the upgrade, of the same customer, queues behind it.
    save(&server, ACTIVE, "saved-after", 1);
    wait_for("both deliveries", Duration::from_secs(10), || {
        mas.applied() == 2
    });
    let keys: Vec<String> = mas.received().iter().map(|r| r.key().to_owned()).collect();
    assert_eq!(
        keys,
        [
            "CAAG:queued-before:MAS".to_owned(),
            format!("CAAG:saved-after:{ACTIVE}.2:MAS")
        ],
        "the queued delivery keeps its key, and goes first; the new one has a key per update"
    );
}

/// Again on PostgreSQL, where the engine decides them too.
mod on_postgres {
    contacts_testkit::postgres_too!(
        a_delivery_queued_before_the_upgrade_keeps_the_key_it_had,
        a_tracking_id_used_again_after_the_window_is_a_new_update_with_a_new_key,
        a_redirect_is_dead_at_once_with_its_location_and_nothing_reaches_the_location,
        a_delivery_discarded_while_it_is_sent_is_not_overtaken_by_the_next,
    );
}
