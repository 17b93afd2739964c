//! Refuses writes sent by pages of other sites (cross-site request forgery).
//!
//! A browser marks every request it sends for a page with `Origin` (always on
//! a POST) and `Sec-Fetch-Site`. A write passes when it comes from this
//! server's own origin, from a configured console origin, or from a client
//! that is not a browser page at all (no `Origin`, no `Sec-Fetch-Site`, as
//! with curl or a back-end service). Reads pass: a foreign page cannot see
//! their answers without CORS, which this server grants to the console
//! origins only (`cors.rs`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::Failure;
use crate::http::tracking::RequestContext;

/// The origins, besides the server's own, whose pages may send writes.
#[derive(Debug, Default)]
pub struct ConsoleOrigins(pub Vec<String>);

impl ConsoleOrigins {
    /// Whether `origin`, as a browser sends it in `Origin`, is one of them.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

/// Middleware: answers a cross-site write with the 403 envelope.
pub async fn refuse_cross_site(
    State(consoles): State<Arc<ConsoleOrigins>>,
    context: RequestContext,
    request: Request,
    next: Next,
) -> Response {
    if is_cross_site_write(request.method(), request.headers(), &consoles) {
        tracing::warn!(
            origin = ?request.headers().get(header::ORIGIN),
            sec_fetch_site = ?request.headers().get("sec-fetch-site"),
            "cross-site write refused"
        );
        return context.fail(Failure::CrossSite).into_response();
    }
    next.run(request).await
}

fn is_cross_site_write(method: &Method, headers: &HeaderMap, consoles: &ConsoleOrigins) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    // A header that is not visible ASCII cannot name an allowed origin.
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or_default());
    let origin = text(header::ORIGIN);
    if origin.is_some_and(|origin| consoles.allows(origin)) {
        return false;
    }
    if text(header::HeaderName::from_static("sec-fetch-site"))
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"))
    {
        return true;
    }
    origin.is_some_and(|origin| !is_own_origin(origin, text(header::HOST)))
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
/// Either scheme passes, since TLS may end at a proxy in front of the server.
fn is_own_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host.filter(|host| !host.is_empty()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn tells_cross_site_writes() {
        let consoles = ConsoleOrigins(vec!["https://console.example.com".into()]);
        let host = ("host", "127.0.0.1:8080");
        let cases = [
            (Method::POST, vec![host], false),
            (
                Method::POST,
                vec![host, ("origin", "http://127.0.0.1:8080")],
                false,
            ),
            (
                Method::POST,
                vec![host, ("origin", "https://127.0.0.1:8080")],
                false,
            ),
            (
                Method::POST,
                vec![
                    host,
                    ("origin", "http://127.0.0.1:8080"),
                    ("sec-fetch-site", "same-origin"),
                ],
                false,
            ),
            (
                Method::POST,
                vec![
                    host,
                    ("origin", "https://console.example.com"),
                    ("sec-fetch-site", "cross-site"),
                ],
                false,
            ),
            (
                Method::POST,
                vec![host, ("origin", "https://evil.example")],
                true,
            ),
            (Method::POST, vec![host, ("origin", "null")], true),
            (
                Method::POST,
                vec![host, ("origin", "http://127.0.0.1:8081")],
                true,
            ),
            (
                Method::POST,
                vec![("origin", "http://127.0.0.1:8080")],
                true,
            ),
            (
                Method::POST,
                vec![host, ("sec-fetch-site", "cross-site")],
                true,
            ),
            (
                Method::POST,
                vec![
                    host,
                    ("origin", "http://127.0.0.1:8080"),
                    ("sec-fetch-site", "cross-site"),
                ],
                true,
            ),
            (
                Method::DELETE,
                vec![host, ("origin", "https://evil.example")],
                true,
            ),
            (
                Method::GET,
                vec![host, ("origin", "https://evil.example")],
                false,
            ),
        ];
        for (method, pairs, expected) in cases {
            assert_eq!(
                is_cross_site_write(&method, &headers(&pairs), &consoles),
                expected,
                "{method} {pairs:?}"
            );
        }
    }
}
