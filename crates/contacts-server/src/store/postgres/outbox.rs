//! The outbox queries of the PostgreSQL engine: claims shared by several
//! instances, attempts, the operators' actions, the queue figures, and
//! pruning.
//!
//! A claim selects the heads of the (customer, target) queues `FOR UPDATE
//! SKIP LOCKED` and sets a lease in the same statement: two relays never
//! claim one delivery, and a relay never waits for another's claim. Where
//! the other relay's claim committed meanwhile, PostgreSQL checks the locked
//! row again and finds its lease running, so it is left out. The claim of an
//! instance that died is taken over when its lease ends.

use std::time::{Duration, SystemTime};

use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::Row;

use super::rfc3339;
use crate::store::outbox::{
    IS_HEAD, end_claim, end_discarded_claim, interrupted_discards, release_next,
};
use crate::store::{
    Attempted, ClaimRequest, Delivery, DeliveryFilter, DeliveryRecord, DeliveryState, Prune,
    Pruned, Selection, StoreError, TargetQueue, unix_millis,
};

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A claim or a record need not survive a crash of the database server:
/// lost, it only lets a delivery be claimed and sent again (with its
/// Idempotency-Key), which at-least-once allows. Not waiting for the WAL
/// flush leaves the disk's time to the saves, which always wait.
const WITHOUT_WAITING_FOR_THE_DISK: &str = "SET LOCAL synchronous_commit = off";

pub(super) async fn claim_due(
    client: &mut Object,
    claim: &ClaimRequest<'_>,
) -> Result<Vec<Delivery>, StoreError> {
    let now = unix_millis(claim.now);
    let until = unix_millis(claim.now + claim.lease);
    let tx = client.transaction().await?;
    tx.batch_execute(WITHOUT_WAITING_FOR_THE_DISK).await?;
    let statement = tx
        .prepare_cached(&format!(
            "WITH due AS (
                 SELECT o.id FROM outbox o
                 WHERE o.state = 'pending' AND o.target = ANY($3)
                   AND o.next_attempt_at BETWEEN 0 AND $4 AND o.claimed_until <= $4
                   AND {IS_HEAD}
                 ORDER BY o.id LIMIT $5
                 FOR UPDATE SKIP LOCKED)
             UPDATE outbox SET claimed_by = $1, claimed_until = $2
             FROM due WHERE outbox.id = due.id
             RETURNING outbox.id, outbox.tracking_id, outbox.ezpay_id, outbox.target,
                       outbox.payload, outbox.attempts, outbox.idempotency_key"
        ))
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &claim.owner,
                &until,
                &claim.targets,
                &now,
                &limit(claim.limit),
            ],
        )
        .await?;
    tx.commit().await?;
    let mut claimed: Vec<Delivery> = rows
        .iter()
        .map(|row| Delivery {
            id: row.get(0),
            tracking_id: row.get(1),
            ezpay_id: row.get(2),
            target: row.get(3),
            payload: row.get(4),
            attempts: count(row.get(5)),
            idempotency_key: row.get(6),
        })
        .collect();
    claimed.sort_by_key(|delivery| delivery.id);
    Ok(claimed)
}

pub(super) async fn next_due(
    client: &Object,
    targets: &[&str],
) -> Result<Option<SystemTime>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT min(greatest(next_attempt_at, claimed_until)) FROM (
                 SELECT o.next_attempt_at, o.claimed_until FROM outbox o
                 WHERE o.state = 'pending' AND o.target = ANY($1) AND o.next_attempt_at >= 0
                   AND {IS_HEAD}
                 ORDER BY o.next_attempt_at LIMIT 64) heads"
        ))
        .await?;
    let due: Option<i64> = client.query_one(&statement, &[&targets]).await?.get(0);
    Ok(due.map(crate::store::from_unix_millis))
}

