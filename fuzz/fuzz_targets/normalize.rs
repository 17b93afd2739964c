//! Phone, email and identifier normalisation of any text.
//!
//! None panics; each normalised value normalises to itself (idempotence),
//! phones keep the NANP shape, and formatting agrees with normalisation.

#![no_main]

use contacts_model::{
    EzpayId, TrackingId, format_phone, normalize_phone, split_extension, validate_email,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check_phone(input);
    check_extension(input);
    check_email(input);
    check_identifiers(input);
});

fn check_phone(input: &str) {
    let Ok(phone) = normalize_phone(input) else {
        assert_eq!(
            format_phone(input),
            input.trim(),
            "a bad number is shown as typed"
        );
        return;
    };
    let digits = phone.digits().as_bytes();
    assert_eq!(digits.len(), 10, "{input:?} → {phone}");
    assert!(digits.iter().all(u8::is_ascii_digit), "{input:?} → {phone}");
    assert!(
        digits[0] >= b'2' && digits[3] >= b'2',
        "{input:?} → {phone}"
    );
    let formatted = phone.formatted();
    assert_eq!(format_phone(input), formatted);
    assert_eq!(
        format_phone(&formatted),
        formatted,
        "formatting is idempotent"
    );
    for again in [phone.digits(), formatted.as_str()] {
        assert_eq!(
            normalize_phone(again).as_ref(),
            Ok(&phone),
            "{input:?} → {again:?}"
        );
    }
}

fn check_extension(input: &str) {
    let (number, extension) = split_extension(input);
    assert_eq!(number, number.trim(), "{input:?}");
    if let Some(extension) = extension {
        assert!(
            !extension.is_empty() && extension == extension.trim(),
            "{input:?}"
        );
    }
    // The number part holds no marker, so splitting again finds nothing.
    assert_eq!(split_extension(number), (number, None), "{input:?}");
}

fn check_email(input: &str) {
    if let Ok(email) = validate_email(input) {
        assert_eq!(email, input.trim(), "an address is kept as typed, trimmed");
        assert_eq!(validate_email(email), Ok(email), "{input:?}");
    }
}

fn check_identifiers(input: &str) {
    if let Ok(id) = EzpayId::parse(input) {
        assert_eq!(id.as_str().len(), EzpayId::LEN, "{input:?}");
        assert_eq!(EzpayId::parse(id.as_str()).as_ref(), Ok(&id), "{input:?}");
    }
    if let Ok(id) = TrackingId::parse(input) {
        assert_eq!(
            TrackingId::parse(id.as_str()).as_ref(),
            Ok(&id),
            "{input:?}"
        );
    }
}
