//! The PostgreSQL engine: several server instances on one database.
//!
//! Correctness lives in the database, not in a process:
//! - idempotency by the `requests` primary key, inserted with `ON CONFLICT`
//!   in the write transaction: of two instances given one tracking id at the
//!   same moment, one writes and the other waits for its commit and answers
//!   the replay;
//! - a save locks its customer's row first, so that the saves of one
//!   customer commit in the order of their outbox ids, which the relay's
//!   order per (customer, target) relies on;
//! - deliveries are claimed `FOR UPDATE SKIP LOCKED` with a lease
//!   (`outbox.rs`);
//! - migrations run under an advisory lock, so instances starting together
//!   migrate once.
//!
//! Every wait is bounded (the pool's wait, the connect timeout, the
//! statement timeout), so that while the database is away a request fails
//! as [`StoreError::Unavailable`] in bounded time; the pool makes new
//! connections when it is back.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use contacts_model::{Contact, ContactDraft, EzpayId, Field};
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
    Transaction,
};
use tokio::sync::watch;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use super::database::PoolSettings;
use super::migrations::{self, POSTGRES as MIGRATIONS};
use super::sql::{CONTACT_COLUMNS, CUSTOMER_COLUMNS, CUSTOMER_UPSERT, READ_AUDIT_COLUMNS};
use super::{
    Attempted, ClaimRequest, ClaimedDelivery, Customer, CustomerStatus, DeliveryFilter,
    DeliveryRecord, Outcome, Prune, Pruned, Read, Selection, Store, StoreError, TARGETS,
    TargetQueue, Update, from_unix_millis, rows, to_json, unix_millis,
};

mod outbox;
pub mod tls;
mod wake_ups;

/// The advisory lock the migrations run under (any fixed number will do;
/// this is "contacts" in ASCII).
const MIGRATION_LOCK: i64 = 0x636f_6e74_6163_7473;

/// A timestamp as the API shows it: RFC 3339, UTC, milliseconds.
fn rfc3339(column: &str) -> String {
    format!(r#"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#)
}

/// A PostgreSQL database, through a pool of connections.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// For the connection of the wake-ups, outside the pool.
    config: tokio_postgres::Config,
    /// The URL's TLS settings, for that connection too.
    tls: tls::Tls,
}

impl PostgresStore {
    /// The schema version this server brings a database to.
    pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let (url, tls) = tls::split(url).map_err(StoreError::failed)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::failed(format!("the PostgreSQL URL is not valid: {e}")))?;
        config.ssl_mode(tls.ssl_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(settings.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("contacts-server");
        }
        // The URL's own options come after ours, so that they may change the
        // statement timeout; durable commits are not negotiable and come last.
        let options = format!(
            "-c statement_timeout={} -c lock_timeout={} {} -c synchronous_commit=on",
            settings.statement_timeout.as_millis(),
            settings.statement_timeout.as_millis(),
            config.get_options().unwrap_or_default()
        );
        config.options(options);
        let manager = Manager::from_config(
            config.clone(),
            tls.connector().map_err(StoreError::failed)?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.wait_timeout))
            .create_timeout(Some(settings.wait_timeout))
            .recycle_timeout(Some(settings.wait_timeout))
            .build()
            .map_err(|e| StoreError::failed(format!("cannot build the connection pool: {e}")))?;
        let store = Self { pool, config, tls };
        // The first connection: a TLS failure is told with the mode asked for.
        store.migrate().await.map_err(|e| match e {
            StoreError::Unavailable(mut fault) => {
                fault.message = format!("{}: {}", store.tls, fault.message);
                StoreError::Unavailable(fault)
            }
            other => other,
        })?;
        Ok(store)
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// Applies the migrations not yet applied, all in one transaction under
    /// an advisory lock: a second instance waits, then finds nothing to do.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A migration may take longer than a request may.
        tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
            .await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
        let applied: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        let applied = usize::try_from(applied).unwrap_or(0);
        for (version, migration) in migrations::pending(MIGRATIONS, applied)? {
            tx.batch_execute(migration).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&i32::try_from(version).unwrap_or(i32::MAX)],
            )
            .await?;
            tracing::info!(version, "database migrated");
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Whether an error means the database is away (or too busy to answer in
/// time) rather than a fault of ours.
fn is_outage(error: &tokio_postgres::Error) -> bool {
    let Some(code) = error.code() else {
        // No answer from the server: the connection failed or closed.
        return true;
    };
    code.code().starts_with("08") // connection exception
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::QUERY_CANCELED, // the statement timeout
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
        ]
        .contains(code)
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        let message = match error.as_db_error() {
            Some(db) => format!("database: {}: {}", db.code().code(), db.message()),
            None => format!("database: {error}"),
        };
        if is_outage(&error) {
            StoreError::unavailable_by(message, error)
        } else {
            StoreError::failed_by(message, error)
        }
    }
}

