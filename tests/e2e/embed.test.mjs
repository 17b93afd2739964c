// The host page static/embed.html mounts the editor with
// startContactEditor(element, options) and hears `contacts-saved`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertAccessible, inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER } from './support/config.mjs';
import { fillPanel, storedContact, submitWith, waitForEditor } from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();

/**
 * Records every `contacts-saved` and `contacts-failed` event, whichever element
 * the editor dispatches it on: a capturing listener on window sees them all.
 */
function recordEditorEvents() {
  window.__editorEvents = [];
  for (const type of ['contacts-saved', 'contacts-failed']) {
    window.addEventListener(type, (event) => window.__editorEvents.push({ type, detail: event.detail }), true);
  }
}

test('the embed page mounts the editor and receives contacts-saved', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'embed', async ({ page }) => {
    await page.addInitScript(recordEditorEvents);
    await page.goto(`${server.baseUrl}/embed.html`);
    await waitForEditor(page);
    assert.equal(await page.getByLabel('User', { exact: true }).count(), 0, 'the host passes credentials: no sign-in form');
    await assertAccessible(page, 'embedded');

    await fillPanel(page, 'billing', { name: 'Embedded Agent' });
    const request = await submitWith(page, 'Save');
    await page.waitForFunction(() => window.__editorEvents.length > 0);
    const events = await page.evaluate(() => window.__editorEvents);
    assert.deepEqual(
      events.map((event) => event.type),
      ['contacts-saved'],
      `events: ${JSON.stringify(events)}`,
    );
    assert.equal(events[0].detail.status, 'Success');
    assert.equal(events[0].detail.request_tracking_id, request.headers()['request-tracking-id']);
    await screenshot(page, 'embedded-saved');
    assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, 'Embedded Agent');
  });
});

/** Records, in order, the page's calls of `fetch` (their URLs) and its first request to compile wasm. */
function recordStartOrder() {
  window.__startOrder = [];
  const fetchOriginal = window.fetch;
  window.fetch = function recorded(input, init) {
    window.__startOrder.push(`fetch ${new URL(input instanceof Request ? input.url : input, location.href).pathname}`);
    return fetchOriginal.call(this, input, init);
  };
  for (const name of ['instantiateStreaming', 'instantiate']) {
    const original = WebAssembly[name];
    WebAssembly[name] = function recorded(...args) {
      window.__startOrder.push('instantiate');
      return original.apply(this, args);
    };
  }
}

test('startContactEditor asks for the contacts before the wasm starts, and the editor asks no second time', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'embed-prefetch', async ({ page }) => {
    await page.addInitScript(recordStartOrder);
    const gets = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && new URL(request.url()).pathname.startsWith('/api/')) gets.push(request);
    });
    await page.goto(`${server.baseUrl}/embed.html?ezpay_id=${ACTIVE_CUSTOMER}`);
    await waitForEditor(page);
    const stored = await storedContact(server, ACTIVE_CUSTOMER, 'billing');
    assert.equal(await page.getByLabel('Name', { exact: true }).first().inputValue(), stored.name);
    assert.deepEqual(
      gets.map((request) => new URL(request.url()).pathname),
      [`/api/v1/customers/${ACTIVE_CUSTOMER}/contacts`],
      'one GET of the contacts',
    );
    const order = await page.evaluate(() => window.__startOrder);
    const contactsGet = `fetch /api/v1/customers/${ACTIVE_CUSTOMER}/contacts`;
    assert.deepEqual(
      order.filter((step) => step === contactsGet || step === 'instantiate'),
      [contactsGet, 'instantiate'],
      `the GET first: ${JSON.stringify(order)}`,
    );
    // The editor's own calls keep working after the first load: a save goes out with its own tracking id.
    await fillPanel(page, 'billing', { name: 'Prefetched Agent' });
    const save = await submitWith(page, 'Save');
    assert.notEqual(save.headers()['request-tracking-id'], gets[0].headers()['request-tracking-id']);
    assert.equal((await save.response()).status(), 200);
    assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, 'Prefetched Agent');
  });
});

/** Records each state of the first input labelled Name: `[disabled, value]`, from before any script of the page. */
function recordNameInput() {
  window.__nameStates = [];
  const observer = new MutationObserver(() => {
    const input = [...document.querySelectorAll('input')].find((el) => el.labels?.[0]?.textContent.trim() === 'Name');
    const state = input && [input.disabled, input.value];
    if (state && JSON.stringify(state) !== JSON.stringify(window.__nameStates.at(-1))) window.__nameStates.push(state);
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true });
}

test('contacts in when the editor starts are in its first form; slower ones come into a locked form', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  const stored = await storedContact(server, ACTIVE_CUSTOMER, 'billing');
  const page = `${server.baseUrl}/embed.html?ezpay_id=${ACTIVE_CUSTOMER}`;
  await inSession(browser, 'embed-first-form', async ({ page: tab }) => {
    await tab.addInitScript(recordNameInput);
    await tab.goto(page);
    await waitForEditor(tab);
    assert.deepEqual(await tab.evaluate(() => window.__nameStates), [[false, stored.name]], 'the first form is the one to edit');
  });
  await inSession(browser, 'embed-slow-contacts', async ({ page: tab }) => {
    await tab.addInitScript(recordNameInput);
    // The contacts take a second and a half: the editor starts without them.
    await tab.route('**/api/v1/customers/*/contacts', async (route) => {
      await new Promise((done) => setTimeout(done, 1_500));
      await route.continue();
    });
    await tab.goto(page);
    await waitForEditor(tab);
    assert.deepEqual(await tab.evaluate(() => window.__nameStates), [[true, ''], [false, stored.name]], 'locked, then filled');
  });
});

test('the editor\'s modules, as served, ask V8 to compile all their functions while they stream', async () => {
  const { server } = fixture;
  const entry = await (await fetch(`${server.baseUrl}/contacts-editor.js`)).text();
  const glue = entry.match(/from\s*["']\.\/(contacts-editor-[0-9a-f]+\.js)["']/)?.[1];
  assert.ok(glue, `contacts-editor.js imports the hashed glue: ${entry.slice(0, 200)}`);
  const served = await (await fetch(`${server.baseUrl}/${glue}`)).text();
  for (const [name, text] of [['contacts-editor.js', entry], [glue, served]]) {
    assert.ok(text.startsWith('//# allFunctionsCalledOnLoad\n'), `${name} starts with the compile hint: ${text.slice(0, 80)}`);
  }
});
