//! The [`Store`] contract, one list of cases run on every engine: the
//! `conformance!` list below makes each case a test on SQLite and a test on
//! PostgreSQL, so that an engine that drifts from the other fails a fast
//! test. The cases (`contacts`, `outbox`) speak through the trait; only what
//! the trait does not show (audit rows, a count set by hand) goes through
//! [`Engine::execute`] and [`Engine::texts`], in SQL both dialects read alike.
//! The few cases about what only PostgreSQL has (`postgres_only`) run on it
//! alone.

mod contacts;
mod engines;
mod fixtures;
mod outbox;

use async_trait::async_trait;

use super::Store;

/// An engine under test: the store, and a look at its rows.
#[async_trait]
pub(super) trait Engine: Store {
    /// Runs statements (panics where they fail: a test's own SQL).
    async fn execute(&self, sql: &str);

    /// The rows of a query, every column as text (NULL as `None`).
    async fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>>;
}

/// Makes each case (`module::case`) a test on each engine.
macro_rules! conformance {
    ($($module:ident::$case:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let engine = super::engines::Sqlite::open(stringify!($case)).await;
                    super::$module::$case(&*engine.store).await;
                }
            )+
        }

        mod on_postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let engine = super::engines::Postgres::open().await;
                    super::$module::$case(&*engine.store).await;
                }
            )+
        }
    };
}

conformance!(
    contacts::updates_are_applied_once_at_their_version,
    contacts::the_audit_row_keeps_the_old_contacts_as_json,
    contacts::seeding_fills_only_a_customer_without_contacts,
    outbox::claims_take_only_the_head_of_each_queue,
    outbox::a_lease_that_ran_out_passes_the_claim_on,
    outbox::retry_and_discard_are_audited,
    outbox::pruning_keeps_what_waits,
    outbox::attempt_counts_read_alike,
    outbox::queue_counts_name_every_target,
    outbox::a_queue_waits_behind_its_head_and_each_update_has_its_key,
);

/// What only PostgreSQL has: plans kept per connection.
mod postgres_only {
    #[tokio::test]
    async fn claims_are_planned_at_each_run() {
        let engine = super::engines::Postgres::open_on_one_connection().await;
        super::outbox::claims_are_planned_at_each_run(&*engine.store).await;
    }
}
