//! SQL that reads alike in both dialects, written once. The dialects spell
//! parameters differently (`?1` on SQLite, `$1` on PostgreSQL), so what is
//! shared are the fragments without any: the column lists that the
//! conversions of `rows.rs` read by position, and the conditions on the
//! outbox that the relay's guarantees rest on.

/// A customer, as [`super::rows::customer`] reads it.
pub(super) const CUSTOMER_COLUMNS: &str = "status, version";

/// Makes an insert of a customer that exists already change its status (a
/// row whose status is unchanged is left as it is).
pub(super) const CUSTOMER_UPSERT: &str =
    "ON CONFLICT (ezpay_id) DO UPDATE SET status = excluded.status
     WHERE customers.status IS DISTINCT FROM excluded.status";

/// A contact, as [`super::rows::contact`] reads it: its type, then its
/// fields in the order of `Field::ALL`.
pub(super) const CONTACT_COLUMNS: &str =
    "type, name, organization_name, email, work_phone, work_phone_extension, mobile_phone, fax";

/// The audit row of a read: the action `'read'` and these columns.
pub(super) const READ_AUDIT_COLUMNS: &str =
    "action, tracking_id, ezpay_id, user_name, profile_id, source";

/// The audit row of an operator's action, as [`super::rows::OperatorAction`]
/// gives it.
pub(super) const ACTION_AUDIT_COLUMNS: &str = "action, tracking_id, ezpay_id, user_name, detail";

/// A claimed delivery, as [`super::rows::claimed_delivery`] reads it.
pub(super) const CLAIMED_COLUMNS: &str = "id, tracking_id, ezpay_id, target, payload, attempts";

/// A listed delivery, as [`super::rows::delivery_record`] reads it; the time
/// of acceptance, which each engine formats its own way, comes next.
pub(super) const RECORD_COLUMNS: &str =
    "id, tracking_id, target, ezpay_id, state, attempts, last_status, last_error";

/// A delivery retried by an operator, as [`super::rows::retried`] reads it.
pub(super) const RETRIED_COLUMNS: &str = "id, tracking_id, ezpay_id, target, last_error";

/// A delivery about to be discarded, as [`super::rows::discarded`] reads it.
pub(super) const DISCARDED_COLUMNS: &str = "id, tracking_id, ezpay_id, target, state";

/// Deliveries that wait: not yet delivered, or given up. They hold back the
/// later deliveries of their queue and are never pruned.
pub(super) const WAITING: &str = "state IN ('pending', 'dead')";

/// Deliveries that are over (delivered or discarded): pruned in time.
pub(super) const FINISHED: &str = "state IN ('delivered', 'discarded')";

/// Whether delivery `o` is the head of its (customer, target) queue: no
/// earlier delivery of that customer and target waits.
pub(super) const IS_HEAD: &str = "NOT EXISTS (
    SELECT 1 FROM outbox e
    WHERE e.ezpay_id = o.ezpay_id AND e.target = o.target
      AND e.state IN ('pending', 'dead') AND e.id < o.id)";

/// Ends a delivery's claim.
pub(super) const END_CLAIM: &str = "claimed_by = NULL, claimed_until = 0";

/// Makes a delivery due at once with a fresh count of attempts.
pub(super) const RETRY: &str = "state = 'pending', attempts = 0, next_attempt_at = 0";
