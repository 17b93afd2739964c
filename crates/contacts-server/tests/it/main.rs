//! The server's integration tests, one test binary: each test starts the
//! built `contacts-server` on 127.0.0.1 ([`SERVER`], through
//! `contacts-testkit`'s harness) with a database of its own and talks to it
//! over real sockets.
//!
//! - [`api`]: the contract, and the server as a service;
//! - [`abuse`]: abuse and faults, a theme a file;
//! - [`delivery`]: the relay's deliveries to stand-in targets;
//! - [`postgres`]: several instances on one PostgreSQL database, its outage,
//!   and retention there;
//! - [`postgres_tls`]: every `sslmode` against servers with and without TLS;
//! - [`ops`]: the probes, the `CONTACTS_…` variables, `config check`, the
//!   JSON logs;
//! - [`tokens`]: bearer tokens against an issuer's key set served by the test;
//! - [`dev_issuer`]: the development issuer of `cargo xtask run` and a server
//!   configured as that command configures it.
//! - [`traces`]: W3C Trace Context from the request to the targets, the
//!   outbox, the logs and an OTLP collector.
//!
//! A module's `on_postgres` runs its tests again on PostgreSQL.

// The helpers below are test code too: a failed setup step is a failed test,
// and `clippy.toml`'s allowance covers only `#[test]` functions themselves.
#![allow(clippy::unwrap_used)]

mod abuse;
mod api;
mod delivery;
mod dev_issuer;
mod ops;
mod postgres;
mod postgres_tls;
mod tokens;
mod traces;

use std::fmt::Debug;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use contacts_testkit::harness::ServerBinary;

/// The server program under test.
const SERVER: ServerBinary = ServerBinary::new(env!("CARGO_BIN_EXE_contacts-server"));

/// Kept by the tests that load the server or measure time or memory.
static HEAVY: RwLock<()> = RwLock::new(());

/// Held alone by the tests that load the server or measure time or memory,
/// so that they run beside none of the others on the two cores of CI.
fn heavy() -> RwLockWriteGuard<'static, ()> {
    HEAVY.write().unwrap_or_else(PoisonError::into_inner)
}

/// Held by the load tests that may run beside one another (several
/// instances on one PostgreSQL database), never beside a [`heavy`] one.
fn shared_load() -> RwLockReadGuard<'static, ()> {
    HEAVY.read().unwrap_or_else(PoisonError::into_inner)
}

/// Asserts that the clients of a load recorded no failure, showing the
/// first few.
fn assert_none_failed(failures: Mutex<Vec<impl Debug>>) {
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}
