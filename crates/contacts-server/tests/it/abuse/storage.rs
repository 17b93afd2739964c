//! Faults of the SQLite file: a full disk and a read-only file fail cleanly
//! and the server recovers. (PostgreSQL's outage is in `postgres.rs`.)

use std::path::PathBuf;
use std::thread;

use contacts_testkit::harness::*;
use serde_json::{Value, json};

use super::assert_message;
use crate::SERVER;

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
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
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
    let mut server = SERVER.start(&scratch.0, &[]);
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
