// <contact-editor ezpay-id="…" profile-id="…" api-base="…">: the editor as
// a custom element. trunk-post-build.mjs appends this file to
// contacts-editor.js, where `init` and `mountContactEditor` are in scope.
//
// Properties, read when the element is put in the page: `getToken` (a
// function giving the agent's token, or a Promise of it; the latest one set
// is called; without it the agent signs in) and `contacts` (the customer's
// contacts as the API sends them). The editor's events (`contacts-saved`,
// `contacts-failed`, `contacts-dirty`) are events of the element. Changing
// `ezpay-id` opens that customer, asking first where there are unsaved edits.
class ContactEditorElement extends HTMLElement {
  static observedAttributes = ['ezpay-id'];

  #editor = null;
  #dirty = false;
  #reverting = false;

  constructor() {
    super();
    this.addEventListener('contacts-dirty', (event) => {
      this.#dirty = event.detail.dirty;
    });
  }

  connectedCallback() {
    // After the page's own script has set the properties.
    queueMicrotask(async () => {
      await Promise.all([init(), styled()]);
      if (!this.isConnected || this.#editor) return;
      this.#editor = mountContactEditor(this, {
        apiBase: this.getAttribute('api-base') ?? '',
        ezpayId: this.getAttribute('ezpay-id') ?? '',
        profileId: this.getAttribute('profile-id'),
        contacts: this.contacts,
        getToken: this.getToken && ((hint) => this.getToken(hint)),
      });
    });
  }

  disconnectedCallback() {
    this.#editor?.unmount();
    this.#editor = null;
  }

  attributeChangedCallback(name, before, ezpayId) {
    if (!this.#editor || before === ezpayId || this.#reverting) return;
    if (this.#dirty && !window.confirm('Open another customer? Your unsaved changes to this one stay in this browser tab.')) {
      // The agent stays: the attribute goes back to the customer shown.
      this.#reverting = true;
      this.setAttribute('ezpay-id', before ?? '');
      this.#reverting = false;
      return;
    }
    this.#editor.load(ezpayId);
  }
}

let stylesheetLink;
/** Links the editor's stylesheet to the page once; resolves when it applies. */
function styled() {
  stylesheetLink ??= new Promise((resolve, reject) => {
    document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: stylesheet, onload: resolve, onerror: reject }));
  });
  return stylesheetLink;
}

customElements.define('contact-editor', ContactEditorElement);
