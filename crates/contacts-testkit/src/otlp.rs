//! A stand-in OpenTelemetry collector: an HTTP server on 127.0.0.1 that takes
//! `POST /v1/traces` in OTLP/HTTP's protobuf encoding, decodes it with
//! `opentelemetry-proto`'s prost types, and keeps every span for the tests'
//! assertions. Anything else is refused (415 for another encoding, 400 for
//! a body that does not decode), as a collector does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;

/// The protobuf encoding's media type.
const PROTOBUF: &str = "application/x-protobuf";

/// One span as received, its ids in lower-case hexadecimal as a
/// `traceparent` writes them.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// The attributes whose values are strings or integers, as text.
    pub attributes: Vec<(String, String)>,
}

impl Span {
    /// The value of the attribute `key`, if it has one.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A running collector; it stops when dropped.
#[derive(Debug)]
pub struct Collector {
    pub addr: SocketAddr,
    spans: Arc<Mutex<Vec<Span>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Collector {
    /// Starts a collector on a free port of 127.0.0.1.
    pub fn start() -> Result<Self, String> {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(Arc::clone(&spans));
        let (addr, runtime) = crate::serve::serve(SocketAddr::from(([127, 0, 0, 1], 0)), router)?;
        Ok(Self {
            addr,
            spans,
            _runtime: runtime,
        })
    }

    /// The base URL to give as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far, in order of arrival.
    pub fn spans(&self) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<Span>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some(PROTOBUF)
    {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "only protobuf").into_response();
    }
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(request) => request,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let received = request
        .resource_spans
        .into_iter()
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .map(|span| Span {
            name: span.name,
            trace_id: hex(&span.trace_id),
            span_id: hex(&span.span_id),
            parent_span_id: hex(&span.parent_span_id),
            attributes: span
                .attributes
                .into_iter()
                .filter_map(|kv| {
                    let value = match kv.value?.value? {
                        any_value::Value::StringValue(text) => text,
                        any_value::Value::IntValue(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((kv.key, value))
                })
                .collect(),
        });
    spans
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(received);
    (
        [(header::CONTENT_TYPE, PROTOBUF)],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
