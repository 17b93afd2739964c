//! The DOM events the editor tells the embedding page about, dispatched on
//! the element the editor is mounted in, and bubbling: after each save,
//! `contacts-saved` or `contacts-failed`, with the answer's envelope as the
//! event's `detail`, plus the customer's `ezpay_id`; and `contacts-dirty`, `{dirty}`, whenever the agent's
//! edits come to differ from the loaded contacts or cease to.

use contacts_model::{Envelope, EzpayId};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, Element};

/// Dispatches `contacts-saved` or `contacts-failed` on the host element,
/// for a save of `customer`.
pub fn announce(host: &Element, envelope: &Envelope, customer: &EzpayId) {
    let name = match envelope {
        Envelope::Success { .. } => "contacts-saved",
        Envelope::Failure { .. } => "contacts-failed",
    };
    let detail = js_json::to_js(envelope).unwrap_or_else(|_| Object::new().into());
    let _ = Reflect::set(&detail, &"ezpay_id".into(), &customer.as_str().into());
    dispatch(host, name, &detail);
}

/// Dispatches `contacts-dirty` with `{dirty}` on the host element.
pub fn announce_dirty(host: &Element, dirty: bool) {
    let detail = Object::new();
    let _ = Reflect::set(&detail, &"dirty".into(), &dirty.into());
    dispatch(host, "contacts-dirty", &detail);
}

fn dispatch(host: &Element, name: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_detail(detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}
