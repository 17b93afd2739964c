//! The form state: which customer's contacts are shown and how their load
//! went, both contacts as loaded and as edited, and how the last save went.
//! One [`Reducible`] driven by verb-named [`Action`]s, as in yew's
//! `function_todomvc` example, so that every transition is tested on the
//! host; the effects that load and save live in [`hooks`](crate::hooks).

use std::rc::Rc;

use contacts_model::{
    ContactDraft, ContactType, Envelope, ErrorItem, EzpayId, Field, RequestDraft, Text,
    ValidationErrors, format_phone, split_extension, validate_request,
};
use yew::Reducible;

use crate::api::{CustomerContacts, Submission, is_unauthorized};
use crate::draft::Draft;
use crate::panel::{Change, Difference, Panel, same, shown};

/// The load of a customer's contacts, and what exists only in each of its
/// phases: a load that awaits contacts may carry the agent's edits to lay on
/// top of them; contacts shown have a version, conflicts and the rest.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LoadState {
    /// No customer yet.
    #[default]
    Idle,
    /// The customer's contacts are awaited. The panels are locked meanwhile:
    /// their arrival replaces whatever the panels show, so typing would be lost.
    Loading {
        /// The customer.
        customer: EzpayId,
        /// The agent's edits of a save refused with 412 (boxed: large),
        /// which go on top of the contacts once they arrive.
        pending: Option<Box<Draft>>,
    },
    /// The panels hold the customer's contacts (or, where they could not be
    /// loaded, blank panels to edit).
    Shown(Shown),
}

/// A customer's contacts in the panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The customer.
    pub customer: EzpayId,
    /// How the load went: the customer's `active`, `inactive` or `cancelled`
    /// where the API said, or why the contacts could not be loaded.
    pub outcome: Result<Option<String>, Envelope>,
    /// The version (the API's `ETag`) of the loaded values, sent as
    /// `If-Match` so that a save never overwrites a change it has not seen;
    /// `None` where they did not come from the API.
    pub version: Option<String>,
    /// Whether the loaded contacts had any content, so that a summary of the
    /// changes means something.
    pub prefilled: bool,
    /// Whether an unsaved draft from this tab replaced the loaded values.
    pub draft_restored: bool,
    /// The fields another change saved since the agent's edits began (found
    /// by a save refused with 412, or by a draft restored over newer
    /// contacts), beside the agent's values; empty when there was none.
    pub conflicts: Vec<Difference>,
}

impl LoadState {
    /// A load of the customer's contacts, with nothing to lay on top.
    fn of(customer: EzpayId) -> Self {
        LoadState::Loading {
            customer,
            pending: None,
        }
    }

    /// The customer whose contacts are awaited, if any.
    pub fn awaited(&self) -> Option<&EzpayId> {
        match self {
            LoadState::Loading { customer, .. } => Some(customer),
            _ => None,
        }
    }

    /// The customer whose contacts are awaited or shown, if any.
    pub fn customer(&self) -> Option<&EzpayId> {
        self.awaited().or(self.shown().map(|shown| &shown.customer))
    }

    /// The contacts in the panels, if a customer's are.
    pub fn shown(&self) -> Option<&Shown> {
        match self {
            LoadState::Shown(shown) => Some(shown),
            _ => None,
        }
    }
}

/// The save of the contacts.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SaveState {
    /// Nothing sent yet.
    #[default]
    Idle,
    /// A submission is on its way; nothing else is sent meanwhile.
    Sending(Submission),
    /// The last submission was answered.
    Answered {
        /// The server's envelope, or the editor's own for a call that brought none.
        answer: Envelope,
        /// The submission, while it is unsettled: it may have reached the
        /// server and may pass if sent again. Retry sends it again, and so
        /// does a Save of the same request.
        retry: Option<Submission>,
        /// Whether the agent copied the answer's tracking id.
        copied: bool,
    },
}

impl SaveState {
    /// The submission on its way, if any.
    pub fn sending(&self) -> Option<&Submission> {
        match self {
            SaveState::Sending(submission) => Some(submission),
            _ => None,
        }
    }

    /// The last submission, while it is unsettled.
    pub fn unsettled(&self) -> Option<&Submission> {
        match self {
            SaveState::Answered { retry, .. } => retry.as_ref(),
            _ => None,
        }
    }
}

