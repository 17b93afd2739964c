//! The log lines, on standard error: text for a terminal (the default), or
//! with `--log-format json` one JSON object per line for a log pipeline:
//! `timestamp`, `level`, `message`, the event's fields, and `span`, the
//! fields of the request's span (its `tracking_id`, method and path).

use crate::ops::cli::LogFormat;

/// Installs the process's log subscriber.
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
