//! What operators see and run: `GET /healthz` (`health`), the Prometheus
//! metrics (`telemetry`), the pruning of expired rows (`retention`), the
//! `deliveries list|retry|discard` commands (`deliveries`), and the command
//! line (`cli`).

pub mod cli;
pub mod deliveries;
pub mod health;
pub mod retention;
pub mod telemetry;
