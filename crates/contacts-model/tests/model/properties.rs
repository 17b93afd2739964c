//! What holds for every input: no panic, idempotent normalisation, round trips.

use contacts_model::{
    ContactDraft, ContactType, Envelope, Field, RequestDraft, format_phone, normalize_phone,
    validate_contact, validate_request,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Few enough cases that the whole binary runs in seconds.
const CASES: u32 = 256;

/// Member names of requests, contacts and envelopes, so that generated objects
/// often reach the validation of a field rather than stop at an unknown one.
const KEYS: [&str; 15] = [
    "status",
    "error",
    "errors",
    "code",
    "message",
    "contacts",
    "request_tracking_id",
    "type",
    "name",
    "organization_name",
    "email",
    "work_phone",
    "work_phone_extension",
    "mobile_phone",
    "fax",
];

/// Strings as agents type and paste them, plus anything at all.
fn field_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9 ()+.#;=extEXT-]{0,24}",
        "[a-zA-Z0-9 .@_<>-]{0,20}",
        prop::sample::select(vec![
            "billing", "service", "Success", "Failure", "", " ", "x2006"
        ])
        .prop_map(str::to_owned),
    ]
}

/// JSON trees of every kind, their objects keyed mostly by the contract's names.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        field_text().prop_map(Value::from),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// 10 valid NANP digits (an area code and exchange in use), and the same
/// number as people write it.
fn phone_as_typed() -> impl Strategy<Value = (String, String)> {
    let in_use = "[2-9][0-9]{2}[2-9][0-9]{6}"
        .prop_filter("an area code and exchange in use", |d| {
            normalize_phone(d).is_ok()
        });
    (in_use, 0..7_u8).prop_map(|(digits, style)| {
        let (area, exchange, line) = (&digits[..3], &digits[3..6], &digits[6..]);
        let typed = match style {
            0 => digits.clone(),
            1 => format!("({area}) {exchange}-{line}"),
            2 => format!("+1 ({area}) {exchange}-{line}"),
            3 => format!("{area}.{exchange}.{line}"),
            4 => format!("1-{area}-{exchange}-{line}"),
            5 => format!(" +1{digits} "),
            _ => format!("{area}\u{a0}{exchange}\u{2013}{line}"),
        };
        (typed, digits)
    })
}

/// A valid contact of type `contact_type` as an agent might type it.
fn valid_contact(contact_type: ContactType) -> impl Strategy<Value = Value> {
    (
        "[A-Za-z][A-Za-z .'-]{0,40}[A-Za-z]",
        prop::option::of("[A-Za-z0-9][A-Za-z0-9 &.,-]{0,60}[A-Za-z0-9]"),
        prop::option::of("[a-z0-9_+-]{1,12}(\\.[a-z0-9_+-]{1,8})?@[a-z0-9]{1,12}(\\.[a-z0-9]{1,8})?\\.[a-z]{2,6}"),
        prop::option::of((phone_as_typed(), prop::option::of("[0-9]{1,6}"))),
        prop::option::of(phone_as_typed()),
        prop::option::of(phone_as_typed()),
        any::<bool>(),
    )
        .prop_map(
            move |(name, organization, email, work, mobile, fax, padded)| {
                let pad = |s: String| if padded { format!("  {s} ") } else { s };
                let mut contact = Map::new();
                contact.insert("type".into(), json!(contact_type.as_str()));
                contact.insert("name".into(), json!(pad(name)));
                let mut put = |key: &str, value: Option<String>| {
                    if let Some(value) = value {
                        contact.insert(key.into(), json!(value));
                    }
                };
                put("organization_name", organization.map(pad));
                put("email", email.map(pad));
                let (work, extension) =
                    work.map_or((None, None), |(phone, ext)| (Some(phone), ext));
                put("work_phone", work.map(|(typed, _)| typed));
                put("work_phone_extension", extension);
                put("mobile_phone", mobile.map(|(typed, _)| typed));
                put("fax", fax.map(|(typed, _)| typed));
                Value::Object(contact)
            },
        )
}

