use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::email::validate_email;
use crate::error::{ErrorCode, ValidationError, ValidationErrors};
#[cfg(feature = "json")]
use crate::json_kind::object_from_text;
use crate::json_kind::{ObjectOr, expect_object, mark_read, note_unknown_key, object_from};
use crate::phone::{Phone, normalize_phone, split_extension};
use crate::text::{Text, is_forbidden_in_text, with_article};
use crate::valid::Valid;

/// The two kinds of contact a customer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactType {
    /// Who receives the bills.
    Billing,
    /// Who is called about the service.
    Service,
}

impl ContactType {
    /// Both types, billing first.
    pub const ALL: [ContactType; 2] = [ContactType::Billing, ContactType::Service];

    /// The contract's spelling: `billing` or `service`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactType::Billing => "billing",
            ContactType::Service => "service",
        }
    }

    /// The name people read: `Billing` or `Service`.
    pub const fn label(self) -> &'static str {
        match self {
            ContactType::Billing => "Billing",
            ContactType::Service => "Service",
        }
    }

    /// Reads the contract's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The JSON path of a contact of this type: `contacts[billing]`.
    pub fn path(self) -> String {
        format!("contacts[{}]", self.as_str())
    }

    /// The JSON path of one field of a contact of this type: `contacts[billing].email`.
    pub fn field_path(self, field: Field) -> String {
        format!("contacts[{}].{}", self.as_str(), field.json_name())
    }
}

impl fmt::Display for ContactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of a contact that people edit, in the order the editor shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `name`: required.
    Name,
    /// `organization_name`.
    OrganizationName,
    /// `email`.
    Email,
    /// `work_phone`.
    WorkPhone,
    /// `work_phone_extension`.
    WorkPhoneExtension,
    /// `mobile_phone`.
    MobilePhone,
    /// `fax`.
    Fax,
}

impl Field {
    /// Every field, in display order.
    pub const ALL: [Field; 7] = [
        Field::Name,
        Field::OrganizationName,
        Field::Email,
        Field::WorkPhone,
        Field::WorkPhoneExtension,
        Field::MobilePhone,
        Field::Fax,
    ];

    /// The contract's field name, e.g. `work_phone_extension`.
    pub const fn json_name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::OrganizationName => "organization_name",
            Field::Email => "email",
            Field::WorkPhone => "work_phone",
            Field::WorkPhoneExtension => "work_phone_extension",
            Field::MobilePhone => "mobile_phone",
            Field::Fax => "fax",
        }
    }

    /// The label people read, e.g. `Extension`.
    pub const fn label(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::OrganizationName => "Organization",
            Field::Email => "Email",
            Field::WorkPhone => "Work phone",
            Field::WorkPhoneExtension => "Extension",
            Field::MobilePhone => "Mobile phone",
            Field::Fax => "Fax",
        }
    }

    /// The field's position in [`Field::ALL`], for tables indexed by field.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the field holds a phone number.
    pub const fn is_phone(self) -> bool {
        matches!(self, Field::WorkPhone | Field::MobilePhone | Field::Fax)
    }

    /// Reads the contract's field name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.json_name() == s)
    }
}

/// A contact as typed or received, not yet validated.
///
/// Every field accepts any JSON value; fields the contract does not define
/// are kept in `unknown` so that validation can name them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContactDraft {
    /// `billing` or `service`.
    #[serde(rename = "type", skip_serializing_if = "Text::is_absent")]
    pub contact_type: Text,
    /// Name of the contact person.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub name: Text,
    /// Name of the customer's organization.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub organization_name: Text,
    /// Email address.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub email: Text,
    /// Work phone, possibly with a pasted extension.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub work_phone: Text,
    /// Extension of the work phone.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub work_phone_extension: Text,
    /// Mobile phone.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub mobile_phone: Text,
    /// Fax number.
    #[serde(skip_serializing_if = "Text::is_absent")]
    pub fax: Text,
    /// Fields the contract does not define, sorted and each once; validation
    /// rejects them.
    #[serde(skip)]
    pub unknown: Vec<String>,
}

impl ContactDraft {
    /// An empty draft of the given type.
    pub fn new(contact_type: ContactType) -> Self {
        Self {
            contact_type: Text::from(contact_type.as_str()),
            ..Self::default()
        }
    }

