// A stand-in for a CAAG console on its own origin (`cargo xtask run` serves
// this folder at http://127.0.0.1:8081/, with GET /token, a token of its
// development issuer for ocsuser). It shows two ways to embed the editor
// served at EDITOR (http://127.0.0.1:8080, or ?editor=ORIGIN):
//   1. frame.html in an iframe, spoken to by postMessage (README, "The message protocol");
//   2. the <contact-editor> element of contacts-editor.js, with a getToken.
// The editor's server lists this origin in frame_ancestors and console_origins.

const EDITOR = new URLSearchParams(window.location.search).get('editor') ?? 'http://127.0.0.1:8080';
const FIRST_CUSTOMER = '000010000005008';
const PROFILE_ID = 'CAAG_302';

/** A fresh token from this console's back end; the console never holds a password. */
async function fetchToken() {
  const response = await fetch('/token', { cache: 'no-store' });
  if (!response.ok) throw new Error(`the console's /token answered ${response.status}`);
  const { token } = await response.json();
  return token;
}

function log(list, text) {
  const item = document.createElement('li');
  item.textContent = text;
  document.getElementById(list).append(item);
}

// 1. The framed editor. Messages are taken from the editor's origin and its
// frame only, and posted to that origin only.
const frame = document.getElementById('framed-editor');
let framedDirty = false;
const send = (message) => frame.contentWindow.postMessage(message, EDITOR);
window.addEventListener('message', async (event) => {
  if (event.origin !== EDITOR || event.source !== frame.contentWindow) return;
  const { type, ...rest } = event.data ?? {};
  log('framed-log', `${type} ${JSON.stringify(rest)}`);
  try {
    if (type === 'ready') {
      send({ type: 'init', ezpayId: FIRST_CUSTOMER, profileId: PROFILE_ID, token: await fetchToken() });
    } else if (type === 'token-needed') {
      send({ type: 'token', token: await fetchToken() });
    } else if (type === 'dirty') {
      framedDirty = rest.dirty;
    }
  } catch (error) {
    log('framed-log', `the console could not answer ${type}: ${error.message}`);
  }
});
frame.src = `${EDITOR}/frame.html`;
document.getElementById('framed-customer').addEventListener('submit', (event) => {
  event.preventDefault();
  if (framedDirty && !window.confirm('The framed editor has unsaved changes. Open another customer?')) return;
  send({ type: 'load', ezpayId: document.getElementById('framed-ezpay-id').value.trim() });
});

// 2. The element, from the editor's own server (CORS for console origins).
await import(`${EDITOR}/contacts-editor.js`);
const element = document.createElement('contact-editor');
element.setAttribute('ezpay-id', FIRST_CUSTOMER);
element.setAttribute('profile-id', PROFILE_ID);
element.setAttribute('api-base', EDITOR);
element.getToken = fetchToken;
for (const type of ['contacts-saved', 'contacts-failed', 'contacts-dirty']) {
  element.addEventListener(type, (event) => log('element-log', `${type} ${JSON.stringify(event.detail)}`));
}
document.getElementById('element-slot').append(element);
