//! The DOM events the editor tells the embedding page about: after each
//! save, `contacts-saved` or `contacts-failed` bubbles from the element the
//! editor is mounted in, with the answer's envelope as the event's `detail`.

use contacts_model::Envelope;
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, Element};

/// Dispatches `contacts-saved` or `contacts-failed` on the host element.
pub fn announce(host: &Element, envelope: &Envelope) {
    let name = match envelope {
        Envelope::Success { .. } => "contacts-saved",
        Envelope::Failure { .. } => "contacts-failed",
    };
    let detail = js_json::to_js(envelope).unwrap_or(JsValue::NULL);
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_detail(&detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}
