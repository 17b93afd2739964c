use crate::error::{ErrorCode, ValidationError};
use crate::text::is_forbidden_in_text;

/// Longest address the policy accepts, in characters.
pub const MAX_EMAIL_LEN: usize = 254;

/// Characters that cannot appear before the `@` of a practical address.
pub(crate) const LOCAL_FORBIDDEN: [char; 10] = ['<', '>', '(', ')', '[', ']', '\\', ',', ';', ':'];

/// Checks a practical email address and returns it trimmed, as typed.
///
/// One `@`, a non-empty local part, a domain with a dot and a top-level
/// domain of two or more letters, at most 254 characters, no spaces. The
/// error's path is empty; callers put it under the field's path.
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
    if local
        .chars()
        .any(|c| is_forbidden_in_text(c) || LOCAL_FORBIDDEN.contains(&c))
    {
        return fail(
            ErrorCode::EmailInvalidCharacter,
            "The part before the @ holds a character an address cannot have, such as < > ( ) [ ] , ; : or \\.",
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
    if tld.chars().count() < 2 || !tld.chars().all(char::is_alphabetic) {
        return fail(
            ErrorCode::EmailInvalidTld,
            "The domain must end in two or more letters, such as .com.",
        );
    }
    Ok(email)
}
