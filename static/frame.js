// The editor as a console frames it (frame.html), driven by postMessage.
//
// host -> editor: {type: 'init', ezpayId, profileId, token, contacts?},
//                 {type: 'token', token}, {type: 'load', ezpayId}
// editor -> host: {type: 'ready'}, {type: 'token-needed'},
//                 {type: 'saved', ezpayId, requestTrackingId},
//                 {type: 'failed', ...envelope}, {type: 'dirty', dirty},
//                 {type: 'error', message} (a message it could not act on)
//
// Messages are taken only from the parent window, and only from an origin
// the deployment lists: frame-origins.json, which contacts-server answers
// from its `frame_ancestors` (the list that lets those origins frame this
// page at all). `ready` goes to each listed origin (the browser delivers it
// only where the parent's origin is that one); the first `init` binds the
// frame to its sender's origin, the only one it listens to and posts to
// from then on. Nothing is ever posted to '*'.
import init, { mountContactEditor } from './contacts-editor.js';

/** How long a request waits for the console to answer `token-needed`. */
const TOKEN_WAIT_MS = 15_000;

async function listedOrigins() {
  const response = await fetch('frame-origins.json', { cache: 'no-cache' });
  const { origins } = response.ok ? await response.json() : { origins: [] };
  return origins.map((origin) => (origin === "'self'" ? window.location.origin : origin)).filter((origin) => origin.includes('://'));
}

// frame.html links the editor's stylesheet itself (trunk-post-build.mjs).
const [origins] = await Promise.all([listedOrigins(), init()]);

const slot = document.getElementById('app');
let host = null;
let editor = null;
let token = null;
let awaitingToken = [];

function post(message, origin = host) {
  if (origin) window.parent.postMessage(message, origin);
}

/** The editor's getToken: the console's last token, or a new one asked for. */
function getToken({ refused } = {}) {
  if (token && !refused) return token;
  token = null;
  post({ type: 'token-needed' });
  return new Promise((resolve, reject) => {
    const waiter = { resolve, reject };
    awaitingToken.push(waiter);
    setTimeout(() => {
      awaitingToken = awaitingToken.filter((w) => w !== waiter);
      reject(new Error('The console sent no token'));
    }, TOKEN_WAIT_MS);
  });
}

function start({ ezpayId, profileId, contacts }) {
  editor?.unmount();
  editor = null;
  slot.replaceChildren();
  editor = mountContactEditor(slot, { apiBase: '', ezpayId, profileId, contacts, getToken });
}

const handlers = {
  init(data, origin) {
    host = origin;
    token = typeof data.token === 'string' ? data.token : null;
    start(data);
  },
  token(data) {
    if (typeof data.token !== 'string' || data.token === '') return;
    token = data.token;
    const waiting = awaitingToken;
    awaitingToken = [];
    for (const { resolve } of waiting) resolve(token);
  },
  load(data) {
    editor?.load(String(data.ezpayId));
  },
};

window.addEventListener('message', (event) => {
  const listed = host ? event.origin === host : origins.includes(event.origin);
  const type = event.data?.type;
  const handler = typeof type === 'string' && Object.hasOwn(handlers, type) ? handlers[type] : undefined;
  if (event.source !== window.parent || !listed || !handler || (!editor && type !== 'init')) return;
  try {
    handler(event.data, event.origin);
  } catch (error) {
    // A bad message from the console changes nothing; the console hears why.
    post({ type: 'error', message: String(error?.message ?? error) }, event.origin);
  }
});

slot.addEventListener('contacts-saved', (event) => {
  post({ type: 'saved', ezpayId: event.detail.ezpay_id, requestTrackingId: event.detail.request_tracking_id });
});
slot.addEventListener('contacts-failed', (event) => {
  post({ type: 'failed', ...event.detail });
});
slot.addEventListener('contacts-dirty', (event) => {
  post({ type: 'dirty', dirty: event.detail.dirty });
});

for (const origin of origins) post({ type: 'ready' }, origin);
