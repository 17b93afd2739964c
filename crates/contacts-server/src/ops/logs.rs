//! The log lines, on standard error: text for a terminal (the default), or
//! with `--log-format json` one JSON object per line for a log pipeline:
//! `timestamp`, `level`, `message`, the event's fields, and `span`, the
//! fields of the span it is in: a request's (`tracking_id`, `trace_id`,
//! method and path), its store transaction's, or a delivery attempt's
//! (`tracking_id`, `trace_id`, target and attempt). Where an OTLP endpoint is
//! given, the same spans are also exported (`traces.rs`).

use reqwest::Url;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::ops::cli::LogFormat;
use crate::ops::traces::{self, Exporter};

/// Installs the process's log subscriber and, with `otlp`, the export of
/// its spans, returning the exporter to flush at shutdown. Call it within
/// the Tokio runtime.
pub fn init(format: LogFormat, otlp: Option<&Url>) -> Result<Option<Exporter>, String> {
    let (export, exporter) = match otlp {
        Some(endpoint) => {
            let (layer, exporter) = traces::layer(endpoint)?;
            (Some(layer), Some(exporter))
        }
        None => (None, None),
    };
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let subscriber = tracing_subscriber::registry()
        .with(LevelFilter::INFO)
        .with(export);
    match format {
        LogFormat::Text => subscriber.with(lines).init(),
        LogFormat::Json => subscriber
            .with(
                lines
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .init(),
    }
    Ok(exporter)
}
