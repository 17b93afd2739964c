//! The form state: both contacts as loaded and as edited, and what the agent
//! has done to them. A [`Reducible`] driven by verb-named [`Action`]s, as in
//! yew's `function_todomvc` example, so that it can be tested on the host.

use std::rc::Rc;

use contacts_model::{
    ContactDraft, ContactType, ContactsRequest, ErrorItem, EzpayId, Field, RequestDraft, Text,
    ValidationErrors, format_phone, normalize_phone, split_extension, validate_contact,
};
use yew::Reducible;

use crate::draft::Draft;

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
    /// once; the errors of those fields are shown.
    pub touched: [bool; FIELDS],
    /// Messages the server attached to fields of this panel in its last
    /// answer, by [`Field::index`].
    pub server_errors: [Option<String>; FIELDS],
}

impl Panel {
    fn new(loaded: ContactDraft) -> Self {
        Self {
            current: for_display(&loaded),
            loaded,
            touched: [false; FIELDS],
            server_errors: Default::default(),
        }
    }

    /// The fields whose edited value differs from the loaded one.
    pub fn changed_fields(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|&f| comparable(f, self.loaded.get(f)) != comparable(f, self.current.get(f)))
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

/// Everything the editor knows about the contacts being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct FormState {
    /// The customer whose contacts are loaded, once they are.
    pub customer: Option<EzpayId>,
    /// The billing contact.
    pub billing: Panel,
    /// The service contact.
    pub service: Panel,
    /// Set by a save attempt: every error is shown from then on.
    pub show_all_errors: bool,
    /// Whether the loaded contacts had any content, so that a summary of the
    /// changes means something.
    pub prefilled: bool,
    /// Whether an unsaved draft from this tab replaced the loaded values.
    pub draft_restored: bool,
    /// Whether a customer's contacts are being fetched. The panels are
    /// locked meanwhile: their arrival replaces whatever the panels show, so
    /// typing would be lost.
    pub loading: bool,
}

impl Default for FormState {
    fn default() -> Self {
        Self {
            customer: None,
            billing: Panel::new(ContactDraft::new(ContactType::Billing)),
            service: Panel::new(ContactDraft::new(ContactType::Service)),
            show_all_errors: false,
            prefilled: false,
            draft_restored: false,
            loading: false,
        }
    }
}

/// What can happen to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A customer's contacts were asked for: the panels are locked until
    /// they arrive (or fail to).
    BeginLoad,
    /// Contacts of a customer arrived; a draft of this tab, if any, goes on top.
    Load {
        /// The customer.
        customer: EzpayId,
        /// Its current contacts (none, one or both types).
        contacts: Vec<ContactDraft>,
        /// The unsaved draft kept for this customer (boxed: it is large).
        draft: Option<Box<Draft>>,
    },
    /// The agent typed in a field.
    Edit(ContactType, Field, String),
    /// The agent left a field: show its errors, tidy a phone number.
    Leave(ContactType, Field),
    /// Make the service contact a copy of the billing contact.
    CopyBillingToService,
    /// Return one panel to its loaded values.
    Reset(ContactType),
    /// A save was attempted: show every error.
    RevealErrors,
    /// The server refused a save; attach its errors to the fields they name.
    AttachServerErrors(Vec<ErrorItem>),
    /// The server stored these contacts: they are the new loaded values.
    MarkSaved(ContactsRequest),
}

impl FormState {
    /// The panel of one contact type.
    pub fn panel(&self, contact_type: ContactType) -> &Panel {
        match contact_type {
            ContactType::Billing => &self.billing,
            ContactType::Service => &self.service,
        }
    }

    fn panel_mut(&mut self, contact_type: ContactType) -> &mut Panel {
        match contact_type {
            ContactType::Billing => &mut self.billing,
            ContactType::Service => &mut self.service,
        }
    }

    /// The request a save would send, not yet validated.
    pub fn request_draft(&self) -> RequestDraft {
        RequestDraft::from_contacts(
            ContactType::ALL
                .into_iter()
                .map(|t| self.panel(t))
                .filter(|p| p.is_sent())
                .map(|p| p.current.clone()),
        )
    }

    /// The unsaved edits, for keeping in the tab's storage.
    pub fn draft(&self) -> Draft {
        Draft {
            billing: self.billing.current.clone(),
            service: self.service.current.clone(),
        }
    }

