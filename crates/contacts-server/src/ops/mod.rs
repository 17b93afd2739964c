//! What operators see and run: the probes `/livez`, `/readyz` and `/healthz`
//! (`health`, reading the database at most once a second through `recent`), the Prometheus
//! metrics (`telemetry`), the pruning of expired rows (`retention`), the
//! `deliveries list|retry|discard` commands (`deliveries`), `config check`
//! (`config_check`), the log lines (`logs`) and the export of the spans by
//! OTLP (`traces`), and the command line (`cli`).

pub mod cli;
pub mod config_check;
pub mod deliveries;
pub mod health;
pub mod logs;
pub mod recent;
pub mod retention;
pub mod telemetry;
pub mod traces;