/// Why a Save was refused before sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The reasons that belong to no field (empty where every error has its
    /// field, marked beside it).
    pub messages: Vec<String>,
    /// The first field at fault, for the keyboard focus.
    pub first_field: Option<(ContactType, Field)>,
}

impl Refusal {
    fn saying(message: &str) -> Self {
        Self {
            messages: vec![message.to_owned()],
            first_field: None,
        }
    }

    fn of(errors: &ValidationErrors) -> Self {
        let errors = errors.as_slice();
        Self {
            messages: errors
                .iter()
                .filter(|e| parse_field_path(&e.path).is_none())
                .map(|e| e.message.clone())
                .collect(),
            first_field: errors.iter().find_map(|e| parse_field_path(&e.path)),
        }
    }
}

/// Everything the editor knows about the contacts being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct FormState {
    /// The load of the customer's contacts; the customer lives here, and so
    /// does what exists only while its contacts load or are shown.
    pub load: LoadState,
    /// The billing contact.
    pub billing: Panel,
    /// The service contact.
    pub service: Panel,
    /// Set by a refused save: every error is shown from then on.
    pub show_all_errors: bool,
    /// Why the last Save was refused before sending, if it was.
    pub refusal: Option<Refusal>,
    /// The save of the contacts.
    pub save: SaveState,
}

impl Default for FormState {
    fn default() -> Self {
        Self {
            load: LoadState::Idle,
            billing: Panel::new(ContactDraft::new(ContactType::Billing)),
            service: Panel::new(ContactDraft::new(ContactType::Service)),
            show_all_errors: false,
            refusal: None,
            save: SaveState::Idle,
        }
    }
}

/// What can happen to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Ask for a customer's contacts: the panels lock until they arrive.
    Open(EzpayId),
    /// A customer's contacts arrived, or could not be loaded; a draft of this
    /// tab, if any, goes on top. Dropped unless that customer's are awaited.
    /// (Credentials the API refused never get here: the hooks sign the
    /// agent out instead.)
    ReceiveContacts {
        /// The customer.
        customer: EzpayId,
        /// Its current contacts (none, one or both types), or why not.
        contacts: Result<CustomerContacts, Envelope>,
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
    /// Send the contacts, under this fresh tracking id unless they resume
    /// the unsettled submission; or refuse, saying why.
    Save {
        /// A new tracking id.
        tracking_id: String,
    },
    /// Send the unsettled submission again.
    Retry,
    /// The submission on its way was answered.
    ReceiveAnswer {
        /// The server's envelope, or the editor's own for a call that brought none.
        answer: Envelope,
        /// Whether sending it again may pass (see [`crate::api::may_pass_on_retry`]).
        retryable: bool,
        /// The contacts' version after a save (the answer's `ETag`), if given.
        version: Option<String>,
    },
    /// The agent copied the answer's tracking id (`false`: the copy failed).
    MarkCopied(bool),
    /// The agent was signed out: their edits and the answer go, and the
    /// customer's contacts are awaited again for whoever signs in next.
    Forget,
}

impl Action {
    /// Whether what a call brought says that the service refused the
    /// credentials (a 401). Unless they came from the console's `getToken`,
    /// such an answer never reaches the form: the hooks
    /// sign the agent out instead, which forgets the edits.
    pub fn refuses_credentials(&self) -> bool {
        let envelope = match self {
            Action::ReceiveContacts {
                contacts: Err(envelope),
                ..
            }
            | Action::ReceiveAnswer {
                answer: envelope, ..
            } => envelope,
            _ => return false,
        };
        is_unauthorized(envelope)
    }
}

impl FormState {
    /// The form as the editor starts: the customer of the URL or the
    /// options, if valid, awaiting its contacts (from the API, or those the
    /// embedding page gave, which the hooks hand over as if loaded).
    pub fn new(customer: Option<EzpayId>) -> Self {
        customer.map_or_else(Self::default, |customer| Self {
            load: LoadState::of(customer),
            ..Self::default()
        })
    }

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

    /// The unsaved edits with what they were made from, for keeping in the
    /// tab's storage.
    pub fn draft(&self) -> Draft {
        Draft {
            version: self.load.shown().and_then(|s| s.version.clone()),
            edited: [self.billing.current.clone(), self.service.current.clone()],
            loaded: [self.billing.loaded.clone(), self.service.loaded.clone()],
        }
    }

