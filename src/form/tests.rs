//! The form reducer's transitions, on the host.

use contacts_model::{ErrorItem, Phone};

use super::*;

mod conflicts;

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

/// The contacts the form shows; they must be shown.
fn contacts_shown(form: &FormState) -> &Shown {
    form.load.shown().expect("contacts shown")
}

/// The form in each state of its load and save, by name.
fn states() -> Vec<(&'static str, Rc<FormState>)> {
    let sending = loaded().reduce(save("t-1"));
    let answered = sending.clone().reduce(answer(failure("503", None), true));
    vec![
        ("no customer", Rc::new(FormState::default())),
        ("loading", Rc::new(FormState::new(Some(customer())))),
        ("loaded", loaded()),
        (
            "load failed",
            Rc::new(FormState::new(Some(customer())))
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
    let awaiting = Rc::new(FormState::new(Some(customer())));
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
    assert_eq!(opened.load, LoadState::of(customer()));
    assert!(!opened.is_editable());

    let late = opened.clone().reduce(Action::Open(other_customer()));
    let dropped = late.clone().reduce(receive(customer(), found(Vec::new())));
    assert_eq!(
        dropped.load,
        LoadState::of(other_customer()),
        "a late answer is dropped"
    );

    let arrived = opened
        .clone()
        .reduce(receive(customer(), found(Vec::new())));
    let shown = contacts_shown(&arrived);
    assert_eq!(
        (&shown.customer, &shown.outcome),
        (&customer(), &Ok(Some("active".into())))
    );
    assert!(arrived.is_editable());

    let failed = opened
        .clone()
        .reduce(receive(customer(), Err(failure("404", None))));
    let shown = contacts_shown(&failed);
    assert_eq!(
        (&shown.customer, &shown.outcome),
        (&customer(), &Err(failure("404", None)))
    );
    assert!(failed.is_editable(), "the panels stay editable");

    let again = arrived.reduce(Action::Open(customer()));
    assert_eq!(
        again.load.awaited(),
        Some(&customer()),
        "the same customer loads again"
    );
}

#[test]
fn only_a_401_refuses_the_credentials() {
    let cases = [
        (receive(customer(), Err(failure("401", None))), true),
        (answer(failure("401", None), false), true),
        (receive(customer(), Err(failure("403", None))), false),
        (answer(failure("500", None), true), false),
        (receive(customer(), found(Vec::new())), false),
        (answer(Envelope::success("t-1"), false), false),
        (Action::Forget, false),
    ];
    for (action, refuses) in cases {
        assert_eq!(action.refuses_credentials(), refuses, "{action:?}");
    }
}

#[test]
fn the_editor_starts_with_the_given_contacts_or_loading() {
    assert_eq!(FormState::new(None), FormState::default());
    assert_eq!(
        FormState::new(Some(customer())).load,
        LoadState::of(customer())
    );
    let mut draft = loaded().draft();
    draft.edited[1].set(Field::Name, "Ann Lee");
    let given = vec![contact(ContactType::Billing, "John Smith", "9147212006")];
    let state = Rc::new(FormState::new(Some(customer()))).reduce(Action::ReceiveContacts {
        customer: customer(),
        contacts: Ok(CustomerContacts {
            status: None,
            version: None,
            contacts: given,
        }),
        draft: Some(Box::new(draft)),
    });
    let shown = contacts_shown(&state);
    assert_eq!((&shown.customer, &shown.outcome), (&customer(), &Ok(None)));
    assert!(shown.draft_restored);
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
            Rc::new(FormState::new(Some(customer()))),
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
fn load_formats_phones_and_is_unchanged() {
    let state = loaded();
    assert_eq!(state.billing.current.work_phone.as_str(), "(914) 721-2006");
    assert!(contacts_shown(&state).prefilled);
    assert!(!state.is_changed());
    assert!(!contacts_shown(&state).draft_restored);
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
    assert!(contacts_shown(&state).draft_restored);
    assert_eq!(state.service.current.name.as_str(), "Ann Lee");
    assert_eq!(state.billing.loaded.name.as_str(), "John Smith");
}

#[test]
fn stored_contacts_refused_today_load_with_their_fields_flagged() {
    let mut old = contact(ContactType::Service, "Bob", "12345");
    old.set(Field::Email, "bob@localhost");
    let state = Rc::new(FormState::new(Some(customer()))).reduce(receive(
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
