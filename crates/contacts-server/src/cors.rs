//! Cross-origin resource sharing for the configured console origins.
//!
//! The editor embedded in the CAAG console calls the API from the console's
//! origin. Its requests carry `Authorization`, `ProfileId`,
//! `Request-Tracking-Id` and `Content-Type: application/json`, so the browser
//! first sends a preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`). For an origin listed in
//! `console_origins` this middleware answers the preflight itself and marks
//! every API response (successes and envelopes of failure alike, so that the
//! editor can read them) as readable by that origin. Any other origin gets no
//! CORS header at all, and its preflight the 403 envelope, so the browser
//! sends nothing further.
//!
//! No `Access-Control-Allow-Credentials`: the editor sends the Authorization
//! header explicitly and uses no cookies, and a wildcard origin is never sent.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Failure};
use crate::origin::ConsoleOrigins;
use crate::tracking;
use crate::web::is_api;

/// The methods of the API.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST");

/// The request headers the editor sends besides the ones always allowed.
const ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("Accept, Authorization, Content-Type, ProfileId, Request-Tracking-Id");

/// The response headers a console page may read besides the safe-listed ones.
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static("Request-Tracking-Id");

/// How long, in seconds, a browser may reuse a preflight's answer.
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");

/// Middleware: answers preflights and grants CORS to the console origins on
/// the API (`/api/…`); other paths pass untouched.
pub async fn grant(
    State(consoles): State<Arc<ConsoleOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).cloned();
    let preflight = is_preflight(request.method(), headers);
    let granted = origin
        .clone()
        .filter(|origin| origin.to_str().is_ok_and(|origin| consoles.allows(origin)));
    let mut response = match (preflight, &granted) {
        (true, Some(_)) => preflight_answer(),
        (true, None) => {
            tracing::warn!(
                ?origin,
                "preflight from an origin not in console_origins refused"
            );
            AppError {
                failure: Failure::CrossOrigin,
                // A preflight carries no tracking id: browsers send the names
                // of the request's headers, never their values.
                tracking_id: tracking::generate(),
            }
            .into_response()
        }
        (false, _) => next.run(request).await,
    };
    let headers = response.headers_mut();
    // The CORS headers of an API response depend on the request's Origin.
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = granted {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if !preflight {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
        }
    }
    response
}

/// A preflight is an `OPTIONS` that names the method of the request to come.
fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a granted preflight. The browser, not the server, checks the
/// method and headers asked for against the lists.
fn preflight_answer() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    const CONSOLE: &str = "https://console.example.com";

    fn app() -> Router {
        let consoles = Arc::new(ConsoleOrigins(vec![CONSOLE.into()]));
        Router::new()
            .route(
                "/api/x",
                get(|| async { "read" }).post(|| async { "written" }),
            )
            .route("/page", get(|| async { "page" }))
            .layer(from_fn_with_state(consoles, grant))
    }

    async fn send(method: Method, path: &str, pairs: &[(&'static str, &'static str)]) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in pairs {
            request = request.header(*name, *value);
        }
        app()
            .oneshot(request.body(Body::empty()).expect("a valid request"))
            .await
            .expect("the router is infallible")
    }

    fn names(response: &Response) -> Vec<&str> {
        let mut names: Vec<_> = response
            .headers()
            .keys()
            .map(|name| name.as_str())
            .filter(|name| name.starts_with("access-control-") || *name == "vary")
            .collect();
        names.sort_unstable();
        names
    }

    #[tokio::test]
    async fn grants_only_console_origins_on_the_api() {
        let preflight = [
            ("origin", CONSOLE),
            ("access-control-request-method", "POST"),
        ];
        let granted = send(Method::OPTIONS, "/api/x", &preflight).await;
        assert_eq!(granted.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            names(&granted),
            [
                "access-control-allow-headers",
                "access-control-allow-methods",
                "access-control-allow-origin",
                "access-control-max-age",
                "vary"
            ]
        );

        let foreign = [
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ];
        let refused = send(Method::OPTIONS, "/api/x", &foreign).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(names(&refused), ["vary"]);

        let read = send(Method::GET, "/api/x", &[("origin", CONSOLE)]).await;
        assert_eq!(read.status(), StatusCode::OK);
        assert_eq!(
            names(&read),
            [
                "access-control-allow-origin",
                "access-control-expose-headers",
                "vary"
            ]
        );

        // Not a preflight: the router answers (here 405), with CORS so that
        // the console's page can read the answer.
        let plain = send(Method::OPTIONS, "/api/x", &[("origin", CONSOLE)]).await;
        assert_eq!(plain.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(names(&plain).contains(&"access-control-allow-origin"));

        let page = send(Method::OPTIONS, "/page", &preflight).await;
        assert_eq!(page.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(names(&page).is_empty());

        let look_alike = send(
            Method::GET,
            "/api/x",
            &[("origin", "https://console.example.com.evil.example")],
        )
        .await;
        assert_eq!(names(&look_alike), ["vary"]);
    }
}