    /// Whether the agent may edit the panels: a customer's contacts are
    /// loaded and no other load is under way. Before that, edits would be
    /// replaced by the load and lost.
    pub fn is_editable(&self) -> bool {
        self.customer.is_some() && !self.loading
    }

    /// Whether any panel differs from its loaded values.
    pub fn is_changed(&self) -> bool {
        self.billing.is_changed() || self.service.is_changed()
    }

    /// Every changed field of both panels, billing first.
    pub fn changes(&self) -> Vec<Change> {
        let shown = |field: Field, value: &Text| {
            value.trimmed().map(|v| {
                if field.is_phone() {
                    format_phone(v)
                } else {
                    v.to_owned()
                }
            })
        };
        ContactType::ALL
            .into_iter()
            .flat_map(|t| {
                let panel = self.panel(t);
                panel.changed_fields().into_iter().map(move |field| Change {
                    contact_type: t,
                    field,
                    old: shown(field, panel.loaded.get(field)),
                    new: shown(field, panel.current.get(field)),
                })
            })
            .collect()
    }

    fn load(&mut self, customer: EzpayId, contacts: Vec<ContactDraft>, draft: Option<Box<Draft>>) {
        let mut fresh = FormState {
            customer: Some(customer),
            ..FormState::default()
        };
        for contact in contacts {
            if let Some(t) = contact.contact_type.trimmed().and_then(ContactType::parse) {
                *fresh.panel_mut(t) = Panel::new(contact);
            }
        }
        fresh.prefilled = !(fresh.billing.loaded.is_blank() && fresh.service.loaded.is_blank());
        if let Some(draft) = draft {
            fresh.billing.current = draft.billing;
            fresh.service.current = draft.service;
            fresh.draft_restored = fresh.is_changed();
        }
        *self = fresh;
    }

    fn leave(&mut self, contact_type: ContactType, field: Field) {
        let panel = self.panel_mut(contact_type);
        panel.touched[field.index()] = true;
        if !field.is_phone() {
            return;
        }
        let value = panel.current.get(field).as_str().to_owned();
        let mut phone = value.as_str();
        if field == Field::WorkPhone
            && let (number, Some(extension)) = split_extension(&value)
            && panel.current.work_phone_extension.trimmed().is_none()
        {
            panel.current.set(Field::WorkPhoneExtension, extension);
            phone = number;
        }
        if !phone.trim().is_empty() {
            panel.current.set(field, format_phone(phone));
        }
    }

    fn attach_server_errors(&mut self, items: &[ErrorItem]) {
        for item in items {
            if let Some((t, field)) = item.field.as_deref().and_then(parse_field_path) {
                self.panel_mut(t).server_errors[field.index()] = Some(item.message.clone());
            }
        }
    }

    fn mark_saved(&mut self, request: &ContactsRequest) {
        for contact in &request.contacts {
            *self.panel_mut(contact.contact_type) = Panel::new(contact.to_draft());
        }
        self.prefilled = true;
        self.show_all_errors = false;
        self.draft_restored = false;
    }
}

impl Reducible for FormState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let edits = matches!(
            action,
            Action::Edit(..) | Action::Leave(..) | Action::CopyBillingToService | Action::Reset(_)
        );
        if edits && !self.is_editable() {
            // The inputs are disabled meanwhile; this guards against an
            // event that was already queued when they were.
            return self;
        }
        let mut state = Rc::unwrap_or_clone(self);
        match action {
            Action::BeginLoad => state.loading = true,
            Action::Load {
                customer,
                contacts,
                draft,
            } => state.load(customer, contacts, draft),
            Action::Edit(t, field, value) => {
                let panel = state.panel_mut(t);
                panel.current.set(field, value);
                panel.server_errors[field.index()] = None;
            }
            Action::Leave(t, field) => state.leave(t, field),
            Action::CopyBillingToService => {
                let mut copy = state.billing.current.clone();
                copy.contact_type = Text::from(ContactType::Service.as_str());
                state.service.current = copy;
                state.service.server_errors = Default::default();
            }
            Action::Reset(t) => {
                let panel = state.panel_mut(t);
                *panel = Panel::new(panel.loaded.clone());
            }
            Action::RevealErrors => state.show_all_errors = true,
            Action::AttachServerErrors(items) => state.attach_server_errors(&items),
            Action::MarkSaved(request) => state.mark_saved(&request),
        }
        Rc::new(state)
    }
}