    /// Whether the agent may edit the panels: they hold a customer's
    /// contacts and no other load is under way. Before that, edits would be
    /// replaced by the load and lost.
    pub fn is_editable(&self) -> bool {
        self.load.shown().is_some()
    }

    /// Whether any panel differs from its loaded values.
    pub fn is_changed(&self) -> bool {
        self.billing.is_changed() || self.service.is_changed()
    }

    /// Every changed field of both panels, billing first.
    pub fn changes(&self) -> Vec<Change> {
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

    /// Whether an action applies to the form as it is; those that do not are
    /// dropped: an edit while the panels are locked, contacts that are no
    /// longer awaited (a late answer for another customer), a second Save
    /// or another customer while a submission is on its way.
    fn applies(&self, action: &Action) -> bool {
        match action {
            Action::Edit(..)
            | Action::Leave(..)
            | Action::CopyBillingToService
            | Action::Reset(_) => self.is_editable(),
            Action::ReceiveContacts { customer, .. } => self.load.awaited() == Some(customer),
            Action::Open(_) | Action::Save { .. } => self.save.sending().is_none(),
            Action::Retry => self.save.unsettled().is_some(),
            Action::ReceiveAnswer { .. } => self.save.sending().is_some(),
            Action::MarkCopied(_) => matches!(self.save, SaveState::Answered { .. }),
            Action::Forget => true,
        }
    }

    /// Shows the contacts that arrived for the customer awaited, with the
    /// agent's edits on top: those of a save refused with 412, or else the
    /// tab's draft.
    fn receive_contacts(
        &mut self,
        customer: EzpayId,
        contacts: Result<CustomerContacts, Envelope>,
        draft: Option<Box<Draft>>,
    ) {
        let pending = match &mut self.load {
            LoadState::Loading { pending, .. } => pending.take(),
            _ => None,
        };
        let (contacts, version, outcome) = match contacts {
            Ok(found) => (found.contacts, found.version, Ok(found.status)),
            Err(error) => (Vec::new(), None, Err(error)),
        };
        let mut fresh = FormState {
            save: std::mem::take(&mut self.save),
            ..FormState::default()
        };
        for contact in contacts {
            if let Some(t) = contact.contact_type.trimmed().and_then(ContactType::parse) {
                *fresh.panel_mut(t) = Panel::new(contact);
            }
        }
        let mut shown = Shown {
            customer,
            outcome,
            version,
            prefilled: !(fresh.billing.loaded.is_blank() && fresh.service.loaded.is_blank()),
            draft_restored: false,
            conflicts: Vec::new(),
        };
        // The edits of a save refused with 412 go on top, not as a draft
        // restored from the tab.
        let from_tab = pending.is_none();
        if let Some(edits) = pending.or(draft) {
            // On a failed load the edits keep the version they were made
            // from, so that a save of them still cannot overwrite a later change.
            let made_at = edits.version.clone();
            shown.conflicts = fresh.lay_edits(*edits, shown.version.as_ref());
            shown.version = shown.version.or(made_at);
            shown.draft_restored = from_tab && (fresh.is_changed() || !shown.conflicts.is_empty());
        }
        fresh.load = LoadState::Shown(shown);
        *self = fresh;
    }

    /// Lays the agent's edits over the contacts just loaded at `version`.
    /// Where the contacts changed since the edits began (both versions known
    /// and different), only the fields the agent changed take the agent's
    /// value, and every field the other change saved is returned beside the
    /// agent's, so that nothing is overwritten unseen.
    fn lay_edits(&mut self, draft: Draft, version: Option<&String>) -> Vec<Difference> {
        let stale = matches!((&draft.version, version), (Some(a), Some(b)) if a != b);
        let mut conflicts = Vec::new();
        let edits = ContactType::ALL
            .into_iter()
            .zip(draft.loaded)
            .zip(draft.edited);
        for ((t, base), edited) in edits {
            let panel = self.panel_mut(t);
            if !stale {
                panel.current = edited;
                continue;
            }
            for field in Field::ALL {
                let (theirs, mine) = (panel.loaded.get(field), edited.get(field));
                // A field the other change set to the agent's own value is
                // no conflict.
                if !same(field, base.get(field), theirs) && !same(field, theirs, mine) {
                    conflicts.push(Difference {
                        contact_type: t,
                        field,
                        theirs: shown(field, theirs),
                        mine: shown(field, mine),
                    });
                }
                if !same(field, base.get(field), mine) {
                    panel.current.set(field, mine.clone());
                }
            }
        }
        conflicts
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

    /// The submission a Save sends, or why it is refused; a refusal by
    /// validation shows every error from then on.
    fn submit(&mut self, tracking_id: String) -> Result<Submission, Refusal> {
        let shown = match &self.load {
            LoadState::Idle => return Err(Refusal::saying("Load a customer before saving.")),
            LoadState::Loading { .. } => {
                return Err(Refusal::saying("Wait for the current contacts to load."));
            }
            LoadState::Shown(shown) => shown,
        };
        let (customer, version) = (shown.customer.clone(), shown.version.clone());
        let request = validate_request(&self.request_draft()).map_err(|errors| {
            self.show_all_errors = true;
            Refusal::of(&errors)
        })?;
        let submission = Submission {
            customer,
            tracking_id,
            request,
            version,
        };
        Ok(submission.resuming(self.save.unsettled()))
    }

    /// Takes in the answer to a submission of the contacts shown (while it
    /// is on its way, no other customer's can be: Open is dropped, and
    /// Forget drops the submission): saved contacts become the loaded ones,
    /// at the version the answer names (or, without one, the old version,
    /// which a later save then finds stale); a refusal's errors go beside
    /// the fields they name. Contacts changed since they were loaded (412)
    /// are loaded again, with the agent's edits kept aside to go on top of
    /// them.
    fn settle(&mut self, submission: &Submission, answer: &Envelope, version: Option<String>) {
        match answer {
            Envelope::Success { .. } => {
                for contact in &submission.request.contacts {
                    *self.panel_mut(contact.contact_type) = Panel::new(contact.to_draft());
                }
                self.show_all_errors = false;
                if let LoadState::Shown(shown) = &mut self.load {
                    shown.version = version.or(shown.version.take());
                    shown.prefilled = true;
                    shown.draft_restored = false;
                    shown.conflicts.clear();
                }
            }
            Envelope::Failure { error, .. } if error.code == "412" => {
                self.load = LoadState::Loading {
                    customer: submission.customer.clone(),
                    pending: Some(Box::new(self.draft())),
                };
            }
            Envelope::Failure { error, .. } => self.attach_server_errors(&error.errors),
        }
    }

    fn attach_server_errors(&mut self, items: &[ErrorItem]) {
        for item in items {
            if let Some((t, field)) = item.field.as_deref().and_then(parse_field_path) {
                self.panel_mut(t).server_errors[field.index()] = Some(item.message.clone());
            }
        }
    }
}

impl Reducible for FormState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        if !self.applies(&action) {
            return self;
        }
        let mut state = Rc::unwrap_or_clone(self);
        match action {
            Action::Open(customer) => state.load = LoadState::of(customer),
            Action::Forget => {
                let customer = match state.load {
                    LoadState::Idle => None,
                    LoadState::Loading { customer, .. } => Some(customer),
                    LoadState::Shown(shown) => Some(shown.customer),
                };
                state = Self {
                    load: customer.map_or(LoadState::Idle, LoadState::of),
                    ..Self::default()
                };
            }
            Action::ReceiveContacts {
                customer,
                contacts,
                draft,
            } => state.receive_contacts(customer, contacts, draft),
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
            Action::Save { tracking_id } => match state.submit(tracking_id) {
                Ok(submission) => {
                    state.refusal = None;
                    state.save = SaveState::Sending(submission);
                }
                Err(refusal) => state.refusal = Some(refusal),
            },
            Action::Retry => {
                if let Some(submission) = state.save.unsettled().cloned() {
                    state.save = SaveState::Sending(submission);
                }
            }
            Action::ReceiveAnswer {
                answer,
                retryable,
                version,
            } => {
                if let SaveState::Sending(submission) = std::mem::take(&mut state.save) {
                    state.settle(&submission, &answer, version);
                    state.save = SaveState::Answered {
                        answer,
                        retry: retryable.then_some(submission),
                        copied: false,
                    };
                }
            }
            Action::MarkCopied(done) => {
                if let SaveState::Answered { copied, .. } = &mut state.save {
                    *copied = done;
                }
            }
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
mod tests;
