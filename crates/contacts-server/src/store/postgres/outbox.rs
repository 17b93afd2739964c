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
//!
//! A relay's round (record the attempts that ended, claim what is due) is
//! one transaction whose statements are sent together ([`round`]).

use std::time::SystemTime;

use deadpool_postgres::{GenericClient, Object, Transaction};
use futures_util::TryStreamExt;
use futures_util::future::try_join_all;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use super::rfc3339;
use crate::store::rows::{self, OperatorAction};
use crate::store::sql::{
    ACTION_AUDIT_COLUMNS, CLAIMED_COLUMNS, DISCARDED_COLUMNS, END_CLAIM, FINISHED, IS_HEAD,
    RECORD_COLUMNS, RETRIED_COLUMNS, RETRY, WAITING, end_claim, end_discarded_claim,
    interrupted_discards, release_next,
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

/// Sent between a round's records and its claim, so that the claim alone is
/// planned at each run for the outbox as it is, not once per connection:
/// after five runs of a prepared statement PostgreSQL may settle on a
/// generic plan, costed on the outbox as it was then. Costed on a new
/// database's outbox (small, not yet analysed), the claim's generic plan
/// checks that a due delivery heads its queue by reading every waiting
/// delivery, for each due one, instead of looking its queue up in
/// `outbox_queue`: about 20 ms per claim with 1,600 waiting, growing with
/// the square of the backlog, while the claimed rows stay locked and the
/// saves of their customers, which read the head of their queue `FOR
/// SHARE`, wait (the bench's PostgreSQL saves, in about a third of its
/// 5 s loads: their p99 about 100 ms instead of 20).
/// Planning a claim costs about 0.3 ms; the records, looked up by id, keep
/// their cached plans.
const CLAIM_PLANNED_AT_EACH_RUN: &str = "SET LOCAL plan_cache_mode = force_custom_plan";

/// One round of a relay in one transaction: records `attempts` under
/// `owner`, then claims due deliveries as `claim` asks, if it asks. Every
/// statement of the round but the `BEGIN` and the `COMMIT` is sent at once
/// (tokio-postgres pipelines the requests polled together), and PostgreSQL
/// runs them in the order sent: three round trips whatever the number of
/// attempts, where a statement at a time took three per attempt and seven
/// more for the claim.
pub(super) async fn round(
    client: &mut Object,
    owner: &str,
    attempts: &[(i64, Attempted)],
    claim: Option<&ClaimRequest>,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let tx = client.transaction().await?;
    let prepared = Prepared::new(&tx).await?;
    // The values the statements borrow, made before any is sent.
    let values: Vec<(Option<i32>, i64)> = attempts
        .iter()
        .map(|(_, attempted)| match attempted {
            Attempted::Delivered { status } => (Some(i32::from(*status)), 0),
            Attempted::Retry { at, status, .. } => (status.map(i32::from), unix_millis(*at)),
            Attempted::Dead { status, .. } => (status.map(i32::from), 0),
        })
        .collect();
    let claim_values = claim.map(|claim| {
        (
            unix_millis(claim.now + claim.lease),
            unix_millis(claim.now),
            limit(claim.limit),
        )
    });
    // Each statement and its parameters, in the order they run.
    let mut statements: Vec<(&Statement, Vec<&(dyn ToSql + Sync)>)> = Vec::new();
    for ((id, attempted), (status, at)) in attempts.iter().zip(&values) {
        match attempted {
            Attempted::Delivered { .. } => {
                statements.push((&prepared.delivered, vec![id, &owner, status]));
                statements.push((&prepared.release, vec![id]));
            }
            Attempted::Retry { error, .. } => {
                statements.push((&prepared.retry, vec![id, &owner, at, status, error]));
            }
            Attempted::Dead { error, .. } => {
                statements.push((&prepared.dead, vec![id, &owner, status, error]));
            }
        }
        statements.push((&prepared.end_discarded, vec![id, &owner]));
    }
    let recorded = try_join_all(
        statements
            .into_iter()
            .map(|(statement, params)| tx.execute_raw(statement, params)),
    );
    let claimed = async {
        match (claim, &claim_values) {
            (Some(claim), Some((until, now, limit))) => {
                let found = async {
                    tx.query_raw(
                        &prepared.claim,
                        [
                            &&*claim.owner as &(dyn ToSql + Sync),
                            until,
                            &claim.targets,
                            now,
                            limit,
                        ],
                    )
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
                };
                let (_, found) =
                    tokio::try_join!(tx.batch_execute(CLAIM_PLANNED_AT_EACH_RUN), found)?;
                Ok(found)
            }
            _ => Ok(Vec::new()),
        }
    };
    let (_, _, found) = tokio::try_join!(
        tx.batch_execute(WITHOUT_WAITING_FOR_THE_DISK),
        recorded,
        claimed
    )?;
    tx.commit().await?;
    let mut claimed = found
        .iter()
        .map(rows::claimed_delivery)
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|delivery| delivery.id);
    Ok(claimed)
}

