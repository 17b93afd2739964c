//! The outbox queries of the SQLite engine: claims, attempts, the operators'
//! actions, the queue figures, and pruning.
//!
//! A claim is in two steps: a search for the rows, on a connection of its own
//! and without the write lock that every save needs, then a single `UPDATE
//! … RETURNING` on the writer that claims those of them that still qualify;
//! a PostgreSQL engine would select the same rows `FOR UPDATE SKIP LOCKED`
//! and set the same lease.

use std::time::SystemTime;

use rusqlite::{Connection, TransactionBehavior, params};

use super::NOW;
use crate::store::rows::{self, OperatorAction};
use crate::store::sql::{
    ACTION_AUDIT_COLUMNS, CLAIMED_COLUMNS, DISCARDED_COLUMNS, END_CLAIM, FINISHED, IS_HEAD,
    RECORD_COLUMNS, RETRIED_COLUMNS, RETRY, WAITING,
};
use crate::store::{
    Attempted, ClaimRequest, ClaimedDelivery, DeliveryFilter, DeliveryRecord, DeliveryState, Prune,
    Pruned, Selection, StoreError, TargetQueue, from_unix_millis, to_json, unix_millis,
};

/// The conditions of a claimable delivery `o`: pending, due, unclaimed, and
/// the head of its queue.
const CLAIMABLE: &str = "o.state = 'pending' AND o.next_attempt_at <= ?2 AND o.claimed_until <= ?2";

/// The ids of the deliveries that `claim` may take, oldest first. Each
/// target's pending rows are read in id order (the `outbox_pending` index),
/// so the search stops at the first `limit` heads it meets.
pub(super) fn claimable(
    connection: &Connection,
    claim: &ClaimRequest,
) -> Result<Vec<i64>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT o.id FROM outbox o
         WHERE o.target = ?1 AND {CLAIMABLE} AND {IS_HEAD}
         ORDER BY o.id LIMIT ?3"
    ))?;
    let now = unix_millis(claim.now);
    let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
    let mut found = Vec::new();
    for target in &claim.targets {
        for id in statement.query_map(params![target, now, limit], |r| r.get::<_, i64>(0))? {
            found.push(id?);
        }
    }
    found.sort_unstable();
    found.truncate(claim.limit);
    Ok(found)
}

/// Claims those of the deliveries `found` (by [`claimable`]) that are still
/// claimable.
pub(super) fn claim_due(
    connection: &mut Connection,
    claim: &ClaimRequest,
    found: &[i64],
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    // A claim need not survive a power loss: lost, it only lets the
    // delivery be claimed again, as a claim whose lease ran out.
    without_waiting_for_the_disk(connection, |connection| {
        claim_rows(connection, claim, found)
    })
}

/// Runs `write` with a commit that does not wait for the disk: a process
/// crash loses nothing (the operating system has the write), a power loss
/// may (the next durable commit, or the checkpoint, carries it). Only for
/// writes whose loss is harmless; it leaves the disk's time to the saves.
fn without_waiting_for_the_disk<T>(
    connection: &mut Connection,
    write: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    let written = write(connection);
    connection.pragma_update(None, "synchronous", "FULL")?;
    written
}

fn claim_rows(
    connection: &mut Connection,
    claim: &ClaimRequest,
    found: &[i64],
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    // The ids as a JSON array, for `json_each`.
    let ids = format!(
        "[{}]",
        found
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut statement = connection.prepare_cached(&format!(
        "UPDATE outbox SET claimed_by = ?1, claimed_until = ?4
         WHERE id IN (
             SELECT o.id FROM outbox o
             WHERE o.id IN (SELECT value FROM json_each(?3)) AND {CLAIMABLE} AND {IS_HEAD})
         RETURNING {CLAIMED_COLUMNS}"
    ))?;
    let mut claimed = statement
        .query_and_then(
            params![
                &*claim.owner,
                unix_millis(claim.now),
                ids,
                unix_millis(claim.now + claim.lease)
            ],
            |row| rows::claimed_delivery(row),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|delivery| delivery.id);
    Ok(claimed)
}

pub(super) fn next_due(
    connection: &Connection,
    targets: &[&str],
) -> Result<Option<SystemTime>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT min(max(o.next_attempt_at, o.claimed_until)) FROM outbox o
         WHERE o.state = 'pending' AND o.target IN (SELECT value FROM json_each(?1))
           AND {IS_HEAD}"
    ))?;
    let due: Option<i64> = statement.query_row([to_json(&targets)?], |r| r.get(0))?;
    Ok(due.map(from_unix_millis))
}

pub(super) fn record(
    connection: &mut Connection,
    owner: &str,
    attempts: &[(i64, Attempted)],
) -> Result<(), StoreError> {
    // A record lost to a process crash is impossible (the operating system
    // has it); one lost to a power loss is a delivery sent again, with its
    // Idempotency-Key, which at-least-once allows. Waiting for the disk on
    // every record would take the disk's time from the saves (the relay
    // busy, the API's p99 was 3.7 times its p99 with the relay idle).
    without_waiting_for_the_disk(connection, |connection| {
        record_rows(connection, owner, attempts)
    })
}

