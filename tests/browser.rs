//! The editor's components in headless Chromium (wasm-bindgen-test):
//! rendering, a field error, copy billing to service, reset, draft restore.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p contacts-editor --target wasm32-unknown-unknown`.
//! The editor is given its contacts through the embedding options, so no
//! test reaches the network.
#![cfg(target_arch = "wasm32")]
// clippy.toml allows unwrap in `#[test]` functions only; these are
// `#[wasm_bindgen_test]` functions and their helpers.
#![allow(clippy::unwrap_used)]

use contacts_editor::credentials::{Authorization, GetToken};
use contacts_editor::draft::{self, Draft};
use contacts_editor::embed::mount_contact_editor;
use contacts_editor::form::input_id;
use contacts_editor::{EditorHandle, EditorOptions, mount};
use contacts_model::{ContactDraft, ContactType, EzpayId, Field};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, Event, EventInit, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

const CUSTOMER: &str = "000010000005008";

/// The user of the editor's credentials, `Basic dGVzdDp0ZXN0`.
const USER: &str = "test";

/// The API of the mounted editors, which salts their drafts' owners.
const API_BASE: &str = "http://127.0.0.1:9";

/// The draft owner of a user of the mounted editors.
async fn owner_of(user: &str) -> String {
    draft::owner(API_BASE, user).await.unwrap()
}

fn customer() -> EzpayId {
    EzpayId::parse(CUSTOMER).unwrap()
}

fn loaded_billing() -> ContactDraft {
    let mut billing = ContactDraft::new(ContactType::Billing);
    billing.set(Field::Name, "John Smith");
    billing.set(Field::WorkPhone, "9147212006");
    billing
}

/// The editor mounted in a fresh element, with the billing contact loaded.
struct Mounted {
    host: Element,
    handle: EditorHandle,
}

impl Mounted {
    async fn new() -> Self {
        Self::with_contacts(Some(vec![loaded_billing()])).await
    }

    /// The editor with these contacts from the embedding page, or, with
    /// `None`, fetching them from an API that cannot answer.
    async fn with_contacts(contacts: Option<Vec<ContactDraft>>) -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        let host = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&host).unwrap();
        let options = EditorOptions {
            api_base: API_BASE.into(),
            ezpay_id: CUSTOMER.into(),
            authorization: Some(Authorization::basic(USER, "test").header_value().into()),
            contacts,
            ..EditorOptions::default()
        };
        let given = options.contacts.is_some();
        let handle = mount(host.clone(), options);
        yew::scheduler::flush().await;
        let mounted = Self { host, handle };
        // Given contacts show once the owner of the drafts is known (a
        // digest the browser makes asynchronously).
        let mut waited_ms = 0;
        while given && mounted.input(ContactType::Billing, Field::Name).disabled() {
            assert!(waited_ms < 5_000, "the given contacts never showed");
            sleep(10).await;
            yew::scheduler::flush().await;
            waited_ms += 10;
        }
        mounted
    }

    fn input(&self, t: ContactType, field: Field) -> HtmlInputElement {
        self.host
            .query_selector(&format!("#{}", input_id(t, field)))
            .unwrap()
            .unwrap_or_else(|| panic!("no input for {t} {field:?}"))
            .dyn_into()
            .unwrap()
    }

    fn section(&self, t: ContactType) -> Element {
        self.host
            .query_selector(&format!("section[aria-labelledby='{t}-heading']"))
            .unwrap()
            .unwrap()
    }

    fn text_of(&self, selector: &str) -> Option<String> {
        self.host
            .query_selector(selector)
            .unwrap()
            .and_then(|e| e.text_content())
    }

    async fn type_into(&self, t: ContactType, field: Field, value: &str) {
        let input = self.input(t, field);
        input.set_value(value);
        fire(&input, "input", true);
        yew::scheduler::flush().await;
    }

    async fn leave(&self, t: ContactType, field: Field) {
        fire(&self.input(t, field), "blur", false);
        yew::scheduler::flush().await;
    }

    async fn click(&self, name: &str) {
        let buttons = self.host.query_selector_all("button").unwrap();
        let button = (0..buttons.length())
            .filter_map(|i| buttons.item(i))
            .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
            .find(|b| b.text_content().as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no button {name:?}"));
        button.click();
        yew::scheduler::flush().await;
    }

    async fn unmount(mut self) {
        self.handle.unmount();
        self.host.remove();
        draft::clear(&owner_of(USER).await, &customer());
    }
}

