// Trunk's post-build hook (Trunk.toml): minifies the wasm-bindgen glue of a
// release build, and writes `contacts-editor.js`, the editor's module for
// host pages.
//
// Trunk names the glue, the wasm and the stylesheet after a hash of their
// content (`filehash`), so that a browser may keep them for a year: a new
// build names new content anew. The entry points keep their names and are
// revalidated on every load (`Cache-Control: no-cache`): `index.html`,
// `loader.js`, `embed.html`, `embed.js`, `frame.html`, `frame.js`, and
// `contacts-editor.js`, the one module a host page imports whatever the
// build, which names this build's files (and defines `<contact-editor>`). Every URL is relative, so `dist/` may be hosted under any path.

import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { minify } from 'terser';

const staging = process.env.TRUNK_STAGING_DIR;
const files = await readdir(staging);

/** The one file of the staging folder whose name matches `pattern`. */
function theOne(pattern, what) {
  const found = files.filter((name) => pattern.test(name));
  if (found.length !== 1) {
    throw new Error(`${staging}: expected one ${what} named like ${pattern}, found ${JSON.stringify(found)} (is filehash on?)`);
  }
  return found[0];
}

const glue = theOne(/^contacts-editor-[0-9a-f]+\.js$/, 'wasm-bindgen glue');
const wasm = theOne(/^contacts-editor-[0-9a-f]+_bg\.wasm$/, 'wasm module');
const stylesheet = theOne(/^editor-[0-9a-f]+\.css$/, 'stylesheet');

// Trunk's own JS minifier stops at the `export { …, __wbg_init as default }`
// that wasm-bindgen writes (its warning "Failed to minify JS" is expected)
// and ships the glue as it is; terser minifies it (7.9 -> 5.9 KiB gzip).
if (process.env.TRUNK_PROFILE === 'release') {
  const file = path.join(staging, glue);
  const { code } = await minify(await readFile(file, 'utf8'), { module: true, compress: true, mangle: true });
  await writeFile(file, code);
}

// `init` ignores its argument: the wasm is always the one built with this
// glue, found beside it, also where an older host page still passes the
// `module_or_path` of the unhashed `contacts-editor_bg.wasm`; called again,
// it answers the first call's promise. The module also defines the
// `<contact-editor>` element (static/element.js).
let element = await readFile('static/element.js', 'utf8');
if (process.env.TRUNK_PROFILE === 'release') {
  ({ code: element } = await minify(element, { module: true, compress: true, mangle: true }));
}
await writeFile(
  path.join(staging, 'contacts-editor.js'),
  `import start, { mountContactEditor } from './${glue}';
export * from './${glue}';
export const stylesheet = new URL('${stylesheet}', import.meta.url).href;
let started;
export default function init() {
  started ??= start({ module_or_path: new URL('${wasm}', import.meta.url) });
  return started;
}
${element}`,
);

// contacts-editor.js also exports `startContactEditor(element, options,
// ready)`, which does what `await init()` then `mountContactEditor(element,
// options)` do, and asks for the customer's contacts at once, while the wasm
// still downloads, instead of once the editor has started: it hands the
// pending answer to the editor (src/prefetched.rs), which takes it only if
// it asks exactly what the editor's own first GET (src/api.rs) would.
// These two functions are written into the module as they read here
// (minified in a release build).

/** Sends the first `GET …/contacts` that the editor would send for `options`, if it would send one. */
function getContacts({ apiBase = '', ezpayId, profileId, authorization, contacts } = {}) {
  const customer = typeof ezpayId === 'string' ? ezpayId.trim() : '';
  const credentials = typeof authorization === 'string' ? authorization.trim() : '';
  // Whether the eZpayID is valid is the model's to say (the editor takes
  // the answer only for the customer it awaits); an odd one is only a GET
  // the server refuses.
  if (!customer || !credentials || contacts != null || typeof apiBase !== 'string') return undefined;
  const random = crypto.getRandomValues(new Uint8Array(8));
  const pending = {
    url: `${apiBase.replace(/\/+$/, '')}/api/v1/customers/${encodeURIComponent(customer)}/contacts`,
    authorization: credentials,
    profileId: (typeof profileId === 'string' && profileId.trim()) || 'CAAG_302',
    trackingId: `ce-${Date.now().toString(16)}-${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`,
  };
  // Read whole as soon as it comes, and kept as `read`, so that an answer
  // that came before the editor started is shown in its first form.
  pending.answer = fetch(pending.url, {
    headers: {
      Accept: 'application/json',
      'Request-Tracking-Id': pending.trackingId,
      Authorization: pending.authorization,
      ProfileId: pending.profileId,
    },
    signal: AbortSignal.timeout(15_000),
  }).then(async (response) => (pending.read = { status: response.status, etag: response.headers.get('ETag'), body: await response.text() }));
  // The editor reads a failure when it starts; until then it is no unhandled rejection.
  pending.answer.catch(() => {});
  return pending;
}

