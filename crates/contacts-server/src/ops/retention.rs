//! Retention: a periodic task that prunes expired rows in small batches,
//! one short transaction each, so that saves never wait long for the write
//! lock. Idempotency records go after the idempotency window (a tracking id
//! may then be used again), delivered and discarded deliveries after their
//! retention, audit rows after theirs; pending and dead deliveries never.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::config::Retention;
use crate::store::{Prune, Pruned, Store};

/// The pause between two batches, in which saves take the write lock.
const BETWEEN_BATCHES: Duration = Duration::from_millis(10);

/// Prunes now and every `retention.interval` until `stop` changes.
pub async fn run(store: Arc<dyn Store>, retention: Retention, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(retention.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        let pruned = prune_expired(&store, &retention, &stop).await;
        if pruned != Pruned::default() {
            tracing::info!(
                requests = pruned.requests,
                deliveries = pruned.deliveries,
                audit = pruned.audit,
                "pruned expired rows"
            );
        }
    }
}

/// Deletes batch after batch until no expired row is left (or the server stops).
async fn prune_expired(
    store: &Arc<dyn Store>,
    retention: &Retention,
    stop: &watch::Receiver<bool>,
) -> Pruned {
    let now = SystemTime::now();
    let before = |age: Duration| now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
    let prune = Prune {
        requests_before: before(retention.idempotency_window),
        deliveries_before: before(retention.delivered_retention),
        audit_before: before(retention.audit_retention),
        batch: retention.batch,
    };
    let mut total = Pruned::default();
    while !*stop.borrow() {
        let batch = match store.prune(prune).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%error, "cannot prune expired rows");
                break;
            }
        };
        for (kind, count) in [
            ("requests", batch.requests),
            ("deliveries", batch.deliveries),
            ("audit", batch.audit),
        ] {
            metrics::counter!("contacts_pruned_rows_total", "kind" => kind)
                .increment(u64::try_from(count).unwrap_or(u64::MAX));
        }
        total.requests += batch.requests;
        total.deliveries += batch.deliveries;
        total.audit += batch.audit;
        if batch.requests.max(batch.deliveries).max(batch.audit) < retention.batch {
            break;
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
    total
}
