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

use std::time::SystemTime;

use async_trait::async_trait;
use contacts_model::{Contact, ContactDraft, ContactType, EzpayId, Field};
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
    Transaction,
};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::database::PoolSettings;
use super::{
    Attempted, ClaimRequest, Customer, CustomerStatus, Delivery, DeliveryFilter, DeliveryRecord,
    Outcome, Prune, Pruned, Read, Selection, Store, StoreError, TARGETS, TargetQueue, Update,
    stored_contact, to_json,
};

mod outbox;

/// The schema, one migration per entry; `schema_migrations` lists those
/// applied. The same tables and meaning as the SQLite engine's migrations.
const MIGRATIONS: &[&str] = &[r"
-- `version`: the version of the customer's contacts, raised by every applied
-- update in its transaction; GET gives it as the ETag and a POST with
-- If-Match is applied only at it.
CREATE TABLE customers (
    ezpay_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'cancelled')),
    version  BIGINT NOT NULL DEFAULT 1
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
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (ezpay_id, type)
);
-- One row per applied request: the idempotency record. Tracking ids are
-- unique per source; the user is kept so that another user of the source
-- sending the same id is refused rather than answered with a replay.
CREATE TABLE requests (
    source      TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    ezpay_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, tracking_id)
);
CREATE INDEX requests_created_at ON requests (created_at);
CREATE TABLE audit (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action       TEXT NOT NULL DEFAULT 'update',
    tracking_id  TEXT NOT NULL,
    ezpay_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    profile_id   TEXT,
    source       TEXT,
    old_contacts TEXT,
    new_contacts TEXT,
    detail       TEXT,
    at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_at ON audit (at);
-- Who read a customer, and who changed it, by customer and time.
CREATE INDEX audit_customer ON audit (ezpay_id, at);
CREATE INDEX audit_tracking_id ON audit (tracking_id);
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_id     TEXT NOT NULL,
    ezpay_id        TEXT NOT NULL,
    target          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0, -- Unix milliseconds
    claimed_by      TEXT,
    claimed_until   BIGINT NOT NULL DEFAULT 0, -- Unix milliseconds
    last_status     INTEGER,
    last_error      TEXT,
    finished_at     TIMESTAMPTZ                -- delivered or discarded
);
CREATE INDEX outbox_tracking_id ON outbox (tracking_id);
-- The head of each (customer, target) queue, and the rows due.
CREATE INDEX outbox_queue ON outbox (ezpay_id, target, id) WHERE state IN ('pending', 'dead');
CREATE INDEX outbox_due ON outbox (target, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE state IN ('delivered', 'discarded');
"];

/// The advisory lock the migrations run under (any fixed number will do;
/// this is "contacts" in ASCII).
const MIGRATION_LOCK: i64 = 0x636f_6e74_6163_7473;

const CONTACT_COLUMNS: &str =
    "type, name, organization_name, email, work_phone, work_phone_extension, mobile_phone, fax";

/// A timestamp as the API shows it: RFC 3339, UTC, milliseconds.
fn rfc3339(column: &str) -> String {
    format!(r#"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#)
}

/// A PostgreSQL database, through a pool of connections.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// The schema version this server brings a database to.
    pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::failed(format!("the PostgreSQL URL is not valid: {e}")))?;
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
            config,
            NoTls,
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
        let store = Self { pool };
        store.migrate().await?;
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
        if applied > MIGRATIONS.len() {
            return Err(StoreError::failed(format!(
                "the database has schema version {applied}, newer than this server's {}",
                MIGRATIONS.len()
            )));
        }
        for (version, migration) in (1_i32..).zip(MIGRATIONS).skip(applied) {
            tx.batch_execute(migration).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
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
            StoreError::Unavailable(message)
        } else {
            StoreError::Failed(message)
        }
    }
}

/// No connection from the pool: the database is away, or every connection
/// is busy for longer than the pool's wait.
fn unavailable(error: PoolError) -> StoreError {
    StoreError::Unavailable(format!("no database connection: {error}"))
}

fn customer_sql(lock: &str) -> String {
    format!("SELECT status, version FROM customers WHERE ezpay_id = $1 {lock}")
}

fn contacts_sql() -> String {
    format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE ezpay_id = $1 ORDER BY type")
}

