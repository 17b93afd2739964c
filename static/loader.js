// Starts the standalone editor. A file rather than an inline script, so that
// the server's Content-Security-Policy needs no 'unsafe-inline'.
import init, { mountStandalone } from './contacts-editor.js';

await init();
const root = document.getElementById('app');
root.replaceChildren();
mountStandalone(root);
