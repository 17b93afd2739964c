//! The SQLite engine: one file in WAL mode, one writer connection, one reader
//! for the API and one for the relay.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use contacts_model::{Contact, ContactDraft, ContactType, EzpayId, Field};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{
    Attempted, ClaimRequest, Customer, CustomerStatus, Delivery, DeliveryFilter, DeliveryRecord,
    Outcome, Prune, Pruned, Read, Selection, Store, StoreError, TARGETS, TargetQueue, Update,
    stored_contact, to_json,
};

mod outbox;

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE customers (
    ezpay_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'cancelled'))
);
CREATE TABLE contacts (
    ezpay_id             TEXT NOT NULL REFERENCES customers (ezpay_id),
    type                 TEXT NOT NULL CHECK (type IN ('billing', 'service')),
    name                 TEXT NOT NULL,
    organization_name    TEXT,
    email                TEXT,
    work_phone           TEXT,
    work_phone_extension TEXT,
    mobile_phone         TEXT,
    fax                  TEXT,
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (ezpay_id, type)
);
-- One row per applied request: the idempotency record.
CREATE TABLE requests (
    tracking_id TEXT PRIMARY KEY,
    ezpay_id    TEXT NOT NULL REFERENCES customers (ezpay_id),
    fingerprint TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    tracking_id  TEXT NOT NULL REFERENCES requests (tracking_id),
    ezpay_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    source       TEXT NOT NULL,
    old_contacts TEXT NOT NULL,
    new_contacts TEXT NOT NULL,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    tracking_id  TEXT NOT NULL REFERENCES requests (tracking_id),
    target       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    delivered_at TEXT,
    UNIQUE (tracking_id, target)
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;
",
    r"
-- Delivery: the customer, the state and the claim on every outbox row, and
-- the body as sent. The idempotency records may now be pruned after their
-- window while deliveries and audit rows stay: those two tables no longer
-- reference requests (SQLite cannot drop a foreign key, so both are rebuilt),
-- and a tracking id may come back after the window.
CREATE TABLE outbox_v2 (
    id              INTEGER PRIMARY KEY,
    tracking_id     TEXT NOT NULL,
    ezpay_id        TEXT NOT NULL,
    target          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    claimed_by      TEXT,
    claimed_until   INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    last_status     INTEGER,
    last_error      TEXT,
    finished_at     TEXT                        -- delivered or discarded
);
INSERT INTO outbox_v2 (id, tracking_id, ezpay_id, target, payload, created_at, state, finished_at)
SELECT o.id, o.tracking_id, r.ezpay_id, o.target,
       json_set(o.payload,
                '$.profile_id', (SELECT a.profile_id FROM audit a WHERE a.tracking_id = o.tracking_id),
                '$.user', (SELECT a.user_name FROM audit a WHERE a.tracking_id = o.tracking_id),
                '$.accepted_at', o.created_at),
       o.created_at,
       CASE WHEN o.delivered_at IS NULL THEN 'pending' ELSE 'delivered' END,
       o.delivered_at
FROM outbox o JOIN requests r ON r.tracking_id = o.tracking_id;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
-- The head of each (customer, target) queue, and the rows due.
CREATE INDEX outbox_queue ON outbox (ezpay_id, target, id) WHERE state IN ('pending', 'dead');
CREATE INDEX outbox_due ON outbox (target, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE state IN ('delivered', 'discarded');

-- The audit trail also records operators' actions on deliveries.
CREATE TABLE audit_v2 (
    id           INTEGER PRIMARY KEY,
    action       TEXT NOT NULL DEFAULT 'update',
    tracking_id  TEXT NOT NULL,
    ezpay_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    profile_id   TEXT,
    source       TEXT,
    old_contacts TEXT,
    new_contacts TEXT,
    detail       TEXT,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO audit_v2 (id, tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts, at)
SELECT id, tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts, at FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v2 RENAME TO audit;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX requests_created_at ON requests (created_at);
",
    r"
-- A claim takes a target's oldest pending deliveries that head their queue:
-- read in id order, it stops at the first ones it finds instead of sorting
-- every pending row. The due time is checked row by row, so its index goes.
DROP INDEX outbox_due;
CREATE INDEX outbox_pending ON outbox (target, id) WHERE state = 'pending';
",
    r"
-- Reads of a customer's contacts are audited too (action 'read'): who read
-- a customer, and who changed it, by customer and time.
CREATE INDEX audit_customer ON audit (ezpay_id, at);
",
    r"
-- Tracking ids are unique per source, not globally: the idempotency key is
-- (source, tracking id), and the user is kept so that another user of the
-- source sending the same id is refused rather than answered with a replay.
-- Existing records take the source and user of their update's audit row.
CREATE TABLE requests_v2 (
    source      TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    ezpay_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, tracking_id)
);
INSERT INTO requests_v2 (source, tracking_id, user_name, ezpay_id, fingerprint, created_at)
SELECT coalesce(a.source, ''), r.tracking_id, coalesce(a.user_name, ''), r.ezpay_id, r.fingerprint, r.created_at
FROM requests r
LEFT JOIN audit a ON a.id = (
    SELECT max(id) FROM audit WHERE tracking_id = r.tracking_id AND action = 'update'
);
DROP TABLE requests;
ALTER TABLE requests_v2 RENAME TO requests;
CREATE INDEX requests_created_at ON requests (created_at);
",
    r"
-- Concurrent edits: the version of each customer's contacts, raised by every
-- applied update in its transaction; GET gives it as the ETag and a POST with
-- If-Match is applied only at it.
ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
",
    r"
-- The contacts version each applied request produced: a replay answers with
-- the ETag of the first answer. Empty for requests applied before.
ALTER TABLE requests ADD COLUMN version INTEGER;
",
];

const CONTACT_COLUMNS: &str =
    "type, name, organization_name, email, work_phone, work_phone_extension, mobile_phone, fax";

/// The current time as the tables store it: RFC 3339, UTC, milliseconds.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// A SQLite database file. Its driver blocks, so every call runs on a
/// blocking thread.
#[derive(Debug, Clone)]
pub struct SqliteStore(Arc<Sqlite>);

/// The connections: one writer (SQLite has one at a time), one reader for
/// the API and one for the relay.
#[derive(Debug)]
struct Sqlite {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// The relay's searches for work: never in the way of the API's reads,
    /// and, in WAL mode, never in the way of the writer.
    relay: Mutex<Connection>,
    /// Saves queue here before they take the writer, one at a time, so that
    /// the relay's writes, short and without waiting for the disk, wait for
    /// at most the save in progress rather than for every save queued.
    saves: Mutex<()>,
}

impl SqliteStore {
    /// The schema version this server brings a database to.
    pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

    /// Opens (or creates) the database file and brings its schema up to date.
    /// Where `max_bytes` is given, writes that would grow the file beyond it
    /// fail with `SQLITE_FULL`, as on a full disk.
    pub async fn open(path: &Path, max_bytes: Option<u64>) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let sqlite = blocking(move || Sqlite::open(&path, max_bytes)).await?;
        Ok(Self(Arc::new(sqlite)))
    }

    /// Runs `call` on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Sqlite) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let sqlite = Arc::clone(&self.0);
        blocking(move || call(&sqlite)).await
    }
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| StoreError::failed(format!("the database task failed: {e}")))?
}

