use crate::error::{ErrorCode, ValidationError};
use crate::text::describe_char;

/// Longest address the policy accepts, in characters.
pub const MAX_EMAIL_LEN: usize = 254;

/// Longest label of a domain, in characters (RFC 1034; the HTML standard's
/// grammar says the same).
pub(crate) const MAX_LABEL_LEN: usize = 63;

/// What the part before the `@` may hold besides ASCII letters and digits:
/// the HTML standard's "valid e-mail address" (RFC 5322's `atext`, and dots).
pub(crate) const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

/// How an internationalised top-level domain is written in ASCII (RFC 3490).
pub(crate) const IDN_PREFIX: &str = "xn--";

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c)
}

/// Checks an email address and returns it trimmed, as typed.
///
/// The part before the `@` is the HTML standard's "valid e-mail address"
/// (what `<input type=email>` accepts) without its leading, trailing or
/// doubled dots: ASCII letters, digits and `.!#$%&'*+/=?^_`{|}~-`, so no
/// quotes. The domain has a dot; its labels are letters, digits and inner
/// dashes, at most 63 characters; the top-level domain is two or more
/// letters or an internationalised one in its `xn--` form. At most 254
/// characters. The error's path is empty; callers put it under the field's
/// path.
pub fn validate_email(input: &str) -> Result<&str, ValidationError> {
    let email = input.trim();
    let fail = |code, message: &str| Err(ValidationError::new("", code, message));
    if email.chars().count() > MAX_EMAIL_LEN {
        return fail(
            ErrorCode::EmailTooLong,
            "This email address is too long: use at most 254 characters.",
        );
    }
    if email.chars().any(char::is_whitespace) {
        return fail(
            ErrorCode::EmailContainsSpace,
            "Remove the spaces from the email address.",
        );
    }
    let Some((local, domain)) = email.split_once('@') else {
        return fail(
            ErrorCode::EmailMissingAt,
            "An email address needs an @, as in name@example.com.",
        );
    };
    if domain.contains('@') {
        return fail(
            ErrorCode::EmailMultipleAt,
            "An email address has exactly one @; remove the others.",
        );
    }
    if local.is_empty() {
        return fail(
            ErrorCode::EmailMissingLocalPart,
            "Add the name before the @, as in name@example.com.",
        );
    }
    if let Some(c) = local.chars().find(|&c| !is_local_char(c)) {
        return Err(ValidationError::new(
            "",
            ErrorCode::EmailInvalidCharacter,
            local_character_message(c),
        ));
    }
    // A dot at either end, or two in a row, leaves an empty run between dots.
    if local.split('.').any(str::is_empty) {
        return fail(
            ErrorCode::EmailMisplacedDot,
            "The part before the @ cannot start or end with a dot, or have two dots in a row.",
        );
    }
    if domain.is_empty() {
        return fail(
            ErrorCode::EmailMissingDomain,
            "Add the domain after the @, as in name@example.com.",
        );
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return fail(
            ErrorCode::EmailMissingTld,
            "The domain needs an ending such as .com or .org.",
        );
    };
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if !labels_ok {
        return fail(
            ErrorCode::EmailInvalidDomain,
            "The domain after the @ is not valid: use letters, digits, dashes and single dots.",
        );
    }
    if domain
        .split('.')
        .any(|label| label.chars().count() > MAX_LABEL_LEN)
    {
        return fail(
            ErrorCode::EmailLabelTooLong,
            "A part of the domain between dots is too long: use at most 63 characters.",
        );
    }
    if !is_tld(tld) {
        return fail(
            ErrorCode::EmailInvalidTld,
            "The domain must end in two or more letters, such as .com.",
        );
    }
    Ok(email)
}

/// Two or more letters, or an internationalised top-level domain in its
/// ASCII form (`xn--` and letters, digits or dashes; the labels' rules
/// already hold).
fn is_tld(tld: &str) -> bool {
    let idn = tld.len() > IDN_PREFIX.len()
        && tld
            .get(..IDN_PREFIX.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(IDN_PREFIX))
        && tld.is_ascii();
    idn || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

fn local_character_message(c: char) -> String {
    let why = if c.is_ascii() {
        "an address cannot have it there"
    } else {
        "many mail systems cannot deliver to an address with it there"
    };
    let shown = describe_char(c);
    format!(
        "Remove {shown} from the part before the @: {why}. Use letters A-Z, digits, dots and ! # $ % & ' * + - / = ? ^ _ ` {{ | }} ~."
    )
}
