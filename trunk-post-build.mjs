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

import { readdir, readFile, writeFile } from 'node:fs/promises';
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

// The demo host page and the framed page start the editor through a chain
// of modules (embed.js or frame.js -> contacts-editor.js -> the glue -> the
// wasm), each found only once the one before is fetched and read. Preloads
// let the browser fetch them all at once, as soon as the page's head is
// read; a host page that knows this build's names (as its own build can read
// them from contacts-editor.js) does the same. Trunk writes the same
// preloads into index.html.
const preloads = [
  '<link rel="modulepreload" href="contacts-editor.js" />',
  `<link rel="modulepreload" href="${glue}" />`,
  `<link rel="preload" href="${wasm}" as="fetch" type="application/wasm" crossorigin />`,
  `<link rel="preload" href="${stylesheet}" as="style" />`,
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
