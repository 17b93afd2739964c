//! The outbox queries of the SQLite engine: claims, attempts, the operators'
//! actions, the queue figures, and pruning.
//!
//! A claim is in two steps: a search for the rows, on a connection of its own
//! and without the write lock that every save needs, then a single `UPDATE
//! … RETURNING` on the writer that claims those of them that still qualify;
//! a PostgreSQL engine would select the same rows `FOR UPDATE SKIP LOCKED`
//! and set the same lease.

use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::NOW;
use crate::store::outbox::{
    BEHIND_ITS_HEAD, IS_HEAD, end_claim, end_discarded_claim, interrupted_discards, release_next,
};
use crate::store::{
    Attempted, ClaimRequest, Delivery, DeliveryFilter, DeliveryRecord, DeliveryState, Prune,
    Pruned, Selection, StoreError, TargetQueue, from_unix_millis, unix_millis,
};

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The conditions of a claimable delivery `o`: pending, due (not waiting
/// behind its head), unclaimed, and the head of its queue.
const CLAIMABLE: &str =
    "o.state = 'pending' AND o.next_attempt_at BETWEEN 0 AND ?2 AND o.claimed_until <= ?2";

/// The `next_attempt_at` of a new delivery of customer `?2` to target `?3`:
/// due at once, unless an earlier one of its queue is pending or dead.
pub(super) fn due_unless_behind() -> String {
    format!(
        "CASE WHEN EXISTS (
             SELECT 1 FROM outbox e
             WHERE e.ezpay_id = ?2 AND e.target = ?3 AND e.state IN ('pending', 'dead'))
         THEN {BEHIND_ITS_HEAD} ELSE 0 END"
    )
}

/// The ids of the deliveries that `claim` may take, oldest first. Each
/// target's due heads are read through the `outbox_due_heads` index, so the
/// deliveries waiting behind them, or for their backoff, cost nothing.
pub(super) fn claimable(
    connection: &Connection,
    claim: &ClaimRequest<'_>,
) -> Result<Vec<i64>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT o.id FROM outbox o INDEXED BY outbox_due_heads
         WHERE o.target = ?1 AND {CLAIMABLE} AND {IS_HEAD}
         ORDER BY o.id LIMIT ?3"
    ))?;
    let now = unix_millis(claim.now);
    let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
    let mut found = Vec::new();
    for target in claim.targets {
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
    claim: &ClaimRequest<'_>,
    found: &[i64],
) -> Result<Vec<Delivery>, StoreError> {
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
    connection: &Connection,
    claim: &ClaimRequest<'_>,
    found: &[i64],
) -> Result<Vec<Delivery>, StoreError> {
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
         RETURNING id, tracking_id, ezpay_id, target, payload, attempts, idempotency_key"
    ))?;
    let mut claimed = statement
        .query_map(
            params![
                claim.owner,
                unix_millis(claim.now),
                ids,
                unix_millis(claim.now + claim.lease)
            ],
            |row| {
                Ok(Delivery {
                    id: row.get(0)?,
                    tracking_id: row.get(1)?,
                    ezpay_id: row.get(2)?,
                    target: row.get(3)?,
                    payload: row.get(4)?,
                    attempts: count(row.get(5)?),
                    idempotency_key: row.get(6)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|delivery| delivery.id);
    Ok(claimed)
}

/// How many heads, earliest due first, the next due time is read from.
const NEXT_DUE_HEADS: usize = 64;

pub(super) fn next_due(
    connection: &Connection,
    targets: &[&str],
) -> Result<Option<SystemTime>, StoreError> {
    // The heads in the order of their due times, through the index: the
    // first ones tell, unless as many are claimed (in flight), whose leases
    // count; then the time may come later than the true one, and the
    // relay's poll makes up for it.
    let mut statement = connection.prepare_cached(&format!(
        "SELECT min(max(next_attempt_at, claimed_until)) FROM (
             SELECT o.next_attempt_at, o.claimed_until FROM outbox o INDEXED BY outbox_due_heads
             WHERE o.state = 'pending' AND o.target = ?1 AND o.next_attempt_at >= 0
               AND {IS_HEAD}
             ORDER BY o.next_attempt_at LIMIT {NEXT_DUE_HEADS})"
    ))?;
    let mut due: Option<i64> = None;
    for target in targets {
        let next: Option<i64> = statement.query_row([target], |r| r.get(0))?;
        due = due.into_iter().chain(next).min();
    }
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
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    record_in(&tx, owner, attempts)?;
    tx.commit()?;
    Ok(())
}

/// Records a relay's finished attempts and claims its next deliveries in one
/// transaction: one turn at the writer per round instead of two, each taken
/// between saves that wait for the disk. The search runs on the writer too,
/// after the records, so that it finds the deliveries they released; it
/// reads only the heads due, through their index.
pub(super) fn record_and_claim(
    connection: &mut Connection,
    owner: &str,
    attempts: &[(i64, Attempted)],
    claim: &ClaimRequest<'_>,
) -> Result<Vec<Delivery>, StoreError> {
    without_waiting_for_the_disk(connection, |connection| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        record_in(&tx, owner, attempts)?;
        let found = claimable(&tx, claim)?;
        let claimed = claim_rows(&tx, claim, &found)?;
        tx.commit()?;
        Ok(claimed)
    })
}

