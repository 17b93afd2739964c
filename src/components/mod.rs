//! The editor's components, from the root [`app::App`] down to one [`field::TextField`].

pub mod app;
pub mod change_summary;
pub mod contact_form;
pub mod customer_bar;
pub mod field;
pub mod result_panel;
pub mod sign_in;
