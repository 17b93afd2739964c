//! The outbox as the relay and the operators see it: deliveries, their
//! states, claims with a lease, and what an attempt came to.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use contacts_model::EzpayId;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not yet delivered; retried until delivered or dead.
    Pending,
    /// The target answered 2xx.
    Delivered,
    /// Given up (a refusal, or too many attempts): kept for an operator, and
    /// it holds back the later deliveries of its customer to its target.
    Dead,
    /// Dropped by an operator; it holds back nothing.
    Discarded,
}

impl DeliveryState {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Discarded => "discarded",
        }
    }

    /// Reads the stored (or typed) spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead, Self::Discarded]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery claimed for sending (an outbox row; not to be confused with
/// the delivery settings of `config`).
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The outbox row; ids grow in acceptance order.
    pub id: i64,
    /// The update's tracking id.
    pub tracking_id: String,
    /// The customer updated.
    pub ezpay_id: String,
    /// `MAS` or `MDM`.
    pub target: String,
    /// The JSON body to send, exactly as stored at acceptance.
    pub payload: String,
    /// The `Idempotency-Key` to send, as stored at acceptance.
    pub idempotency_key: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The W3C `traceparent` of the request that saved the update (none for
    /// a delivery queued before traces were kept).
    pub traceparent: Option<String>,
}

/// What a relay asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Who claims: the claim is theirs until the lease ends.
    pub owner: Arc<str>,
    /// The targets this relay sends to.
    pub targets: Vec<&'static str>,
    /// The current time.
    pub now: SystemTime,
    /// At most this many deliveries.
    pub limit: usize,
    /// How long the claim holds; after it, another relay may take the delivery.
    pub lease: Duration,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// A 2xx answer.
    Delivered {
        /// The answer's status.
        status: u16,
    },
    /// A failure worth another attempt at `at`.
    Retry {
        /// When to try again.
        at: SystemTime,
        /// The answer's status, if there was an answer.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Given up.
    Dead {
        /// The answer's status, if there was an answer.
        status: Option<u16>,
        /// What went wrong (for a refusal, the start of the answer).
        error: String,
    },
}

/// One delivery as an operator lists it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: i64,
    pub tracking_id: String,
    pub target: String,
    pub ezpay_id: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When the update was accepted (RFC 3339, UTC).
    pub accepted_at: String,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub customer: Option<EzpayId>,
    /// At most this many, oldest first.
    pub limit: usize,
}

/// Which deliveries an operator retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// One delivery, dead or pending (then due at once).
    One(i64),
    /// Every dead delivery.
    AllDead,
}

/// One target's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetQueue {
    pub target: String,
    pub pending: u64,
    /// How long ago the oldest pending delivery was accepted.
    pub oldest_pending_age: Option<Duration>,
    pub dead: u64,
}

/// What the pruning deletes: rows older than each cutoff, at most `batch` of
/// each kind per call.
#[derive(Debug, Clone, Copy)]
pub struct Prune {
    /// Idempotency records accepted before this.
    pub requests_before: SystemTime,
    /// Delivered and discarded deliveries finished before this.
    pub deliveries_before: SystemTime,
    /// Audit rows written before this.
    pub audit_before: SystemTime,
    pub batch: usize,
}

/// How many rows one pruning call deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub requests: usize,
    pub deliveries: usize,
    pub audit: usize,
}

/// Milliseconds since the Unix epoch, as the stores keep times to compare.
pub fn unix_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The inverse of [`unix_millis`].
pub fn from_unix_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}