impl Sqlite {
    fn open(path: &Path, max_bytes: Option<u64>) -> Result<Self, StoreError> {
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        if let Some(max_bytes) = max_bytes {
            let page_size: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let max_bytes = i64::try_from(max_bytes).unwrap_or(i64::MAX);
            let pages = (max_bytes / page_size.max(1)).max(1);
            // SQLite never sets the limit below the pages already in use.
            writer.pragma_update(None, "max_page_count", pages)?;
        }
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(connect(path)?),
            relay: Mutex::new(connect(path)?),
            saves: Mutex::new(()),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn relay(&self) -> MutexGuard<'_, Connection> {
        self.relay.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(|e| {
        StoreError::failed(format!("cannot open the database {}: {e}", path.display()))
    })?;
    // WAL lets the reader work while a write commits; synchronous FULL makes
    // every commit durable before the Success is sent, even on power loss.
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::failed(format!(
            "the database cannot use WAL (journal mode {mode})"
        )));
    }
    connection.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )?;
    Ok(connection)
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    // The version is read inside the write transaction: another process
    // opening the same old file (a server and `deliveries list`) waits for
    // this one's migrations and then finds them done, rather than applying
    // them a second time.
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(version).map_err(|_| {
        StoreError::failed(format!(
            "the database has a negative schema version {version}"
        ))
    })?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::failed(format!(
            "the database has schema version {applied}, newer than this server's {}",
            MIGRATIONS.len()
        )));
    }
    for (version, migration) in (1_i64..).zip(MIGRATIONS).skip(applied) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", version)?;
        tracing::info!(version, "database migrated");
    }
    tx.commit()?;
    Ok(())
}

