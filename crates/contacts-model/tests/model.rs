//! The model crate's one integration test binary.
//!
//! `cases` runs the shared table of `cases.json` (also run by the JS
//! package's Node tests), `conformance` the reference tables of
//! `conformance/` (phones by libphonenumber, the isemail suite), `golden` checks the contract document's samples,
//! and `properties` checks what must hold for every input.

// The modules live in `model/` so that Cargo does not take each for a binary.
#[path = "model/cases.rs"]
mod cases;
#[path = "model/conformance.rs"]
mod conformance;
#[path = "model/golden.rs"]
mod golden;
#[path = "model/properties.rs"]
mod properties;
