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

use std::time::SystemTime;

use deadpool_postgres::{GenericClient, Object};

use super::rfc3339;
use crate::store::rows::{self, OperatorAction};
use crate::store::sql::{
    ACTION_AUDIT_COLUMNS, CLAIMED_COLUMNS, DISCARDED_COLUMNS, END_CLAIM, FINISHED, IS_HEAD,
    RECORD_COLUMNS, RETRIED_COLUMNS, RETRY, WAITING,
};
use crate::store::{
    Attempted, ClaimRequest, ClaimedDelivery, DeliveryFilter, DeliveryRecord, DeliveryState, Prune,
    Pruned, Selection, StoreError, TargetQueue, from_unix_millis, unix_millis,
};

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
    claim: &ClaimRequest,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let now = unix_millis(claim.now);
    let until = unix_millis(claim.now + claim.lease);
    let tx = client.transaction().await?;
    tx.batch_execute(WITHOUT_WAITING_FOR_THE_DISK).await?;
    let statement = tx
        .prepare_cached(&format!(
            "WITH due AS (
                 SELECT o.id AS due_id FROM outbox o
                 WHERE o.state = 'pending' AND o.target = ANY($3)
                   AND o.next_attempt_at <= $4 AND o.claimed_until <= $4
                   AND {IS_HEAD}
                 ORDER BY o.id LIMIT $5
                 FOR UPDATE SKIP LOCKED)
             UPDATE outbox SET claimed_by = $1, claimed_until = $2
             FROM due WHERE outbox.id = due.due_id
             RETURNING {CLAIMED_COLUMNS}"
        ))
        .await?;
    let found = tx
        .query(
            &statement,
            &[
                &&*claim.owner,
                &until,
                &claim.targets,
                &now,
                &limit(claim.limit),
            ],
        )
        .await?;
    tx.commit().await?;
    let mut claimed = found
        .iter()
        .map(rows::claimed_delivery)
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|delivery| delivery.id);
    Ok(claimed)
}

pub(super) async fn next_due(
    client: &Object,
    targets: &[&str],
) -> Result<Option<SystemTime>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT min(greatest(o.next_attempt_at, o.claimed_until)) FROM outbox o
             WHERE o.state = 'pending' AND o.target = ANY($1) AND {IS_HEAD}"
        ))
        .await?;
    let due: Option<i64> = client.query_one(&statement, &[&targets]).await?.get(0);
    Ok(due.map(from_unix_millis))
}

pub(super) async fn record(
    client: &mut Object,
    owner: &str,
    attempts: &[(i64, Attempted)],
) -> Result<(), StoreError> {
    // Each form ends the claim and counts the attempt, only while the claim is ours.
    let claimed = format!("{END_CLAIM}, attempts = attempts + 1");
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
                    .await?
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
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn deliveries(
    client: &Object,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS}, {} FROM outbox
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR ezpay_id = $2)
             ORDER BY id LIMIT $3",
            rfc3339("created_at")
        ))
        .await?;
    let records = client
        .query(
            &statement,
            &[
                &filter.state.map(DeliveryState::as_str),
                &filter.customer.as_ref().map(|c| c.as_str()),
                &limit(filter.limit),
            ],
        )
        .await?;
    records.iter().map(rows::delivery_record).collect()
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
             FROM outbox WHERE {WAITING}
             GROUP BY target ORDER BY target",
            timestamp("$1")
        ))
        .await?;
    let queues = client.query(&statement, &[&unix_millis(now)]).await?;
    queues.iter().map(rows::target_queue).collect()
}

/// Writes an operator's action on a delivery to the audit trail.
async fn audit(
    tx: &impl GenericClient,
    operator: &str,
    action: &OperatorAction,
) -> Result<(), StoreError> {
    tx.execute(
        &format!("INSERT INTO audit ({ACTION_AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
        &[
            &action.action,
            &action.tracking_id,
            &action.ezpay_id,
            &operator,
            &action.detail,
        ],
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
            &format!(
                "UPDATE outbox SET {RETRY}
                 WHERE (state = 'dead' OR ($1::bigint IS NOT NULL AND state = 'pending'))
                   AND ($1::bigint IS NULL OR id = $1)
                 RETURNING {RETRIED_COLUMNS}"
            ),
            &[&one],
        )
        .await?
        .iter()
        .map(rows::retried)
        .collect::<Result<Vec<_>, _>>()?;
    for action in &retried {
        audit(&tx, operator, action).await?;
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
            &format!(
                "SELECT {DISCARDED_COLUMNS} FROM outbox WHERE id = $1 AND {WAITING} FOR UPDATE"
            ),
            &[&id],
        )
        .await?;
    let Some(action) = found.as_ref().map(rows::discarded).transpose()? else {
        return Ok(false);
    };
    tx.execute(
        &format!(
            "UPDATE outbox SET state = 'discarded', finished_at = now(), {END_CLAIM} WHERE id = $1"
        ),
        &[&id],
    )
    .await?;
    audit(&tx, operator, &action).await?;
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
            &format!("{FINISHED} AND"),
            prune.deliveries_before,
        )
        .await?,
        audit: delete("audit", "id", "at", "", prune.audit_before).await?,
    })
}
