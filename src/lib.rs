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
pub mod prefetched;
pub mod session;

pub use components::app::{App, AppProps};
pub use embed::{EditorHandle, mount};
pub use options::EditorOptions;

/// The allocator of the browser build (see Cargo.toml): talc, growing the
/// WebAssembly memory as needed, as its guide for single-threaded
/// WebAssembly sets it up.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
