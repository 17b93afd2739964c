//! Storage behind a small interface with two engines: SQLite (one file, one
//! process) and PostgreSQL (several server instances on one database).
//!
//! Each engine has its own module (`sqlite`, `postgres`, each with its
//! outbox queries); what they share is written once: the types here and in
//! `outbox`, the row conversions and audit texts (`rows`), the SQL that reads
//! alike in both dialects (`sql`), and the list of migrations (`migrations`).
//! The `conformance` tests run every engine through the same cases.

#[cfg(test)]
mod conformance;
mod database;
mod migrations;
mod outbox;
mod postgres;
mod rows;
mod sql;
mod sqlite;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use contacts_model::{Contact, ContactDraft, ContactsRequest, EzpayId, TrackingId, Valid};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use database::{Database, OpenOptions, PoolSettings};
pub use outbox::{
    Attempted, ClaimRequest, ClaimedDelivery, DeliveryFilter, DeliveryRecord, DeliveryState, Prune,
    Pruned, Selection, TargetQueue, from_unix_millis, unix_millis,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The targets that receive every accepted update, through the outbox.
pub const TARGETS: [&str; 2] = ["MAS", "MDM"];

/// A customer's account status. Every status is updatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerStatus {
    /// In service.
    Active,
    /// Suspended.
    Inactive,
    /// Closed.
    Cancelled,
}

impl CustomerStatus {
    /// The stored and serialised spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Inactive => "inactive",
            CustomerStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Inactive, Self::Cancelled]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// A customer as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Customer {
    /// The account status.
    pub status: CustomerStatus,
    /// The version of its contacts: raised by every applied update, given
    /// as the `ETag` and compared with `If-Match`.
    pub version: u64,
}

/// One accepted update, with everything the audit trail records.
#[derive(Debug, Clone)]
pub struct Update {
    /// The idempotency key.
    pub tracking_id: TrackingId,
    /// The customer updated.
    pub ezpay_id: EzpayId,
    /// The user who sent it.
    pub user: String,
    /// The ProfileId it came through.
    pub profile_id: String,
    /// The source of that profile.
    pub source: String,
    /// The validated contacts.
    pub request: Valid<ContactsRequest>,
    /// The version the contacts must still be at (`If-Match`), if any.
    pub if_match: Option<u64>,
    /// The request's W3C `traceparent`, stored with each delivery so that
    /// the relay's attempts join its trace.
    pub traceparent: String,
}

impl Update {
    /// What makes two requests with one tracking id "the same request": the
    /// customer and the normalised contacts.
    pub fn fingerprint(&self) -> String {
        let contacts = serde_json::to_string(&self.request.contacts).unwrap_or_default();
        format!("{}\n{contacts}", self.ezpay_id)
    }

    /// The body each target receives, exactly as it will be sent; with the
    /// version of the customer's contacts it brought, where the engine knows
    /// it before the save (the PostgreSQL engine's trigger adds it as the
    /// last member, where the keys in their order put it too).
    fn payload(&self, accepted_at: &str, version: Option<u64>) -> Result<String, StoreError> {
        let mut payload = serde_json::json!({
            "request_tracking_id": self.tracking_id,
            "ezpay_id": self.ezpay_id,
            "source": self.source,
            "profile_id": self.profile_id,
            "user": self.user,
            "accepted_at": accepted_at,
            "contacts": self.request.contacts,
        });
        if let Some(version) = version {
            payload["version"] = version.into();
        }
        to_json(&payload)
    }

    /// The `Idempotency-Key` of the update's delivery to `target`:
    /// `{source}:{tracking id}:{eZpayID}.{version}:{TARGET}`. The customer and
    /// the version its contacts reached name the update, so a tracking id
    /// used again after the idempotency window never repeats a key. The
    /// PostgreSQL engine's migration 3 writes the same.
    fn idempotency_key(&self, version: u64, target: &str) -> String {
        format!(
            "{}:{}:{}.{version}:{target}",
            self.source, self.tracking_id, self.ezpay_id
        )
    }
}