pub(super) async fn record(
    client: &mut Object,
    owner: &str,
    attempts: &[(i64, Attempted)],
) -> Result<(), StoreError> {
    // Each form ends the claim and counts the attempt, only while the claim is ours.
    let claimed = "claimed_by = NULL, claimed_until = 0, attempts = attempts + 1";
    let mine = "WHERE id = $1 AND claimed_by = $2 AND state = 'pending'";
    let tx = client.transaction().await?;
    tx.batch_execute(WITHOUT_WAITING_FOR_THE_DISK).await?;
    for (id, attempted) in attempts {
        match attempted {
            Attempted::Delivered { status } => {
                let statement = tx
                    .prepare_cached(&format!(
                        "UPDATE outbox SET state = 'delivered', {claimed}, last_status = $3,
                         last_error = NULL, finished_at = now() {mine}"
                    ))
                    .await?;
                tx.execute(&statement, &[id, &owner, &i32::from(*status)])
                    .await?;
                let release = tx.prepare_cached(&release_next("$1")).await?;
                tx.execute(&release, &[id]).await?
            }
            Attempted::Retry { at, status, error } => {
                let statement = tx
                    .prepare_cached(&format!(
                        "UPDATE outbox SET {claimed}, next_attempt_at = $3, last_status = $4,
                         last_error = $5 {mine}"
                    ))
                    .await?;
                let status = status.map(i32::from);
                tx.execute(&statement, &[id, &owner, &unix_millis(*at), &status, error])
                    .await?
            }
            Attempted::Dead { status, error } => {
                let statement = tx
                    .prepare_cached(&format!(
                        "UPDATE outbox SET state = 'dead', {claimed}, last_status = $3,
                         last_error = $4 {mine}"
                    ))
                    .await?;
                let status = status.map(i32::from);
                tx.execute(&statement, &[id, &owner, &status, error])
                    .await?
            }
        };
        let ended = tx.prepare_cached(&end_discarded_claim("$1", "$2")).await?;
        if tx.execute(&ended, &[id, &owner]).await? > 0 {
            let release = tx.prepare_cached(&release_next("$1")).await?;
            tx.execute(&release, &[id]).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

fn delivery_record(row: &Row) -> DeliveryRecord {
    let state: String = row.get(4);
    DeliveryRecord {
        id: row.get(0),
        tracking_id: row.get(1),
        target: row.get(2),
        ezpay_id: row.get(3),
        // The CHECK constraint admits only the four states.
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
        attempts: count(row.get(5)),
        accepted_at: row.get(6),
        last_status: row
            .get::<_, Option<i32>>(7)
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.get(8),
    }
}

pub(super) async fn deliveries(
    client: &Object,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT id, tracking_id, target, ezpay_id, state, attempts, {}, last_status, last_error
             FROM outbox
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR ezpay_id = $2)
             ORDER BY id LIMIT $3",
            rfc3339("created_at")
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &filter.state.map(DeliveryState::as_str),
                &filter.customer.as_ref().map(|c| c.as_str()),
                &limit(filter.limit),
            ],
        )
        .await?;
    Ok(rows.iter().map(delivery_record).collect())
}

/// A time in Unix milliseconds (parameter `$n`) as a timestamp.
fn timestamp(parameter: &str) -> String {
    format!("to_timestamp({parameter}::bigint / 1000.0::float8)")
}

pub(super) async fn target_queues(
    client: &Object,
    now: SystemTime,
) -> Result<Vec<TargetQueue>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT target,
                    count(*) FILTER (WHERE state = 'pending'),
                    extract(epoch FROM {} - min(created_at) FILTER (WHERE state = 'pending'))::float8,
                    count(*) FILTER (WHERE state = 'dead')
             FROM outbox WHERE state IN ('pending', 'dead')
             GROUP BY target ORDER BY target",
            timestamp("$1")
        ))
        .await?;
    let rows = client.query(&statement, &[&unix_millis(now)]).await?;
    Ok(rows
        .iter()
        .map(|row| TargetQueue {
            target: row.get(0),
            pending: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
            oldest_pending_age: row
                .get::<_, Option<f64>>(2)
                .map(|seconds| Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()),
            dead: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
        })
        .collect())
}

/// Writes an operator's action on a delivery to the audit trail.
async fn audit_action(
    tx: &impl GenericClient,
    action: &str,
    operator: &str,
    delivery: (&str, &str),
    detail: &str,
) -> Result<(), StoreError> {
    let (tracking_id, ezpay_id) = delivery;
    tx.execute(
        "INSERT INTO audit (action, tracking_id, ezpay_id, user_name, detail) VALUES ($1, $2, $3, $4, $5)",
        &[&action, &tracking_id, &ezpay_id, &operator, &detail],
    )
    .await?;
    Ok(())
}

