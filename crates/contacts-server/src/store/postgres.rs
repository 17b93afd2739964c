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
use contacts_model::{Contact, ContactDraft, EzpayId, Field};
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
    Transaction,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::database::PoolSettings;
use super::{
    Attempted, ClaimRequest, Customer, CustomerStatus, Delivery, DeliveryFilter, DeliveryRecord,
    Outcome, Prune, Pruned, Read, Selection, Store, StoreError, TARGETS, TargetQueue, Update,
    from_unix_millis, stored_contact, to_json, unix_millis,
};

mod outbox;
pub mod tls;

/// The schema, one migration per entry; `schema_migrations` lists those
/// applied. The same tables and meaning as the SQLite engine's migrations.
const MIGRATIONS: &[&str] = &[
    r"
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
",
    r"
-- The contacts version each applied request produced: a replay answers with
-- the ETag of the first answer. Empty for requests applied before.
ALTER TABLE requests ADD COLUMN version BIGINT;

-- A save in one statement: one round trip and one durable commit, called
-- outside a transaction block. `result` is 'applied' (at `result_version`),
-- 'replayed' (the version the first answer gave, if known), 'reused',
-- 'unknown' or 'stale' (the current version); all but 'applied' write
-- nothing. Each statement below sees what committed before it began.
-- The customer's row is locked first, so that saves of one customer commit
-- one after the other, in the order of their outbox ids. Of two saves of one
-- tracking id, the second waits for the first's commit on that lock or on
-- the request record's key, then finds the record and is a replay.
CREATE FUNCTION contacts_save(
    p_source text, p_tracking_id text, p_user_name text, p_ezpay_id text,
    p_fingerprint text, p_profile_id text, p_if_match bigint, p_accepted_at timestamptz,
    p_types text[], p_names text[], p_organization_names text[], p_emails text[],
    p_work_phones text[], p_work_phone_extensions text[], p_mobile_phones text[],
    p_faxes text[], p_new_contacts text, p_payload text, p_targets text[],
    OUT result text, OUT result_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    locked_version bigint;
    earlier record;
BEGIN
    SELECT c.version INTO locked_version FROM customers c
    WHERE c.ezpay_id = p_ezpay_id FOR NO KEY UPDATE;
    IF FOUND AND (p_if_match IS NULL OR p_if_match = locked_version) THEN
        INSERT INTO requests (source, tracking_id, user_name, ezpay_id, fingerprint, created_at, version)
        VALUES (p_source, p_tracking_id, p_user_name, p_ezpay_id, p_fingerprint, p_accepted_at, locked_version + 1)
        ON CONFLICT (source, tracking_id) DO NOTHING;
        IF FOUND THEN
            -- The touched contacts as they were, for the audit trail, before
            -- they are written.
            INSERT INTO audit (tracking_id, ezpay_id, user_name, profile_id, source,
                               old_contacts, new_contacts, at)
            SELECT p_tracking_id, p_ezpay_id, p_user_name, p_profile_id, p_source,
                   coalesce(json_agg(json_strip_nulls(json_build_object(
                       'type', o.type, 'name', o.name,
                       'organization_name', o.organization_name, 'email', o.email,
                       'work_phone', o.work_phone,
                       'work_phone_extension', o.work_phone_extension,
                       'mobile_phone', o.mobile_phone, 'fax', o.fax)) ORDER BY o.type), '[]'),
                   p_new_contacts, p_accepted_at
            FROM contacts o WHERE o.ezpay_id = p_ezpay_id AND o.type = ANY (p_types);
            INSERT INTO contacts (ezpay_id, type, name, organization_name, email, work_phone,
                                  work_phone_extension, mobile_phone, fax)
            SELECT p_ezpay_id, * FROM unnest(p_types, p_names, p_organization_names, p_emails,
                p_work_phones, p_work_phone_extensions, p_mobile_phones, p_faxes)
            ON CONFLICT (ezpay_id, type) DO UPDATE SET
                name = excluded.name, organization_name = excluded.organization_name,
                email = excluded.email, work_phone = excluded.work_phone,
                work_phone_extension = excluded.work_phone_extension,
                mobile_phone = excluded.mobile_phone, fax = excluded.fax, updated_at = now();
            UPDATE customers SET version = locked_version + 1 WHERE ezpay_id = p_ezpay_id;
            INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at)
            SELECT p_tracking_id, p_ezpay_id, t.target, p_payload, p_accepted_at
            FROM unnest(p_targets) WITH ORDINALITY AS t (target, n) ORDER BY t.n;
            result := 'applied';
            result_version := locked_version + 1;
            RETURN;
        END IF;
    END IF;
    -- Refused, or seen before: nothing is written. A tracking id seen before
    -- is answered as such whatever else is wrong with the request. (A record
    -- of another customer that another save is inserting right now is not
    -- waited for: this request is refused either way.)
    SELECT r.fingerprint, r.user_name, r.version INTO earlier FROM requests r
    WHERE r.source = p_source AND r.tracking_id = p_tracking_id;
    IF FOUND THEN
        -- Another user's request is never replayed to this one, even with
        -- the same body: it is not their request.
        IF earlier.fingerprint = p_fingerprint AND earlier.user_name = p_user_name THEN
            result := 'replayed';
            result_version := earlier.version;
        ELSE
            result := 'reused';
        END IF;
    ELSIF locked_version IS NULL THEN
        result := 'unknown';
    ELSIF p_if_match IS DISTINCT FROM locked_version THEN
        result := 'stale';
        result_version := locked_version;
    ELSE
        -- The record that kept this one out was pruned meanwhile.
        RAISE EXCEPTION 'the tracking id''s record changed while it was read'
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
",
];

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
            config,
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
        let store = Self { pool };
        // The first connection: a TLS failure is told with the mode asked for.
        store.migrate().await.map_err(|e| match e {
            StoreError::Unavailable(why) => StoreError::Unavailable(format!("{tls}: {why}")),
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
    StoreError::Unavailable(message)
}

async fn read_customer(
    tx: &impl GenericClient,
    ezpay_id: &EzpayId,
    lock: &str,
) -> Result<Option<Customer>, StoreError> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT status, version FROM customers WHERE ezpay_id = $1 {lock}"
        ))
        .await?;
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
    let statement = client
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE ezpay_id = $1 ORDER BY type"
        ))
        .await?;
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
        // The time of acceptance is this instance's clock, truncated to what
        // the payload shows, so that the payload and the rows agree.
        let accepted = from_unix_millis(unix_millis(SystemTime::now()));
        let payload = update.payload(&humantime::format_rfc3339_millis(accepted).to_string())?;
        let new = to_json(&update.request.contacts)?;
        let fingerprint = update.fingerprint();
        let if_match = update
            .if_match
            .map(|v| i64::try_from(v).unwrap_or(i64::MAX));
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
        .chain([&new as &(dyn ToSql + Sync), &payload, &targets])
        .collect();
        let placeholders: Vec<String> = (1..=params.len()).map(|n| format!("${n}")).collect();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT result, result_version FROM contacts_save({})",
                placeholders.join(", ")
            ))
            .await?;
        // Outside a transaction block: the statement is its own transaction.
        let row = client.query_one(&statement, &params).await?;
        let (result, version): (&str, Option<i64>) = (row.get(0), row.get(1));
        let version = version
            .map(u64::try_from)
            .transpose()
            .map_err(|_| StoreError::failed(format!("negative contacts version {version:?}")))?;
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