fn record_rows(
    connection: &mut Connection,
    owner: &str,
    attempts: &[(i64, Attempted)],
) -> Result<(), StoreError> {
    // Each form ends the claim and counts the attempt, only while the claim is ours.
    let claimed = format!("{END_CLAIM}, attempts = attempts + 1");
    let mine = "WHERE id = ?1 AND claimed_by = ?2 AND state = 'pending'";
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (id, attempted) in attempts {
        match attempted {
            Attempted::Delivered { status } => tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET state = 'delivered', {claimed}, last_status = ?3,
                     last_error = NULL, finished_at = {NOW} {mine}"
                ))?
                .execute(params![id, owner, status])?,
            Attempted::Retry { at, status, error } => tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET {claimed}, next_attempt_at = ?3, last_status = ?4,
                     last_error = ?5 {mine}"
                ))?
                .execute(params![id, owner, unix_millis(*at), status, error])?,
            Attempted::Dead { status, error } => tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET state = 'dead', {claimed}, last_status = ?3,
                     last_error = ?4 {mine}"
                ))?
                .execute(params![id, owner, status, error])?,
        };
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn deliveries(
    connection: &Connection,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS}, created_at FROM outbox
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR ezpay_id = ?2)
         ORDER BY id LIMIT ?3"
    ))?;
    statement
        .query_and_then(
            params![
                filter.state.map(DeliveryState::as_str),
                filter.customer.as_ref().map(|c| c.as_str()),
                i64::try_from(filter.limit).unwrap_or(i64::MAX)
            ],
            |row| rows::delivery_record(row),
        )?
        .collect()
}

pub(super) fn target_queues(
    connection: &Connection,
    now: SystemTime,
) -> Result<Vec<TargetQueue>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT target,
                sum(state = 'pending'),
                (julianday(?1 / 1000.0, 'unixepoch')
                  - julianday(min(CASE WHEN state = 'pending' THEN created_at END))) * 86400.0,
                sum(state = 'dead')
         FROM outbox WHERE {WAITING}
         GROUP BY target ORDER BY target"
    ))?;
    statement
        .query_and_then([unix_millis(now)], |row| rows::target_queue(row))?
        .collect()
}

/// Writes an operator's action on a delivery to the audit trail.
fn audit(
    connection: &Connection,
    operator: &str,
    action: &OperatorAction,
) -> Result<(), StoreError> {
    connection.execute(
        &format!("INSERT INTO audit ({ACTION_AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
        params![
            action.action,
            action.tracking_id,
            action.ezpay_id,
            operator,
            action.detail
        ],
    )?;
    Ok(())
}

pub(super) fn retry(
    connection: &mut Connection,
    selection: Selection,
    operator: &str,
) -> Result<usize, StoreError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let one = match selection {
        Selection::One(id) => Some(id),
        Selection::AllDead => None,
    };
    let retried: Vec<OperatorAction> = tx
        .prepare(&format!(
            "UPDATE outbox SET {RETRY}
             WHERE (state = 'dead' OR (?1 IS NOT NULL AND state = 'pending'))
               AND (?1 IS NULL OR id = ?1)
             RETURNING {RETRIED_COLUMNS}"
        ))?
        .query_and_then([one], |row| rows::retried(row))?
        .collect::<Result<_, _>>()?;
    for action in &retried {
        audit(&tx, operator, action)?;
    }
    tx.commit()?;
    Ok(retried.len())
}

pub(super) fn discard(
    connection: &mut Connection,
    id: i64,
    operator: &str,
) -> Result<bool, StoreError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = tx
        .prepare(&format!(
            "SELECT {DISCARDED_COLUMNS} FROM outbox WHERE id = ?1 AND {WAITING}"
        ))?
        .query_and_then([id], |row| rows::discarded(row))?
        .next()
        .transpose()?;
    let Some(action) = found else {
        return Ok(false);
    };
    tx.execute(
        &format!(
            "UPDATE outbox SET state = 'discarded', finished_at = {NOW}, {END_CLAIM} WHERE id = ?1"
        ),
        [id],
    )?;
    audit(&tx, operator, &action)?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn prune(connection: &Connection, prune: &Prune) -> Result<Pruned, StoreError> {
    let batch = i64::try_from(prune.batch).unwrap_or(i64::MAX);
    // Each statement is a transaction of its own, so that the write lock is
    // held for one batch at a time.
    let delete = |table: &str, column: &str, only: &str, before: SystemTime| {
        connection
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE rowid IN (
                     SELECT rowid FROM {table}
                     WHERE {only} {column} < strftime('%Y-%m-%dT%H:%M:%fZ', ?1 / 1000.0, 'unixepoch')
                     ORDER BY {column} LIMIT ?2)"
            ))?
            .execute(params![unix_millis(before), batch])
    };
    Ok(Pruned {
        requests: delete("requests", "created_at", "", prune.requests_before)?,
        deliveries: delete(
            "outbox",
            "finished_at",
            &format!("{FINISHED} AND"),
            prune.deliveries_before,
        )?,
        audit: delete("audit", "at", "", prune.audit_before)?,
    })
}