/// A column that cannot be read as asked: a fault of ours, not an outage.
fn unreadable(error: tokio_postgres::Error) -> StoreError {
    StoreError::failed_by(format!("database: {error}"), error)
}

impl rows::Row for tokio_postgres::Row {
    fn text(&self, column: usize) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(unreadable)
    }

    fn integer(&self, column: usize) -> Result<Option<i64>, StoreError> {
        let is = |kind: &Type| self.columns().get(column).map(|c| c.type_()) == Some(kind);
        if is(&Type::INT4) {
            let value: Option<i32> = self.try_get(column).map_err(unreadable)?;
            Ok(value.map(i64::from))
        } else {
            self.try_get(column).map_err(unreadable)
        }
    }

    fn real(&self, column: usize) -> Result<Option<f64>, StoreError> {
        self.try_get(column).map_err(unreadable)
    }
}

/// No connection from the pool: the database is away, or every connection
/// is busy for longer than the pool's wait.
fn unavailable(error: PoolError) -> StoreError {
    // The reason is often only in the causes (a TLS handshake's: "invalid
    // peer certificate: UnknownIssuer"), which the errors' own text leaves out.
    let mut message = format!("no database connection: {error}");
    let mut cause = std::error::Error::source(&error);
    while let Some(error) = cause {
        let text = error.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        cause = error.source();
    }
    StoreError::unavailable_by(message, error)
}

async fn read_customer(
    tx: &impl GenericClient,
    ezpay_id: &EzpayId,
    lock: &str,
) -> Result<Option<Customer>, StoreError> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE ezpay_id = $1 {lock}"
        ))
        .await?;
    tx.query_opt(&statement, &[&ezpay_id.as_str()])
        .await?
        .map(|row| rows::customer(&row))
        .transpose()
}

/// A customer's contacts as stored, billing first; not validated, so that
/// contacts stored by an older version or an import stay readable.
async fn read_contacts(
    client: &impl GenericClient,
    ezpay_id: &EzpayId,
) -> Result<Vec<ContactDraft>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE ezpay_id = $1 ORDER BY type"
        ))
        .await?;
    client
        .query(&statement, &[&ezpay_id.as_str()])
        .await?
        .iter()
        .map(rows::contact)
        .collect()
}

/// Contacts column by column, as arrays: the types, then each field in the
/// order of [`Field::ALL`].
struct ContactArrays<'a> {
    types: Vec<Option<&'a str>>,
    fields: Vec<Vec<Option<&'a str>>>,
}

impl<'a> ContactArrays<'a> {
    fn new(contacts: &'a [Contact]) -> Self {
        Self {
            types: contacts
                .iter()
                .map(|c| Some(c.contact_type.as_str()))
                .collect(),
            fields: Field::ALL
                .iter()
                .map(|&field| contacts.iter().map(|c| c.value(field)).collect())
                .collect(),
        }
    }