pub(super) async fn retry(
    client: &mut Object,
    selection: Selection,
    operator: &str,
) -> Result<usize, StoreError> {
    let one = match selection {
        Selection::One(id) => Some(id),
        Selection::AllDead => None,
    };
    let tx = client.transaction().await?;
    let retried = tx
        .query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = least(next_attempt_at, 0)
             WHERE (state = 'dead' OR ($1::bigint IS NOT NULL AND state = 'pending'))
               AND ($1::bigint IS NULL OR id = $1)
             RETURNING id, tracking_id, ezpay_id, target, last_error",
            &[&one],
        )
        .await?;
    for row in &retried {
        let (id, tracking_id, ezpay_id, target, last_error): (
            i64,
            String,
            String,
            String,
            Option<String>,
        ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        let detail = format!(
            "{target} delivery {id} retried; last error: {}",
            last_error.as_deref().unwrap_or("none")
        );
        audit_action(
            &tx,
            "delivery.retry",
            operator,
            (&tracking_id, &ezpay_id),
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(retried.len())
}

pub(super) async fn discard(
    client: &mut Object,
    id: i64,
    operator: &str,
) -> Result<bool, StoreError> {
    let tx = client.transaction().await?;
    let found = tx
        .query_opt(
            "SELECT tracking_id, ezpay_id, target, state, claimed_until FROM outbox
             WHERE id = $1 AND state IN ('pending', 'dead') FOR UPDATE",
            &[&id],
        )
        .await?;
    let Some(found) = found else {
        return Ok(false);
    };
    let (tracking_id, ezpay_id, target, state): (String, String, String, String) =
        (found.get(0), found.get(1), found.get(2), found.get(3));
    // Being sent: the claim stays until the attempt is recorded, and the
    // next delivery of the queue waits for it.
    let sending = found.get::<_, i64>(4) > unix_millis(SystemTime::now());
    tx.execute(
        "UPDATE outbox SET state = 'discarded', finished_at = now() WHERE id = $1",
        &[&id],
    )
    .await?;
    if !sending {
        tx.execute(&end_claim("$1"), &[&id]).await?;
        tx.execute(&release_next("$1"), &[&id]).await?;
    }
    let detail = format!("{target} delivery {id} discarded (it was {state})");
    audit_action(
        &tx,
        "delivery.discard",
        operator,
        (&tracking_id, &ezpay_id),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn prune(client: &Object, prune: &Prune) -> Result<Pruned, StoreError> {
    let batch = limit(prune.batch);
    // Each statement is a transaction of its own, one batch at a time. Two
    // instances pruning together delete each row once between them.
    let delete = async |table: &str, key: &str, column: &str, only: &str, before: SystemTime| {
        let statement = client
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE ({key}) IN (
                     SELECT {key} FROM {table}
                     WHERE {only} {column} < {}
                     ORDER BY {column} LIMIT $2)",
                timestamp("$1")
            ))
            .await?;
        let deleted = client
            .execute(&statement, &[&unix_millis(before), &batch])
            .await?;
        Ok::<_, StoreError>(usize::try_from(deleted).unwrap_or(usize::MAX))
    };
    let interrupted = client
        .query(
            &interrupted_discards("$1"),
            &[&unix_millis(SystemTime::now())],
        )
        .await?;
    for row in interrupted {
        let id: i64 = row.get(0);
        client.execute(&release_next("$1"), &[&id]).await?;
        client.execute(&end_claim("$1"), &[&id]).await?;
    }
    Ok(Pruned {
        requests: delete(
            "requests",
            "source, tracking_id",
            "created_at",
            "",
            prune.requests_before,
        )
        .await?,
        deliveries: delete(
            "outbox",
            "id",
            "finished_at",
            "state IN ('delivered', 'discarded') AND",
            prune.deliveries_before,
        )
        .await?,
        audit: delete("audit", "id", "at", "", prune.audit_before).await?,
    })
}
