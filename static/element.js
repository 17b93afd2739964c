// <contact-editor ezpay-id="…" profile-id="…" api-base="…">: the editor as
// a custom element. trunk-post-build.mjs appends this file to
// contacts-editor.js, where `init` and `mountContactEditor` are in scope.
//
// Properties: `getToken` (a function giving the agent's token, or a Promise
// of it; without it the agent signs in) and `contacts` (the customer's
// contacts as the API sends them). The editor's events (`contacts-saved`,
// `contacts-failed`, `contacts-dirty`) are events of the element. Changing
// `ezpay-id` opens that customer, asking first where there are unsaved edits.
class ContactEditorElement extends HTMLElement {
  static observedAttributes = ['ezpay-id'];

  #editor = null;
  #getToken;
  #contacts;
  #dirty = false;

  constructor() {
    super();
    this.addEventListener('contacts-dirty', (event) => {
      this.#dirty = event.detail.dirty;
    });
  }

  get getToken() {
    return this.#getToken;
  }

  set getToken(getToken) {
    this.#getToken = getToken;
  }

  get contacts() {
    return this.#contacts;
  }

  set contacts(contacts) {
    this.#contacts = contacts;
    if (this.#editor) this.#mount();
  }

  connectedCallback() {
    // Properties set on the element before this module defined it hide the
    // accessors: they are taken over here.
    for (const name of ['getToken', 'contacts']) {
      if (Object.hasOwn(this, name)) {
        const value = this[name];
        delete this[name];
        this[name] = value;
      }
    }
    // After the page's own script has set the properties.
    queueMicrotask(() => this.#mount());
  }

  disconnectedCallback() {
    this.#editor?.unmount();
    this.#editor = null;
  }

  attributeChangedCallback(name, before, ezpayId) {
    if (!this.#editor || before === ezpayId) return;
    if (this.#dirty && !window.confirm('Open another customer? Your unsaved changes to this one stay in this browser tab.')) {
      this.setAttribute('ezpay-id', before);
      return;
    }
    this.#editor.load(ezpayId);
  }

  async #mount() {
    await Promise.all([init(), styled()]);
    if (!this.isConnected) return;
    this.#editor?.unmount();
    this.#editor = mountContactEditor(this, {
      apiBase: this.getAttribute('api-base') ?? '',
      ezpayId: this.getAttribute('ezpay-id') ?? '',
      profileId: this.getAttribute('profile-id'),
      contacts: this.#contacts,
      // The latest getToken the page set, called by the editor before each request.
      getToken: this.#getToken && ((hint) => this.#getToken(hint)),
    });
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
