//! Runs every case of `cases.json` through the model.

use std::collections::BTreeSet;

use contacts_model::{
    ContactDraft, ErrorCode, EzpayId, RequestDraft, TrackingId, ValidationError, normalize_phone,
    validate_contact, validate_request,
};
use serde::Deserialize;
use serde_json::Value;

/// The table shared with the JS package's tests.
const CASES: &str = include_str!("../cases.json");

/// Codes that no kind of case can produce, each with the reason.
///
/// `tracking_id.required` comes only from the `Request-Tracking-Id` header:
/// in a body an empty tracking id counts as absent, as every empty string
/// does. [`an_empty_tracking_id_header_is_required`] covers it instead.
const NOT_PRODUCIBLE_BY_CASES: [ErrorCode; 1] = [ErrorCode::TrackingIdRequired];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    kind: Kind,
    input: Value,
    ok: bool,
    value: Option<Value>,
    errors: Option<Vec<Expected>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Contact,
    Request,
    Phone,
    EzpayId,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    path: String,
    code: String,
}

fn cases() -> Vec<Case> {
    serde_json::from_str(CASES).expect("cases.json is a list of cases")
}

/// Runs one input through the model: the normalised value as JSON, or the errors.
fn run(kind: Kind, input: &Value) -> Result<Value, Vec<ValidationError>> {
    let text = || {
        input
            .as_str()
            .expect("phone and ezpay_id inputs are strings")
    };
    let result = match kind {
        Kind::Contact => ContactDraft::from_value(input)
            .and_then(|draft| validate_contact(&draft))
            .map(|contact| serde_json::to_value(&*contact)),
        Kind::Request => RequestDraft::from_value(input)
            .and_then(|draft| validate_request(&draft))
            .map(|request| serde_json::to_value(&*request)),
        Kind::Phone => normalize_phone(text())
            .map(|phone| Ok(Value::from(phone.digits())))
            .map_err(Into::into),
        Kind::EzpayId => EzpayId::parse(text())
            .map(|id| Ok(Value::from(id.as_str())))
            .map_err(Into::into),
    };
    result
        .map(|value| value.expect("a valid value serialises"))
        .map_err(|errors| errors.into_vec())
}

#[test]
fn every_case_gives_its_verdict_value_and_errors() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = run(case.kind, &case.input);
        let verdict = match (&got, case.ok) {
            (Ok(value), true) => (Some(value) != case.value.as_ref())
                .then(|| format!("value {value} instead of {:?}", case.value)),
            (Err(errors), false) => {
                let got: Vec<Expected> = errors
                    .iter()
                    .map(|e| Expected {
                        path: e.path.clone(),
                        code: e.code.as_str().to_owned(),
                    })
                    .collect();
                (Some(&got) != case.errors.as_ref())
                    .then(|| format!("errors {got:?} instead of {:?}", case.errors))
            }
            (Ok(value), false) => Some(format!("accepted as {value}")),
            (Err(errors), true) => Some(format!("refused: {errors:?}")),
        };
        if let Some(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_error_message_is_a_sentence() {
    for case in cases() {
        let Err(errors) = run(case.kind, &case.input) else {
            continue;
        };
        for e in errors {
            let first = e.message.chars().next().expect("message not empty");
            assert!(
                first.is_uppercase() && e.message.ends_with('.') && e.message.len() > 20,
                "{}: {:?} does not say what to fix",
                case.name,
                e.message
            );
        }
    }
}

#[test]
fn the_table_is_well_formed() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names = BTreeSet::new();
    for case in &cases {
        assert!(names.insert(&case.name), "two cases named {}", case.name);
        assert_eq!(case.value.is_some(), case.ok, "{}: value iff ok", case.name);
        assert_eq!(
            case.errors.is_some(),
            !case.ok,
            "{}: errors iff not ok",
            case.name
        );
        if let Some(errors) = &case.errors {
            assert!(!errors.is_empty(), "{}: no errors listed", case.name);
        }
    }
}

#[test]
fn every_error_code_has_a_case() {
    let covered: BTreeSet<String> = cases()
        .into_iter()
        .flat_map(|case| case.errors.unwrap_or_default())
        .map(|e| e.code)
        .collect();
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|code| !NOT_PRODUCIBLE_BY_CASES.contains(code))
        .map(|code| code.as_str())
        .filter(|code| !covered.contains(*code))
        .collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
    for code in NOT_PRODUCIBLE_BY_CASES {
        assert!(
            !covered.contains(code.as_str()),
            "{code} has a case now: drop it from NOT_PRODUCIBLE_BY_CASES"
        );
    }
}

#[test]
fn an_empty_tracking_id_header_is_required() {
    for header in ["", "   "] {
        let error = TrackingId::parse(header).expect_err("empty tracking id");
        assert_eq!(error.code, ErrorCode::TrackingIdRequired);
        assert_eq!(error.path, "request_tracking_id");
    }
}