/// The statements of a round, prepared once per connection.
struct Prepared {
    delivered: Statement,
    release: Statement,
    retry: Statement,
    dead: Statement,
    end_discarded: Statement,
    claim: Statement,
}

impl Prepared {
    async fn new(tx: &Transaction<'_>) -> Result<Self, StoreError> {
        // Each form ends the claim and counts the attempt, only while the claim is ours.
        let claimed = format!("{END_CLAIM}, attempts = attempts + 1");
        let mine = "WHERE id = $1 AND claimed_by = $2 AND state = 'pending'";
        Ok(Self {
            delivered: tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET state = 'delivered', {claimed}, last_status = $3,
                     last_error = NULL, finished_at = now() {mine}"
                ))
                .await?,
            release: tx.prepare_cached(&release_next("$1")).await?,
            retry: tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET {claimed}, next_attempt_at = $3, last_status = $4,
                     last_error = $5 {mine}"
                ))
                .await?,
            dead: tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET state = 'dead', {claimed}, last_status = $3,
                     last_error = $4 {mine}"
                ))
                .await?,
            // An operator discarded it while it was sent: the claim ends, and
            // the next of its queue goes, in one statement. Both parts see
            // the rows as they were before it, when the discarded delivery
            // was already not waiting, so the next is the first that waits.
            end_discarded: tx
                .prepare_cached(&format!(
                    "WITH ended AS ({} RETURNING id) {} AND EXISTS (SELECT 1 FROM ended)",
                    end_discarded_claim("$1", "$2"),
                    release_next("$1")
                ))
                .await?,
            claim: tx
                .prepare_cached(&format!(
                    "WITH due AS (
                         SELECT o.id AS due_id FROM outbox o
                         WHERE o.state = 'pending' AND o.target = ANY($3)
                           AND o.next_attempt_at BETWEEN 0 AND $4 AND o.claimed_until <= $4
                           AND {IS_HEAD}
                         ORDER BY o.id LIMIT $5
                         FOR UPDATE SKIP LOCKED)
                     UPDATE outbox SET claimed_by = $1, claimed_until = $2
                     FROM due WHERE outbox.id = due.due_id
                     RETURNING {CLAIMED_COLUMNS}"
                ))
                .await?,
        })
    }
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
    Ok(due.map(from_unix_millis))
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
    let now = SystemTime::now();
    let Some(discarded) = found
        .as_ref()
        .map(|row| rows::discarded(row, now))
        .transpose()?
    else {
        return Ok(false);
    };
    tx.execute(
        "UPDATE outbox SET state = 'discarded', finished_at = now() WHERE id = $1",
        &[&id],
    )
    .await?;
    if !discarded.sending {
        tx.execute(&end_claim("$1"), &[&id]).await?;
        tx.execute(&release_next("$1"), &[&id]).await?;
    }
    audit(&tx, operator, &discarded.action).await?;
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
            &format!("{FINISHED} AND"),
            prune.deliveries_before,
        )
        .await?,
        audit: delete("audit", "id", "at", "", prune.audit_before).await?,
    })
}
