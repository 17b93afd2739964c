//! The SQLite engine: one file in WAL mode, one writer connection, one reader
//! for the API and one for the relay.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use contacts_model::{Contact, ContactDraft, ContactType, EzpayId, Field};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::migrations::{self, SQLITE as MIGRATIONS};
use super::sql::{CONTACT_COLUMNS, CUSTOMER_COLUMNS, CUSTOMER_UPSERT, READ_AUDIT_COLUMNS};
use super::{
    Attempted, ClaimRequest, ClaimedDelivery, Customer, CustomerStatus, DeliveryFilter,
    DeliveryRecord, Outcome, Prune, Pruned, Read, Selection, Store, StoreError, TARGETS,
    TargetQueue, Update, rows, to_json,
};

mod outbox;

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
    for (version, migration) in migrations::pending(MIGRATIONS, applied)? {
        tx.execute_batch(migration)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(version).unwrap_or(i64::MAX),
        )?;
        tracing::info!(version, "database migrated");
    }
    tx.commit()?;
    Ok(())
}

fn read_customer(
    connection: &Connection,
    ezpay_id: &EzpayId,
) -> Result<Option<Customer>, StoreError> {
    let select = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE ezpay_id = ?1");
    Ok(of_customer(connection, &select, ezpay_id, |row| rows::customer(row))?.pop())
}

/// A customer's contacts as stored, billing first; not validated, so that
/// contacts stored by an older version or an import stay readable.
fn read_contacts(
    connection: &Connection,
    ezpay_id: &EzpayId,
) -> Result<Vec<ContactDraft>, StoreError> {
    let select =
        format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE ezpay_id = ?1 ORDER BY type");
    of_customer(connection, &select, ezpay_id, |row| rows::contact(row))
}

/// The rows `select` finds for a customer (its `?1`), as `read` reads them.
fn of_customer<T>(
    connection: &Connection,
    select: &str,
    ezpay_id: &EzpayId,
    read: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    connection
        .prepare_cached(select)?
        .query_and_then([ezpay_id.as_str()], read)?
        .collect()
}

impl rows::Row for rusqlite::Row<'_> {
    fn text(&self, column: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(column)?)
    }

    fn integer(&self, column: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(column)?)
    }

    fn real(&self, column: usize) -> Result<Option<f64>, StoreError> {
        Ok(self.get(column)?)
    }
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
            tx.prepare_cached(&format!(
                "INSERT INTO customers (ezpay_id, status) VALUES (?1, ?2) {CUSTOMER_UPSERT}"
            ))?
            .execute([ezpay_id.as_str(), status.as_str()])?;
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
                "INSERT INTO audit ({READ_AUDIT_COLUMNS}, at)
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
        let stored_version = rows::stored_version(version);
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
        let payload = update.payload(&accepted_at, Some(version))?;
        for target in TARGETS {
            tx.execute(
                &format!(
                    "INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at, idempotency_key, traceparent, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, {})",
                    outbox::due_unless_behind()
                ),
                [
                    update.tracking_id.as_str(),
                    update.ezpay_id.as_str(),
                    target,
                    &payload,
                    &accepted_at,
                    &update.idempotency_key(version, target),
                    &update.traceparent,
                ],
            )?;
        }
        tx.commit()?;
        Ok(Outcome::Applied(version))
    }

    fn claim_due(&self, claim: &ClaimRequest) -> Result<Vec<ClaimedDelivery>, StoreError> {
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

    fn record_and_claim(
        &self,
        attempts: &[(i64, Attempted)],
        claim: &ClaimRequest,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        outbox::record_and_claim(&mut self.writer(), attempts, claim)
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
        customers: Vec<(EzpayId, CustomerStatus)>,
    ) -> Result<(), StoreError> {
        self.run(move |db| db.put_customers(&customers)).await
    }

    async fn seed_contacts(
        &self,
        ezpay_id: EzpayId,
        contacts: Vec<Contact>,
    ) -> Result<(), StoreError> {
        self.run(move |db| db.seed_contacts(&ezpay_id, &contacts))
            .await
    }

    async fn customer(&self, ezpay_id: EzpayId) -> Result<Option<Customer>, StoreError> {
        self.run(move |db| db.customer(&ezpay_id)).await
    }

    async fn contacts(&self, ezpay_id: EzpayId) -> Result<Vec<ContactDraft>, StoreError> {
        self.run(move |db| db.contacts(&ezpay_id)).await
    }

    async fn record_read(&self, read: Read) -> Result<(), StoreError> {
        self.run(move |db| db.record_read(&read)).await
    }

    async fn apply(&self, update: Update) -> Result<Outcome, StoreError> {
        self.run(move |db| db.apply(&update)).await
    }

    async fn claim_due(&self, claim: ClaimRequest) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.run(move |db| db.claim_due(&claim)).await
    }

    async fn next_due(&self, targets: Vec<&'static str>) -> Result<Option<SystemTime>, StoreError> {
        self.run(move |db| db.next_due(&targets)).await
    }

    async fn record(
        &self,
        owner: Arc<str>,
        attempts: Vec<(i64, Attempted)>,
    ) -> Result<(), StoreError> {
        self.run(move |db| db.record(&owner, &attempts)).await
    }

    async fn record_and_claim(
        &self,
        attempts: Vec<(i64, Attempted)>,
        claim: ClaimRequest,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.run(move |db| db.record_and_claim(&attempts, &claim))
            .await
    }

    async fn deliveries(&self, filter: DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        self.run(move |db| db.deliveries(&filter)).await
    }

    async fn target_queues(&self, now: SystemTime) -> Result<Vec<TargetQueue>, StoreError> {
        self.run(move |db| db.target_queues(now)).await
    }

    async fn retry(&self, selection: Selection, operator: String) -> Result<usize, StoreError> {
        self.run(move |db| db.retry(selection, &operator)).await
    }

    async fn discard(&self, id: i64, operator: String) -> Result<bool, StoreError> {
        self.run(move |db| db.discard(id, &operator)).await
    }

    async fn prune(&self, prune: Prune) -> Result<Pruned, StoreError> {
        self.run(move |db| db.prune(&prune)).await
    }
}

#[cfg(test)]
#[async_trait]
impl super::conformance::Engine for SqliteStore {
    async fn execute(&self, sql: &str) {
        let sql = sql.to_owned();
        self.run(move |db| Ok(db.writer().execute_batch(&sql)?))
            .await
            .expect("the test's statements run");
    }

    async fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        use rusqlite::types::ValueRef;
        let sql = sql.to_owned();
        self.run(move |db| {
            let connection = db.reader();
            let mut statement = connection.prepare(&sql)?;
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..columns)
                        .map(|column| {
                            Ok(match row.get_ref(column)? {
                                ValueRef::Null => None,
                                ValueRef::Integer(n) => Some(n.to_string()),
                                ValueRef::Real(x) => Some(x.to_string()),
                                ValueRef::Text(text) | ValueRef::Blob(text) => {
                                    Some(String::from_utf8_lossy(text).into_owned())
                                }
                            })
                        })
                        .collect()
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .expect("the test's query runs")
    }
}

#[cfg(test)]
mod tests;