    /// The value of one field.
    pub fn get(&self, field: Field) -> &Text {
        match field {
            Field::Name => &self.name,
            Field::OrganizationName => &self.organization_name,
            Field::Email => &self.email,
            Field::WorkPhone => &self.work_phone,
            Field::WorkPhoneExtension => &self.work_phone_extension,
            Field::MobilePhone => &self.mobile_phone,
            Field::Fax => &self.fax,
        }
    }

    /// Sets one field.
    pub fn set(&mut self, field: Field, value: impl Into<Text>) {
        *self.slot(field) = value.into();
    }

    fn slot(&mut self, field: Field) -> &mut Text {
        match field {
            Field::Name => &mut self.name,
            Field::OrganizationName => &mut self.organization_name,
            Field::Email => &mut self.email,
            Field::WorkPhone => &mut self.work_phone,
            Field::WorkPhoneExtension => &mut self.work_phone_extension,
            Field::MobilePhone => &mut self.mobile_phone,
            Field::Fax => &mut self.fax,
        }
    }

    /// Reads a contact from any JSON value of a self-describing serde
    /// format: a `serde_json::Value`, or a JavaScript value through `js-json`.
    ///
    /// Fails only where the value is not a JSON object; every other fault is
    /// left for [`validate_contact`] to report with its path.
    pub fn from_deserializer<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, ValidationErrors> {
        Self::read(object_from(deserializer, DraftVisitor))
    }

    /// Reads a contact from a JSON value, as [`ContactDraft::from_deserializer`] does.
    #[cfg(feature = "json")]
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ValidationErrors> {
        Self::from_deserializer(value)
    }

    /// Reads a contact from JSON text, as [`ContactDraft::from_deserializer`] reads a value.
    #[cfg(feature = "json")]
    pub fn from_json(json: &str) -> Result<Self, ValidationErrors> {
        Self::read(object_from_text(json, DraftVisitor))
    }

    fn read<E: fmt::Display>(object: Result<ObjectOr<Self>, E>) -> Result<Self, ValidationErrors> {
        expect_object(object).map_err(|why| {
            ValidationErrors::from(ValidationError::new(
                "contacts[0]",
                ErrorCode::ContactNotAnObject,
                format!("A contact must be a JSON object, not {why}."),
            ))
        })
    }

    /// Whether every editable field is blank.
    pub fn is_blank(&self) -> bool {
        Field::ALL.iter().all(|&f| self.get(f).trimmed().is_none())
    }
}

impl<'de> Deserialize<'de> for ContactDraft {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DraftVisitor)
    }
}

/// Reads a contact object: the contract's fields by name, any other key into
/// `unknown`. A field given twice is an error.
pub(crate) struct DraftVisitor;

impl<'de> Visitor<'de> for DraftVisitor {
    type Value = ContactDraft;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct ContactDraft")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContactDraft, A::Error> {
        let mut draft = ContactDraft::default();
        let mut read = 0;
        while let Some(key) = map.next_key::<String>()? {
            let (bit, name, slot) = match Field::parse(&key) {
                Some(field) => (field.index(), field.json_name(), draft.slot(field)),
                None if key == "type" => (Field::ALL.len(), "type", &mut draft.contact_type),
                None => {
                    map.next_value::<IgnoredAny>()?;
                    note_unknown_key(&mut draft.unknown, key);
                    continue;
                }
            };
            mark_read(&mut read, bit, name)?;
            *slot = map.next_value()?;
        }
        Ok(draft)
    }
}

/// A validated, normalised contact, serialised exactly as the contract sends it.
///
/// Phones are 10 digits, text is trimmed, absent fields are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// `billing` or `service`.
    #[serde(rename = "type")]
    pub contact_type: ContactType,
    /// Name of the contact person, 1 to 100 characters.
    pub name: String,
    /// Name of the customer's organization, at most 100 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// Email address, as typed (trimmed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Work phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_phone: Option<Phone>,
    /// Extension of the work phone, 1 to 6 digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_phone_extension: Option<String>,
    /// Mobile phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<Phone>,
    /// Fax number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<Phone>,
}

impl Contact {
    /// The value of one field as the contract sends it (phones as 10 digits).
    pub fn value(&self, field: Field) -> Option<&str> {
        match field {
            Field::Name => Some(&self.name),
            Field::OrganizationName => self.organization_name.as_deref(),
            Field::Email => self.email.as_deref(),
            Field::WorkPhone => self.work_phone.as_ref().map(Phone::digits),
            Field::WorkPhoneExtension => self.work_phone_extension.as_deref(),
            Field::MobilePhone => self.mobile_phone.as_ref().map(Phone::digits),
            Field::Fax => self.fax.as_ref().map(Phone::digits),
        }
    }

