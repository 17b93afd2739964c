//! The reference implementation of the Contacts API
//! (`GET` and `POST /api/v1/customers/{eZpayID}/contacts`): axum on SQLite
//! or PostgreSQL. It validates with `contacts-model`, the functions the editor
//! uses; answers with the contract's Success/Failure envelope always; records
//! every accepted update, its audit row and one outbox row per target in one
//! transaction; relays the outbox to the targets (MAS and MDM) with leases,
//! retries and backoff; and serves the built editor with strict security
//! headers.
//!
//! The layers, outermost first: each imports only those below it.

/// Start-up: the configuration, the store, the shared state and its
/// substates, the routes and their layers, the sockets, the background tasks.
mod app;

/// Health, metrics, retention, the operators' commands and the command line.
mod ops;

/// The relay: delivers the outbox to the targets.
mod relay;

/// The contacts resource: its handlers and their in-flight claims.
mod contacts;

/// Who may call: credentials, the login throttle, the `Caller`.
mod access;

/// The HTTP transport: accept loop, tracking id, errors, body, CORS, web.
mod http;

/// The TOML configuration and its checks.
mod config;

/// The storage engines (SQLite, PostgreSQL) behind one `Store` trait.
mod store;

pub use access::auth::hash_password;
pub use app::{Server, app, serve};
pub use ops::cli;
pub use ops::config_check::check as check_config;
pub use ops::deliveries::run as deliveries;
pub use ops::logs::init as init_logs;
pub use store::Database;

/// `contacts-server migrate`: brings the database's schema up to date (under
/// a lock on PostgreSQL, so that it may run beside starting servers) and
/// returns its version.
pub async fn migrate(db: &Database) -> Result<usize, String> {
    db.migrate().await.map_err(|e| e.to_string())
}
