//! The editor: one Yew component, the root [`app::App`], which renders the
//! parts in the other modules, down to one [`field::TextField`]. The parts
//! are plain views, their state hooks of the app: each component type would
//! cost the download a copy of Yew's lifecycle code.

pub mod app;
pub mod change_summary;
pub mod conflict_list;
pub mod contact_form;
pub mod customer_bar;
pub mod field;
pub mod load_notice;
pub mod result_panel;
pub mod save_bar;
pub mod sign_in;
