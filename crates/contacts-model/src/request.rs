use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::MAX_CONTACTS;
use crate::contact::{Contact, ContactDraft, ContactType, DraftVisitor, check_contact, check_type};
use crate::error::{ErrorCode, ValidationError, ValidationErrors};
#[cfg(feature = "json")]
use crate::json_kind::object_from_text;
use crate::json_kind::{ObjectOr, expect_object, mark_read, note_unknown_key, object_from};
use crate::text::{Text, with_article};
use crate::tracking_id::TrackingId;
use crate::valid::Valid;

/// The body of `POST /api/v1/customers/{eZpayID}/contacts` as received, not
/// yet validated. It reads any JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RequestDraft {
    /// The tracking id, where the client put it in the body.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub request_tracking_id: Text,
    /// The contacts.
    pub contacts: Contacts,
    /// Fields the contract does not define, sorted and each once; validation
    /// rejects them.
    #[serde(skip)]
    pub unknown: Vec<String>,
}

impl RequestDraft {
    /// A request draft carrying these contacts and no tracking id.
    pub fn from_contacts(contacts: impl IntoIterator<Item = ContactDraft>) -> Self {
        Self {
            contacts: Contacts::List(contacts.into_iter().map(ContactEntry::Object).collect()),
            ..Self::default()
        }
    }

    /// Reads a request body from any JSON value of a self-describing serde
    /// format: a `serde_json::Value`, or a JavaScript value through `js-json`.
    ///
    /// Fails only where the value is not a JSON object; every other fault is
    /// left for [`validate_request`] to report with its path.
    pub fn from_deserializer<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, ValidationErrors> {
        Self::read(object_from(deserializer, RequestVisitor))
    }

    /// Reads a request body from a JSON value, as [`RequestDraft::from_deserializer`] does.
    #[cfg(feature = "json")]
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ValidationErrors> {
        Self::from_deserializer(value)
    }

    /// Reads a request body from JSON text, as [`RequestDraft::from_deserializer`] reads a value.
    #[cfg(feature = "json")]
    pub fn from_json(json: &str) -> Result<Self, ValidationErrors> {
        Self::read(object_from_text(json, RequestVisitor))
    }

    fn read<E: fmt::Display>(object: Result<ObjectOr<Self>, E>) -> Result<Self, ValidationErrors> {
        expect_object(object).map_err(|why| {
            ValidationErrors::from(ValidationError::new(
                "",
                ErrorCode::RequestNotAnObject,
                format!("Send the request as a JSON object holding 'contacts', not {why}."),
            ))
        })
    }
}

impl<'de> Deserialize<'de> for RequestDraft {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestVisitor)
    }
}

/// Reads a request object: `request_tracking_id` and `contacts` by name, any
/// other key into `unknown`. A member given twice is an error.
struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = RequestDraft;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct RequestDraft")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestDraft, A::Error> {
        let mut draft = RequestDraft::default();
        let mut read = 0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "request_tracking_id" => {
                    mark_read(&mut read, 0, "request_tracking_id")?;
                    draft.request_tracking_id = map.next_value()?;
                }
                "contacts" => {
                    mark_read(&mut read, 1, "contacts")?;
                    draft.contacts = map.next_value()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    note_unknown_key(&mut draft.unknown, key);
                }
            }
        }
        Ok(draft)
    }
}

/// The `contacts` member of a request as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Contacts {
    /// Missing or `null`.
    #[default]
    Absent,
    /// An array.
    List(Vec<ContactEntry>),
    /// Another kind of JSON value, named here.
    WrongType(&'static str),
}

/// One item of `contacts` as received.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactEntry {
    /// An object, read as a contact.
    Object(ContactDraft),
    /// Another kind of JSON value, named here.
    WrongType(&'static str),
}

/// The validated body of the request, serialised exactly as the contract sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactsRequest {
    /// The tracking id carried in the body, if any (the header is preferred).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_tracking_id: Option<TrackingId>,
    /// One or two contacts, at most one of each type.
    pub contacts: Vec<Contact>,
}

impl ContactsRequest {
    /// The contact of the given type, if the request carries one.
    pub fn contact(&self, contact_type: ContactType) -> Option<&Contact> {
        self.contacts
            .iter()
            .find(|c| c.contact_type == contact_type)
    }
}