fn record_in(
    tx: &Connection,
    owner: &str,
    attempts: &[(i64, Attempted)],
) -> Result<(), StoreError> {
    // Each form ends the claim and counts the attempt, only while the claim is ours.
    let claimed = "claimed_by = NULL, claimed_until = 0, attempts = attempts + 1";
    let mine = "WHERE id = ?1 AND claimed_by = ?2 AND state = 'pending'";
    for (id, attempted) in attempts {
        match attempted {
            Attempted::Delivered { status } => {
                tx.prepare_cached(&format!(
                    "UPDATE outbox SET state = 'delivered', {claimed}, last_status = ?3,
                     last_error = NULL, finished_at = {NOW} {mine}"
                ))?
                .execute(params![id, owner, status])?;
                tx.prepare_cached(&release_next("?1"))?.execute([id])?
            }
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
        if tx
            .prepare_cached(&end_discarded_claim("?1", "?2"))?
            .execute(params![id, owner])?
            > 0
        {
            tx.prepare_cached(&release_next("?1"))?.execute([id])?;
        }
    }
    Ok(())
}

fn delivery_record(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    let state: String = row.get(4)?;
    Ok(DeliveryRecord {
        id: row.get(0)?,
        tracking_id: row.get(1)?,
        target: row.get(2)?,
        ezpay_id: row.get(3)?,
        // The CHECK constraint admits only the four states.
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
        attempts: count(row.get(5)?),
        accepted_at: row.get(6)?,
        last_status: row
            .get::<_, Option<i64>>(7)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.get(8)?,
    })
}

pub(super) fn deliveries(
    connection: &Connection,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT id, tracking_id, target, ezpay_id, state, attempts, created_at, last_status, last_error
         FROM outbox
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR ezpay_id = ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let records = statement
        .query_map(
            params![
                filter.state.map(DeliveryState::as_str),
                filter.customer.as_ref().map(|c| c.as_str()),
                i64::try_from(filter.limit).unwrap_or(i64::MAX)
            ],
            delivery_record,
        )?
        .collect::<Result<_, _>>()?;
    Ok(records)
}

pub(super) fn target_queues(
    connection: &Connection,
    now: SystemTime,
) -> Result<Vec<TargetQueue>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT target,
                sum(state = 'pending'),
                (julianday(?1 / 1000.0, 'unixepoch')
                  - julianday(min(CASE WHEN state = 'pending' THEN created_at END))) * 86400.0,
                sum(state = 'dead')
         FROM outbox WHERE state IN ('pending', 'dead')
         GROUP BY target ORDER BY target",
    )?;
    let queues = statement
        .query_map([unix_millis(now)], |row| {
            Ok(TargetQueue {
                target: row.get(0)?,
                pending: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                oldest_pending_age: row.get::<_, Option<f64>>(2)?.map(|seconds| {
                    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()
                }),
                dead: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(queues)
}

/// Writes an operator's action on a delivery to the audit trail.
fn audit_action(
    connection: &Connection,
    action: &str,
    operator: &str,
    delivery: (&str, &str),
    detail: &str,
) -> Result<(), StoreError> {
    let (tracking_id, ezpay_id) = delivery;
    connection.execute(
        "INSERT INTO audit (action, tracking_id, ezpay_id, user_name, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![action, tracking_id, ezpay_id, operator, detail],
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
    let retried: Vec<(i64, String, String, String, Option<String>)> = tx
        .prepare(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = min(next_attempt_at, 0)
             WHERE (state = 'dead' OR (?1 IS NOT NULL AND state = 'pending'))
               AND (?1 IS NULL OR id = ?1)
             RETURNING id, tracking_id, ezpay_id, target, last_error",
        )?
        .query_map([one], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    for (id, tracking_id, ezpay_id, target, last_error) in &retried {
        let detail = format!(
            "{target} delivery {id} retried; last error: {}",
            last_error.as_deref().unwrap_or("none")
        );
        audit_action(
            &tx,
            "delivery.retry",
            operator,
            (tracking_id, ezpay_id),
            &detail,
        )?;
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
    let found: Option<(String, String, String, String, i64)> = tx
        .query_row(
            "SELECT tracking_id, ezpay_id, target, state, claimed_until FROM outbox
             WHERE id = ?1 AND state IN ('pending', 'dead')",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((tracking_id, ezpay_id, target, state, claimed_until)) = found else {
        return Ok(false);
    };
    // Being sent: the claim stays until the attempt is recorded, and the
    // next delivery of the queue waits for it.
    let sending = claimed_until > unix_millis(SystemTime::now());
    tx.execute(
        &format!("UPDATE outbox SET state = 'discarded', finished_at = {NOW} WHERE id = ?1"),
        [id],
    )?;
    if !sending {
        tx.execute(&end_claim("?1"), [id])?;
        tx.execute(&release_next("?1"), [id])?;
    }
    let detail = format!("{target} delivery {id} discarded (it was {state})");
    audit_action(
        &tx,
        "delivery.discard",
        operator,
        (&tracking_id, &ezpay_id),
        &detail,
    )?;
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
    let interrupted: Vec<i64> = connection
        .prepare_cached(&interrupted_discards("?1"))?
        .query_map([unix_millis(SystemTime::now())], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in interrupted {
        connection.execute(&release_next("?1"), [id])?;
        connection.execute(&end_claim("?1"), [id])?;
    }
    Ok(Pruned {
        requests: delete("requests", "created_at", "", prune.requests_before)?,
        deliveries: delete(
            "outbox",
            "finished_at",
            "state IN ('delivered', 'discarded') AND",
            prune.deliveries_before,
        )?,
        audit: delete("audit", "at", "", prune.audit_before)?,
    })
}
