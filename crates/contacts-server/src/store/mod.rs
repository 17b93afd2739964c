//! Storage behind a small interface, so that another engine (PostgreSQL, say)
//! can be added without touching the handlers.

mod sqlite;

use std::fmt;

use contacts_model::{Contact, ContactsRequest, EzpayId, TrackingId, Valid};
use serde::{Deserialize, Serialize};

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

/// One accepted update, with everything the audit trail records.
#[derive(Debug)]
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
}

impl Update {
    /// What makes two requests with one tracking id "the same request": the
    /// customer and the normalised contacts.
    pub fn fingerprint(&self) -> String {
        let contacts = serde_json::to_string(&self.request.contacts).unwrap_or_default();
        format!("{}\n{contacts}", self.ezpay_id)
    }
}

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written, with its outbox and audit rows.
    Applied,
    /// The same request was applied before; nothing written.
    Replayed,
    /// The tracking id was used before for a different request; nothing written.
    TrackingIdReused,
    /// No such customer; nothing written.
    UnknownCustomer,
}

/// A storage fault (not a refusal): logged, answered as a service error.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("database: {e}"))
    }
}

/// The storage the API needs. Methods block: call them from a blocking thread.
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks that the database answers.
    fn ping(&self) -> Result<(), StoreError>;

    /// Creates or updates the customers (from the configuration).
    fn put_customers(&self, customers: &[(EzpayId, CustomerStatus)]) -> Result<(), StoreError>;

    /// Stores contacts for a customer that has none yet (demo data).
    fn seed_contacts(&self, ezpay_id: &EzpayId, contacts: &[Contact]) -> Result<(), StoreError>;

    /// A customer's status, if the customer exists.
    fn customer(&self, ezpay_id: &EzpayId) -> Result<Option<CustomerStatus>, StoreError>;

    /// A customer's stored contacts, billing first.
    fn contacts(&self, ezpay_id: &EzpayId) -> Result<Vec<Contact>, StoreError>;

    /// Applies an update at most once per tracking id, in one transaction with
    /// an outbox row per target and an audit row per contact.
    fn apply(&self, update: &Update) -> Result<Outcome, StoreError>;
}
