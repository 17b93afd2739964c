//! SQL that reads alike in both dialects, written once. The dialects spell
//! parameters differently (`?1` on SQLite, `$1` on PostgreSQL), so what is
//! shared are the fragments without any: the column lists that the
//! conversions of `rows.rs` read by position, and the conditions on the
//! outbox that the relay's guarantees rest on; and the statements on the
//! outbox's heads of queue, each given its placeholders by the engine.

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
pub(super) const CLAIMED_COLUMNS: &str =
    "id, tracking_id, ezpay_id, target, payload, attempts, idempotency_key, traceparent";

/// A listed delivery, as [`super::rows::delivery_record`] reads it; the time
/// of acceptance, which each engine formats its own way, comes next.
pub(super) const RECORD_COLUMNS: &str =
    "id, tracking_id, target, ezpay_id, state, attempts, last_status, last_error";

/// A delivery retried by an operator, as [`super::rows::retried`] reads it.
pub(super) const RETRIED_COLUMNS: &str = "id, tracking_id, ezpay_id, target, last_error";

/// A delivery about to be discarded, as [`super::rows::discarded`] reads it.
pub(super) const DISCARDED_COLUMNS: &str =
    "id, tracking_id, ezpay_id, target, state, claimed_until";

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

/// `next_attempt_at` of a pending delivery that waits behind the head of its
/// (customer, target) queue: it is not due, whatever the time. A delivery is
/// written so when an earlier one of its queue waits, and made due
/// ([`release_next`]) when the head before it is delivered or discarded.
/// So every pending delivery with a due time of zero or more heads its
/// queue, and the claims and the next due time are found through the index
/// on (target, next_attempt_at) among the heads only, however long the
/// queues behind them (a target down for hours).
pub(super) const BEHIND_ITS_HEAD: i64 = -1;

/// Makes due the delivery that now heads the queue of delivery `{id}` (a
/// placeholder: `?1` or `$1`), if it waited behind the one before.
pub(super) fn release_next(id: &str) -> String {
    format!(
        "UPDATE outbox SET next_attempt_at = 0
         WHERE next_attempt_at = {BEHIND_ITS_HEAD} AND id = (
             SELECT min(e.id) FROM outbox e JOIN outbox d
               ON e.ezpay_id = d.ezpay_id AND e.target = d.target
             WHERE d.id = {id} AND e.state IN ('pending', 'dead'))"
    )
}

/// Ends `{owner}`'s (`?2` or `$2`) claim on delivery `{id}` (`?1` or `$1`),
/// which an operator discarded while it was being sent: the discard lets the
/// next delivery of its queue go only once the attempt in flight is over, so
/// that the next never overtakes it. [`release_next`] follows where a row
/// changed.
pub(super) fn end_discarded_claim(id: &str, owner: &str) -> String {
    format!(
        "UPDATE outbox SET {END_CLAIM}
         WHERE id = {id} AND claimed_by = {owner} AND state = 'discarded'"
    )
}

/// The discarded deliveries whose claim ran out without a record (the relay
/// that sent them stopped): the pruning releases the next of each queue,
/// then ends the claim ([`end_claim`]), so that a stop between the two only
/// does both again. `{now}` is the time in Unix milliseconds.
pub(super) fn interrupted_discards(now: &str) -> String {
    format!(
        "SELECT id FROM outbox
         WHERE state = 'discarded' AND claimed_by IS NOT NULL AND claimed_until <= {now}"
    )
}

/// Ends the claim on delivery `{id}` (`?1` or `$1`).
pub(super) fn end_claim(id: &str) -> String {
    format!("UPDATE outbox SET {END_CLAIM} WHERE id = {id}")
}

/// Makes a delivery due at once with a fresh count of attempts, unless it
/// waits behind the head of its queue ([`BEHIND_ITS_HEAD`]), where it stays.
pub(super) const RETRY: &str = "state = 'pending', attempts = 0,
    next_attempt_at = CASE WHEN next_attempt_at < 0 THEN next_attempt_at ELSE 0 END";
