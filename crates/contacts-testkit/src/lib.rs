//! What the reference server's tests share, and with them its examples and
//! `xtask`. It does not depend on the server: the tests hand the
//! harness the path of the server program cargo built for them.
//!
//! - `postgres`: a throwaway PostgreSQL server (standard library only, so
//!   `xtask` builds it without this crate's features);
//! - `receiver` (feature `receiver`): a stand-in target that records the
//!   deliveries it gets and answers as scripted;
//! - `db` and `harness` (feature `harness`): a test's database on
//!   either engine, and the built server started on it with an HTTP client;
//! - `dev_issuer`: where the development issuer of bearer tokens is served
//!   and the server's configuration that takes its tokens (standard library
//!   only), and `issuer` (feature `issuer`): that issuer, a key pair
//!   generated at start, its key set and tokens minted on request.
//! - `otlp` (feature `otlp`): a stand-in OpenTelemetry collector that keeps
//!   the spans it is sent by OTLP/HTTP.

pub mod dev_issuer;
pub mod postgres;

#[cfg(feature = "harness")]
pub mod db;
#[cfg(feature = "harness")]
pub mod harness;
#[cfg(feature = "issuer")]
pub mod issuer;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "receiver")]
pub mod receiver;
#[cfg(any(feature = "receiver", feature = "otlp"))]
mod serve;
