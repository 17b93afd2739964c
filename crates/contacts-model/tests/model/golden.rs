//! The contract document's own samples, byte for byte.

use contacts_model::{
    ContactType, Envelope, EnvelopeError, ErrorCode, ErrorItem, RequestDraft, Status,
    ValidationError, validate_request,
};
use serde_json::{Value, json};

/// The document's "Sample Request" body, tabs and all.
const SAMPLE_REQUEST: &str = include_str!("../fixtures/contract-sample-request.json");

/// The document's "Sample Success Response".
const SAMPLE_SUCCESS: &str = include_str!("../fixtures/contract-sample-success.json");

/// The document's "Sample Failure Response", which has no `status`.
const SAMPLE_FAILURE: &str = include_str!("../fixtures/contract-sample-failure.json");

fn parse(json: &str) -> Envelope {
    Envelope::from_json(json).expect("an envelope")
}

#[test]
fn the_sample_request_validates_and_serialises_back_unchanged() {
    let draft: RequestDraft = serde_json::from_str(SAMPLE_REQUEST).expect("parses");
    let request = validate_request(&draft).expect("valid");
    assert_eq!(request.contacts.len(), 2);
    let billing = request.contact(ContactType::Billing).expect("billing");
    assert_eq!(
        billing.work_phone.as_ref().map(|p| p.formatted()),
        Some("(914) 721-2006".to_owned())
    );
    let sent = serde_json::to_value(&*request).expect("serialises");
    let original: Value = serde_json::from_str(SAMPLE_REQUEST).expect("JSON");
    assert_eq!(sent, original);
}

#[test]
fn the_sample_success_parses_as_success() {
    let envelope = parse(SAMPLE_SUCCESS);
    assert_eq!(envelope, Envelope::success("756345"));
    assert_eq!(envelope.status(), Status::Success);
    assert_eq!(envelope.error(), None);
}

#[test]
fn the_sample_failure_without_status_parses_as_failure() {
    let envelope = parse(SAMPLE_FAILURE);
    let expected = Envelope::failure(
        Some("3432273233".into()),
        "500",
        "Service Error",
        vec![ErrorItem::message("Source not configured")],
    );
    assert_eq!(envelope, expected);
    assert_eq!(envelope.status(), Status::Failure);
    assert_eq!(envelope.request_tracking_id(), Some("3432273233"));
}

#[test]
fn a_success_carrying_more_members_is_still_a_success() {
    // The reference server's GET answer adds the customer and its contacts.
    let body = json!({
        "status": "Success",
        "request_tracking_id": "t-1",
        "customer": { "ezpay_id": "000010000005008", "status": "active" },
        "contacts": [{ "type": "billing", "name": "John Smith" }],
    });
    assert_eq!(parse(&body.to_string()), Envelope::success("t-1"));
}

#[test]
fn envelopes_round_trip_and_are_sent_with_status() {
    let validation = ValidationError::new(
        "contacts[billing].email",
        ErrorCode::EmailMissingTld,
        "The domain needs an ending such as .com or .org.",
    );
    let envelopes = [
        parse(SAMPLE_SUCCESS),
        parse(SAMPLE_FAILURE),
        Envelope::Success {
            request_tracking_id: None,
        },
        Envelope::failure(None, "400", "Bad Request", vec![validation.into()]),
    ];
    for envelope in envelopes {
        let sent = serde_json::to_value(&envelope).expect("serialises");
        let status = if envelope.error().is_some() {
            "Failure"
        } else {
            "Success"
        };
        assert_eq!(sent["status"], status, "{sent}");
        assert_eq!(parse(&sent.to_string()), envelope, "{sent}");
    }
}

#[test]
fn the_sample_failure_is_sent_as_the_document_shows_it_plus_status() {
    let mut expected: Value = serde_json::from_str(SAMPLE_FAILURE).expect("JSON");
    expected["status"] = json!("Failure");
    let sent = serde_json::to_value(parse(SAMPLE_FAILURE)).expect("serialises");
    assert_eq!(sent, expected);
}

#[test]
fn validation_errors_become_items_with_field_and_code() {
    let item = ErrorItem::from(ValidationError::new(
        "contacts[service].fax",
        ErrorCode::PhoneTooShort,
        "Enter a 10-digit phone number; this one has 9 digits.",
    ));
    let sent = serde_json::to_value(&item).expect("serialises");
    assert_eq!(
        sent,
        json!({
            "message": "Enter a 10-digit phone number; this one has 9 digits.",
            "field": "contacts[service].fax",
            "code": "phone.too_short",
        })
    );
}

#[test]
fn bodies_that_are_not_envelopes_are_refused_clearly() {
    let not_envelope = |body: &str| match Envelope::from_json(body) {
        Err(EnvelopeError::NotAnEnvelope(_)) => {}
        other => panic!("{body:?} gave {other:?}"),
    };
    assert_eq!(Envelope::from_json(" \n"), Err(EnvelopeError::Empty));
    assert!(matches!(
        Envelope::from_json("<html><body>502 Bad Gateway</body></html>"),
        Err(EnvelopeError::NotJson(_))
    ));
    not_envelope("{}");
    not_envelope(r#"{"status":"Success","error":{"code":"1","message":"m"}}"#);
    not_envelope(r#"{"status":"Failure","request_tracking_id":"1"}"#);
    not_envelope(r#"{"status":"Maybe"}"#);
    not_envelope(r#"["Success","1",null]"#);
    not_envelope(r#""Success""#);
}
