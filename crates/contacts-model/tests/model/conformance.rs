//! The validation against references nobody here wrote, generated from
//! pinned packages by `cargo xtask generate` (the JS package's Node tests
//! run the same tables):
//! - `phones.json`: libphonenumber-js's verdicts on 20,000 random numbers;
//! - `isemail.json`: the isemail suite, with the HTML standard's grammar's
//!   verdicts;
//! - `email-differences.json` (written here): each address where we
//!   deliberately differ from the reference, with the reason.

use std::collections::{BTreeMap, BTreeSet};

use contacts_model::{ErrorCode, NANP_DATA_SOURCE, normalize_phone, validate_email};
use serde::Deserialize;

const PHONES: &str = include_str!("../conformance/phones.json");
const ISEMAIL: &str = include_str!("../conformance/isemail.json");
const EMAIL_DIFFERENCES: &str = include_str!("../conformance/email-differences.json");

/// Agreement with libphonenumber that the issue asks for, in percent.
const MIN_PHONE_AGREEMENT: f64 = 99.0;

#[derive(Deserialize)]
struct Phones {
    source: String,
    split_exchanges: Vec<String>,
    valid: Vec<String>,
    invalid: Vec<String>,
    area_code_unassigned: Vec<String>,
}

#[test]
fn phones_agree_with_libphonenumber() {
    let phones: Phones = serde_json::from_str(PHONES).expect("phones.json");
    assert!(
        phones.source.starts_with(NANP_DATA_SOURCE),
        "the table is from {NANP_DATA_SOURCE}, the verdicts from {}",
        phones.source
    );
    let total = phones.valid.len() + phones.invalid.len() + phones.area_code_unassigned.len();
    assert_eq!(total, 20_000);

    let mut disagreements: Vec<&str> = Vec::new();
    let verdicts = [(&phones.valid, true), (&phones.invalid, false)];
    for (numbers, valid) in verdicts {
        for number in numbers {
            if normalize_phone(number).is_ok() != valid {
                disagreements.push(number);
            }
        }
    }
    let mut unassigned_missed = Vec::new();
    for number in &phones.area_code_unassigned {
        match normalize_phone(number) {
            Err(e) if e.code == ErrorCode::PhoneAreaCodeNotInUse => {}
            other => unassigned_missed.push(format!("{number}: {other:?}")),
        }
    }
    let agreed = total - disagreements.len() - unassigned_missed.len();
    let percent = 100.0 * agreed as f64 / total as f64;
    println!(
        "NANP validity: {agreed} of {total} random numbers ({percent:.2} %) judged as {}; \
         {} of its {} refusals of an unassigned area code matched",
        phones.source,
        phones.area_code_unassigned.len() - unassigned_missed.len(),
        phones.area_code_unassigned.len(),
    );
    assert!(
        unassigned_missed.is_empty(),
        "unassigned area codes not refused as such: {unassigned_missed:?}"
    );
    assert!(percent >= MIN_PHONE_AGREEMENT, "{percent:.2} %");
    let mut unexplained = Vec::new();
    let mut explained: BTreeMap<&str, usize> = BTreeMap::new();
    for number in disagreements {
        match phone_difference(&phones, number) {
            Some(reason) => *explained.entry(reason).or_default() += 1,
            None => unexplained.push(number),
        }
    }
    for (reason, count) in &explained {
        println!("  {count} deliberately judged otherwise: {reason}");
    }
    assert!(unexplained.is_empty(), "disagreements: {unexplained:?}");
}

/// Why we deliberately judge `number` otherwise than libphonenumber, if we do.
fn phone_difference(phones: &Phones, number: &str) -> Option<&'static str> {
    if phones
        .split_exchanges
        .iter()
        .any(|e| number.starts_with(e.as_str()))
    {
        Some(
            "we take whole an exchange that libphonenumber splits by the line number's first digit",
        )
    } else if matches!(number.as_bytes()[3], b'0' | b'1')
        && phones.valid.iter().any(|v| v == number)
    {
        Some(
            "the plan's exchanges start with 2-9; libphonenumber's data for some area codes (809, 829, 849) takes any seven digits",
        )
    } else {
        None
    }
}

#[derive(Deserialize)]
struct Isemail {
    tests: Vec<IsemailTest>,
}

#[derive(Deserialize)]
struct IsemailTest {
    id: u32,
    address: String,
    category: String,
    whatwg: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Difference {
    id: u32,
    address: String,
    accepted: bool,
    reason: String,
}

/// What the reference expects of a test: an `ISEMAIL_ERR` address refused,
/// an `ISEMAIL_VALID_CATEGORY` one accepted, any other as the HTML
/// standard's grammar says.
fn reference_accepts(test: &IsemailTest) -> bool {
    match test.category.as_str() {
        "ISEMAIL_ERR" => false,
        "ISEMAIL_VALID_CATEGORY" => true,
        _ => test.whatwg,
    }
}

#[test]
fn emails_agree_with_isemail_and_the_html_standard() {
    let suite: Isemail = serde_json::from_str(ISEMAIL).expect("isemail.json");
    let listed: Vec<Difference> =
        serde_json::from_str(EMAIL_DIFFERENCES).expect("email-differences.json");
    let listed: BTreeMap<u32, Difference> = listed.into_iter().map(|d| (d.id, d)).collect();
    assert!(suite.tests.len() > 150, "only {} tests", suite.tests.len());

    let mut problems = Vec::new();
    let mut by_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for test in &suite.tests {
        let accepted = validate_email(&test.address).is_ok();
        let differs = accepted != reference_accepts(test);
        let tally = by_category.entry(&test.category).or_default();
        tally.0 += usize::from(!differs);
        tally.1 += usize::from(differs);
        match (differs, listed.get(&test.id)) {
            (false, None) => {}
            (true, Some(d)) if d.address == test.address && d.accepted == accepted => {
                assert!(d.reason.len() > 20, "{}: give the reason", d.id);
            }
            (true, _) => problems.push(format!(
                "#{} {:?} ({}): {} and not listed as a difference",
                test.id,
                test.address,
                test.category,
                if accepted { "accepted" } else { "refused" },
            )),
            (false, Some(_)) => problems.push(format!(
                "#{} {:?} is listed as a difference but agrees",
                test.id, test.address
            )),
        }
    }
    let known: BTreeSet<u32> = suite.tests.iter().map(|t| t.id).collect();
    problems.extend(
        listed
            .keys()
            .filter(|id| !known.contains(id))
            .map(|id| format!("#{id} is listed but not in the suite")),
    );
    for (category, (agree, differ)) in &by_category {
        println!(
            "isemail {category}: {agree} as the reference, {differ} listed as deliberate differences"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
