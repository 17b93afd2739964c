// A stand-in for the CAAG console: it mounts the contacts editor into its own
// page with startContactEditor(element, options, ready) (mountContactEditor
// once the wasm is ready, the contacts asked for meanwhile) and lists the
// editor's `contacts-saved` / `contacts-failed` events.
import { startContactEditor, stylesheet } from './contacts-editor.js';

// The reference server's development credentials (user ocsuser). The real
// console passes the signed-in agent's own Authorization header instead.
const DEV_AUTHORIZATION = `Basic ${btoa('ocsuser:ocsuser')}`;

// The editor's stylesheet is named after its content; contacts-editor.js
// names it. The editor is mounted once it applies, so that it never shows unstyled.
const styled = new Promise((resolve, reject) => {
  document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: stylesheet, onload: resolve, onerror: reject }));
});

const slot = document.getElementById('contacts-editor-slot');
const log = document.getElementById('editor-events');
for (const type of ['contacts-saved', 'contacts-failed']) {
  slot.addEventListener(type, (event) => {
    const item = document.createElement('li');
    item.textContent = `${type}: ${event.detail.status}, tracking id ${event.detail.request_tracking_id}`;
    log.append(item);
  });
}

const params = new URLSearchParams(window.location.search);
const editor = await startContactEditor(
  slot,
  {
    apiBase: '',
    ezpayId: params.get('ezpay_id') ?? '000010000005008',
    profileId: params.get('profile_id') ?? 'CAAG_302',
    authorization: DEV_AUTHORIZATION,
  },
  styled,
);

document.getElementById('close-editor').addEventListener('click', (event) => {
  editor.unmount();
  event.currentTarget.disabled = true;
});