/// A valid request body: one or two contacts of distinct types.
fn valid_request() -> impl Strategy<Value = Value> {
    let contacts = prop_oneof![
        valid_contact(ContactType::Billing).prop_map(|c| vec![c]),
        valid_contact(ContactType::Service).prop_map(|c| vec![c]),
        (
            valid_contact(ContactType::Billing),
            valid_contact(ContactType::Service)
        )
            .prop_map(|(b, s)| vec![b, s]),
        (
            valid_contact(ContactType::Service),
            valid_contact(ContactType::Billing)
        )
            .prop_map(|(s, b)| vec![s, b]),
    ];
    (prop::option::of("[A-Za-z0-9._:-]{1,64}"), contacts).prop_map(|(tracking_id, contacts)| {
        let mut body = json!({ "contacts": contacts });
        if let Some(id) = tracking_id {
            body["request_tracking_id"] = json!(id);
        }
        body
    })
}

/// Validates a request body given as JSON; the normalised body, or `None`.
fn validated(body: &Value) -> Option<Value> {
    let draft = RequestDraft::from_value(body).ok()?;
    let request = validate_request(&draft).ok()?;
    Some(serde_json::to_value(&*request).expect("a valid request serialises"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_json_is_judged_without_panic(value in any_json(), other in any_json()) {
        for body in [value.clone(), json!({ "contacts": value.clone() }), json!({ "contacts": [value.clone(), other] })] {
            // A body read from text, as the server reads it, is judged as the same value.
            let from_text = serde_json::from_str::<RequestDraft>(&body.to_string()).ok();
            let from_value = RequestDraft::from_value(&body).ok();
            prop_assert_eq!(&from_text, &from_value);
            if let Some(normalised) = validated(&body) {
                prop_assert_eq!(validated(&normalised), Some(normalised.clone()));
            }
        }
        if let Ok(envelope) = Envelope::from_value(value.clone()) {
            let sent = serde_json::to_string(&envelope).expect("an envelope serialises");
            prop_assert_eq!(Envelope::from_json(&sent), Ok(envelope));
        }
        if let Ok(draft) = ContactDraft::from_value(&value)
            && let Ok(contact) = validate_contact(&draft)
        {
            prop_assert_eq!(validate_contact(&contact.to_draft()), Ok(contact));
        }
    }

    #[test]
    fn any_string_in_any_field_is_judged_without_panic(
        field in prop::sample::select(Field::ALL.to_vec()),
        text in field_text(),
        contact_type in field_text(),
    ) {
        for type_text in ["billing", contact_type.as_str()] {
            let mut draft = ContactDraft::new(ContactType::Billing);
            draft.contact_type = type_text.into();
            draft.set(Field::Name, "John Smith");
            draft.set(field, text.as_str());
            match validate_contact(&draft) {
                Ok(contact) => {
                    prop_assert_eq!(validate_contact(&contact.to_draft()), Ok(contact));
                }
                Err(errors) => {
                    for error in errors.as_slice() {
                        prop_assert!(error.path.starts_with("contacts["), "{}", error);
                        prop_assert!(!error.message.is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn phone_normalisation_is_idempotent(input in prop_oneof![
        field_text(),
        phone_as_typed().prop_map(|(typed, _)| typed),
    ]) {
        if let Ok(phone) = normalize_phone(&input) {
            prop_assert_eq!(normalize_phone(phone.digits()), Ok(phone.clone()));
            prop_assert_eq!(normalize_phone(&phone.formatted()), Ok(phone.clone()));
            prop_assert_eq!(format_phone(&input), phone.formatted());
        }
    }

    #[test]
    fn every_common_phone_format_gives_its_digits((typed, digits) in phone_as_typed()) {
        let phone = normalize_phone(&typed);
        prop_assert_eq!(phone.as_ref().map(|p| p.digits()), Ok(digits.as_str()), "{}", typed);
    }

    #[test]
    fn valid_requests_are_accepted_and_serialise_parse_round_trips(body in valid_request()) {
        let normalised = validated(&body);
        prop_assert!(normalised.is_some(), "refused {}", body);
        // Parsing and validating the sent body gives it back unchanged.
        prop_assert_eq!(validated(normalised.as_ref().expect("valid")), normalised.clone());
    }
}
