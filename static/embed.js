// A stand-in for the CAAG console: it mounts the contacts editor into its own
// page with startContactEditor(element, options) (mountContactEditor
// once the wasm is ready, the contacts asked for meanwhile) and lists the
// editor's `contacts-saved` / `contacts-failed` events.
import { startContactEditor } from './contacts-editor.js';

// The reference server's development credentials (user ocsuser). The real
// console passes the signed-in agent's own Authorization header instead.
const DEV_AUTHORIZATION = `Basic ${btoa('ocsuser:ocsuser')}`;

// embed.html links the editor's stylesheet itself, named after its content
// (trunk-post-build.mjs writes the link, as a console's build would); a host
// that can only learn the name when it runs links `stylesheet` from
// contacts-editor.js, and passes the link's load as startContactEditor's
// `ready`, so that the editor never shows unstyled.

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
);

document.getElementById('close-editor').addEventListener('click', (event) => {
  editor.unmount();
  event.currentTarget.disabled = true;
});