fn read_customer(
    connection: &Connection,
    ezpay_id: &EzpayId,
) -> Result<Option<Customer>, StoreError> {
    let row: Option<(String, i64)> = connection
        .query_row(
            "SELECT status, version FROM customers WHERE ezpay_id = ?1",
            [ezpay_id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(status, version)| {
        Ok(Customer {
            status: CustomerStatus::parse(&status)
                .ok_or_else(|| StoreError::failed(format!("unknown customer status '{status}'")))?,
            version: u64::try_from(version)
                .map_err(|_| StoreError::failed(format!("negative contacts version {version}")))?,
        })
    })
    .transpose()
}

/// A customer's contacts as stored, billing first; not validated, so that
/// contacts stored by an older version or an import stay readable.
fn read_contacts(
    connection: &Connection,
    ezpay_id: &EzpayId,
) -> Result<Vec<ContactDraft>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE ezpay_id = ?1 ORDER BY type"
    ))?;
    let rows = statement
        .query_map([ezpay_id.as_str()], |row| {
            let values = (1..=Field::ALL.len())
                .map(|column| row.get::<_, Option<String>>(column))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((row.get::<_, String>(0)?, values))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(contact_type, values)| stored_contact(contact_type, values))
        .collect())
}

fn write_contact(
    tx: &Transaction<'_>,
    ezpay_id: &EzpayId,
    contact: &Contact,
) -> Result<(), StoreError> {
    let mut statement = tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO contacts (ezpay_id, {CONTACT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    statement.execute(params![
        ezpay_id.as_str(),
        contact.contact_type.as_str(),
        contact.value(Field::Name),
        contact.value(Field::OrganizationName),
        contact.value(Field::Email),
        contact.value(Field::WorkPhone),
        contact.value(Field::WorkPhoneExtension),
        contact.value(Field::MobilePhone),
        contact.value(Field::Fax),
    ])?;
    Ok(())
}

impl Sqlite {
    fn ping(&self) -> Result<(), StoreError> {
        self.reader()
            .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    fn put_customers(&self, customers: &[(EzpayId, CustomerStatus)]) -> Result<(), StoreError> {
        let mut connection = self.writer();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (ezpay_id, status) in customers {
            tx.execute(
                "INSERT INTO customers (ezpay_id, status) VALUES (?1, ?2)
                 ON CONFLICT (ezpay_id) DO UPDATE SET status = excluded.status",
                [ezpay_id.as_str(), status.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn seed_contacts(&self, ezpay_id: &EzpayId, contacts: &[Contact]) -> Result<(), StoreError> {
        let mut connection = self.writer();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if read_contacts(&tx, ezpay_id)?.is_empty() {
            for contact in contacts {
                write_contact(&tx, ezpay_id, contact)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn customer(&self, ezpay_id: &EzpayId) -> Result<Option<Customer>, StoreError> {
        read_customer(&self.reader(), ezpay_id)
    }

    fn contacts(&self, ezpay_id: &EzpayId) -> Result<Vec<ContactDraft>, StoreError> {
        read_contacts(&self.reader(), ezpay_id)
    }

    fn record_read(&self, read: &Read) -> Result<(), StoreError> {
        self.writer().execute(
            &format!(
                "INSERT INTO audit (action, tracking_id, ezpay_id, user_name, profile_id, source, at)
                 VALUES ('read', ?1, ?2, ?3, ?4, ?5, {NOW})"
            ),
            params![
                read.tracking_id.as_str(),
                read.ezpay_id.as_str(),
                read.user,
                read.profile_id,
                read.source,
            ],
        )?;
        Ok(())
    }

    fn apply(&self, update: &Update) -> Result<Outcome, StoreError> {
        let fingerprint = update.fingerprint();
        let _turn = self.saves.lock().unwrap_or_else(PoisonError::into_inner);
        let mut connection = self.writer();
        // Dropping the transaction without commit rolls it back: every early
        // return below leaves the database as it was.
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let earlier: Option<(String, String, Option<i64>)> = tx
            .query_row(
                "SELECT fingerprint, user_name, version FROM requests WHERE source = ?1 AND tracking_id = ?2",
                [update.source.as_str(), update.tracking_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((earlier, user, version)) = earlier {
            // Another user's request is never replayed to this one, even
            // with the same body: it is not their request.
            return Ok(if earlier == fingerprint && user == update.user {
                Outcome::Replayed(version.and_then(|v| u64::try_from(v).ok()))
            } else {
                Outcome::TrackingIdReused
            });
        }
        let Some(customer) = read_customer(&tx, &update.ezpay_id)? else {
            return Ok(Outcome::UnknownCustomer);
        };
        // Checked in the write transaction, which holds SQLite's write lock
        // from its start: no other update can come between check and write.
        if update.if_match.is_some_and(|v| v != customer.version) {
            return Ok(Outcome::Stale(customer.version));
        }
        let version = customer.version + 1;
        let stored_version = i64::try_from(version).unwrap_or(i64::MAX);
        let accepted_at: String = tx.query_row(&format!("SELECT {NOW}"), [], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO requests (source, tracking_id, user_name, ezpay_id, fingerprint, created_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                update.source,
                update.tracking_id.as_str(),
                update.user,
                update.ezpay_id.as_str(),
                fingerprint,
                accepted_at,
                stored_version,
            ],
        )?;
        let touched: Vec<ContactType> = update
            .request
            .contacts
            .iter()
            .map(|c| c.contact_type)
            .collect();
        let old: Vec<ContactDraft> = read_contacts(&tx, &update.ezpay_id)?
            .into_iter()
            .filter(|c| {
                c.contact_type
                    .trimmed()
                    .and_then(ContactType::parse)
                    .is_some_and(|t| touched.contains(&t))
            })
            .collect();
        for contact in &update.request.contacts {
            write_contact(&tx, &update.ezpay_id, contact)?;
        }
        tx.execute(
            "UPDATE customers SET version = ?1 WHERE ezpay_id = ?2",
            params![stored_version, update.ezpay_id.as_str()],
        )?;
        let new_contacts = to_json(&update.request.contacts)?;
        tx.execute(
            "INSERT INTO audit (tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                update.tracking_id.as_str(),
                update.ezpay_id.as_str(),
                update.user,
                update.profile_id,
                update.source,
                to_json(&old)?,
                new_contacts,
                accepted_at,
            ],
        )?;
        let payload = update.payload(&accepted_at)?;
        for target in TARGETS {
            tx.execute(
                "INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                [
                    update.tracking_id.as_str(),
                    update.ezpay_id.as_str(),
                    target,
                    &payload,
                    &accepted_at,
                ],
            )?;
        }
        tx.commit()?;
        Ok(Outcome::Applied(version))
    }

    fn claim_due(&self, claim: &ClaimRequest<'_>) -> Result<Vec<Delivery>, StoreError> {
        // The search holds no lock that a save needs; the claim, under the
        // write lock, checks each row found again.
        let found = outbox::claimable(&self.relay(), claim)?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        outbox::claim_due(&mut self.writer(), claim, &found)
    }

    fn next_due(&self, targets: &[&str]) -> Result<Option<SystemTime>, StoreError> {
        outbox::next_due(&self.relay(), targets)
    }

    fn record(&self, owner: &str, attempts: &[(i64, Attempted)]) -> Result<(), StoreError> {
        outbox::record(&mut self.writer(), owner, attempts)
    }

    fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        outbox::deliveries(&self.reader(), filter)
    }

    fn target_queues(&self, now: SystemTime) -> Result<Vec<TargetQueue>, StoreError> {
        outbox::target_queues(&self.reader(), now)
    }

    fn retry(&self, selection: Selection, operator: &str) -> Result<usize, StoreError> {
        outbox::retry(&mut self.writer(), selection, operator)
    }

    fn discard(&self, id: i64, operator: &str) -> Result<bool, StoreError> {
        outbox::discard(&mut self.writer(), id, operator)
    }

    fn prune(&self, prune: &Prune) -> Result<Pruned, StoreError> {
        outbox::prune(&self.writer(), prune)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(Sqlite::ping).await
    }

    async fn put_customers(
        &self,
        customers: &[(EzpayId, CustomerStatus)],
    ) -> Result<(), StoreError> {
        let customers = customers.to_vec();
        self.run(move |db| db.put_customers(&customers)).await
    }

    async fn seed_contacts(
        &self,
        ezpay_id: &EzpayId,
        contacts: &[Contact],
    ) -> Result<(), StoreError> {
        let (ezpay_id, contacts) = (ezpay_id.clone(), contacts.to_vec());
        self.run(move |db| db.seed_contacts(&ezpay_id, &contacts))
            .await
    }

    async fn customer(&self, ezpay_id: &EzpayId) -> Result<Option<Customer>, StoreError> {
        let ezpay_id = ezpay_id.clone();
        self.run(move |db| db.customer(&ezpay_id)).await
    }

    async fn contacts(&self, ezpay_id: &EzpayId) -> Result<Vec<ContactDraft>, StoreError> {
        let ezpay_id = ezpay_id.clone();
        self.run(move |db| db.contacts(&ezpay_id)).await
    }

    async fn record_read(&self, read: &Read) -> Result<(), StoreError> {
        let read = read.clone();
        self.run(move |db| db.record_read(&read)).await
    }

    async fn apply(&self, update: &Update) -> Result<Outcome, StoreError> {
        let update = update.clone();
        self.run(move |db| db.apply(&update)).await
    }

    async fn claim_due(&self, claim: &ClaimRequest<'_>) -> Result<Vec<Delivery>, StoreError> {
        let owner = claim.owner.to_owned();
        let targets: Vec<String> = claim.targets.iter().map(|&t| t.to_owned()).collect();
        let (now, limit, lease) = (claim.now, claim.limit, claim.lease);
        self.run(move |db| {
            let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
            db.claim_due(&ClaimRequest {
                owner: &owner,
                targets: &targets,
                now,
                limit,
                lease,
            })
        })
        .await
    }

    async fn next_due(&self, targets: &[&str]) -> Result<Option<SystemTime>, StoreError> {
        let targets: Vec<String> = targets.iter().map(|&t| t.to_owned()).collect();
        self.run(move |db| {
            let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
            db.next_due(&targets)
        })
        .await
    }

    async fn record(&self, owner: &str, attempts: &[(i64, Attempted)]) -> Result<(), StoreError> {
        let (owner, attempts) = (owner.to_owned(), attempts.to_vec());
        self.run(move |db| db.record(&owner, &attempts)).await
    }

    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        let filter = filter.clone();
        self.run(move |db| db.deliveries(&filter)).await
    }

    async fn target_queues(&self, now: SystemTime) -> Result<Vec<TargetQueue>, StoreError> {
        self.run(move |db| db.target_queues(now)).await
    }

    async fn retry(&self, selection: Selection, operator: &str) -> Result<usize, StoreError> {
        let operator = operator.to_owned();
        self.run(move |db| db.retry(selection, &operator)).await
    }

    async fn discard(&self, id: i64, operator: &str) -> Result<bool, StoreError> {
        let operator = operator.to_owned();
        self.run(move |db| db.discard(id, &operator)).await
    }

    async fn prune(&self, prune: &Prune) -> Result<Pruned, StoreError> {
        let prune = *prune;
        self.run(move |db| db.prune(&prune)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder for one test, and the path of a new database in it.
    fn scratch(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("contacts-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        let path = dir.join(format!("{name}.sqlite"));
        let _ = std::fs::remove_file(&path);
        (dir, path)
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
            owner: "relay",
            targets: &["MAS"],
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
}
