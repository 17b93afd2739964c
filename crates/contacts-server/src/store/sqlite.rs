//! The SQLite engine: one file in WAL mode, one writer connection and one reader.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use contacts_model::{Contact, ContactDraft, ContactType, EzpayId, Field, validate_contact};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{CustomerStatus, Outcome, Store, StoreError, TARGETS, Update};

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[r"
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
"];

const CONTACT_COLUMNS: &str =
    "type, name, organization_name, email, work_phone, work_phone_extension, mobile_phone, fax";

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (or creates) the database file and brings its schema up to date.
    /// Where `max_bytes` is given, writes that would grow the file beyond it
    /// fail with `SQLITE_FULL`, as on a full disk.
    pub fn open(path: &Path, max_bytes: Option<u64>) -> Result<Self, StoreError> {
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        if let Some(max_bytes) = max_bytes {
            let page_size: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let max_bytes = i64::try_from(max_bytes).unwrap_or(i64::MAX);
            let pages = (max_bytes / page_size.max(1)).max(1);
            // SQLite never sets the limit below the pages already in use.
            writer.pragma_update(None, "max_page_count", pages)?;
        }
        let reader = connect(path)?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)
        .map_err(|e| StoreError(format!("cannot open the database {}: {e}", path.display())))?;
    // WAL lets the reader work while a write commits; synchronous FULL makes
    // every commit durable before the Success is sent, even on power loss.
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError(format!(
            "the database cannot use WAL (journal mode {mode})"
        )));
    }
    connection.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )?;
    Ok(connection)
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(version).map_err(|_| {
        StoreError(format!(
            "the database has a negative schema version {version}"
        ))
    })?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError(format!(
            "the database has schema version {applied}, newer than this server's {}",
            MIGRATIONS.len()
        )));
    }
    for (version, migration) in (1_i64..).zip(MIGRATIONS).skip(applied) {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "database migrated");
    }
    Ok(())
}

fn customer_status(
    connection: &Connection,
    ezpay_id: &EzpayId,
) -> Result<Option<CustomerStatus>, StoreError> {
    let status: Option<String> = connection
        .query_row(
            "SELECT status FROM customers WHERE ezpay_id = ?1",
            [ezpay_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    status
        .map(|s| {
            CustomerStatus::parse(&s)
                .ok_or_else(|| StoreError(format!("unknown customer status '{s}'")))
        })
        .transpose()
}

fn read_contacts(connection: &Connection, ezpay_id: &EzpayId) -> Result<Vec<Contact>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE ezpay_id = ?1 ORDER BY type"
    ))?;
    let drafts = statement
        .query_map([ezpay_id.as_str()], |row| {
            let mut draft = ContactDraft {
                contact_type: row.get::<_, String>(0)?.into(),
                ..ContactDraft::default()
            };
            for (column, field) in (1..).zip(Field::ALL) {
                draft.set(field, row.get::<_, Option<String>>(column)?);
            }
            Ok(draft)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // Stored contacts were validated on the way in; validating them again
    // rebuilds the model's types and catches a database edited by hand.
    drafts
        .iter()
        .map(|draft| {
            validate_contact(draft)
                .map(|valid| valid.into_inner())
                .map_err(|e| StoreError(format!("a stored contact of {ezpay_id} is invalid: {e}")))
        })
        .collect()
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

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("cannot serialise: {e}")))
}

impl Store for SqliteStore {
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

    fn customer(&self, ezpay_id: &EzpayId) -> Result<Option<CustomerStatus>, StoreError> {
        customer_status(&self.reader(), ezpay_id)
    }

    fn contacts(&self, ezpay_id: &EzpayId) -> Result<Vec<Contact>, StoreError> {
        read_contacts(&self.reader(), ezpay_id)
    }

    fn apply(&self, update: &Update) -> Result<Outcome, StoreError> {
        let fingerprint = update.fingerprint();
        let mut connection = self.writer();
        // Dropping the transaction without commit rolls it back: every early
        // return below leaves the database as it was.
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let earlier: Option<String> = tx
            .query_row(
                "SELECT fingerprint FROM requests WHERE tracking_id = ?1",
                [update.tracking_id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(earlier) = earlier {
            return Ok(if earlier == fingerprint {
                Outcome::Replayed
            } else {
                Outcome::TrackingIdReused
            });
        }
        if customer_status(&tx, &update.ezpay_id)?.is_none() {
            return Ok(Outcome::UnknownCustomer);
        }
        tx.execute(
            "INSERT INTO requests (tracking_id, ezpay_id, fingerprint) VALUES (?1, ?2, ?3)",
            [
                update.tracking_id.as_str(),
                update.ezpay_id.as_str(),
                &fingerprint,
            ],
        )?;
        let touched: Vec<ContactType> = update
            .request
            .contacts
            .iter()
            .map(|c| c.contact_type)
            .collect();
        let old: Vec<Contact> = read_contacts(&tx, &update.ezpay_id)?
            .into_iter()
            .filter(|c| touched.contains(&c.contact_type))
            .collect();
        for contact in &update.request.contacts {
            write_contact(&tx, &update.ezpay_id, contact)?;
        }
        let new_contacts = to_json(&update.request.contacts)?;
        tx.execute(
            "INSERT INTO audit (tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                update.tracking_id.as_str(),
                update.ezpay_id.as_str(),
                update.user,
                update.profile_id,
                update.source,
                to_json(&old)?,
                new_contacts,
            ],
        )?;
        let payload = to_json(&serde_json::json!({
            "ezpay_id": update.ezpay_id,
            "request_tracking_id": update.tracking_id,
            "source": update.source,
            "contacts": update.request.contacts,
        }))?;
        for target in TARGETS {
            tx.execute(
                "INSERT INTO outbox (tracking_id, target, payload) VALUES (?1, ?2, ?3)",
                [update.tracking_id.as_str(), target, &payload],
            )?;
        }
        tx.commit()?;
        Ok(Outcome::Applied)
    }
}