    /// A draft holding this contact's values, for editing.
    pub fn to_draft(&self) -> ContactDraft {
        let mut draft = ContactDraft::new(self.contact_type);
        for field in Field::ALL {
            draft.set(field, self.value(field).map(str::to_owned));
        }
        draft
    }
}

/// Longest name and organization name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest extension, in digits.
pub const MAX_EXTENSION_LEN: usize = 6;
/// Longest unknown field name echoed in an error path.
const MAX_ECHOED_KEY_LEN: usize = 64;

/// Validates and normalises one contact.
///
/// Error paths are keyed by the contact's type (`contacts[billing].email`),
/// or `contacts[0]` where the type itself is wrong.
pub fn validate_contact(draft: &ContactDraft) -> Result<Valid<Contact>, ValidationErrors> {
    let prefix = match draft.contact_type.trimmed().and_then(ContactType::parse) {
        Some(t) => t.path(),
        None => "contacts[0]".to_owned(),
    };
    let mut errors = Vec::new();
    let contact = check_contact(draft, &prefix, &mut errors);
    ValidationErrors::check(errors)?;
    // `check_contact` returns `None` only after pushing an error.
    contact.map(Valid::new_unchecked).ok_or_else(|| {
        ValidationErrors::from(ValidationError::new(
            prefix,
            ErrorCode::TypeRequired,
            "Give the contact a type.",
        ))
    })
}

/// Checks one contact, pushing every failure with its path under `prefix`.
pub(crate) fn check_contact(
    draft: &ContactDraft,
    prefix: &str,
    errors: &mut Vec<ValidationError>,
) -> Option<Contact> {
    let start = errors.len();
    let mut push = |e: ValidationError| errors.push(e.under(prefix));

    let contact_type = check_type(&draft.contact_type).map_err(&mut push).ok();
    for key in &draft.unknown {
        let shown: String = key.chars().take(MAX_ECHOED_KEY_LEN).collect();
        push(ValidationError::new(
            shown.clone(),
            ErrorCode::UnknownField,
            format!("Remove the field '{shown}': a contact does not have it."),
        ));
    }

    let text = |field: Field| -> Result<Option<&str>, ValidationError> {
        match draft.get(field) {
            Text::WrongType(kind) => Err(ValidationError::new(
                field.json_name(),
                ErrorCode::NotText,
                format!(
                    "{} must be text, not {}.",
                    field.label(),
                    with_article(kind)
                ),
            )),
            t => Ok(t.trimmed()),
        }
    };

    let name = text(Field::Name)
        .and_then(|v| check_name(v.unwrap_or_default()))
        .map_err(&mut push)
        .ok();
    let organization_name = text(Field::OrganizationName)
        .and_then(|v| v.map(check_organization).transpose())
        .map_err(&mut push)
        .ok()
        .flatten();
    let email = text(Field::Email)
        .and_then(|v| {
            v.map(|e| validate_email(e).map_err(|err| err.under(Field::Email.json_name())))
                .transpose()
        })
        .map_err(&mut push)
        .ok()
        .flatten();

    let (work_phone_part, pasted_extension) = match text(Field::WorkPhone) {
        Ok(Some(v)) => split_extension(v),
        Ok(None) => ("", None),
        Err(e) => {
            push(e);
            ("", None)
        }
    };
    // A work phone typed as only an extension marker (`x`, `#`) has no
    // number: it is refused as too short rather than dropped in silence.
    let marker_only = work_phone_part.is_empty()
        && pasted_extension.is_none()
        && matches!(text(Field::WorkPhone), Ok(Some(_)));
    let work_phone = check_phone(
        Field::WorkPhone,
        Some(work_phone_part).filter(|p| !p.is_empty() || marker_only),
    )
    .map_err(&mut push)
    .ok()
    .flatten();
    let typed_extension = text(Field::WorkPhoneExtension)
        .map_err(&mut push)
        .ok()
        .flatten();
    let work_phone_extension = check_extension(
        typed_extension,
        pasted_extension,
        !work_phone_part.is_empty() || matches!(draft.work_phone, Text::WrongType(_)),
    )
    .map_err(&mut push)
    .ok()
    .flatten();
    let mobile_phone = text(Field::MobilePhone)
        .and_then(|v| check_phone(Field::MobilePhone, v))
        .map_err(&mut push)
        .ok()
        .flatten();
    let fax = text(Field::Fax)
        .and_then(|v| check_phone(Field::Fax, v))
        .map_err(&mut push)
        .ok()
        .flatten();

    if errors.len() > start {
        return None;
    }
    Some(Contact {
        contact_type: contact_type?,
        name: name?,
        organization_name,
        email: email.map(str::to_owned),
        work_phone,
        work_phone_extension,
        mobile_phone,
        fax,
    })
}