/// Validates and normalises a request body.
///
/// Checks every contact (paths keyed by type), at least one contact, at most
/// one of each type, and no unknown field. Returns every failure found.
pub fn validate_request(draft: &RequestDraft) -> Result<Valid<ContactsRequest>, ValidationErrors> {
    let mut errors = Vec::new();
    for key in &draft.unknown {
        let shown: String = key.chars().take(64).collect();
        errors.push(ValidationError::new(
            shown.clone(),
            ErrorCode::UnknownField,
            format!("Remove the field '{shown}': the request does not have it."),
        ));
    }
    let request_tracking_id = match &draft.request_tracking_id {
        // An empty string counts as absent, as everywhere in a request.
        Text::Absent => None,
        Text::Given(id) if id.trim().is_empty() => None,
        Text::Given(id) => TrackingId::parse(id).map_err(|e| errors.push(e)).ok(),
        Text::WrongType(kind) => {
            errors.push(ValidationError::new(
                "request_tracking_id",
                ErrorCode::NotText,
                format!(
                    "Send request_tracking_id as text, not {}.",
                    with_article(kind)
                ),
            ));
            None
        }
    };
    let contacts = check_contacts(&draft.contacts, &mut errors);
    ValidationErrors::check(errors)?;
    Ok(Valid::new_unchecked(ContactsRequest {
        request_tracking_id,
        contacts,
    }))
}

fn check_contacts(contacts: &Contacts, errors: &mut Vec<ValidationError>) -> Vec<Contact> {
    let fail = |code, message: String| ValidationError::new("contacts", code, message);
    let entries = match contacts {
        Contacts::Absent => {
            errors.push(fail(
                ErrorCode::ContactsRequired,
                "Send the contacts to update in 'contacts'.".into(),
            ));
            return Vec::new();
        }
        Contacts::WrongType(kind) => {
            errors.push(fail(
                ErrorCode::ContactsNotAList,
                format!(
                    "Send 'contacts' as an array of contacts, not {}.",
                    with_article(kind)
                ),
            ));
            return Vec::new();
        }
        Contacts::List(entries) => entries,
    };
    if entries.is_empty() {
        errors.push(fail(
            ErrorCode::ContactsEmpty,
            "Send at least one contact.".into(),
        ));
        return Vec::new();
    }
    if entries.len() > MAX_CONTACTS {
        errors.push(fail(
            ErrorCode::ContactsTooMany,
            format!(
                "Send at most {MAX_CONTACTS} contacts, one billing and one service; this request has {}.",
                entries.len()
            ),
        ));
        return Vec::new();
    }
    let mut seen = Vec::new();
    let mut valid = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let draft = match entry {
            ContactEntry::Object(draft) => draft,
            ContactEntry::WrongType(kind) => {
                errors.push(ValidationError::new(
                    format!("contacts[{index}]"),
                    ErrorCode::ContactNotAnObject,
                    format!(
                        "Each contact must be an object, not {}.",
                        with_article(kind)
                    ),
                ));
                continue;
            }
        };
        let prefix = match check_type(&draft.contact_type) {
            Ok(t) if seen.contains(&t) => {
                errors.push(ValidationError::new(
                    format!("contacts[{index}].type"),
                    ErrorCode::TypeDuplicate,
                    format!("Send one {t} contact only; this request has two."),
                ));
                format!("contacts[{index}]")
            }
            Ok(t) => {
                seen.push(t);
                t.path()
            }
            Err(_) => format!("contacts[{index}]"),
        };
        valid.extend(check_contact(draft, &prefix, errors));
    }
    valid
}

impl Serialize for Contacts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Contacts::List(entries) => {
                serializer.collect_seq(entries.iter().filter_map(|e| match e {
                    ContactEntry::Object(draft) => Some(draft),
                    ContactEntry::WrongType(_) => None,
                }))
            }
            Contacts::Absent | Contacts::WrongType(_) => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Contacts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContactsVisitor)
    }
}

impl<'de> Deserialize<'de> for ContactEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// Reads `contacts` whatever JSON it holds.
struct ContactsVisitor;

impl<'de> Visitor<'de> for ContactsVisitor {
    type Value = Contacts;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Contacts, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element()? {
            entries.push(entry);
        }
        Ok(Contacts::List(entries))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Contacts, E> {
        Ok(Contacts::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Contacts, E> {
        Ok(Contacts::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Contacts, D::Error> {
        deserializer.deserialize_any(ContactsVisitor)
    }

    reject_json_kinds!(Contacts::WrongType => boolean, number, string, object);
}

/// Reads one item of `contacts` whatever JSON it holds.
struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = ContactEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ContactEntry, A::Error> {
        DraftVisitor.visit_map(map).map(ContactEntry::Object)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<ContactEntry, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }

    reject_json_kinds!(ContactEntry::WrongType => null, boolean, number, string, array);
}
