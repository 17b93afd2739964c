//! Versions and conflicts: a save carries its contacts' version, a save
//! refused with 412 loads again with the agent's edits on top, and a draft
//! made at an older version shows what changed since.

use super::*;

fn at_version(version: &str, contacts: Vec<ContactDraft>) -> Result<CustomerContacts, Envelope> {
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
    assert_eq!(contacts_shown(&saved).version.as_deref(), Some("\"2\""));
    let without = edited_by_a()
        .reduce(save("t-1"))
        .reduce(answer(Envelope::success("t-1"), false));
    assert_eq!(
        contacts_shown(&without).version.as_deref(),
        Some("\"1\""),
        "without an ETag the old version stays, so the next save cannot pass unseen"
    );
    let given = Rc::new(FormState::new(Some(customer()))).reduce(Action::ReceiveContacts {
        customer: customer(),
        contacts: Ok(CustomerContacts::default()),
        draft: None,
    });
    assert_eq!(
        contacts_shown(&given).version,
        None,
        "contacts given by the page have no version"
    );
}

#[test]
fn a_save_refused_with_412_loads_again_and_shows_the_other_change() {
    let refused = refused_by_412();
    let LoadState::Loading {
        customer: awaited,
        pending: Some(edits),
    } = &refused.load
    else {
        panic!("loads again with A's edits kept aside: {:?}", refused.load);
    };
    assert_eq!(
        (awaited, edits.as_ref()),
        (&customer(), &edited_by_a().draft())
    );
    assert_eq!(refused.save.unsettled(), None, "a 412 is settled");
    assert_eq!(refused.billing.current.name.as_str(), "Jane Smith");

    let shown = refused.reduce(Action::ReceiveContacts {
        customer: customer(),
        contacts: saved_by_b(),
        // A draft in the tab is older than the edits kept aside.
        draft: None,
    });
    assert!(
        !contacts_shown(&shown).draft_restored,
        "not a draft from the tab"
    );
    assert_eq!(contacts_shown(&shown).version.as_deref(), Some("\"2\""));
    let difference = |field, theirs: &str, mine: &str| Difference {
        contact_type: ContactType::Billing,
        field,
        theirs: Some(theirs.into()),
        mine: Some(mine.into()),
    };
    assert_eq!(
        contacts_shown(&shown).conflicts,
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
    assert!(
        contacts_shown(&saved).conflicts.is_empty(),
        "a save settles the conflict"
    );
}

#[test]
fn opening_another_customer_drops_the_edits_kept_aside() {
    let refused = refused_by_412().reduce(Action::Open(other_customer()));
    assert_eq!(refused.load, LoadState::of(other_customer()));
}

#[test]
fn a_draft_made_at_an_older_version_shows_the_differences() {
    let draft = edited_by_a().draft();
    assert_eq!(draft.version.as_deref(), Some("\"1\""));
    let restore = |contacts| {
        Rc::new(FormState::new(Some(customer()))).reduce(Action::ReceiveContacts {
            customer: customer(),
            contacts,
            draft: Some(Box::new(draft.clone())),
        })
    };

    let stale = restore(saved_by_b());
    assert!(contacts_shown(&stale).draft_restored);
    assert_eq!(contacts_shown(&stale).conflicts.len(), 2);
    assert_eq!(stale.billing.current.name.as_str(), "Jane Smith");
    assert_eq!(stale.billing.current.work_phone.as_str(), "(212) 555-0100");

    let unchanged = restore(at_version(
        "1",
        vec![contact(ContactType::Billing, "John Smith", "9147212006")],
    ));
    assert!(contacts_shown(&unchanged).draft_restored);
    assert!(
        contacts_shown(&unchanged).conflicts.is_empty(),
        "same version: the draft goes on top"
    );
    assert_eq!(unchanged.billing.current, edited_by_a().billing.current);

    let failed = restore(Err(failure("503", None)));
    assert!(
        contacts_shown(&failed).conflicts.is_empty(),
        "nothing to compare with"
    );
    assert_eq!(failed.billing.current.name.as_str(), "Jane Smith");
    assert_eq!(
        contacts_shown(&failed).version.as_deref(),
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
    assert!(
        contacts_shown(&shown).conflicts.is_empty(),
        "{:?}",
        contacts_shown(&shown).conflicts
    );
    assert!(!shown.is_changed());
    assert_eq!(contacts_shown(&shown).version.as_deref(), Some("\"2\""));
    let again = shown
        .reduce(edit(ContactType::Billing, Field::Name, "Jane Smyth"))
        .reduce(save("t-2"));
    assert_eq!(
        again.save.sending().unwrap().version.as_deref(),
        Some("\"2\"")
    );
}