    /// The statement parameters: the types, then each field.
    fn params(&self) -> impl Iterator<Item = &(dyn ToSql + Sync)> {
        std::iter::once(&self.types as &(dyn ToSql + Sync)).chain(
            self.fields
                .iter()
                .map(|column| column as &(dyn ToSql + Sync)),
        )
    }
}

/// Writes (inserts or replaces) contacts of a customer in one statement.
async fn write_contacts(
    tx: &Transaction<'_>,
    ezpay_id: &EzpayId,
    contacts: &[Contact],
) -> Result<(), StoreError> {
    let arrays: String = (2..=Field::ALL.len() + 2)
        .map(|n| format!("${n}::text[]"))
        .collect::<Vec<_>>()
        .join(", ");
    let statement = tx
        .prepare_cached(&format!(
            "INSERT INTO contacts (ezpay_id, {CONTACT_COLUMNS})
             SELECT $1, * FROM unnest({arrays})
             ON CONFLICT (ezpay_id, type) DO UPDATE SET
                 name = excluded.name, organization_name = excluded.organization_name,
                 email = excluded.email, work_phone = excluded.work_phone,
                 work_phone_extension = excluded.work_phone_extension,
                 mobile_phone = excluded.mobile_phone, fax = excluded.fax, updated_at = now()"
        ))
        .await?;
    let ezpay_id = ezpay_id.as_str();
    let columns = ContactArrays::new(contacts);
    let params: Vec<&(dyn ToSql + Sync)> = std::iter::once(&ezpay_id as &(dyn ToSql + Sync))
        .chain(columns.params())
        .collect();
    tx.execute(&statement, &params).await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn put_customers(
        &self,
        customers: Vec<(EzpayId, CustomerStatus)>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let statement = tx
            .prepare_cached(&format!(
                "INSERT INTO customers (ezpay_id, status) VALUES ($1, $2) {CUSTOMER_UPSERT}"
            ))
            .await?;
        for (ezpay_id, status) in &customers {
            tx.execute(&statement, &[&ezpay_id.as_str(), &status.as_str()])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn seed_contacts(
        &self,
        ezpay_id: EzpayId,
        contacts: Vec<Contact>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locked, so that two instances starting together seed once.
        if read_customer(&tx, &ezpay_id, "FOR UPDATE").await?.is_some()
            && read_contacts(&tx, &ezpay_id).await?.is_empty()
        {
            write_contacts(&tx, &ezpay_id, &contacts).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn customer(&self, ezpay_id: EzpayId) -> Result<Option<Customer>, StoreError> {
        read_customer(&self.client().await?, &ezpay_id, "").await
    }

    async fn contacts(&self, ezpay_id: EzpayId) -> Result<Vec<ContactDraft>, StoreError> {
        read_contacts(&self.client().await?, &ezpay_id).await
    }

    async fn record_read(&self, read: Read) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "INSERT INTO audit ({READ_AUDIT_COLUMNS}) VALUES ('read', $1, $2, $3, $4, $5)"
            ))
            .await?;
        client
            .execute(
                &statement,
                &[
                    &read.tracking_id.as_str(),
                    &read.ezpay_id.as_str(),
                    &read.user,
                    &read.profile_id,
                    &read.source,
                ],
            )
            .await?;
        Ok(())
    }

    async fn apply(&self, update: Update) -> Result<Outcome, StoreError> {
        // The time of acceptance is this instance's clock, truncated to what
        // the payload shows, so that the payload and the rows agree.
        let accepted = from_unix_millis(unix_millis(SystemTime::now()));
        // The version is known inside the save: migration 3's trigger adds it.
        let payload = update.payload(
            &humantime::format_rfc3339_millis(accepted).to_string(),
            None,
        )?;
        let new = to_json(&update.request.contacts)?;
        let fingerprint = update.fingerprint();
        let if_match = update.if_match.map(rows::stored_version);
        let columns = ContactArrays::new(&update.request.contacts);
        let (tracking_id, ezpay_id) = (update.tracking_id.as_str(), update.ezpay_id.as_str());
        let targets = TARGETS.as_slice();
        let params: Vec<&(dyn ToSql + Sync)> = [
            &update.source as &(dyn ToSql + Sync),
            &tracking_id,
            &update.user,
            &ezpay_id,
            &fingerprint,
            &update.profile_id,
            &if_match,
            &accepted,
        ]
        .into_iter()
        .chain(columns.params())
        .chain([
            &new as &(dyn ToSql + Sync),
            &payload,
            &targets,
            &update.traceparent,
        ])
        .collect();
        let placeholders: Vec<String> = (1..=params.len()).map(|n| format!("${n}")).collect();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT result, result_version FROM contacts_save_traced({})",
                placeholders.join(", ")
            ))
            .await?;
        // Outside a transaction block: the statement is its own transaction.
        let row = client.query_one(&statement, &params).await?;
        let (result, version): (&str, Option<i64>) = (row.get(0), row.get(1));
        let version = version.map(rows::version).transpose()?;
        match (result, version) {
            ("applied", Some(version)) => Ok(Outcome::Applied(version)),
            ("replayed", version) => Ok(Outcome::Replayed(version)),
            ("reused", _) => Ok(Outcome::TrackingIdReused),
            ("unknown", _) => Ok(Outcome::UnknownCustomer),
            ("stale", Some(version)) => Ok(Outcome::Stale(version)),
            _ => Err(StoreError::failed(format!(
                "contacts_save answered {result} {version:?}"
            ))),
        }
    }

    async fn claim_due(&self, claim: ClaimRequest) -> Result<Vec<ClaimedDelivery>, StoreError> {
        outbox::round(&mut self.client().await?, &claim.owner, &[], Some(&claim)).await
    }

    async fn next_due(&self, targets: Vec<&'static str>) -> Result<Option<SystemTime>, StoreError> {
        outbox::next_due(&self.client().await?, &targets).await
    }

    async fn record(
        &self,
        owner: Arc<str>,
        attempts: Vec<(i64, Attempted)>,
    ) -> Result<(), StoreError> {
        outbox::round(&mut self.client().await?, &owner, &attempts, None)
            .await
            .map(drop)
    }

    async fn record_and_claim(
        &self,
        attempts: Vec<(i64, Attempted)>,
        claim: ClaimRequest,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        outbox::round(
            &mut self.client().await?,
            &claim.owner,
            &attempts,
            Some(&claim),
        )
        .await
    }

    async fn deliveries(&self, filter: DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        outbox::deliveries(&self.client().await?, &filter).await
    }

    async fn target_queues(&self, now: SystemTime) -> Result<Vec<TargetQueue>, StoreError> {
        outbox::target_queues(&self.client().await?, now).await
    }

    async fn retry(&self, selection: Selection, operator: String) -> Result<usize, StoreError> {
        outbox::retry(&mut self.client().await?, selection, &operator).await
    }

    async fn discard(&self, id: i64, operator: String) -> Result<bool, StoreError> {
        outbox::discard(&mut self.client().await?, id, &operator).await
    }

    async fn prune(&self, prune: Prune) -> Result<Pruned, StoreError> {
        outbox::prune(&self.client().await?, &prune).await
    }

    async fn exchange_wake_ups(
        &self,
        saved: watch::Receiver<()>,
        heard: watch::Sender<()>,
        stop: watch::Receiver<bool>,
    ) {
        wake_ups::exchange(&self.config, &self.tls, saved, &heard, stop).await;
    }
}

#[cfg(test)]
#[async_trait]
impl super::conformance::Engine for PostgresStore {
    async fn execute(&self, sql: &str) {
        let client = self.client().await.expect("a connection");
        client
            .batch_execute(sql)
            .await
            .expect("the test's statements run");
    }

    async fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        use tokio_postgres::SimpleQueryMessage;
        let client = self.client().await.expect("a connection");
        let messages = client
            .simple_query(sql)
            .await
            .expect("the test's query runs");
        messages
            .iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }
}
