//! The contact model of the Contacts API (`POST /api/v1/customers/{eZpayID}/contacts`).
//!
//! This crate is the single source of truth shared by the editor, the
//! reference server and the JavaScript package. It has no web, UI or server
//! dependency and builds for `wasm32-unknown-unknown` as well as the host.
//!
//! Untrusted input arrives as a [`RequestDraft`] or [`ContactDraft`], which
//! accept any JSON so that validation can say precisely what is wrong. Only
//! validation builds a [`Valid`] value, so nothing unvalidated can be sent or
//! stored.

#[macro_use]
mod json_kind;

mod contact;
mod email;
mod envelope;
mod error;
mod ezpay_id;
mod nanp;
mod phone;
mod request;
#[cfg(feature = "json")]
pub mod schema;
mod text;
mod tracking_id;
mod valid;

pub use contact::{Contact, ContactDraft, ContactType, Field, validate_contact};
pub use email::validate_email;
pub use envelope::{Envelope, EnvelopeError, ErrorBody, ErrorItem, Status};
pub use error::{ErrorCode, ValidationError, ValidationErrors};
pub use ezpay_id::EzpayId;
/// The package and version the NANP table of area codes and exchanges in use comes from.
pub use nanp::SOURCE as NANP_DATA_SOURCE;
pub use phone::{Phone, format_phone, normalize_phone, split_extension};
pub use request::{ContactEntry, Contacts, ContactsRequest, RequestDraft, validate_request};
pub use text::Text;
pub use tracking_id::TrackingId;
pub use valid::Valid;

/// Largest number of contacts a request may carry: one of each [`ContactType`].
pub const MAX_CONTACTS: usize = 2;
