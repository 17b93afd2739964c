//! Request bodies: bytes → JSON → `RequestDraft` → `validate_request`.
//!
//! Validation never panics and explains every refusal; a valid request,
//! serialised as the editor sends it, validates again to the same value.

#![no_main]

use contacts_model::{RequestDraft, validate_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let draft = match RequestDraft::from_value(&value) {
        Ok(draft) => draft,
        Err(errors) => {
            assert!(!value.is_object(), "an object was refused: {errors}");
            return;
        }
    };
    let valid = match validate_request(&draft) {
        Ok(valid) => valid,
        Err(errors) => {
            assert!(!errors.as_slice().is_empty(), "a refusal without an error");
            for error in errors.as_slice() {
                assert!(
                    !error.message.is_empty(),
                    "an error without a message: {error:?}"
                );
            }
            return;
        }
    };
    let sent = serde_json::to_value(&*valid).expect("a valid request serialises");
    let again = RequestDraft::from_value(&sent).expect("a valid request serialises to an object");
    let revalidated = validate_request(&again)
        .unwrap_or_else(|e| panic!("the serialised valid request {sent} is refused: {e}"));
    assert_eq!(revalidated, valid, "re-validating {sent} changed it");
});
