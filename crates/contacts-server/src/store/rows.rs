//! What both engines make of their rows, and the texts they write to the
//! audit trail, written once: pure functions over a row of either driver,
//! read by position in the order of the column lists of `sql.rs`.

use std::time::{Duration, SystemTime};

use contacts_model::{ContactDraft, Field};

use super::{
    ClaimedDelivery, Customer, CustomerStatus, DeliveryRecord, DeliveryState, StoreError,
    TargetQueue, unix_millis,
};

/// A row of either driver, column by column (from 0). Each engine reads its
/// own column types; a NULL is `None`.
pub(super) trait Row {
    /// A text column.
    fn text(&self, column: usize) -> Result<Option<String>, StoreError>;

    /// An integer column of any width.
    fn integer(&self, column: usize) -> Result<Option<i64>, StoreError>;

    /// A floating-point column.
    fn real(&self, column: usize) -> Result<Option<f64>, StoreError>;

    /// A text column that is never NULL.
    fn string(&self, column: usize) -> Result<String, StoreError> {
        self.text(column)?.ok_or_else(|| null(column))
    }

    /// An integer column that is never NULL.
    fn int(&self, column: usize) -> Result<i64, StoreError> {
        self.integer(column)?.ok_or_else(|| null(column))
    }
}

fn null(column: usize) -> StoreError {
    StoreError::failed(format!("column {column} is unexpectedly NULL"))
}

/// A customer ([`super::sql::CUSTOMER_COLUMNS`]).
pub(super) fn customer(row: &impl Row) -> Result<Customer, StoreError> {
    let status = row.string(0)?;
    Ok(Customer {
        status: CustomerStatus::parse(&status)
            .ok_or_else(|| StoreError::failed(format!("unknown customer status '{status}'")))?,
        version: version(row.int(1)?)?,
    })
}

/// A contacts version as stored: never negative.
pub(super) fn version(stored: i64) -> Result<u64, StoreError> {
    u64::try_from(stored)
        .map_err(|_| StoreError::failed(format!("negative contacts version {stored}")))
}

/// A contacts version as stored.
pub(super) fn stored_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// A contact as stored ([`super::sql::CONTACT_COLUMNS`]); not validated again, so
/// that contacts stored by an older version or an import stay readable.
pub(super) fn contact(row: &impl Row) -> Result<ContactDraft, StoreError> {
    let mut draft = ContactDraft {
        contact_type: row.string(0)?.into(),
        ..ContactDraft::default()
    };
    for (column, field) in (1..).zip(Field::ALL) {
        draft.set(field, row.text(column)?);
    }
    Ok(draft)
}

/// A delivery's count of attempts. Each attempt adds one, so the count is
/// never negative and never near `u32::MAX` unless the row was written by
/// hand; such a count reads as the nearest `u32` (0, or `u32::MAX`).
pub(super) fn attempts(stored: i64) -> u32 {
    u32::try_from(stored.max(0)).unwrap_or(u32::MAX)
}

/// A count of rows (SQL's `count` and `sum` are never negative).
pub(super) fn row_count(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// A claimed delivery ([`super::sql::CLAIMED_COLUMNS`]).
pub(super) fn claimed_delivery(row: &impl Row) -> Result<ClaimedDelivery, StoreError> {
    Ok(ClaimedDelivery {
        id: row.int(0)?,
        tracking_id: row.string(1)?,
        ezpay_id: row.string(2)?,
        target: row.string(3)?,
        payload: row.string(4)?,
        attempts: attempts(row.int(5)?),
        idempotency_key: row.string(6)?,
        traceparent: row.text(7)?,
    })
}

/// A listed delivery ([`super::sql::RECORD_COLUMNS`], then the time of acceptance
/// as RFC 3339).
pub(super) fn delivery_record(row: &impl Row) -> Result<DeliveryRecord, StoreError> {
    let state = row.string(4)?;
    Ok(DeliveryRecord {
        id: row.int(0)?,
        tracking_id: row.string(1)?,
        target: row.string(2)?,
        ezpay_id: row.string(3)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::failed(format!("unknown delivery state '{state}'")))?,
        attempts: attempts(row.int(5)?),
        last_status: row.integer(6)?.and_then(|s| u16::try_from(s).ok()),
        last_error: row.text(7)?,
        accepted_at: row.string(8)?,
    })
}

/// One target's queue: its name, the pending count, the age in seconds of
/// its oldest pending delivery, the dead count.
pub(super) fn target_queue(row: &impl Row) -> Result<TargetQueue, StoreError> {
    Ok(TargetQueue {
        target: row.string(0)?,
        pending: row_count(row.int(1)?),
        oldest_pending_age: row
            .real(2)?
            .map(|seconds| Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()),
        dead: row_count(row.int(3)?),
    })
}

/// An operator's action on a delivery, as the audit trail records it
/// ([`super::sql::ACTION_AUDIT_COLUMNS`] with the operator as the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OperatorAction {
    pub action: &'static str,
    pub tracking_id: String,
    pub ezpay_id: String,
    pub detail: String,
}

/// A delivery an operator retried ([`super::sql::RETRIED_COLUMNS`]).
pub(super) fn retried(row: &impl Row) -> Result<OperatorAction, StoreError> {
    let (id, target, last_error) = (row.int(0)?, row.string(3)?, row.text(4)?);
    let last_error = last_error.as_deref().unwrap_or("none");
    let detail = format!("{target} delivery {id} retried; last error: {last_error}");
    on_delivery(row, "delivery.retry", detail)
}

/// A delivery an operator discards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Discarded {
    /// The action, for the audit trail.
    pub action: OperatorAction,
    /// Whether a relay is sending it at `now` (its claim's lease runs on):
    /// then its claim stays until the attempt is recorded, and the next
    /// delivery of its queue waits for it.
    pub sending: bool,
}

/// A delivery an operator discards at `now` ([`super::sql::DISCARDED_COLUMNS`],
/// as it was).
pub(super) fn discarded(row: &impl Row, now: SystemTime) -> Result<Discarded, StoreError> {
    let (id, target, state) = (row.int(0)?, row.string(3)?, row.string(4)?);
    let detail = format!("{target} delivery {id} discarded (it was {state})");
    Ok(Discarded {
        action: on_delivery(row, "delivery.discard", detail)?,
        sending: row.int(5)? > unix_millis(now),
    })
}

/// An action on the delivery of `row`, whose columns 1 and 2 are its
/// tracking id and customer.
fn on_delivery(
    row: &impl Row,
    action: &'static str,
    detail: String,
) -> Result<OperatorAction, StoreError> {
    Ok(OperatorAction {
        action,
        tracking_id: row.string(1)?,
        ezpay_id: row.string(2)?,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_saturate_at_both_ends() {
        assert_eq!(attempts(0), 0);
        assert_eq!(attempts(7), 7);
        assert_eq!(attempts(i64::from(u32::MAX)), u32::MAX);
        assert_eq!(attempts(i64::from(u32::MAX) + 1), u32::MAX);
        assert_eq!(attempts(i64::MAX), u32::MAX);
        assert_eq!(attempts(-1), 0);
        assert_eq!(attempts(i64::MIN), 0);
    }

    #[test]
    fn a_version_is_never_negative() {
        assert_eq!(version(3).ok(), Some(3));
        assert!(version(-1).is_err());
        assert_eq!(stored_version(u64::MAX), i64::MAX);
    }
}
