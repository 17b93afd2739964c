//! The spans (a request, its store transaction, each delivery attempt)
//! exported by OTLP/HTTP in protobuf, where `--otlp-endpoint`,
//! `CONTACTS_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` names a
//! collector: `tracing-opentelemetry` turns the `tracing` spans into
//! OpenTelemetry spans, batched and sent to `{endpoint}/v1/traces` by
//! `opentelemetry-otlp` with the server's own reqwest client (so no second
//! HTTP client or TLS stack). Without an endpoint none of this is built: the
//! trace context is still taken, stored, propagated and logged
//! (`http/trace_context.rs`), and nothing is exported.

use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use reqwest::Url;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// How long one export may take, the collector's answer included; the
/// flush at shutdown waits at most this long for the last batch.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of a collector's answer is read.
const ANSWER_BYTES: usize = 64 * 1024;

/// The exporting side, kept by the process to flush the last spans at
/// shutdown.
#[derive(Debug)]
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// Sends the spans not yet exported and stops the exporter. Call it out
    /// of the runtime's tasks (it waits for the batch task, which runs on the
    /// runtime's threads).
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("contacts-server: the last spans may not be exported: {error}");
        }
    }
}

/// The layer that exports the spans to `endpoint` (the collector's base
/// URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` gives it), and the exporter to
/// flush at shutdown. Call it within the Tokio runtime: the batches are sent
/// by a task of it.
pub fn layer<S>(endpoint: &Url) -> Result<(OpenTelemetryLayer<S, SdkTracer>, Exporter), String>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let client = crate::relay::client()?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Reqwest(client))
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot export spans to {endpoint}: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter, Tokio).build())
        .with_resource(
            Resource::builder()
                .with_service_name(env!("CARGO_PKG_NAME"))
                .build(),
        )
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    // The spans' `target` field is the delivery's target (MAS, MDM), not the
    // module that opened the span.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_target(false);
    Ok((layer, Exporter { provider }))
}

/// Where OTLP/HTTP takes the spans, below the collector's base URL.
fn traces_url(endpoint: &Url) -> String {
    format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'))
}

/// The server's reqwest client as OpenTelemetry's HTTP client.
#[derive(Debug)]
struct Reqwest(reqwest::Client);

#[async_trait]
impl HttpClient for Reqwest {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let mut request = reqwest::Request::try_from(request)?;
        *request.timeout_mut() = Some(EXPORT_TIMEOUT);
        let mut answer = self.0.execute(request).await?;
        let mut body = Vec::new();
        while body.len() < ANSWER_BYTES
            && let Some(chunk) = answer.chunk().await?
        {
            body.extend_from_slice(&chunk);
        }
        let mut response = Response::builder().status(answer.status());
        if let Some(headers) = response.headers_mut() {
            *headers = std::mem::take(answer.headers_mut());
        }
        Ok(response.body(Bytes::from(body))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spans_go_below_the_base_url() {
        for base in ["http://127.0.0.1:4318", "http://127.0.0.1:4318/"] {
            let url = Url::parse(base).expect("a URL");
            assert_eq!(traces_url(&url), "http://127.0.0.1:4318/v1/traces");
        }
        let url = Url::parse("https://collector.example/otlp").expect("a URL");
        assert_eq!(traces_url(&url), "https://collector.example/otlp/v1/traces");
    }
}
