//! The contacts editor: a Yew app in which call-centre agents update a
//! customer's billing and service contacts, standalone or embedded in the
//! CAAG console.
//!
//! All validation comes from `contacts-model`; this crate adds the form,
//! the calls to the API, the tab's draft and the embedding interface.

pub mod api;
pub mod components;
pub mod contact_list;
pub mod credentials;
pub mod draft;
pub mod embed;
pub mod events;
pub mod form;
pub mod hooks;
pub mod options;
pub mod panel;
pub mod session;

pub use components::app::{App, AppProps};
pub use embed::{EditorHandle, mount};
pub use options::EditorOptions;
