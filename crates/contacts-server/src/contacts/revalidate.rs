//! Stored contacts checked again by today's validation: those it refuses
//! (stored by an older version, or imported) are returned as stored, with
//! their errors, rather than making the customer unreadable. A POST then
//! replaces them as usual.

use contacts_model::{Contact, ContactDraft, ValidationError, validate_contact};
use serde::Serialize;

/// A stored contact as `GET` returns it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StoredContact {
    /// Valid today: normalised, as a POST would store it.
    Valid(Contact),
    /// Refused today: exactly as stored; the errors say what is wrong.
    AsStored(ContactDraft),
}

/// Validates each stored contact; returns them all, and the errors of those
/// refused, with their `contacts[TYPE].field` paths.
pub fn check(drafts: Vec<ContactDraft>) -> (Vec<StoredContact>, Vec<ValidationError>) {
    let mut errors = Vec::new();
    let contacts = drafts
        .into_iter()
        .map(|draft| match validate_contact(&draft) {
            Ok(valid) => StoredContact::Valid(valid.into_inner()),
            Err(refused) => {
                errors.extend(refused);
                StoredContact::AsStored(draft)
            }
        })
        .collect();
    (contacts, errors)
}

#[cfg(test)]
mod tests {
    use contacts_model::{ContactType, Field};

    use super::*;

    #[test]
    fn flags_what_todays_validation_refuses_and_keeps_it_as_stored() {
        let mut good = ContactDraft::new(ContactType::Billing);
        good.set(Field::Name, "Ann Lee");
        let mut old = ContactDraft::new(ContactType::Service);
        old.set(Field::Name, "Bob");
        old.set(Field::Email, "bob@localhost");
        old.set(Field::WorkPhone, "12345");
        let (contacts, errors) = check(vec![good, old]);
        let json = serde_json::to_value(&contacts).expect("serialisable");
        assert_eq!(json[0]["name"], "Ann Lee");
        assert_eq!(json[1]["email"], "bob@localhost");
        assert_eq!(json[1]["work_phone"], "12345");
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["contacts[service].email", "contacts[service].work_phone"]
        );
    }
}
