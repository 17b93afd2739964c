//! Whether a NANP number's area code and exchange are in use, by the table
//! `cargo xtask generate` makes from libphonenumber's published metadata.
//!
//! The table goes down to the exchange (the first six digits): the few
//! exchanges libphonenumber splits by the line number's first digit are
//! taken whole, so a number in use is never refused.

mod table;

pub use table::SOURCE;
use table::{AREA_CODES_IN_USE, PARTIAL_AREA_CODES};

/// The lowest area code and exchange the plan can use (2-9, then two digits).
const FIRST: u16 = 200;

/// What the plan's data says of an area code and an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// The exchange is in use in the area code.
    InUse,
    /// No number of the area code is in use.
    NoSuchAreaCode,
    /// The area code takes only some exchanges, and not this one.
    NoSuchExchange,
}

/// Whether area code `area` is in use; codes outside 200-999 never are.
pub(crate) fn area_code_in_use(area: u16) -> bool {
    let Some(n) = area.checked_sub(FIRST).map(usize::from) else {
        return false;
    };
    AREA_CODES_IN_USE
        .get(n / 8)
        .is_some_and(|byte| byte & (1 << (n % 8)) != 0)
}

/// What the plan says of `exchange` in area code `area`.
pub(crate) fn usage(area: u16, exchange: u16) -> Usage {
    if !area_code_in_use(area) {
        return Usage::NoSuchAreaCode;
    }
    match PARTIAL_AREA_CODES.binary_search_by_key(&area, |&(code, _)| code) {
        Err(_) => Usage::InUse,
        Ok(i) if in_ranges(PARTIAL_AREA_CODES[i].1, exchange) => Usage::InUse,
        Ok(_) => Usage::NoSuchExchange,
    }
}

fn in_ranges(ranges: &[(u16, u16)], exchange: u16) -> bool {
    ranges
        .iter()
        .any(|&(first, last)| (first..=last).contains(&exchange))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_codes_of_the_issue() {
        assert_eq!(usage(212, 555), Usage::InUse);
        assert_eq!(usage(914, 721), Usage::InUse);
        for area in [265, 335, 370] {
            assert_eq!(usage(area, 555), Usage::NoSuchAreaCode, "{area}");
        }
        assert!(!area_code_in_use(199) && !area_code_in_use(1000));
    }

    #[test]
    fn partial_area_codes_take_only_their_exchanges() {
        // 268 is Antigua and Barbuda: 460 is in use, 200 is not.
        assert_eq!(usage(268, 460), Usage::InUse);
        assert_eq!(usage(268, 200), Usage::NoSuchExchange);
    }

    #[test]
    fn the_table_is_ordered_and_in_range() {
        assert!(PARTIAL_AREA_CODES.is_sorted_by_key(|&(code, _)| code));
        for &(area, ranges) in &PARTIAL_AREA_CODES {
            assert!(area_code_in_use(area), "{area} is partial but not in use");
            assert!(!ranges.is_empty(), "{area}");
            assert!(
                ranges.is_sorted()
                    && ranges
                        .iter()
                        .all(|&(a, b)| FIRST <= a && a <= b && b <= 999),
                "{area}"
            );
        }
    }
}
