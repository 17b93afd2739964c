//! W3C Trace Context: the `traceparent` of a request taken (or a trace
//! started), and the span context of each span that carries one (the
//! request, a delivery attempt), written back as a `traceparent`.
//!
//! Where spans are exported (`ops/traces.rs` installed the OpenTelemetry
//! layer), a span's ids are the exported span's; otherwise they are made
//! here, with the SDK's random generator, so that the trace id is logged,
//! stored and propagated the same way whether or not anything is exported.

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

/// The longest `traceparent` read: version 00's is 55 characters; a later
/// version may append fields, which are ignored, but not without bound.
const MAX_TRACEPARENT: usize = 256;

/// The trace context a request's `traceparent` header names, if it holds a
/// valid one; a missing, malformed or oversized one names none (a new trace
/// starts), never an error.
pub fn from_headers(headers: &HeaderMap) -> Option<SpanContext> {
    parse(headers.get(TRACEPARENT)?.to_str().ok()?)
}

/// The trace context a `traceparent` value names (as a header or as stored
/// with a delivery), read by OpenTelemetry's W3C propagator once its fields
/// have the widths the recommendation gives them (the propagator takes
/// shorter ids).
pub fn parse(traceparent: &str) -> Option<SpanContext> {
    let widths = traceparent.split('-').take(4).map(str::len);
    if traceparent.len() > MAX_TRACEPARENT || !widths.eq([2, 32, 16, 2]) {
        return None;
    }
    let context = TraceContextPropagator::new().extract(&Traceparent(traceparent));
    let span = context.span();
    let found = span.span_context();
    // The vendors' `tracestate` is not carried: only the trace and its parent.
    found.is_valid().then(|| {
        SpanContext::new(
            found.trace_id(),
            found.span_id(),
            found.trace_flags(),
            true,
            TraceState::NONE,
        )
    })
}

/// The `traceparent` of `context`: `00-{trace id}-{span id}-{flags}`.
pub fn traceparent(context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags() & TraceFlags::SAMPLED
    )
}

/// Starts `span`'s trace context as a child of `parent` (a remote one: a
/// caller's, or the request's stored with a delivery), or as a new trace,
/// and records its trace id in the span's `trace_id` field, which puts it
/// on every log line within. Call it before the span is first entered.
pub fn start(span: &tracing::Span, parent: Option<&SpanContext>) -> SpanContext {
    if let Some(parent) = parent {
        // Fails only where nothing is exported (no OpenTelemetry layer).
        let _ =
            span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent.clone()));
    }
    let exported = span.context().span().span_context().clone();
    let context = if exported.is_valid() {
        exported
    } else {
        let ids = RandomIdGenerator::default();
        SpanContext::new(
            parent.map_or_else(|| ids.new_trace_id(), SpanContext::trace_id),
            ids.new_span_id(),
            // Nothing is recorded here: the caller's sampling decision goes
            // on, and a new trace is not sampled.
            parent.map_or(TraceFlags::default(), SpanContext::trace_flags),
            false,
            TraceState::NONE,
        )
    };
    span.record("trace_id", tracing::field::display(context.trace_id()));
    context
}

/// A `traceparent` value as the propagator reads it.
struct Traceparent<'a>(&'a str);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;

    const GIVEN: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn reads_and_writes_a_valid_traceparent() {
        let context = parse(GIVEN).expect("a valid traceparent");
        assert_eq!(
            context.trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex")
        );
        assert_eq!(
            context.span_id(),
            SpanId::from_hex("b7ad6b7169203331").expect("hex")
        );
        assert!(context.is_sampled());
        assert_eq!(traceparent(&context), GIVEN);
    }

    #[test]
    fn a_malformed_traceparent_names_no_trace() {
        let long = format!("{GIVEN}-{}", "a".repeat(MAX_TRACEPARENT));
        for malformed in [
            "",
            "garbage",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            &long,
        ] {
            assert!(parse(malformed).is_none(), "{malformed}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, "nonsense".parse().expect("a header value"));
        assert!(from_headers(&headers).is_none());
        headers.insert(TRACEPARENT, GIVEN.parse().expect("a header value"));
        assert!(from_headers(&headers).is_some());
    }

    #[test]
    fn without_export_a_child_keeps_the_trace_with_a_span_of_its_own() {
        let parent = parse(GIVEN).expect("a valid traceparent");
        let span = tracing::info_span!("child", trace_id = tracing::field::Empty);
        let child = start(&span, Some(&parent));
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_ne!(child.span_id(), parent.span_id());
        assert!(child.is_sampled());
        let other = start(&span, Some(&parent));
        assert_ne!(other.span_id(), child.span_id());
        let fresh = start(&span, None);
        assert!(fresh.is_valid());
        assert_ne!(fresh.trace_id(), parent.trace_id());
    }
}
