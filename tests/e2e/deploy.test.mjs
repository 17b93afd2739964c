// Deploys that browsers cannot get wrong: the editor's wasm, glue and
// stylesheet are named after their content and kept by the browser for a
// year, the entry points are asked for again on every load, so a reloaded
// page runs the new build at once; and dist/ works under a sub-path.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { inSession, launchBrowser } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, distDir } from './support/config.mjs';
import { fillPanel, signIn, storedContact, submitWith, waitForEditor, waitForResult } from './support/editor.mjs';
import { ContactsServer } from './support/server.mjs';
import { StaticHost } from './support/static-host.mjs';

/** Trunk's content-hashed name of the wasm: `contacts-editor-HASH_bg.wasm`. */
const HASHED_WASM = /^contacts-editor-([0-9a-f]+)_bg\.wasm$/;

const IMMUTABLE = 'public, max-age=31536000, immutable';

const fixture = { site: null, server: null, browser: null, host: null };

before(async () => {
  // The server serves a folder of its own, which the first test deploys into.
  fixture.site = await mkdtemp(path.join(tmpdir(), 'contacts-deploy-e2e-'));
  await cp(distDir(), fixture.site, { recursive: true });
  const [server, browser, host] = await Promise.allSettled([
    ContactsServer.start({ args: ['--static-dir', fixture.site] }),
    launchBrowser(),
    StaticHost.start({ dir: distDir(), prefix: '/contacts/', apiUrl: () => fixture.server.baseUrl }),
  ]);
  fixture.server = server.value ?? null;
  fixture.browser = browser.value ?? null;
  fixture.host = host.value ?? null;
  for (const outcome of [server, browser, host]) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
});

after(async () => {
  await Promise.all([fixture.browser?.close(), fixture.server?.dispose(), fixture.host?.close()]);
  if (fixture.site) await rm(fixture.site, { recursive: true, force: true });
});

/** The hash in the name of the wasm that `dir` holds. */
async function wasmHash(dir) {
  const names = (await readdir(dir)).map((name) => HASHED_WASM.exec(name)).filter(Boolean);
  assert.equal(names.length, 1, `one hashed wasm in ${dir}`);
  return names[0][1];
}

/**
 * Writes into `site` what the next build would: the wasm changed (a custom
 * section added, as any change to the code would change its bytes), hence
 * new names for it and its glue, which the entry points now name. The old
 * build's files are removed, as a deploy that replaces the folder does.
 */
async function deployChangedBuild(site) {
  const oldHash = await wasmHash(site);
  const wasm = await readFile(path.join(site, `contacts-editor-${oldHash}_bg.wasm`));
  const changed = Buffer.concat([wasm, customSection('deploy', `redeployed ${Date.now()}`)]);
  const newHash = createHash('sha256').update(changed).digest('hex').slice(0, 16);
  const next = new Map();
  for (const name of await readdir(site)) {
    // The compressed copies would be stale: the server then sends the files themselves.
    if (/\.(gz|br)$/.test(name)) continue;
    let bytes = await readFile(path.join(site, name));
    if (/\.(html|js)$/.test(name)) bytes = Buffer.from(bytes.toString('utf8').replaceAll(oldHash, newHash));
    next.set(name.replace(oldHash, newHash), bytes);
  }
  next.set(`contacts-editor-${newHash}_bg.wasm`, changed);
  await rm(site, { recursive: true });
  await mkdir(site);
  for (const [name, bytes] of next) await writeFile(path.join(site, name), bytes);
  return { oldHash, newHash };
}

/** A wasm custom section (id 0) named `name` holding `text`. */
function customSection(name, text) {
  const leb = (n) => {
    const bytes = [];
    do {
      bytes.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    return Buffer.from(bytes);
  };
  const body = Buffer.concat([leb(name.length), Buffer.from(name), Buffer.from(text)]);
  return Buffer.concat([Buffer.from([0]), leb(body.length), body]);
}

/** The paths of the editor's files the page fetched from the network (not the API). */
function recordFetches(page) {
  const fetched = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (!url.pathname.startsWith('/api/')) fetched.push({ path: url.pathname, response });
  });
  return fetched;
}

test('a redeploy with a changed wasm is picked up by a reloaded page', { timeout: 60_000 }, async () => {
  const { server, browser, site } = fixture;
  await inSession(browser, 'redeploy', async ({ page }) => {
    const fetched = recordFetches(page);
    await page.goto(`${server.baseUrl}/?ezpay_id=${ACTIVE_CUSTOMER}`);
    await signIn(page);
    await waitForEditor(page);

    const firstHash = await wasmHash(site);
    const cacheControl = Object.fromEntries(
      await Promise.all(fetched.map(async ({ path: p, response }) => [p, await response.headerValue('cache-control')])),
    );
    for (const [p, value] of Object.entries(cacheControl)) {
      const hashed = p.includes(firstHash) || /\/editor-[0-9a-f]+\.css$/.test(p);
      assert.equal(value, hashed ? IMMUTABLE : 'no-cache', `Cache-Control of ${p}`);
    }
    assert.ok(cacheControl[`/contacts-editor-${firstHash}_bg.wasm`], `the wasm was fetched: ${Object.keys(cacheControl)}`);
    assert.equal(cacheControl['/contacts-editor.js'], 'no-cache');

    const { oldHash, newHash } = await deployChangedBuild(site);
    assert.notEqual(newHash, oldHash);
    fetched.length = 0;
    await page.reload();
    await signIn(page);
    await waitForEditor(page);
    const paths = fetched.map(({ path: p }) => p);
    assert.ok(paths.includes(`/contacts-editor-${newHash}_bg.wasm`), `the new wasm is loaded: ${paths}`);
    assert.ok(!paths.some((p) => p.includes(oldHash)), `nothing of the old build is asked for: ${paths}`);
    const running = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((entry) => new URL(entry.name).pathname).filter((p) => p.endsWith('.wasm')),
    );
    assert.ok(running.length > 0, 'the page fetched a wasm');
    assert.deepEqual(new Set(running), new Set([`/contacts-editor-${newHash}_bg.wasm`]), 'the page runs the new wasm');
  });
});

test('the editor served under /contacts/ by a static host loads and saves', { timeout: 60_000 }, async () => {
  const { server, browser, host } = fixture;
  await inSession(browser, 'sub-path', async ({ page }) => {
    await page.goto(`${host.baseUrl}/contacts/?ezpay_id=${ACTIVE_CUSTOMER}`);
    await signIn(page);
    await waitForEditor(page);
    await fillPanel(page, 'billing', { name: 'Sub Path Agent' });
    await submitWith(page, 'Save');
    await waitForResult(page, 'Success');
    assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, 'Sub Path Agent');
    const outside = host.requests.filter((p) => !p.startsWith('/contacts/') && !p.startsWith('/api/'));
    assert.deepEqual(outside, [], 'every file is asked for under /contacts/');
  });
});