async fn read_customer(
    tx: &impl GenericClient,
    ezpay_id: &EzpayId,
    lock: &str,
) -> Result<Option<Customer>, StoreError> {
    let statement = tx.prepare_cached(&customer_sql(lock)).await?;
    tx.query_opt(&statement, &[&ezpay_id.as_str()])
        .await?
        .map(|row| {
            let (status, version): (String, i64) = (row.get(0), row.get(1));
            Ok(Customer {
                status: CustomerStatus::parse(&status).ok_or_else(|| {
                    StoreError::failed(format!("unknown customer status '{status}'"))
                })?,
                version: u64::try_from(version).map_err(|_| {
                    StoreError::failed(format!("negative contacts version {version}"))
                })?,
            })
        })
        .transpose()
}

/// A customer's contacts as stored, billing first; not validated, so that
/// contacts stored by an older version or an import stay readable.
async fn read_contacts(
    client: &impl GenericClient,
    ezpay_id: &EzpayId,
) -> Result<Vec<ContactDraft>, StoreError> {
    let statement = client.prepare_cached(&contacts_sql()).await?;
    Ok(client
        .query(&statement, &[&ezpay_id.as_str()])
        .await?
        .iter()
        .map(|row| {
            let values = (1..=Field::ALL.len()).map(|column| row.get::<_, Option<String>>(column));
            stored_contact(row.get(0), values)
        })
        .collect())
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
    // Column by column: the types, then each field.
    let types: Vec<Option<&str>> = contacts
        .iter()
        .map(|c| Some(c.contact_type.as_str()))
        .collect();
    let fields: Vec<Vec<Option<&str>>> = Field::ALL
        .iter()
        .map(|&field| contacts.iter().map(|c| c.value(field)).collect())
        .collect();
    let ezpay_id = ezpay_id.as_str();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ezpay_id, &types];
    params.extend(fields.iter().map(|column| column as &(dyn ToSql + Sync)));
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
        customers: &[(EzpayId, CustomerStatus)],
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let statement = tx
            .prepare_cached(
                "INSERT INTO customers (ezpay_id, status) VALUES ($1, $2)
                 ON CONFLICT (ezpay_id) DO UPDATE SET status = excluded.status
                 WHERE customers.status IS DISTINCT FROM excluded.status",
            )
            .await?;
        for (ezpay_id, status) in customers {
            tx.execute(&statement, &[&ezpay_id.as_str(), &status.as_str()])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn seed_contacts(
        &self,
        ezpay_id: &EzpayId,
        contacts: &[Contact],
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locked, so that two instances starting together seed once.
        if read_customer(&tx, ezpay_id, "FOR UPDATE").await?.is_some()
            && read_contacts(&tx, ezpay_id).await?.is_empty()
        {
            write_contacts(&tx, ezpay_id, contacts).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn customer(&self, ezpay_id: &EzpayId) -> Result<Option<Customer>, StoreError> {
        read_customer(&self.client().await?, ezpay_id, "").await
    }

    async fn contacts(&self, ezpay_id: &EzpayId) -> Result<Vec<ContactDraft>, StoreError> {
        read_contacts(&self.client().await?, ezpay_id).await
    }

    async fn record_read(&self, read: &Read) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO audit (action, tracking_id, ezpay_id, user_name, profile_id, source)
                 VALUES ('read', $1, $2, $3, $4, $5)",
            )
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

    async fn apply(&self, update: &Update) -> Result<Outcome, StoreError> {
        let fingerprint = update.fingerprint();
        let (tracking_id, ezpay_id) = (update.tracking_id.as_str(), update.ezpay_id.as_str());
        let mut client = self.client().await?;
        // Dropping the transaction without commit rolls it back: every early
        // return below leaves the database as it was.
        let tx = client.transaction().await?;
        // Statements on one connection run one after the other, in the order
        // sent; each batch below is sent at once (one round trip), in order.
        // First: the customer's row is locked, so that saves of one customer
        // commit one after the other, in the order of their outbox ids; the
        // tracking id's record is inserted, and of two transactions
        // inserting one tracking id the second waits for the first to end,
        // then inserts nothing (or, if the first rolled back, inserts); the
        // contacts as they were, for the audit trail.
        let lock = "FOR NO KEY UPDATE";
        let insert = tx
            .prepare_cached(&format!(
                "INSERT INTO requests (source, tracking_id, user_name, ezpay_id, fingerprint)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (source, tracking_id) DO NOTHING
                 RETURNING {}",
                rfc3339("created_at")
            ))
            .await?;
        // Prepared (or found in the cache) before the batch, so that each
        // query of it is sent at its first poll, in the order written.
        for sql in [customer_sql(lock), contacts_sql()] {
            tx.prepare_cached(&sql).await?;
        }
        let (customer, inserted, old) = tokio::try_join!(
            read_customer(&tx, &update.ezpay_id, lock),
            async {
                let row = tx
                    .query_opt(
                        &insert,
                        &[
                            &update.source,
                            &tracking_id,
                            &update.user,
                            &ezpay_id,
                            &fingerprint,
                        ],
                    )
                    .await?;
                Ok::<_, StoreError>(row.map(|row| row.get::<_, String>(0)))
            },
            read_contacts(&tx, &update.ezpay_id),
        )?;
        let Some(accepted_at) = inserted else {
            let earlier = tx
                .query_opt(
                    "SELECT fingerprint, user_name FROM requests WHERE source = $1 AND tracking_id = $2",
                    &[&update.source, &tracking_id],
                )
                .await?
                .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)));
            return match earlier {
                // Another user's request is never replayed to this one, even
                // with the same body: it is not their request.
                Some((earlier, user)) if earlier == fingerprint && user == update.user => {
                    Ok(Outcome::Replayed)
                }
                Some(_) => Ok(Outcome::TrackingIdReused),
                // Pruned between the two statements: the window has passed.
                None => Err(StoreError::Unavailable(
                    "the tracking id's record changed while it was read".into(),
                )),
            };
        };
        let Some(customer) = customer else {
            return Ok(Outcome::UnknownCustomer);
        };
        // The customer's row is locked: no other update can come between
        // this comparison and the writes below.
        if update.if_match.is_some_and(|v| v != customer.version) {
            return Ok(Outcome::Stale(customer.version));
        }
        let version = customer.version + 1;
        let touched: Vec<ContactType> = update
            .request
            .contacts
            .iter()
            .map(|c| c.contact_type)
            .collect();
        let old: Vec<ContactDraft> = old
            .into_iter()
            .filter(|c| {
                c.contact_type
                    .trimmed()
                    .and_then(ContactType::parse)
                    .is_some_and(|t| touched.contains(&t))
            })
            .collect();
        // Then the writes, in one batch.
        let audit = tx
            .prepare_cached(
                "INSERT INTO audit (tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        let outbox = tx
            .prepare_cached(
                "INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at)
                 SELECT $1, $2, target, $3, now() FROM unnest($4::text[]) WITH ORDINALITY AS t (target, n)
                 ORDER BY n",
            )
            .await?;
        let (old, new) = (to_json(&old)?, to_json(&update.request.contacts)?);
        let payload = update.payload(&accepted_at)?;
        let audit_row: [&(dyn ToSql + Sync); 7] = [
            &tracking_id,
            &ezpay_id,
            &update.user,
            &update.profile_id,
            &update.source,
            &old,
            &new,
        ];
        let outbox_rows: [&(dyn ToSql + Sync); 4] =
            [&tracking_id, &ezpay_id, &payload, &TARGETS.as_slice()];
        let raise = tx
            .prepare_cached("UPDATE customers SET version = $1 WHERE ezpay_id = $2")
            .await?;
        let stored_version = i64::try_from(version).unwrap_or(i64::MAX);
        tokio::try_join!(
            async { Ok(tx.execute(&raise, &[&stored_version, &ezpay_id]).await?) },
            write_contacts(&tx, &update.ezpay_id, &update.request.contacts),
            async { Ok(tx.execute(&audit, &audit_row).await?) },
            async { Ok(tx.execute(&outbox, &outbox_rows).await?) },
        )?;
        tx.commit().await?;
        Ok(Outcome::Applied(version))
    }

    async fn claim_due(&self, claim: &ClaimRequest<'_>) -> Result<Vec<Delivery>, StoreError> {
        outbox::claim_due(&mut self.client().await?, claim).await
    }

    async fn next_due(&self, targets: &[&str]) -> Result<Option<SystemTime>, StoreError> {
        outbox::next_due(&self.client().await?, targets).await
    }

    async fn record(&self, owner: &str, attempts: &[(i64, Attempted)]) -> Result<(), StoreError> {
        outbox::record(&mut self.client().await?, owner, attempts).await
    }

    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        outbox::deliveries(&self.client().await?, filter).await
    }

    async fn target_queues(&self, now: SystemTime) -> Result<Vec<TargetQueue>, StoreError> {
        outbox::target_queues(&self.client().await?, now).await
    }

    async fn retry(&self, selection: Selection, operator: &str) -> Result<usize, StoreError> {
        outbox::retry(&mut self.client().await?, selection, operator).await
    }

    async fn discard(&self, id: i64, operator: &str) -> Result<bool, StoreError> {
        outbox::discard(&mut self.client().await?, id, operator).await
    }

    async fn prune(&self, prune: &Prune) -> Result<Pruned, StoreError> {
        outbox::prune(&self.client().await?, prune).await
    }
}
