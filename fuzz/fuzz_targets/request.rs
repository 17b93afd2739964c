//! Request bodies: bytes → `RequestDraft` → `validate_request`.
//!
//! Validation never panics and explains every refusal. Reading JSON text
//! (as the JS package does) agrees with reading a parsed value (as the
//! server does). A valid request, serialised as the editor sends it,
//! validates again to the same value.

#![no_main]

use contacts_model::{RequestDraft, validate_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let by_value = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .map(|value| {
            let draft = RequestDraft::from_value(&value);
            assert_eq!(
                draft.is_ok(),
                value.is_object(),
                "objects, and only objects, are read"
            );
            draft
        });
    let by_text = std::str::from_utf8(data).ok().map(RequestDraft::from_json);
    match (&by_value, &by_text) {
        (Some(Ok(value_draft)), Some(Ok(text_draft))) => {
            assert_eq!(value_draft, text_draft, "text and value readers differ");
        }
        // The text reader skips unknown members unparsed, so it reads a body
        // whose unknown member holds a number beyond f64, which a value
        // cannot hold; such a request is refused all the same.
        (None | Some(Err(_)), Some(Ok(text_draft))) => {
            assert!(
                validate_request(text_draft).is_err(),
                "only the text reader accepts it"
            );
        }
        // The text reader refuses a known key given twice, where a value
        // keeps the last; the server refuses duplicate keys before reading.
        _ => {}
    }
    let Some(Ok(draft)) = by_value else {
        return;
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
    let sent = serde_json::to_string(&*valid).expect("a valid request serialises");
    let again = RequestDraft::from_json(&sent).expect("a valid request serialises to an object");
    let revalidated = validate_request(&again)
        .unwrap_or_else(|e| panic!("the serialised valid request {sent} is refused: {e}"));
    assert_eq!(revalidated, valid, "re-validating {sent} changed it");
});
