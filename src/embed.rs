//! Embedding in the CAAG console: `mountContactEditor(element, options)`
//! returns a handle with `load(ezpayId)` and `unmount()`; the standalone page calls
//! `mountStandalone(element)`. The events the editor sends the page are in
//! [`events`](crate::events).

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::Element;
use yew::AppHandle;

use crate::components::app::{App, AppProps};
use crate::options::EditorOptions;
use crate::prefetched::{PendingGet, Prefetched};

/// A mounted editor.
#[wasm_bindgen]
#[derive(Debug)]
pub struct EditorHandle {
    app: Option<AppHandle<App>>,
    props: AppProps,
}

#[wasm_bindgen]
impl EditorHandle {
    /// Opens another customer, as the agent would in the customer bar (the
    /// edits of the one shown stay in the tab's draft). Throws an `Error`
    /// for an eZpayID the model refuses.
    pub fn load(&mut self, ezpay_id: String) -> Result<(), JsError> {
        contacts_model::EzpayId::parse(&ezpay_id).map_err(|e| JsError::new(&e.message))?;
        let mut options = (*self.props.options).clone();
        options.ezpay_id = ezpay_id;
        self.props.options = Rc::new(options);
        if let Some(app) = &mut self.app {
            app.update(self.props.clone());
        }
        Ok(())
    }

    /// Removes the editor from the page. Calling it again does nothing.
    pub fn unmount(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
    }
}

/// Mounts the editor into `element`. Kept out of line: both exports call
/// it, and a copy inlined into each would weigh on the download.
#[inline(never)]
pub fn mount(element: Element, options: EditorOptions) -> EditorHandle {
    let props = AppProps {
        options: Rc::new(options),
        host: element.clone(),
    };
    let app = yew::Renderer::<App>::with_root_and_props(element, props.clone()).render();
    EditorHandle {
        app: Some(app),
        props,
    }
}

/// `mountContactEditor(element, options)`: options are `apiBase`, `ezpayId`,
/// `profileId`, `authorization` or `getToken`, and `contacts` (see
/// [`EditorOptions`]).
/// Throws an `Error` naming what is wrong with the options.
#[wasm_bindgen(js_name = mountContactEditor)]
pub fn mount_contact_editor(element: Element, options: JsValue) -> Result<EditorHandle, JsError> {
    let options = EditorOptions::from_js(&options).map_err(|e| JsError::new(&e))?;
    Ok(mount(element, options))
}

/// `mountContactEditor` for contacts-editor.js's `startContactEditor`, which
/// has already sent the contacts' GET (`pending`, see
/// [`prefetched`](crate::prefetched)) while the wasm loaded.
#[wasm_bindgen(js_name = mountPrefetched)]
pub fn mount_prefetched(
    element: Element,
    options: JsValue,
    pending: PendingGet,
) -> Result<EditorHandle, JsError> {
    let mut options = EditorOptions::from_js(&options).map_err(|e| JsError::new(&e))?;
    options.prefetched = Prefetched::new(pending);
    Ok(mount(element, options))
}

/// Mounts the standalone editor, configured by the page's URL
/// (`?ezpay_id=…&profile_id=…`); the agent signs in.
#[wasm_bindgen(js_name = mountStandalone)]
pub fn mount_standalone(element: Element) -> EditorHandle {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    mount(element, EditorOptions::from_query(&query))
}
