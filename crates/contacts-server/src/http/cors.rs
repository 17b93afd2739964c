//! Cross-origin resource sharing for the configured console origins.
//!
//! The editor embedded in the CAAG console calls the API from the console's
//! origin. Its requests carry `Authorization`, `ProfileId`,
//! `Request-Tracking-Id`, `If-Match` and `Content-Type: application/json`,
//! and it reads the answers' `ETag` (the contacts' version), so the browser
//! first sends a preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`). tower-http's `CorsLayer` answers the
//! preflights of the origins listed in `console_origins` and marks every API
//! response (successes and envelopes of failure alike, so that the editor can
//! read them) as readable by them.
//!
//! `CorsLayer` answers every `OPTIONS` itself, with an empty body, whatever
//! the origin. So that every API answer stays an envelope, [`grant`] hands it
//! only the API requests it should see: a preflight from any other origin gets
//! the 403 envelope (the browser then sends nothing further), and an `OPTIONS`
//! that is not a preflight goes to the router (405). The editor's files are
//! readable by the console origins too (`GET` and `HEAD`, which need no
//! preflight), so that a console page may import `contacts-editor.js` and
//! the wasm it loads from this server rather than host a copy; other
//! requests outside the API get no CORS.
//!
//! No `Access-Control-Allow-Credentials`: the editor sends the Authorization
//! header explicitly and uses no cookies, and a wildcard origin is never sent.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::http::error::{AppError, Failure, TRACKING_ID_HEADER};
use crate::http::origin::ConsoleOrigins;
use crate::http::tracking;
use crate::http::web::is_api;

/// How long a browser may reuse a preflight's answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// The console origins and the `CorsLayer` that grants them the API.
#[derive(Debug)]
pub struct Cors {
    consoles: Arc<ConsoleOrigins>,
    layer: CorsLayer,
}

impl Cors {
    pub fn new(consoles: Arc<ConsoleOrigins>) -> Self {
        // The configuration accepts only origins, which are valid header values.
        let origins = consoles
            .0
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok());
        let layer = CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::ACCEPT,
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("profileid"),
                TRACKING_ID_HEADER,
                header::IF_MATCH,
            ])
            .expose_headers([TRACKING_ID_HEADER, header::ETAG])
            .max_age(MAX_AGE);
        Self { consoles, layer }
    }
}

/// Middleware: CORS for the console origins on the API (`/api/…`) and on
/// reads of the editor's files; other requests pass untouched.
pub async fn grant(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    if !is_api(request.uri().path()) {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return next.run(request).await;
        }
        let Ok(response) = cors.layer.layer(next).oneshot(request).await;
        return response;
    }
    if request.method() == Method::OPTIONS {
        let headers = request.headers();
        let Some(origin) = headers.get(header::ORIGIN) else {
            return next.run(request).await;
        };
        if !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
            return next.run(request).await;
        }
        if !origin.to_str().is_ok_and(|o| cors.consoles.allows(o)) {
            tracing::warn!(
                ?origin,
                "preflight from an origin not in console_origins refused"
            );
            return AppError {
                failure: Failure::CrossOrigin,
                // A preflight carries no tracking id: browsers send the names
                // of the request's headers, never their values.
                tracking_id: Some(tracking::generate()),
            }
            .into_response();
        }
    }
    let Ok(response) = cors.layer.layer(next).oneshot(request).await;
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;

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
            .layer(from_fn_with_state(Arc::new(Cors::new(consoles)), grant))
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
        assert_eq!(granted.status(), StatusCode::OK);
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
        assert!(names(&refused).is_empty());

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

        // Not a preflight: the router answers (here 405).
        let plain = send(Method::OPTIONS, "/api/x", &[("origin", CONSOLE)]).await;
        assert_eq!(plain.status(), StatusCode::METHOD_NOT_ALLOWED);

        let page = send(Method::OPTIONS, "/page", &preflight).await;
        assert_eq!(page.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(names(&page).is_empty());

        // The editor's files: a console page may import them.
        let file = send(Method::GET, "/page", &[("origin", CONSOLE)]).await;
        assert_eq!(file.status(), StatusCode::OK);
        assert!(names(&file).contains(&"access-control-allow-origin"));
        let elsewhere = send(Method::GET, "/page", &[("origin", "https://evil.example")]).await;
        assert!(!names(&elsewhere).contains(&"access-control-allow-origin"));

        let look_alike = send(
            Method::GET,
            "/api/x",
            &[("origin", "https://console.example.com.evil.example")],
        )
        .await;
        // CorsLayer lists the exposed headers whatever the origin; without
        // `access-control-allow-origin` the browser keeps the answer from the page.
        assert_eq!(
            names(&look_alike),
            ["access-control-expose-headers", "vary"]
        );
    }
}
