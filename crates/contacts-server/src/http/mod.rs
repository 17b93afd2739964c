//! The HTTP transport, apart from any resource: the accept loop and its
//! timeouts (`listen`), the request's tracking id (`tracking`) and trace context
//! (`trace_context`, W3C `traceparent`), the one error
//! type and its envelope (`error`), the JSON body (`body`, `unique_keys`),
//! `If-Match` (`precondition`), the cross-site and cross-origin rules
//! (`origin`, `cors`), the built editor and the security headers (`web`), and
//! the OpenAPI description (`openapi`).

pub mod body;
pub mod cors;
pub mod error;
pub mod listen;
pub mod openapi;
pub mod origin;
pub mod precondition;
pub mod trace_context;
pub mod tracking;
pub mod unique_keys;
pub mod web;
