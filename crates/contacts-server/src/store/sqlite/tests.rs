//! The SQLite engine's own cases: migrating old files, and claims.

use super::*;

/// A scratch folder for one test, and the path of a new database in it.
fn scratch(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("contacts-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let path = dir.join(format!("{name}.sqlite"));
    let _ = std::fs::remove_file(&path);
    (dir, path)
}

/// Two processes open one version 1 file at once: both wait for a writer
/// that holds the file, then one migrates it and the other finds it done.
#[test]
fn two_openings_of_one_old_file_migrate_it_once() {
    let (dir, path) = scratch("concurrent-migration");
    let mut holder = connect(&path).expect("opens");
    holder.execute_batch(MIGRATIONS[0]).expect("version 1");
    holder
        .pragma_update(None, "user_version", 1)
        .expect("version 1");
    let lock = holder
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("holds the write lock");
    let openings: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Sqlite::open(&path, None).map(|_| ()))
        })
        .collect();
    // Long enough for both to have read what they read before writing.
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(lock);
    for opening in openings {
        opening
            .join()
            .expect("no panic")
            .expect("both open the file");
    }
    let version: i64 = connect(&path)
        .expect("opens")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("a version");
    assert_eq!(usize::try_from(version), Ok(SqliteStore::SCHEMA_VERSION));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrations_keep_the_outbox_and_requests_of_a_version_1_database() {
    let (dir, path) = scratch("migration");
    {
        let connection = connect(&path).expect("opens");
        connection.execute_batch(MIGRATIONS[0]).expect("version 1");
        connection
            .execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO customers VALUES ('000010000005008', 'active');
                 INSERT INTO requests (tracking_id, ezpay_id, fingerprint, created_at)
                   VALUES ('t1', '000010000005008', 'f', '2026-11-30T10:00:00.000Z');
                 INSERT INTO audit (tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts)
                   VALUES ('t1', '000010000005008', 'ocsuser', 'CAAG_302', 'CAAG', '[]', '[]');
                 INSERT INTO outbox (tracking_id, target, payload, created_at)
                   VALUES ('t1', 'MAS', '{\"ezpay_id\":\"000010000005008\",\"request_tracking_id\":\"t1\",\"source\":\"CAAG\",\"contacts\":[]}', '2026-11-30T10:00:00.000Z');",
            )
            .expect("a version 1 update");
    }
    let store = Sqlite::open(&path, None).expect("migrates");
    let records = store
        .deliveries(&DeliveryFilter {
            limit: 10,
            ..DeliveryFilter::default()
        })
        .expect("lists");
    assert_eq!(records.len(), 1);
    assert_eq!(
        (
            records[0].ezpay_id.as_str(),
            records[0].state,
            records[0].accepted_at.as_str()
        ),
        (
            "000010000005008",
            super::super::DeliveryState::Pending,
            "2026-11-30T10:00:00.000Z"
        )
    );
    let payload: String = store
        .reader()
        .query_row("SELECT payload FROM outbox", [], |r| r.get(0))
        .expect("a payload");
    let payload: serde_json::Value = serde_json::from_str(&payload).expect("JSON");
    assert_eq!(payload["profile_id"], "CAAG_302");
    assert_eq!(payload["user"], "ocsuser");
    assert_eq!(payload["accepted_at"], "2026-11-30T10:00:00.000Z");
    // Migration 8: a delivery queued before keeps the key it had.
    let key: String = store
        .reader()
        .query_row("SELECT idempotency_key FROM outbox", [], |r| r.get(0))
        .expect("a key");
    assert_eq!(key, "CAAG:t1:MAS");
    // Migration 5: the idempotency record takes its update's source and user.
    let request: (String, String, String) = store
        .reader()
        .query_row(
            "SELECT source, tracking_id, user_name FROM requests",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the request");
    assert_eq!(request, ("CAAG".into(), "t1".into(), "ocsuser".into()));
    let customer = EzpayId::parse("000010000005008").expect("an eZpayID");
    assert_eq!(
        store.customer(&customer).expect("reads"),
        Some(Customer {
            status: CustomerStatus::Active,
            version: 1
        }),
        "the version migration starts every customer's contacts at version 1"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_claim_takes_the_heads_found_that_are_still_claimable() {
    let (dir, path) = scratch("claim");
    let sqlite = Sqlite::open(&path, None).expect("opens");
    // Customer A has deliveries 1, 2, 3 for MAS, customer B 4 and 5, and
    // A has 6 for MDM.
    for (customer, target) in [
        ("A", "MAS"),
        ("A", "MAS"),
        ("A", "MAS"),
        ("B", "MAS"),
        ("B", "MAS"),
        ("A", "MDM"),
    ] {
        sqlite
            .writer()
            .execute(
                "INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at) VALUES ('t', ?1, ?2, '{}', '')",
                [customer, target],
            )
            .expect("a delivery");
    }
    let claim = ClaimRequest {
        owner: "relay".into(),
        targets: vec!["MAS"],
        now: SystemTime::now(),
        limit: 8,
        lease: std::time::Duration::from_secs(60),
    };
    let found = outbox::claimable(&sqlite.relay(), &claim).expect("searches");
    assert_eq!(found, [1, 4], "the heads of MAS's queues");

    // Another relay claims delivery 1 between the search and the claim.
    sqlite
        .writer()
        .execute(
            "UPDATE outbox SET claimed_by = 'other', claimed_until = ?1 WHERE id = 1",
            [i64::MAX],
        )
        .expect("claimed by another");
    let claimed = sqlite.claim_due(&claim).expect("claims");
    assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), [4]);
    assert_eq!(
        outbox::claim_due(&mut sqlite.writer(), &claim, &found)
            .expect("claims")
            .len(),
        0,
        "nothing found is claimable twice"
    );

    // Delivered, 4 lets 5 through; 1, claimed by the other, holds back 2.
    sqlite
        .record("relay", &[(4, Attempted::Delivered { status: 200 })])
        .expect("records");
    let found = outbox::claimable(&sqlite.relay(), &claim).expect("searches");
    assert_eq!(found, [5]);
    let _ = std::fs::remove_dir_all(&dir);
}