/// A read of a customer's contacts, for the audit trail.
#[derive(Debug, Clone)]
pub struct Read {
    /// The tracking id of the GET.
    pub tracking_id: TrackingId,
    /// The customer read.
    pub ezpay_id: EzpayId,
    /// The user who read.
    pub user: String,
    /// The ProfileId they read through.
    pub profile_id: String,
    /// The source of that profile.
    pub source: String,
}

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written, with its outbox and audit rows; the contacts are now at this version.
    Applied(u64),
    /// The same request was applied before, bringing the contacts to this
    /// version (unknown for a request applied before versions were kept);
    /// nothing written.
    Replayed(Option<u64>),
    /// The tracking id was used before by this source for a different
    /// request, or by another user of it; nothing written.
    TrackingIdReused,
    /// No such customer; nothing written.
    UnknownCustomer,
    /// The contacts are no longer at the version of `If-Match`, but at this
    /// one; nothing written.
    Stale(u64),
}

/// A storage fault (not a refusal): logged, answered as a service error.
/// Its text names the cause; the driver's error, where there is one, is its
/// [`source`](std::error::Error::source).
#[derive(Debug)]
pub enum StoreError {
    /// The database cannot be reached now (down, restarting, out of
    /// connections, too slow to answer): worth another try shortly.
    Unavailable(Fault),
    /// Any other fault.
    Failed(Fault),
}

/// What went wrong, and the error it came from.
#[derive(Debug)]
pub struct Fault {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Fault {
    fn new(message: String, source: Option<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { message, source }
    }
}

impl StoreError {
    /// A fault that is not an outage, with no error of its own.
    pub fn failed(message: impl Into<String>) -> Self {
        StoreError::Failed(Fault::new(message.into(), None))
    }

    /// A fault that is not an outage, caused by `source`.
    fn failed_by(message: String, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Failed(Fault::new(message, Some(Box::new(source))))
    }

    /// An outage, caused by `source`.
    fn unavailable_by(
        message: String,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Unavailable(Fault::new(message, Some(Box::new(source))))
    }

    fn fault(&self) -> &Fault {
        match self {
            StoreError::Unavailable(fault) | StoreError::Failed(fault) => fault,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(fault) => write!(f, "database unavailable: {}", fault.message),
            StoreError::Failed(fault) => f.write_str(&fault.message),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.fault().source.as_deref()?;
        Some(source)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::failed_by(format!("database: {e}"), e)
    }
}

/// Serialises a value stored as JSON text.
fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::failed_by(format!("cannot serialise: {e}"), e))
}

/// The queue of every target, those with nothing queued included, in the
/// order of [`TARGETS`].
pub fn every_target(queues: Vec<TargetQueue>) -> Vec<TargetQueue> {
    TARGETS
        .iter()
        .map(|&target| {
            queues
                .iter()
                .find(|queue| queue.target == target)
                .cloned()
                .unwrap_or_else(|| TargetQueue {
                    target: target.to_owned(),
                    pending: 0,
                    oldest_pending_age: None,
                    dead: 0,
                })
        })
        .collect()
}