/// Lets the browser run for `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn fire(target: &HtmlInputElement, name: &str, bubbles: bool) {
    let init = EventInit::new();
    init.set_bubbles(bubbles);
    let event = Event::new_with_event_init_dict(name, &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn renders_both_panels_with_labelled_inputs() {
    draft::clear(&owner_of(USER).await, &customer());
    let editor = Mounted::new().await;
    for t in ContactType::ALL {
        let heading = editor.text_of(&format!("section[aria-labelledby='{t}-heading'] h2"));
        assert_eq!(
            heading.as_deref(),
            Some(format!("{} contact", t.label()).as_str())
        );
        for field in Field::ALL {
            let id = input_id(t, field);
            assert_eq!(
                editor.text_of(&format!("label[for='{id}']")).as_deref(),
                Some(field.label())
            );
            assert!(
                editor
                    .input(t, field)
                    .get_attribute("aria-invalid")
                    .is_none()
            );
        }
    }
    assert_eq!(
        editor.input(ContactType::Billing, Field::Name).value(),
        "John Smith"
    );
    assert_eq!(
        editor.input(ContactType::Billing, Field::WorkPhone).value(),
        "(914) 721-2006"
    );
    assert!(editor.text_of("#draft-notice").is_none());
    editor.unmount().await;
}

#[wasm_bindgen_test]
async fn an_invalid_email_shows_its_error_after_blur() {
    draft::clear(&owner_of(USER).await, &customer());
    let editor = Mounted::new().await;
    let (t, field) = (ContactType::Billing, Field::Email);
    editor.type_into(t, field, "ada@exa").await;
    assert!(
        editor
            .input(t, field)
            .get_attribute("aria-invalid")
            .is_none(),
        "no error while typing"
    );
    editor.type_into(t, field, "ada@example").await;
    editor.leave(t, field).await;
    let email = editor.input(t, field);
    assert_eq!(email.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert_eq!(
        email.get_attribute("aria-describedby").as_deref(),
        Some("billing-email-error")
    );
    let message = editor.text_of("#billing-email-error").unwrap();
    assert!(message.contains(".com"), "{message}");
    editor.type_into(t, field, "ada@example.com").await;
    assert!(
        editor
            .input(t, field)
            .get_attribute("aria-invalid")
            .is_none()
    );
    editor.unmount().await;
}

#[wasm_bindgen_test]
async fn copies_billing_to_service() {
    draft::clear(&owner_of(USER).await, &customer());
    let editor = Mounted::new().await;
    editor.click("Copy billing to service").await;
    assert_eq!(
        editor.input(ContactType::Service, Field::Name).value(),
        "John Smith"
    );
    assert_eq!(
        editor.input(ContactType::Service, Field::WorkPhone).value(),
        "(914) 721-2006"
    );
    editor.unmount().await;
}

#[wasm_bindgen_test]
async fn reset_returns_a_panel_to_its_loaded_values_and_the_draft_follows() {
    draft::clear(&owner_of(USER).await, &customer());
    let editor = Mounted::new().await;
    editor
        .type_into(ContactType::Billing, Field::Name, "Jane Doe")
        .await;
    assert!(
        editor
            .text_of("section[aria-labelledby='billing-heading'] .changed-marker")
            .is_some()
    );
    let kept =
        draft::load(&owner_of(USER).await, &customer()).expect("the edit is kept as a draft");
    assert_eq!(kept.edited[0].name.as_str(), "Jane Doe");

    editor.click("Reset billing").await;
    assert_eq!(
        editor.input(ContactType::Billing, Field::Name).value(),
        "John Smith"
    );
    assert!(
        editor
            .text_of("section[aria-labelledby='billing-heading'] .changed-marker")
            .is_none()
    );
    assert_eq!(
        draft::load(&owner_of(USER).await, &customer()),
        None,
        "an unchanged form keeps no draft"
    );
    editor.unmount().await;
}

#[wasm_bindgen_test]
async fn restores_a_draft_with_a_notice() {
    draft::save(
        &owner_of(USER).await,
        &customer(),
        &service_draft().encode(),
    );
    let editor = Mounted::new().await;
    assert!(editor.text_of("#draft-notice").is_some());
    assert_eq!(
        editor.input(ContactType::Service, Field::Name).value(),
        "Draft Name"
    );
    assert_eq!(
        editor.input(ContactType::Billing, Field::Name).value(),
        "John Smith"
    );
    editor.unmount().await;
}

/// A draft whose service contact is named "Draft Name", made from contacts
/// that the embedding page gave (so without a version).
fn service_draft() -> Draft {
    let mut service = ContactDraft::new(ContactType::Service);
    service.set(Field::Name, "Draft Name");
    Draft {
        version: None,
        edited: [loaded_billing(), service],
        loaded: [loaded_billing(), ContactDraft::new(ContactType::Service)],
    }
}

#[wasm_bindgen_test]
async fn another_users_draft_is_not_restored() {
    draft::clear(&owner_of(USER).await, &customer());
    draft::save(
        &owner_of("another").await,
        &customer(),
        &service_draft().encode(),
    );
    let editor = Mounted::new().await;
    assert!(editor.text_of("#draft-notice").is_none());
    assert_eq!(editor.input(ContactType::Service, Field::Name).value(), "");
    editor.unmount().await;
    assert_eq!(
        draft::load(&owner_of("another").await, &customer()),
        Some(service_draft()),
        "the other user's draft is left to them"
    );
    draft::clear(&owner_of("another").await, &customer());
}

#[wasm_bindgen_test]
async fn clearing_a_draft_removes_the_old_format_of_that_customer_and_nothing_else() {
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    let other = EzpayId::parse("000010000005009").unwrap();
    let legacy = format!("contacts-editor.draft.{CUSTOMER}");
    storage
        .set_item(&legacy, &service_draft().encode())
        .unwrap();
    let (a, b) = (owner_of("a").await, owner_of("a.b").await);
    for owner in [&a, &b] {
        for customer in [customer(), other.clone()] {
            draft::save(owner, &customer, &service_draft().encode());
        }
    }
    draft::clear(&a, &customer());
    assert_eq!(draft::load(&a, &customer()), None);
    assert_eq!(
        storage.get_item(&legacy).unwrap(),
        None,
        "the old format goes too"
    );
    assert_eq!(draft::load(&a, &other), Some(service_draft()));
    assert_eq!(draft::load(&b, &customer()), Some(service_draft()));
    // Whoever's it is, the tab keeps a draft of the customer (another
    // user's), and of the other customer, and of no third one.
    assert!(draft::kept_of(&customer()) && draft::kept_of(&other));
    assert!(!draft::kept_of(&EzpayId::parse("000010000005010").unwrap()));
    for owner in [&a, &b] {
        for customer in [customer(), other.clone()] {
            draft::clear(owner, &customer);
        }
    }
    assert!(!draft::kept_of(&customer()));
}

#[wasm_bindgen_test]
fn basic_credentials_are_the_utf8_of_user_and_password_in_base64() {
    let cases = [
        ("ocsuser", "ocsuser", "Basic b2NzdXNlcjpvY3N1c2Vy"),
        ("", "", "Basic Og=="),
        ("f", "oo", "Basic Zjpvbw=="),
        ("é", "", "Basic w6k6"),
    ];
    for (user, password, expected) in cases {
        let header = Authorization::basic(user, password);
        assert_eq!(header.header_value(), expected, "{user}");
    }
}

#[wasm_bindgen_test]
fn credentials_name_their_user_and_nothing_else_does() {
    // A token's claims: {"iss":"https://issuer.example","sub":"agent-7"}.
    let claims = "eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoiYWdlbnQtNyJ9";
    let cases = [
        // One character per byte of the UTF-8 that Basic carries.
        (
            Authorization::basic("agënt.1", "pass:word"),
            Some("ag\u{c3}\u{ab}nt.1"),
        ),
        (Authorization::basic("", "password"), None),
        (
            Authorization::given("basic dGVzdDp0ZXN0").unwrap(),
            Some("test"),
        ),
        (
            Authorization::given(&format!("Bearer e30.{claims}.c2ln")).unwrap(),
            Some("https://issuer.example\nagent-7"),
        ),
        (Authorization::given("Bearer dGVzdDp0ZXN0").unwrap(), None),
        (Authorization::given("Bearer e30.e30.c2ln").unwrap(), None),
        (Authorization::given("Basic !!!").unwrap(), None),
        (Authorization::given("Basic").unwrap(), None),
        (Authorization::given("Digest dGVzdDp0ZXN0").unwrap(), None),
    ];
    assert!(draft::salt("").starts_with("http://"), "the page's origin");
    for (authorization, user) in cases {
        assert_eq!(authorization.user().as_deref(), user, "{authorization:?}");
    }
}

#[wasm_bindgen_test]
fn refuses_bad_options_with_a_clear_error() {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    let error = mount_contact_editor(host, JsValue::from_str("not options")).unwrap_err();
    let error: JsValue = error.into();
    let message = js_sys::Reflect::get(&error, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(message.contains("bad options"), "{message}");
}

#[wasm_bindgen_test]
async fn panels_are_locked_while_the_contacts_load() {
    draft::clear(&owner_of(USER).await, &customer());
    // Port 9 is one that browsers refuse to fetch from, so the load fails
    // without reaching the network; until it does, it is under way.
    let editor = Mounted::with_contacts(None).await;
    let (t, field) = (ContactType::Billing, Field::Name);
    assert!(editor.input(t, field).disabled(), "no typing while loading");
    assert_eq!(
        editor.section(t).get_attribute("aria-busy").as_deref(),
        Some("true")
    );
    assert!(
        editor
            .text_of(".notice")
            .is_some_and(|n| n.contains("Loading"))
    );

    let mut waited_ms = 0;
    while editor.input(t, field).disabled() {
        assert!(
            waited_ms < 5_000,
            "the failed load never unlocked the panels"
        );
        sleep(50).await;
        yew::scheduler::flush().await;
        waited_ms += 50;
    }
    assert!(editor.text_of("#load-error").is_some());
    assert_eq!(editor.section(t).get_attribute("aria-busy"), None);
    editor.type_into(t, field, "Typed After").await;
    assert_eq!(editor.input(t, field).value(), "Typed After");
    editor.unmount().await;
}

#[wasm_bindgen_test]
fn reads_the_console_options() {
    let given = js_sys::JSON::parse(
        r#"{"apiBase":"https://api","ezpayId":"000010000005008","authorization":"Basic x","profileId":null,"contacts":[{"type":"billing","name":"Jo"}]}"#,
    )
    .unwrap();
    let options = EditorOptions::from_js(&given).unwrap();
    assert_eq!(options.api_base, "https://api");
    assert_eq!(options.ezpay_id, CUSTOMER);
    assert_eq!(options.authorization.as_deref(), Some("Basic x"));
    assert_eq!(
        options.profile_id(),
        contacts_editor::options::DEFAULT_PROFILE_ID
    );
    assert_eq!(options.contacts.unwrap()[0].name.as_str(), "Jo");
    assert_eq!(
        EditorOptions::from_js(&JsValue::UNDEFINED),
        Ok(EditorOptions::default())
    );
}

#[wasm_bindgen_test]
fn names_what_is_wrong_with_options() {
    let cases = [
        (r#"{"ezpayID":"1"}"#, "ezpayID"),
        (r#"{"ezpayId":15}"#, "`ezpayId` must be a string"),
        (r#"{"contacts":{}}"#, "`contacts` must be an array"),
        (r#"{"contacts":[7]}"#, "array of contact objects"),
        (r#"{"getToken":"a token"}"#, "`getToken` must be a function"),
        ("[]", "plain object"),
        ("\"text\"", "plain object"),
    ];
    for (given, expected) in cases {
        let error = EditorOptions::from_js(&js_sys::JSON::parse(given).unwrap()).unwrap_err();
        assert!(
            error.starts_with("mountContactEditor: bad options: "),
            "{error}"
        );
        assert!(error.contains(expected), "{given}: {error}");
    }
}

/// A `getToken` of the given body, called with the hint `{refused}`.
fn get_token(body: &str) -> GetToken {
    GetToken(js_sys::Function::new_with_args("hint", body))
}

#[wasm_bindgen_test]
async fn get_token_gives_bearer_credentials_or_says_why_not() {
    let header = |given: Result<Authorization, String>| given.map(|a| a.header_value().to_owned());
    let renewing = get_token("return Promise.resolve(hint.refused ? ' fresh ' : 'stale')");
    assert_eq!(
        header(renewing.authorization(false).await),
        Ok("Bearer stale".into())
    );
    assert_eq!(
        header(renewing.authorization(true).await),
        Ok("Bearer fresh".into())
    );
    assert_eq!(
        header(get_token("return 'plain'").authorization(false).await),
        Ok("Bearer plain".into())
    );
    let refusals = [
        ("throw new Error('no session')", "no session"),
        ("return Promise.reject(new Error('expired'))", "expired"),
        ("return Promise.reject('text')", "getToken failed"),
        ("return ''", "getToken gave no token"),
        ("return 42", "getToken gave no token"),
    ];
    for (body, why) in refusals {
        assert_eq!(
            get_token(body).authorization(false).await,
            Err(why.into()),
            "{body}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_get_token_that_rejects_shows_the_editors_own_failure_and_no_sign_in() {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let options = EditorOptions {
        api_base: "http://127.0.0.1:9".into(),
        ezpay_id: CUSTOMER.into(),
        get_token: Some(get_token(
            "return Promise.reject(new Error('the console is signed out'))",
        )),
        ..EditorOptions::default()
    };
    let mut handle = mount(host.clone(), options);
    let mut waited_ms = 0;
    let error = loop {
        yew::scheduler::flush().await;
        if let Some(error) = host.query_selector("#load-error").unwrap() {
            break error.text_content().unwrap();
        }
        assert!(waited_ms < 5_000, "no failure shown");
        sleep(50).await;
        waited_ms += 50;
    };
    assert!(error.contains("could not sign the agent in"), "{error}");
    assert!(error.contains("the console is signed out"), "{error}");
    assert!(
        host.query_selector("#sign-in-user").unwrap().is_none(),
        "no sign-in form"
    );
    assert!(
        host.query_selector("input[type=password]")
            .unwrap()
            .is_none()
    );
    handle.unmount();
    host.remove();
}

#[wasm_bindgen_test]
async fn tells_the_page_when_edits_begin_and_end_and_loads_what_it_asks() {
    draft::clear(&owner_of(USER).await, &customer());
    let editor = Mounted::new().await;
    let heard = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let listener = {
        let heard = heard.clone();
        wasm_bindgen::closure::Closure::<dyn Fn(web_sys::CustomEvent)>::new(
            move |e: web_sys::CustomEvent| {
                let dirty = js_sys::Reflect::get(&e.detail(), &"dirty".into()).unwrap();
                heard.borrow_mut().push(dirty.as_bool().unwrap());
            },
        )
    };
    editor
        .host
        .add_event_listener_with_callback("contacts-dirty", listener.as_ref().unchecked_ref())
        .unwrap();
    let (t, field) = (ContactType::Billing, Field::Name);
    editor.type_into(t, field, "Jane Smith").await;
    editor.type_into(t, field, "Jane Smyth").await;
    editor.type_into(t, field, "John Smith").await;
    assert_eq!(*heard.borrow(), [true, false]);

    let mut editor = editor;
    assert!(editor.handle.load("12".into()).is_err(), "not an eZpayID");
    editor.handle.load("000010000005009".into()).unwrap();
    yew::scheduler::flush().await;
    let bar: HtmlInputElement = editor
        .host
        .query_selector("#ezpay-id")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(bar.value(), "000010000005009");
    assert!(
        editor
            .text_of(".notice")
            .is_some_and(|n| n.contains("Loading"))
    );
    editor.unmount().await;
}