/**
 * Mounts the editor into `element` as `mountContactEditor(element, options)`
 * does, once the wasm is ready and `ready` (such as the host's stylesheet)
 * has resolved; the customer's contacts are asked for meanwhile, and waited
 * for a little longer (at most START_WAIT_MS), so that the first form the
 * agent sees is the one to edit rather than a locked form that fills a
 * moment later; a slower answer comes into a form that says it is loading.
 * Resolves to the editor's handle; rejects as `mountContactEditor` throws.
 */
async function startContactEditor(element, options, ready) {
  const pending = getContacts(options);
  await Promise.all([init(), ready]);
  if (pending) await Promise.race([pending.answer.catch(() => {}), new Promise((done) => setTimeout(done, START_WAIT_MS))]);
  return pending ? mountPrefetched(element, options, pending) : mountContactEditor(element, options);
}

const entryModule = path.join(staging, 'contacts-editor.js');
await appendFile(
  entryModule,
  `import { mountPrefetched } from './${glue}';
const START_WAIT_MS = 250;
${getContacts}
export ${startContactEditor}
`,
);
if (process.env.TRUNK_PROFILE === 'release') {
  // The whole module in one pass: minified apart, the element's names and
  // these would be mangled alike and clash.
  const { code } = await minify(await readFile(entryModule, 'utf8'), { module: true, compress: true, mangle: true });
  await writeFile(entryModule, code);
}

// Most functions of the glue and of contacts-editor.js are called while the
// editor starts: the glue's ~200 imports of the wasm (each DOM call of the
// first render goes through one), init, startContactEditor. V8 compiles a
// function when it is first called, on the page's main thread, which is the
// editor's start-up's bottleneck, unless the file says they will all be
// called: with Chromium's explicit compile hints (this magic comment, first in
// the file; Chrome 136 and later, a plain comment elsewhere), V8 compiles them
// all while it streams the file, on a background thread. The main thread's
// CPU time compiling JS during a load of embed.html went from about 5.0 to
// 2.2 ms (thread time of V8's compile events in Chromium traces, 4 loads
// each): a gain below what bench-load.mjs can resolve in time to interactive.
const EAGER = '//# allFunctionsCalledOnLoad\n';
for (const file of [path.join(staging, glue), entryModule]) {
  await writeFile(file, EAGER + (await readFile(file, 'utf8')));
}

// The demo host page and the framed page start the editor through a chain
// of modules (embed.js or frame.js -> contacts-editor.js -> the glue -> the
// wasm), each found only once the one before is fetched and read. Preloads
// let the browser fetch them all at once, as soon as the page's head is
// read; a host page that knows this build's names (as its own build can read
// them from contacts-editor.js) does the same. Trunk writes the same
// preloads into index.html. The editor's stylesheet is linked as the pages'
// own: the browser applies it in the page's first layout, where one that a
// script links later costs a second layout and a wait for its `load` (time
// to interactive 233.5 -> 198.8 ms in one bench-load.mjs run of 21 loads).
const preloads = [
  '<link rel="modulepreload" href="contacts-editor.js" />',
  `<link rel="modulepreload" href="${glue}" />`,
  `<link rel="preload" href="${wasm}" as="fetch" type="application/wasm" crossorigin />`,
  `<link rel="stylesheet" href="${stylesheet}" />`,
];
for (const [name, script] of [['embed.html', 'embed.js'], ['frame.html', 'frame.js']]) {
  const page = path.join(staging, name);
  const text = await readFile(page, 'utf8');
  const entry = `<script type="module" src="${script}"></script>`;
  if (!text.includes(entry)) {
    throw new Error(`${page}: expected ${entry}, before which the preloads go`);
  }
  await writeFile(page, text.replace(entry, `${preloads.join('\n    ')}\n    ${entry}`));
}