/// Reads a model path such as `contacts[billing].email` into its contact type and field.
pub fn parse_field_path(path: &str) -> Option<(ContactType, Field)> {
    let rest = path.strip_prefix("contacts[")?;
    let (contact_type, field) = rest.split_once("].")?;
    Some((ContactType::parse(contact_type)?, Field::parse(field)?))
}

/// The id of the input of one field, e.g. `billing-work_phone`.
pub fn input_id(contact_type: ContactType, field: Field) -> String {
    format!("{}-{}", contact_type.as_str(), field.json_name())
}

#[cfg(test)]
mod tests {
    use contacts_model::validate_request;

    use super::*;

    fn customer() -> EzpayId {
        EzpayId::parse("000010000005008").unwrap()
    }

    fn contact(t: ContactType, name: &str, work_phone: &str) -> ContactDraft {
        let mut draft = ContactDraft::new(t);
        draft.set(Field::Name, name);
        draft.set(Field::WorkPhone, work_phone);
        draft
    }

    fn loaded() -> Rc<FormState> {
        Rc::new(FormState::default()).reduce(Action::Load {
            customer: customer(),
            contacts: vec![contact(ContactType::Billing, "John Smith", "9147212006")],
            draft: None,
        })
    }

    #[test]
    fn edits_wait_for_the_customer_and_its_contacts() {
        let edit = || Action::Edit(ContactType::Billing, Field::Name, "Typed Early".into());
        let empty = Rc::new(FormState::default());
        assert!(!empty.is_editable());
        assert!(!empty.reduce(edit()).is_changed());

        let reloading = loaded().reduce(Action::BeginLoad);
        assert!(reloading.loading);
        assert!(!reloading.is_editable());
        for action in [
            edit(),
            Action::Leave(ContactType::Billing, Field::WorkPhone),
            Action::CopyBillingToService,
            Action::Reset(ContactType::Billing),
        ] {
            assert_eq!(
                reloading.clone().reduce(action),
                reloading,
                "no edit while loading"
            );
        }

        let arrived = reloading.reduce(Action::Load {
            customer: customer(),
            contacts: Vec::new(),
            draft: None,
        });
        assert!(arrived.is_editable());
        assert_eq!(
            arrived.reduce(edit()).billing.current.name.as_str(),
            "Typed Early"
        );
    }

    #[test]
    fn load_formats_phones_and_is_unchanged() {
        let state = loaded();
        assert_eq!(state.billing.current.work_phone.as_str(), "(914) 721-2006");
        assert!(state.prefilled);
        assert!(!state.is_changed());
        assert!(!state.draft_restored);
        assert!(!state.service.is_sent());
    }

    #[test]
    fn edits_are_changes_with_old_and_new_values() {
        let state = loaded().reduce(Action::Edit(
            ContactType::Billing,
            Field::Name,
            "Jane Smith".into(),
        ));
        assert_eq!(
            state.changes(),
            vec![Change {
                contact_type: ContactType::Billing,
                field: Field::Name,
                old: Some("John Smith".into()),
                new: Some("Jane Smith".into()),
            }]
        );
        let state = state.reduce(Action::Reset(ContactType::Billing));
        assert!(!state.is_changed());
        assert_eq!(state.billing.current.name.as_str(), "John Smith");
    }

    #[test]
    fn a_phone_typed_in_another_format_is_not_a_change() {
        let state = loaded().reduce(Action::Edit(
            ContactType::Billing,
            Field::WorkPhone,
            "914.721.2006".into(),
        ));
        assert!(!state.is_changed());
    }

    #[test]
    fn errors_show_only_after_leaving_the_field_or_saving() {
        let state = loaded().reduce(Action::Edit(
            ContactType::Billing,
            Field::Email,
            "jo".into(),
        ));
        let errors = state.billing.errors();
        let error = |s: &FormState| {
            s.billing.field_error(
                ContactType::Billing,
                Field::Email,
                s.show_all_errors,
                errors.as_ref(),
            )
        };
        assert_eq!(error(&state), None);
        let left = state
            .clone()
            .reduce(Action::Leave(ContactType::Billing, Field::Email));
        assert!(error(&left).is_some_and(|m| m.contains('@')));
        let saved = state.reduce(Action::RevealErrors);
        assert!(error(&saved).is_some());
    }

