//! One contact panel: the contact as loaded, the agent's edit of it, and
//! what the agent and the server said about its fields.

use contacts_model::{
    ContactDraft, ContactType, Field, Text, ValidationErrors, format_phone, normalize_phone,
    validate_contact,
};

/// The number of fields of a contact.
const FIELDS: usize = Field::ALL.len();

/// One contact panel: the contact as loaded and the agent's edit of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The contact as the API (or the embedding page) gave it.
    pub loaded: ContactDraft,
    /// The contact as the agent has edited it.
    pub current: ContactDraft,
    /// Whether the agent has left each field (by [`Field::index`]) at least
    /// once, or the contact was loaded as refused; the errors of those
    /// fields are shown.
    pub touched: [bool; FIELDS],
    /// Messages the server attached to fields of this panel in its last
    /// answer, by [`Field::index`].
    pub server_errors: [Option<String>; FIELDS],
}

impl Panel {
    /// A panel showing `loaded`. A stored contact that today's validation
    /// refuses (saved by an older version, or imported; the API returns it
    /// as stored, with its `errors`) shows its errors at once, each beside
    /// its field, so that the agent sees what to fix before saving.
    pub(crate) fn new(loaded: ContactDraft) -> Self {
        let refused = !loaded.is_blank() && validate_contact(&loaded).is_err();
        Self {
            current: for_display(&loaded),
            loaded,
            touched: [refused; FIELDS],
            server_errors: Default::default(),
        }
    }

    /// The fields whose edited value differs from the loaded one.
    pub fn changed_fields(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|&f| !same(f, self.loaded.get(f), self.current.get(f)))
            .collect()
    }

    /// Whether the agent has changed anything in this panel.
    pub fn is_changed(&self) -> bool {
        !self.changed_fields().is_empty()
    }

    /// Whether a save sends this contact: it has content, or it had some
    /// (so that clearing a loaded contact is refused rather than ignored).
    pub fn is_sent(&self) -> bool {
        !self.current.is_blank() || !self.loaded.is_blank()
    }

    /// The validation errors of the edited contact, when it is to be sent.
    pub fn errors(&self) -> Option<ValidationErrors> {
        if self.is_sent() {
            validate_contact(&self.current).err()
        } else {
            None
        }
    }
    /// The error to show beside a field, if any: the server's word first,
    /// then the model's once the field was left or a save was attempted.
    /// `errors` are this panel's [`Panel::errors`], computed once per render.
    pub fn field_error(
        &self,
        contact_type: ContactType,
        field: Field,
        show_all_errors: bool,
        errors: Option<&ValidationErrors>,
    ) -> Option<String> {
        if let Some(message) = &self.server_errors[field.index()] {
            return Some(message.clone());
        }
        if !(show_all_errors || self.touched[field.index()]) {
            return None;
        }
        errors?
            .at(&contact_type.field_path(field))
            .map(|e| e.message.clone())
    }
}

/// A draft as people read it: phones formatted as `(914) 721-2006`.
fn for_display(draft: &ContactDraft) -> ContactDraft {
    let mut shown = draft.clone();
    for field in Field::ALL.into_iter().filter(|f| f.is_phone()) {
        if let Some(value) = draft.get(field).trimmed() {
            shown.set(field, format_phone(value));
        }
    }
    shown
}

/// Whether two values of a field are the same to people: trimmed, and
/// phones compared by their 10 digits where they have them.
pub fn same(field: Field, a: &Text, b: &Text) -> bool {
    comparable(field, a) == comparable(field, b)
}

/// A value as people read it: trimmed, phones formatted; `None` where empty.
pub fn shown(field: Field, value: &Text) -> Option<String> {
    value.trimmed().map(|v| {
        if field.is_phone() {
            format_phone(v)
        } else {
            v.to_owned()
        }
    })
}

/// A field's value reduced to what matters for "has it changed": trimmed,
/// and phones as their 10 digits where they have them.
fn comparable(field: Field, value: &Text) -> String {
    let text = value.trimmed().unwrap_or_default();
    if field.is_phone()
        && let Ok(phone) = normalize_phone(text)
    {
        return phone.digits().to_owned();
    }
    text.to_owned()
}

/// One changed field, old and new values as people read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Which contact.
    pub contact_type: ContactType,
    /// Which field.
    pub field: Field,
    /// The loaded value, or `None` where it was empty.
    pub old: Option<String>,
    /// The edited value, or `None` where it is now empty.
    pub new: Option<String>,
}

/// A field that another change saved while the agent edited: its value now
/// (theirs) beside the agent's, as people read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Which contact.
    pub contact_type: ContactType,
    /// Which field.
    pub field: Field,
    /// The value the other change saved, or `None` where it emptied the field.
    pub theirs: Option<String>,
    /// The agent's value, or `None` where it is empty.
    pub mine: Option<String>,
}