/// The storage the API needs. An engine whose driver blocks runs it on a
/// blocking thread inside its own methods, so callers only `.await` them;
/// every method is given what it needs to own, so that such an engine can
/// move it to that thread.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates or updates the customers (from the configuration).
    async fn put_customers(
        &self,
        customers: Vec<(EzpayId, CustomerStatus)>,
    ) -> Result<(), StoreError>;

    /// Stores contacts for a customer that has none yet (demo data).
    async fn seed_contacts(
        &self,
        ezpay_id: EzpayId,
        contacts: Vec<Contact>,
    ) -> Result<(), StoreError>;

    /// A customer's status and contacts version, if the customer exists.
    async fn customer(&self, ezpay_id: EzpayId) -> Result<Option<Customer>, StoreError>;

    /// A customer's stored contacts, billing first, exactly as stored: not
    /// validated again, since an older version or an import may have stored
    /// what today's validation refuses.
    async fn contacts(&self, ezpay_id: EzpayId) -> Result<Vec<ContactDraft>, StoreError>;

    /// Records a read of a customer's contacts in the audit trail.
    async fn record_read(&self, read: Read) -> Result<(), StoreError>;

    /// Applies an update at most once per (source, tracking id), in one
    /// transaction with an outbox row per target and an audit row, raising
    /// the customer's contacts version. In this order: a (source, tracking
    /// id) seen before is a replay from the same user of the same request,
    /// else [`Outcome::TrackingIdReused`]; an unknown customer is refused; an
    /// `if_match` that is not the current version is stale. All but the
    /// first write nothing.
    async fn apply(&self, update: Update) -> Result<Outcome, StoreError>;

    /// Claims, for `claim.owner` until the lease ends, the deliveries due now:
    /// of each (customer, target) only the oldest one not yet delivered or
    /// discarded, and only if it is pending, due and not claimed by anyone.
    /// So a pending or dead delivery holds back the later ones of its customer
    /// and target, and no one else. Oldest first.
    async fn claim_due(&self, claim: ClaimRequest) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// When the next delivery of `targets` that [`Store::claim_due`] could
    /// return becomes due (a time past means now), if there is any.
    async fn next_due(&self, targets: Vec<&'static str>) -> Result<Option<SystemTime>, StoreError>;

    /// Records what attempts came to, by delivery id, in one transaction, and
    /// ends their claims; an attempt whose claim is no longer `owner`'s is
    /// ignored (an operator discarded the delivery, or the lease ran out and
    /// another relay took it).
    async fn record(
        &self,
        owner: Arc<str>,
        attempts: Vec<(i64, Attempted)>,
    ) -> Result<(), StoreError>;

    /// [`Store::record`]s `attempts` under `claim.owner`, then
    /// [`Store::claim_due`]s: an engine with a single writer does both in
    /// one transaction.
    async fn record_and_claim(
        &self,
        attempts: Vec<(i64, Attempted)>,
        claim: ClaimRequest,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        if !attempts.is_empty() {
            self.record(Arc::clone(&claim.owner), attempts).await?;
        }
        self.claim_due(claim).await
    }

    /// The deliveries that match, oldest first.
    async fn deliveries(&self, filter: DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError>;

    /// Pending and dead counts and the oldest pending age of every target
    /// that has any.
    async fn target_queues(&self, now: SystemTime) -> Result<Vec<TargetQueue>, StoreError>;

    /// Makes dead (or, by id, pending) deliveries due again with a fresh count
    /// of attempts, and records it in the audit trail under `operator`.
    /// Returns how many.
    async fn retry(&self, selection: Selection, operator: String) -> Result<usize, StoreError>;

    /// Discards a pending or dead delivery, so that it holds back nothing,
    /// and records it in the audit trail. Returns whether there was one.
    async fn discard(&self, id: i64, operator: String) -> Result<bool, StoreError>;

    /// Deletes one batch of each kind of expired row; pending and dead
    /// deliveries are never deleted.
    async fn prune(&self, prune: Prune) -> Result<Pruned, StoreError>;

    /// Carries wake-ups between the instances that share the database until
    /// `stop`: each change of `saved` (this instance's saves, sent after
    /// their commit) is told to the others, coalesced and without a
    /// payload, and each one told by another changes `heard`. Returns at
    /// once where the database has one instance (SQLite).
    async fn exchange_wake_ups(
        &self,
        saved: watch::Receiver<()>,
        heard: watch::Sender<()>,
        stop: watch::Receiver<bool>,
    ) {
        let _ = (saved, heard, stop);
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::StoreError;

    #[test]
    fn a_store_error_keeps_its_source() {
        let error = StoreError::from(rusqlite::Error::InvalidQuery);
        let source = error.source().expect("a source");
        assert!(source.downcast_ref::<rusqlite::Error>().is_some());
        assert!(error.to_string().ends_with(&source.to_string()), "{error}");
        assert!(StoreError::failed("no cause").source().is_none());
    }
}
