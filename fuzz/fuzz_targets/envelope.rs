//! Response bodies: bytes → `Envelope::from_json`.
//!
//! Parsing never panics, every refusal has its stable code, reading text and
//! reading a parsed value agree, and a parsed envelope serialised again
//! parses to the same envelope.

#![no_main]

use contacts_model::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A response body reaches the parser as text; the client decodes it lossily.
    let body = String::from_utf8_lossy(data);
    let parsed = Envelope::from_json(&body);
    // Reading the text straight and reading a parsed value agree.
    if let Ok(value) = serde_json::from_str(&body) {
        assert_eq!(
            Envelope::from_value(value).map_err(|e| e.code()),
            parsed.clone().map_err(|e| e.code()),
            "text and value readers differ on {body}"
        );
    }
    let envelope = match parsed {
        Ok(envelope) => envelope,
        Err(error) => {
            assert!(error.code().starts_with("response."), "{error:?}");
            assert!(!error.to_string().is_empty(), "{error:?}");
            return;
        }
    };
    assert_eq!(
        envelope.error().is_some(),
        envelope.status() == contacts_model::Status::Failure
    );
    let json = serde_json::to_string(&envelope).expect("an envelope serialises");
    let again = Envelope::from_json(&json)
        .unwrap_or_else(|e| panic!("the serialised envelope {json} does not parse: {e}"));
    assert_eq!(again, envelope, "{json} did not round-trip");
});