    #[test]
    fn leaving_the_work_phone_moves_a_pasted_extension() {
        let state = loaded()
            .reduce(Action::Edit(
                ContactType::Billing,
                Field::WorkPhone,
                "914-721-2006 ext. 2006".into(),
            ))
            .reduce(Action::Leave(ContactType::Billing, Field::WorkPhone));
        assert_eq!(state.billing.current.work_phone.as_str(), "(914) 721-2006");
        assert_eq!(state.billing.current.work_phone_extension.as_str(), "2006");
    }

    #[test]
    fn leaving_keeps_an_unreadable_phone_as_typed() {
        let state = loaded()
            .reduce(Action::Edit(
                ContactType::Billing,
                Field::MobilePhone,
                " 12 ".into(),
            ))
            .reduce(Action::Leave(ContactType::Billing, Field::MobilePhone));
        assert_eq!(state.billing.current.mobile_phone.as_str(), "12");
    }

    #[test]
    fn copy_billing_to_service_keeps_the_service_type() {
        let state = loaded().reduce(Action::CopyBillingToService);
        assert_eq!(state.service.current.name.as_str(), "John Smith");
        assert_eq!(state.service.current.contact_type.as_str(), "service");
        let request = validate_request(&state.request_draft()).unwrap();
        assert_eq!(request.contacts.len(), 2);
    }

    #[test]
    fn a_draft_goes_on_top_of_the_loaded_contacts() {
        let mut draft = loaded().draft();
        draft.service.set(Field::Name, "Ann Lee");
        let state = Rc::new(FormState::default()).reduce(Action::Load {
            customer: customer(),
            contacts: vec![contact(ContactType::Billing, "John Smith", "9147212006")],
            draft: Some(Box::new(draft)),
        });
        assert!(state.draft_restored);
        assert_eq!(state.service.current.name.as_str(), "Ann Lee");
        assert_eq!(state.billing.loaded.name.as_str(), "John Smith");
    }

    #[test]
    fn server_errors_attach_to_their_field_until_it_is_edited() {
        let item = ErrorItem {
            message: "Refused by the server.".into(),
            field: Some("contacts[service].fax".into()),
            code: Some("phone.too_short".into()),
        };
        let state = loaded().reduce(Action::AttachServerErrors(vec![
            item,
            ErrorItem::message("Source not configured"),
        ]));
        assert_eq!(
            state
                .service
                .field_error(ContactType::Service, Field::Fax, false, None),
            Some("Refused by the server.".into())
        );
        let state = state.reduce(Action::Edit(ContactType::Service, Field::Fax, "9".into()));
        assert_eq!(
            state
                .service
                .field_error(ContactType::Service, Field::Fax, false, None),
            None
        );
    }

    #[test]
    fn a_cleared_loaded_contact_is_sent_and_refused() {
        let state = loaded().reduce(Action::Edit(
            ContactType::Billing,
            Field::Name,
            String::new(),
        ));
        let state = state.reduce(Action::Edit(
            ContactType::Billing,
            Field::WorkPhone,
            String::new(),
        ));
        let errors = validate_request(&state.request_draft()).unwrap_err();
        assert_eq!(errors.as_slice()[0].path, "contacts[billing].name");
    }

    #[test]
    fn saving_makes_the_sent_values_the_loaded_ones() {
        let state = loaded().reduce(Action::Edit(
            ContactType::Billing,
            Field::Name,
            "Jane".into(),
        ));
        let request = validate_request(&state.request_draft())
            .unwrap()
            .into_inner();
        let state = state.reduce(Action::MarkSaved(request));
        assert!(!state.is_changed());
        assert_eq!(state.billing.loaded.name.as_str(), "Jane");
    }

    #[test]
    fn reads_field_paths() {
        assert_eq!(
            parse_field_path("contacts[billing].work_phone_extension"),
            Some((ContactType::Billing, Field::WorkPhoneExtension))
        );
        assert_eq!(parse_field_path("contacts[0].name"), None);
        assert_eq!(parse_field_path("contacts"), None);
        assert_eq!(
            input_id(ContactType::Service, Field::OrganizationName),
            "service-organization_name"
        );
    }
}
