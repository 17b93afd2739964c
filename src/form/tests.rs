//! The form reducer's transitions, on the host.

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
