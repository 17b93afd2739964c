//! The reference implementation of the Contacts API
//! (`POST /api/v1/customers/{eZpayID}/contacts`), with axum and SQLite.
//!
//! It validates with `contacts-model`, the same functions the editor uses,
//! answers with the contract's Success/Failure envelope always, records every
//! accepted update in one transaction with an outbox row per target and an
//! audit row, delivers the outbox to the targets (the relay), and serves the
//! built editor with strict security headers.

mod app;
mod auth;
mod body;
pub mod cli;
mod config;
mod contacts;
mod cors;
mod deliveries;
mod error;
mod health;
mod listen;
mod openapi;
mod origin;
mod precondition;
mod relay;
mod retention;
mod state;
mod store;
mod stored;
mod telemetry;
mod throttle;
mod tracking;
mod unique_keys;
mod web;

pub use app::{Server, app, serve};
pub use auth::hash_password;
pub use deliveries::run as deliveries;
pub use store::Database;

/// `contacts-server migrate`: brings the database's schema up to date (under
/// a lock on PostgreSQL, so that it may run beside starting servers) and
/// returns its version.
pub async fn migrate(db: &Database) -> Result<usize, String> {
    db.migrate().await.map_err(|e| e.to_string())
}