/// Reads the contact's `type`. A blank type counts as a missing one.
pub(crate) fn check_type(value: &Text) -> Result<ContactType, ValidationError> {
    let fail = |code, message: String| Err(ValidationError::new("type", code, message));
    if let Text::WrongType(kind) = value {
        return fail(
            ErrorCode::NotText,
            format!("The contact type must be text, not {}.", with_article(kind)),
        );
    }
    let Some(given) = value.trimmed() else {
        return fail(
            ErrorCode::TypeRequired,
            "Give the contact a type: 'billing' or 'service'.".into(),
        );
    };
    ContactType::parse(given).map_or_else(
        || {
            fail(
                ErrorCode::TypeUnknown,
                "The contact type must be 'billing' or 'service'.".into(),
            )
        },
        Ok,
    )
}

fn check_name(name: &str) -> Result<String, ValidationError> {
    let fail = |code, message: &str| Err(ValidationError::new("name", code, message));
    if name.is_empty() {
        return fail(ErrorCode::NameRequired, "Enter the contact's name.");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return fail(
            ErrorCode::NameTooLong,
            "Shorten the name to at most 100 characters.",
        );
    }
    check_no_control(Field::Name, name)?;
    Ok(name.to_owned())
}

fn check_organization(name: &str) -> Result<String, ValidationError> {
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ValidationError::new(
            Field::OrganizationName.json_name(),
            ErrorCode::OrganizationTooLong,
            "Shorten the organization name to at most 100 characters.",
        ));
    }
    check_no_control(Field::OrganizationName, name)?;
    Ok(name.to_owned())
}

fn check_no_control(field: Field, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(is_forbidden_in_text) {
        return Err(ValidationError::new(
            field.json_name(),
            ErrorCode::ControlCharacter,
            format!(
                "Remove the line breaks, tabs or other control characters from {}.",
                field.label().to_ascii_lowercase()
            ),
        ));
    }
    Ok(())
}

fn check_phone(field: Field, value: Option<&str>) -> Result<Option<Phone>, ValidationError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if field != Field::WorkPhone
        && let (_, Some(extension)) = split_extension(value)
        && extension.chars().all(|c| c.is_ascii_digit())
    {
        return Err(ValidationError::new(
            field.json_name(),
            ErrorCode::PhoneExtensionNotAllowed,
            format!(
                "Remove the extension from the {}: only the work phone has one.",
                field.label().to_ascii_lowercase()
            ),
        ));
    }
    normalize_phone(value)
        .map(Some)
        .map_err(|e| e.under(field.json_name()))
}

/// Checks the extension, typed in its own field or pasted on the work phone.
///
/// An error about a pasted extension is put on the work phone, where the agent
/// sees what they pasted; one about a typed extension goes on its own field.
fn check_extension(
    typed: Option<&str>,
    pasted: Option<&str>,
    has_work_phone: bool,
) -> Result<Option<String>, ValidationError> {
    let (extension, field, what) = match (typed, pasted) {
        (Some(typed), Some(pasted)) if typed != pasted => {
            return Err(ValidationError::new(
                Field::WorkPhoneExtension.json_name(),
                ErrorCode::ExtensionConflict,
                "The work phone carries a different extension from the Extension field; keep one.",
            ));
        }
        (Some(e), _) => (e, Field::WorkPhoneExtension, "The extension"),
        (None, Some(e)) => (e, Field::WorkPhone, "The extension after the work phone"),
        (None, None) => return Ok(None),
    };
    let fail = |code, message: String| Err(ValidationError::new(field.json_name(), code, message));
    if !has_work_phone {
        return fail(
            ErrorCode::ExtensionWithoutWorkPhone,
            "Enter the work phone this extension belongs to, or clear the extension.".into(),
        );
    }
    if !extension.chars().all(|c| c.is_ascii_digit()) {
        return fail(
            ErrorCode::ExtensionNotDigits,
            format!("{what} may hold digits only; remove the other characters."),
        );
    }
    if extension.len() > MAX_EXTENSION_LEN {
        return fail(
            ErrorCode::ExtensionTooLong,
            format!("{what} has more than {MAX_EXTENSION_LEN} digits; shorten it."),
        );
    }
    Ok(Some(extension.to_owned()))
}
