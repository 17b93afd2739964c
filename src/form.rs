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

/// The load of a customer's contacts.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LoadState {
    /// No customer yet.
    #[default]
    Idle,
    /// The customer's contacts are awaited. The panels are locked meanwhile:
    /// their arrival replaces whatever the panels show, so typing would be lost.
    Loading(EzpayId),
    /// The panels hold the customer's contacts.
    Loaded {
        /// The customer.
        customer: EzpayId,
        /// `active`, `inactive` or `cancelled`, where the API said.
        status: Option<String>,
    },
    /// The contacts could not be loaded; the panels stay editable.
    Failed {
        /// The customer.
        customer: EzpayId,
        /// Why, as the server or the editor said it.
        error: Envelope,
    },
}

impl LoadState {
    /// The customer whose contacts are awaited, if any.
    pub fn awaited(&self) -> Option<&EzpayId> {
        match self {
            LoadState::Loading(customer) => Some(customer),
            _ => None,
        }
    }

    /// The customer whose contacts the panels hold (loaded, or failed to
    /// load and edited from blank), if any.
    pub fn shown(&self) -> Option<&EzpayId> {
        match self {
            LoadState::Loaded { customer, .. } | LoadState::Failed { customer, .. } => {
                Some(customer)
            }
            LoadState::Idle | LoadState::Loading(_) => None,
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
    /// The load of the customer's contacts; the customer lives here.
    pub load: LoadState,
    /// The billing contact.
    pub billing: Panel,
    /// The service contact.
    pub service: Panel,
    /// Set by a refused save: every error is shown from then on.
    pub show_all_errors: bool,
    /// Whether the loaded contacts had any content, so that a summary of the
    /// changes means something.
    pub prefilled: bool,
    /// Whether an unsaved draft from this tab replaced the loaded values.
    pub draft_restored: bool,
    /// The version (the API's `ETag`) of the loaded values, sent as
    /// `If-Match` so that a save never overwrites a change it has not seen;
    /// `None` where they did not come from the API.
    pub version: Option<String>,
    /// The fields another change saved since the agent's edits began (found
    /// by a save refused with 412, or by a draft restored over newer
    /// contacts), beside the agent's values; empty when there was none.
    pub conflicts: Vec<Difference>,
    /// The agent's edits while the contacts are loaded again after a save
    /// was refused with 412; they go on top of the new contacts.
    pub pending: Option<Box<Draft>>,
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
            prefilled: false,
            draft_restored: false,
            version: None,
            conflicts: Vec::new(),
            pending: None,
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

impl FormState {
    /// The form as the editor starts: the customer of the URL or the
    /// options, if valid, awaiting its contacts; or showing at once the
    /// contacts the embedding page gave, with this tab's draft on top.
    pub fn new(
        customer: Option<EzpayId>,
        given: Option<(Vec<ContactDraft>, Option<Draft>)>,
    ) -> Self {
        let Some(customer) = customer else {
            return Self::default();
        };
        let mut form = Self {
            load: LoadState::Loading(customer.clone()),
            ..Self::default()
        };
        if let Some((contacts, draft)) = given {
            form.receive_contacts(
                customer,
                Ok(CustomerContacts {
                    status: None,
                    version: None,
                    contacts,
                }),
                draft.map(Box::new),
            );
        }
        form
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
            version: self.version.clone(),
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

    fn receive_contacts(
        &mut self,
        customer: EzpayId,
        contacts: Result<CustomerContacts, Envelope>,
        draft: Option<Box<Draft>>,
    ) {
        let (contacts, version, load) = match contacts {
            // Refused credentials sign the agent out; the load waits for the
            // new ones.
            Err(error) if is_unauthorized(&error) => return,
            Ok(found) => (
                found.contacts,
                found.version,
                LoadState::Loaded {
                    customer,
                    status: found.status,
                },
            ),
            Err(error) => (Vec::new(), None, LoadState::Failed { customer, error }),
        };
        let mut fresh = FormState {
            load,
            version,
            save: std::mem::take(&mut self.save),
            ..FormState::default()
        };
        for contact in contacts {
            if let Some(t) = contact.contact_type.trimmed().and_then(ContactType::parse) {
                *fresh.panel_mut(t) = Panel::new(contact);
            }
        }
        fresh.prefilled = !(fresh.billing.loaded.is_blank() && fresh.service.loaded.is_blank());
        if let Some(draft) = draft {
            fresh.take_draft(*draft);
        }
        *self = fresh;
    }

    /// Lays the agent's edits over the contacts just loaded. Where the
    /// contacts changed since the edits began (both versions known and
    /// different), only the fields the agent changed take the agent's value,
    /// and every field the other change saved is listed beside the agent's,
    /// so that nothing is overwritten unseen.
    fn take_draft(&mut self, draft: Draft) {
        let stale = matches!((&draft.version, &self.version), (Some(a), Some(b)) if a != b);
        // On a failed load the edits keep the version they were made from,
        // so that a save of them still cannot overwrite a later change.
        self.version = self.version.take().or(draft.version);
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
        self.draft_restored = self.is_changed() || !conflicts.is_empty();
        self.conflicts = conflicts;
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
        let customer = match &self.load {
            LoadState::Idle => return Err(Refusal::saying("Load a customer before saving.")),
            LoadState::Loading(_) => {
                return Err(Refusal::saying("Wait for the current contacts to load."));
            }
            LoadState::Loaded { customer, .. } | LoadState::Failed { customer, .. } => {
                customer.clone()
            }
        };
        let request = validate_request(&self.request_draft()).map_err(|errors| {
            self.show_all_errors = true;
            Refusal::of(&errors)
        })?;
        let submission = Submission {
            customer,
            tracking_id,
            request,
            version: self.version.clone(),
        };
        Ok(submission.resuming(self.save.unsettled()))
    }

    /// Takes in the answer to a submission of the contacts shown: saved
    /// contacts become the loaded ones, at the version the answer names (or,
    /// without one, the old version, which a later save then finds stale);
    /// a refusal's errors go beside the fields they name. Contacts changed
    /// since they were loaded (412) are loaded again, with the agent's edits
    /// kept aside to go on top of them.
    fn settle(&mut self, submission: &Submission, answer: &Envelope, version: Option<String>) {
        if self.load.shown() != Some(&submission.customer) {
            return;
        }
        match answer {
            Envelope::Success { .. } => {
                for contact in &submission.request.contacts {
                    *self.panel_mut(contact.contact_type) = Panel::new(contact.to_draft());
                }
                self.version = version.or(self.version.take());
                self.prefilled = true;
                self.show_all_errors = false;
                self.draft_restored = false;
                self.conflicts.clear();
            }
            Envelope::Failure { error, .. } if error.code == "412" => {
                self.pending = Some(Box::new(self.draft()));
                self.load = LoadState::Loading(submission.customer.clone());
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
            Action::Open(customer) => {
                state.load = LoadState::Loading(customer);
                state.pending = None;
            }
            Action::Forget => {
                let customer = state.load.awaited().or(state.load.shown()).cloned();
                state = Self {
                    load: customer.map_or(LoadState::Idle, LoadState::Loading),
                    ..Self::default()
                };
            }
            Action::ReceiveContacts {
                customer,
                contacts,
                draft,
            } => match state.pending.take() {
                // The edits of a save refused with 412 go on top, not as a
                // draft restored from the tab.
                Some(edits) => {
                    state.receive_contacts(customer, contacts, Some(edits));
                    state.draft_restored = false;
                }
                None => state.receive_contacts(customer, contacts, draft),
            },
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
mod tests {
    use contacts_model::{ErrorItem, Phone};

    use super::*;

    fn customer() -> EzpayId {
        EzpayId::parse("000010000005008").unwrap()
    }

    fn other_customer() -> EzpayId {
        EzpayId::parse("000010000005009").unwrap()
    }

    fn contact(t: ContactType, name: &str, work_phone: &str) -> ContactDraft {
        let mut draft = ContactDraft::new(t);
        draft.set(Field::Name, name);
        draft.set(Field::WorkPhone, work_phone);
        draft
    }

    fn found(contacts: Vec<ContactDraft>) -> Result<CustomerContacts, Envelope> {
        Ok(CustomerContacts {
            status: Some("active".into()),
            version: Some("\"1\"".into()),
            contacts,
        })
    }

    fn failure(code: &str, field: Option<&str>) -> Envelope {
        let item = ErrorItem {
            message: "Refused by the server.".into(),
            field: field.map(str::to_owned),
            code: None,
        };
        Envelope::failure(Some("t-1".into()), code.to_owned(), "Refused", vec![item])
    }

    fn receive(customer: EzpayId, contacts: Result<CustomerContacts, Envelope>) -> Action {
        Action::ReceiveContacts {
            customer,
            contacts,
            draft: None,
        }
    }

    fn loaded() -> Rc<FormState> {
        Rc::new(FormState::default())
            .reduce(Action::Open(customer()))
            .reduce(receive(
                customer(),
                found(vec![contact(
                    ContactType::Billing,
                    "John Smith",
                    "9147212006",
                )]),
            ))
    }

    fn save(tracking_id: &str) -> Action {
        Action::Save {
            tracking_id: tracking_id.into(),
        }
    }

    fn answer(answer: Envelope, retryable: bool) -> Action {
        Action::ReceiveAnswer {
            answer,
            retryable,
            version: None,
        }
    }

    fn edit(t: ContactType, field: Field, value: &str) -> Action {
        Action::Edit(t, field, value.into())
    }

    /// The form in each state of its load and save, by name.
    fn states() -> Vec<(&'static str, Rc<FormState>)> {
        let sending = loaded().reduce(save("t-1"));
        let answered = sending.clone().reduce(answer(failure("503", None), true));
        vec![
            ("no customer", Rc::new(FormState::default())),
            ("loading", Rc::new(FormState::new(Some(customer()), None))),
            ("loaded", loaded()),
            (
                "load failed",
                Rc::new(FormState::new(Some(customer()), None))
                    .reduce(receive(customer(), Err(failure("500", None)))),
            ),
            ("sending", sending),
            ("answered", answered),
        ]
    }

    #[test]
    fn which_actions_apply_in_which_state() {
        // Columns: no customer, loading, loaded, load failed, sending, answered.
        let cases = [
            (
                edit(ContactType::Billing, Field::Name, "Jo"),
                [false, false, true, true, true, true],
            ),
            (
                Action::Leave(ContactType::Billing, Field::Fax),
                [false, false, true, true, true, true],
            ),
            (
                Action::CopyBillingToService,
                [false, false, true, true, true, true],
            ),
            (
                Action::Reset(ContactType::Service),
                [false, false, true, true, true, true],
            ),
            (
                receive(customer(), found(Vec::new())),
                [false, true, false, false, false, false],
            ),
            (receive(other_customer(), found(Vec::new())), [false; 6]),
            (
                Action::Open(other_customer()),
                [true, true, true, true, false, true],
            ),
            (save("t-2"), [true, true, true, true, false, true]),
            (Action::Retry, [false, false, false, false, false, true]),
            (
                answer(Envelope::success("t-1"), false),
                [false, false, false, false, true, false],
            ),
            (
                Action::MarkCopied(true),
                [false, false, false, false, false, true],
            ),
            (Action::Forget, [true; 6]),
        ];
        for (action, expected) in cases {
            for ((name, state), applies) in states().into_iter().zip(expected) {
                assert_eq!(state.applies(&action), applies, "{action:?} when {name}");
                if !applies {
                    assert_eq!(
                        state.clone().reduce(action.clone()),
                        state,
                        "{action:?} when {name}"
                    );
                }
            }
        }
    }

    #[test]
    fn signing_out_forgets_the_edits_and_awaits_the_customer_again() {
        let awaiting = Rc::new(FormState::new(Some(customer()), None));
        for (name, state) in states() {
            let state = state
                .reduce(edit(ContactType::Service, Field::Name, "Agent A's edit"))
                .reduce(Action::Forget);
            let expected = if name == "no customer" {
                Rc::new(FormState::default())
            } else {
                awaiting.clone()
            };
            assert_eq!(state, expected, "{name}");
        }
    }

    #[test]
    fn the_load_lifecycle() {
        let opened = Rc::new(FormState::default()).reduce(Action::Open(customer()));
        assert_eq!(opened.load, LoadState::Loading(customer()));
        assert!(!opened.is_editable());

        let late = opened.clone().reduce(Action::Open(other_customer()));
        let dropped = late.clone().reduce(receive(customer(), found(Vec::new())));
        assert_eq!(
            dropped.load,
            LoadState::Loading(other_customer()),
            "a late answer is dropped"
        );

        let arrived = opened
            .clone()
            .reduce(receive(customer(), found(Vec::new())));
        assert_eq!(
            arrived.load,
            LoadState::Loaded {
                customer: customer(),
                status: Some("active".into())
            }
        );
        assert!(arrived.is_editable());

        let failed = opened
            .clone()
            .reduce(receive(customer(), Err(failure("404", None))));
        assert!(matches!(&failed.load, LoadState::Failed { customer: c, .. } if *c == customer()));
        assert!(failed.is_editable(), "the panels stay editable");

        let refused = opened
            .clone()
            .reduce(receive(customer(), Err(failure("401", None))));
        assert_eq!(
            refused.load,
            LoadState::Loading(customer()),
            "waits for new credentials"
        );

        let again = arrived.reduce(Action::Open(customer()));
        assert_eq!(
            again.load.awaited(),
            Some(&customer()),
            "the same customer loads again"
        );
    }

    #[test]
    fn the_editor_starts_with_the_given_contacts_or_loading() {
        assert_eq!(FormState::new(None, None), FormState::default());
        assert_eq!(
            FormState::new(Some(customer()), None).load,
            LoadState::Loading(customer())
        );
        let mut draft = loaded().draft();
        draft.edited[1].set(Field::Name, "Ann Lee");
        let given = vec![contact(ContactType::Billing, "John Smith", "9147212006")];
        let state = FormState::new(Some(customer()), Some((given, Some(draft))));
        assert_eq!(
            state.load,
            LoadState::Loaded {
                customer: customer(),
                status: None
            }
        );
        assert!(state.draft_restored);
        assert_eq!(state.service.current.name.as_str(), "Ann Lee");
        assert_eq!(state.billing.loaded.name.as_str(), "John Smith");
    }

    #[test]
    fn a_save_is_refused_until_contacts_are_shown_and_valid() {
        let cases = [
            (
                Rc::new(FormState::default()),
                "Load a customer before saving.",
            ),
            (
                Rc::new(FormState::new(Some(customer()), None)),
                "Wait for the current contacts to load.",
            ),
        ];
        for (state, message) in cases {
            let refused = state.reduce(save("t-1"));
            assert_eq!(refused.refusal, Some(Refusal::saying(message)));
            assert_eq!(refused.save, SaveState::Idle);
        }

        let invalid = loaded()
            .reduce(edit(ContactType::Billing, Field::Name, ""))
            .reduce(edit(ContactType::Billing, Field::Email, "jo"))
            .reduce(save("t-1"));
        assert!(invalid.show_all_errors);
        assert_eq!(
            invalid.refusal,
            Some(Refusal {
                messages: Vec::new(),
                first_field: Some((ContactType::Billing, Field::Name)),
            })
        );
        assert_eq!(invalid.save, SaveState::Idle);

        let sent = invalid
            .reduce(edit(ContactType::Billing, Field::Name, "Jo"))
            .reduce(edit(ContactType::Billing, Field::Email, ""))
            .reduce(save("t-2"));
        assert_eq!(sent.refusal, None);
        let submission = sent.save.sending().unwrap();
        assert_eq!(
            (submission.customer.clone(), submission.tracking_id.as_str()),
            (customer(), "t-2")
        );
        assert_eq!(submission.request.contacts[0].name, "Jo");
    }

    #[test]
    fn a_double_save_sends_once() {
        let once = loaded().reduce(save("t-1"));
        let twice = once.clone().reduce(save("t-2"));
        assert_eq!(twice, once);
        assert_eq!(twice.save.sending().unwrap().tracking_id, "t-1");
    }

    #[test]
    fn the_save_lifecycle() {
        let sending = loaded()
            .reduce(edit(ContactType::Billing, Field::Name, "Jane"))
            .reduce(save("t-1"));

        let saved = sending
            .clone()
            .reduce(answer(Envelope::success("t-1"), false));
        assert!(matches!(
            saved.save,
            SaveState::Answered {
                retry: None,
                copied: false,
                ..
            }
        ));
        assert!(!saved.is_changed(), "the sent values are the loaded ones");
        assert_eq!(saved.billing.loaded.name.as_str(), "Jane");

        let refused = sending
            .clone()
            .reduce(answer(failure("400", Some("contacts[service].fax")), false));
        assert_eq!(refused.save.unsettled(), None);
        assert_eq!(
            refused
                .service
                .field_error(ContactType::Service, Field::Fax, false, None),
            Some("Refused by the server.".into())
        );
        let edited = refused.reduce(edit(ContactType::Service, Field::Fax, "9"));
        assert_eq!(
            edited
                .service
                .field_error(ContactType::Service, Field::Fax, false, None),
            None
        );

        let lost = sending.clone().reduce(answer(failure("503", None), true));
        assert!(lost.is_changed(), "the edit is kept");
        assert_eq!(lost.save.unsettled(), sending.save.sending());
        let retried = lost.clone().reduce(Action::Retry);
        assert_eq!(retried.save.sending(), sending.save.sending());
        let resaved = lost.clone().reduce(save("t-2"));
        assert_eq!(
            resaved.save.sending().unwrap().tracking_id,
            "t-1",
            "same request, same id"
        );
        let changed = lost
            .reduce(edit(ContactType::Billing, Field::Name, "Janet"))
            .reduce(save("t-2"));
        assert_eq!(changed.save.sending().unwrap().tracking_id, "t-2");

        let copied = saved.reduce(Action::MarkCopied(true));
        assert!(matches!(
            copied.save,
            SaveState::Answered { copied: true, .. }
        ));
    }

    #[test]
    fn an_answer_for_a_customer_no_longer_shown_leaves_the_panels_alone() {
        let sending = loaded()
            .reduce(edit(ContactType::Billing, Field::Name, "Jane"))
            .reduce(save("t-1"));
        let mut moved = Rc::unwrap_or_clone(sending);
        moved.load = LoadState::Loading(other_customer());
        let answered = Rc::new(moved).reduce(answer(Envelope::success("t-1"), false));
        assert_eq!(answered.billing.loaded.name.as_str(), "John Smith");
        assert!(matches!(answered.save, SaveState::Answered { .. }));
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
        let state = loaded().reduce(edit(ContactType::Billing, Field::Name, "Jane Smith"));
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
        let state = loaded().reduce(edit(ContactType::Billing, Field::WorkPhone, "914.721.2006"));
        assert!(!state.is_changed());
    }

    #[test]
    fn errors_show_only_after_leaving_the_field_or_saving() {
        let state = loaded().reduce(edit(ContactType::Billing, Field::Email, "jo"));
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
        let saved = state.reduce(save("t-1"));
        assert!(error(&saved).is_some());
    }

    #[test]
    fn leaving_a_phone_tidies_it() {
        let cases = [
            (
                Field::WorkPhone,
                "914-721-2006 ext. 2006",
                "(914) 721-2006",
                "2006",
            ),
            (Field::MobilePhone, " 12 ", "12", ""),
            (Field::Fax, "9147212006", "(914) 721-2006", ""),
        ];
        for (field, typed, shown, extension) in cases {
            let state = loaded()
                .reduce(edit(ContactType::Billing, field, typed))
                .reduce(Action::Leave(ContactType::Billing, field));
            assert_eq!(state.billing.current.get(field).as_str(), shown, "{typed}");
            assert_eq!(
                state.billing.current.work_phone_extension.as_str(),
                extension,
                "{typed}"
            );
        }
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
        draft.edited[1].set(Field::Name, "Ann Lee");
        let state = Rc::new(FormState::default())
            .reduce(Action::Open(customer()))
            .reduce(Action::ReceiveContacts {
                customer: customer(),
                contacts: found(vec![contact(
                    ContactType::Billing,
                    "John Smith",
                    "9147212006",
                )]),
                draft: Some(Box::new(draft)),
            });
        assert!(state.draft_restored);
        assert_eq!(state.service.current.name.as_str(), "Ann Lee");
        assert_eq!(state.billing.loaded.name.as_str(), "John Smith");
    }

    fn at_version(
        version: &str,
        contacts: Vec<ContactDraft>,
    ) -> Result<CustomerContacts, Envelope> {
        Ok(CustomerContacts {
            status: None,
            version: Some(format!("\"{version}\"")),
            contacts,
        })
    }

    fn precondition_failed() -> Envelope {
        failure("412", None)
    }

    /// Agent A's form: John Smith loaded at version 1, then A changed the
    /// billing name to Jane Smith and the email to a@example.net.
    fn edited_by_a() -> Rc<FormState> {
        loaded()
            .reduce(edit(ContactType::Billing, Field::Name, "Jane Smith"))
            .reduce(edit(ContactType::Billing, Field::Email, "a@example.net"))
    }

    /// Agent A's save of [`edited_by_a`] at version 1, refused with 412.
    fn refused_by_412() -> Rc<FormState> {
        edited_by_a()
            .reduce(save("t-1"))
            .reduce(answer(precondition_failed(), false))
    }

    /// The contacts as agent B saved them meanwhile (version 2): another
    /// name, a new work phone, the email untouched.
    fn saved_by_b() -> Result<CustomerContacts, Envelope> {
        at_version(
            "2",
            vec![contact(ContactType::Billing, "Johnny Smith", "2125550100")],
        )
    }

    #[test]
    fn a_save_carries_the_version_its_contacts_were_loaded_at() {
        let sent = edited_by_a().reduce(save("t-1"));
        assert_eq!(
            sent.save.sending().unwrap().version.as_deref(),
            Some("\"1\"")
        );
        let saved = sent.reduce(Action::ReceiveAnswer {
            answer: Envelope::success("t-1"),
            retryable: false,
            version: Some("\"2\"".into()),
        });
        assert_eq!(saved.version.as_deref(), Some("\"2\""));
        let without = edited_by_a()
            .reduce(save("t-1"))
            .reduce(answer(Envelope::success("t-1"), false));
        assert_eq!(
            without.version.as_deref(),
            Some("\"1\""),
            "without an ETag the old version stays, so the next save cannot pass unseen"
        );
        let given = FormState::new(Some(customer()), Some((Vec::new(), None)));
        assert_eq!(
            given.version, None,
            "contacts given by the page have no version"
        );
    }

    #[test]
    fn a_save_refused_with_412_loads_again_and_shows_the_other_change() {
        let refused = refused_by_412();
        assert_eq!(refused.load, LoadState::Loading(customer()), "loads again");
        assert!(refused.pending.is_some(), "A's edits are kept aside");
        assert_eq!(refused.save.unsettled(), None, "a 412 is settled");
        assert_eq!(refused.billing.current.name.as_str(), "Jane Smith");

        let shown = refused.reduce(Action::ReceiveContacts {
            customer: customer(),
            contacts: saved_by_b(),
            // A draft in the tab is older than the edits kept aside.
            draft: None,
        });
        assert!(shown.pending.is_none());
        assert!(!shown.draft_restored, "not a draft from the tab");
        assert_eq!(shown.version.as_deref(), Some("\"2\""));
        let difference = |field, theirs: &str, mine: &str| Difference {
            contact_type: ContactType::Billing,
            field,
            theirs: Some(theirs.into()),
            mine: Some(mine.into()),
        };
        assert_eq!(
            shown.conflicts,
            vec![
                difference(Field::Name, "Johnny Smith", "Jane Smith"),
                difference(Field::WorkPhone, "(212) 555-0100", "(914) 721-2006"),
            ],
            "B's fields beside A's; A's email, which B left, is no conflict"
        );
        let billing = &shown.billing;
        assert_eq!(
            billing.loaded.name.as_str(),
            "Johnny Smith",
            "B's values are the loaded ones"
        );
        assert_eq!(
            billing.current.name.as_str(),
            "Jane Smith",
            "A's edit stands"
        );
        assert_eq!(billing.current.email.as_str(), "a@example.net");
        assert_eq!(
            billing.current.work_phone.as_str(),
            "(212) 555-0100",
            "B's change A did not touch is taken"
        );
        assert!(
            matches!(&shown.save, SaveState::Answered { answer, .. } if answer.error().unwrap().code == "412")
        );

        // The agent takes B's name, and saves again under a new tracking id at version 2.
        let again = shown
            .reduce(edit(ContactType::Billing, Field::Name, "Johnny Smith"))
            .reduce(save("t-2"));
        let submission = again.save.sending().unwrap();
        assert_eq!(submission.tracking_id, "t-2");
        assert_eq!(submission.version.as_deref(), Some("\"2\""));
        assert_eq!(submission.request.contacts[0].name, "Johnny Smith");
        assert_eq!(
            submission.request.contacts[0]
                .work_phone
                .as_ref()
                .map(Phone::digits),
            Some("2125550100")
        );
        let saved = again.reduce(answer(Envelope::success("t-2"), false));
        assert!(saved.conflicts.is_empty(), "a save settles the conflict");
    }

    #[test]
    fn opening_another_customer_drops_the_edits_kept_aside() {
        let refused = refused_by_412().reduce(Action::Open(other_customer()));
        assert!(refused.pending.is_none());
    }

    #[test]
    fn a_draft_made_at_an_older_version_shows_the_differences() {
        let draft = edited_by_a().draft();
        assert_eq!(draft.version.as_deref(), Some("\"1\""));
        let restore = |contacts| {
            Rc::new(FormState::new(Some(customer()), None)).reduce(Action::ReceiveContacts {
                customer: customer(),
                contacts,
                draft: Some(Box::new(draft.clone())),
            })
        };

        let stale = restore(saved_by_b());
        assert!(stale.draft_restored);
        assert_eq!(stale.conflicts.len(), 2);
        assert_eq!(stale.billing.current.name.as_str(), "Jane Smith");
        assert_eq!(stale.billing.current.work_phone.as_str(), "(212) 555-0100");

        let unchanged = restore(at_version(
            "1",
            vec![contact(ContactType::Billing, "John Smith", "9147212006")],
        ));
        assert!(unchanged.draft_restored);
        assert!(
            unchanged.conflicts.is_empty(),
            "same version: the draft goes on top"
        );
        assert_eq!(unchanged.billing.current, edited_by_a().billing.current);

        let failed = restore(Err(failure("503", None)));
        assert!(failed.conflicts.is_empty(), "nothing to compare with");
        assert_eq!(failed.billing.current.name.as_str(), "Jane Smith");
        assert_eq!(
            failed.version.as_deref(),
            Some("\"1\""),
            "a save of the edits still cannot pass over a change unseen"
        );
    }

    #[test]
    fn a_412_over_the_agents_own_values_lists_no_conflict_and_takes_the_new_version() {
        // The contacts changed (version 2) to exactly what agent A typed,
        // such as A's own save answered without an ETag.
        let refused = refused_by_412();
        let mut same_values = contact(ContactType::Billing, "Jane Smith", "9147212006");
        same_values.set(Field::Email, "a@example.net");
        let shown = refused.reduce(receive(customer(), at_version("2", vec![same_values])));
        assert!(shown.conflicts.is_empty(), "{:?}", shown.conflicts);
        assert!(!shown.is_changed());
        assert_eq!(shown.version.as_deref(), Some("\"2\""));
        let again = shown
            .reduce(edit(ContactType::Billing, Field::Name, "Jane Smyth"))
            .reduce(save("t-2"));
        assert_eq!(
            again.save.sending().unwrap().version.as_deref(),
            Some("\"2\"")
        );
    }

    #[test]
    fn stored_contacts_refused_today_load_with_their_fields_flagged() {
        let mut old = contact(ContactType::Service, "Bob", "12345");
        old.set(Field::Email, "bob@localhost");
        let state = Rc::new(FormState::new(Some(customer()), None)).reduce(receive(
            customer(),
            found(vec![
                contact(ContactType::Billing, "John Smith", "9147212006"),
                old,
            ]),
        ));
        let flagged = |s: &FormState, t: ContactType, field| {
            let panel = s.panel(t);
            let errors = panel.errors();
            panel.field_error(t, field, s.show_all_errors, errors.as_ref())
        };
        assert!(flagged(&state, ContactType::Service, Field::Email).is_some());
        assert!(flagged(&state, ContactType::Service, Field::WorkPhone).is_some());
        assert_eq!(flagged(&state, ContactType::Service, Field::Name), None);
        assert_eq!(flagged(&state, ContactType::Billing, Field::Name), None);
        assert_eq!(flagged(&state, ContactType::Billing, Field::Email), None);

        let fixed = state
            .reduce(edit(ContactType::Service, Field::Email, "bob@example.com"))
            .reduce(edit(ContactType::Service, Field::WorkPhone, "2125550100"));
        assert_eq!(flagged(&fixed, ContactType::Service, Field::Email), None);
        let sent = fixed.reduce(save("t-1"));
        let request = &sent.save.sending().unwrap().request;
        assert_eq!(
            request.contacts[1].email.as_deref(),
            Some("bob@example.com")
        );
    }

    #[test]
    fn a_cleared_loaded_contact_is_sent_and_refused() {
        let state = loaded()
            .reduce(edit(ContactType::Billing, Field::Name, ""))
            .reduce(edit(ContactType::Billing, Field::WorkPhone, ""));
        let errors = validate_request(&state.request_draft()).unwrap_err();
        assert_eq!(errors.as_slice()[0].path, "contacts[billing].name");
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
