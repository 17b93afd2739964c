// A console on another origin signs the agent in with bearer tokens: it
// frames the editor (frame.html, driven by postMessage) or mounts the
// <contact-editor> element with a getToken. The tokens are JWTs minted here
// with a key pair made for this run, whose key set a small local server
// serves; the contacts-server takes them through [auth.oidc], and lists the
// console's origin in frame_ancestors and console_origins.

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { assertAccessible, inSession } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, CUSTOMER_WITHOUT_CONTACTS, DEV_PROFILE_ID, REPO_ROOT } from './support/config.mjs';
import { assertEventually, button, field, fillPanel, isContactsPost, storedContact, waitForEditor } from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const AUDIENCE = 'contacts-api';
const KEY_ID = 'e2e-key-1';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Listens on a free 127.0.0.1 port; answers by `route(pathname, query)` → [status, type, body]. */
async function serve(route) {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://host');
    const [status, type, body] = route(url.pathname, url.searchParams) ?? [404, 'text/plain', 'not found'];
    response.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    response.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const origin = (server, host = '127.0.0.1') => `http://${host}:${server.address().port}`;

const fixture = { issuer: null, keys: null, console: null };
const configPath = path.join(tmpdir(), `contacts-console-e2e-${process.pid}.toml`);

/** A token of the issuer for the agent, valid for `ttl` seconds. */
function mint(ttl) {
  const now = Math.floor(Date.now() / 1000);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = part({ alg: 'RS256', typ: 'JWT', kid: KEY_ID });
  const claims = part({ iss: fixture.issuer, aud: AUDIENCE, sub: 'agent.e2e', iat: now, nbf: now - 1, exp: now + ttl, profiles: [DEV_PROFILE_ID] });
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), privateKey).toString('base64url');
  return `${header}.${claims}.${signature}`;
}

/** The console's page that frames the editor and speaks its protocol; the first token lives `?first_ttl=` seconds. */
function framingPage(editor) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console that frames the editor</title><link rel="icon" href="data:,"></head>
<body><main>
<iframe id="editor" title="Customer contacts editor" src="${editor}/frame.html" width="1200" height="900"></iframe>
</main>
<script type="module">
const EDITOR = ${JSON.stringify(editor)};
const frame = document.getElementById('editor');
let ttl = Number(new URLSearchParams(location.search).get('first_ttl') ?? 300);
async function token() {
  const { token } = await (await fetch('/token?ttl=' + ttl)).json();
  ttl = 300;
  return token;
}
window.__messages = [];
window.__send = (message) => frame.contentWindow.postMessage(message, EDITOR);
window.addEventListener('message', async (event) => {
  if (event.origin !== EDITOR || event.source !== frame.contentWindow) return;
  window.__messages.push(event.data);
  if (event.data.type === 'ready') {
    window.__send({ type: 'init', ezpayId: ${JSON.stringify(ACTIVE_CUSTOMER)}, profileId: ${JSON.stringify(DEV_PROFILE_ID)}, token: await token() });
  } else if (event.data.type === 'token-needed') {
    window.__send({ type: 'token', token: await token() });
  }
});
</script></body></html>`;
}

/** A page of an origin not listed, framed beside the editor: it posts to the editor frame. */
const INTRUDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another site</title></head><body><p>Another site</p>
<script type="module">
const editor = window.parent.frames[0];
editor.postMessage({ type: 'load', ezpayId: ${JSON.stringify(CUSTOMER_WITHOUT_CONTACTS)} }, '*');
editor.postMessage({ type: 'token', token: 'forged' }, '*');
editor.postMessage({ type: 'init', ezpayId: '000010000005010', profileId: 'CAAG_302', token: 'forged' }, '*');
document.body.dataset.sent = 'yes';
</script></body></html>`;

/** The console's page with the <contact-editor> element; `getToken` is the body of its getToken. */
function elementPage(editor, getToken) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console with the contact-editor element</title><link rel="icon" href="data:,"></head>
<body><main></main>
<script type="module">
await import(${JSON.stringify(`${editor}/contacts-editor.js`)});
const element = document.createElement('contact-editor');
element.setAttribute('ezpay-id', ${JSON.stringify(ACTIVE_CUSTOMER)});
element.setAttribute('profile-id', ${JSON.stringify(DEV_PROFILE_ID)});
element.setAttribute('api-base', ${JSON.stringify(editor)});
element.getToken = ${getToken};
window.__events = [];
for (const type of ['contacts-saved', 'contacts-failed', 'contacts-dirty']) {
  element.addEventListener(type, (event) => window.__events.push({ type, detail: event.detail }));
}
document.querySelector('main').append(element);
</script></body></html>`;
}

const HTML = 'text/html; charset=utf-8';
const TYPES = { '.html': HTML, '.js': 'text/javascript', '.css': 'text/css' };
/** The demo console of `cargo xtask run` (static/console/), served as its development server does. */
const demoConsole = {};

// The issuer's key set, the console and the configuration that names them,
// made before the server starts with it.
{
  for (const name of ['index.html', 'console.js', 'console.css']) {
    demoConsole[`/console/${name}`] = await readFile(path.join(REPO_ROOT, 'static/console', name), 'utf8');
  }
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KEY_ID, alg: 'RS256', use: 'sig' };
  fixture.keys = await serve((pathname) => pathname === '/jwks.json' && [200, 'application/json', JSON.stringify({ keys: [jwk] })]);
  fixture.issuer = origin(fixture.keys);
  const editor = () => started.server.baseUrl;
  fixture.console = await serve((pathname, query) => {
    switch (pathname) {
      case '/token':
        return [200, 'application/json', JSON.stringify({ token: mint(Number(query.get('ttl') ?? 300)) })];
      case '/framing.html':
        return [200, HTML, framingPage(editor())];
      case '/intruder.html':
        return [200, HTML, INTRUDER];
      case '/element.html':
        return [200, HTML, elementPage(editor(), "async () => (await (await fetch('/token')).json()).token")];
      case '/console/index.html':
      case '/console/console.js':
      case '/console/console.css':
        return [200, TYPES[path.extname(pathname)], demoConsole[pathname]];
      case '/rejecting.html':
        return [200, HTML, elementPage(editor(), "() => Promise.reject(new Error('The console has signed the agent out'))")];
      default:
        return null;
    }
  });
  const consoleOrigin = origin(fixture.console);
  const development = await readFile(path.join(REPO_ROOT, 'crates/contacts-server/dev-config.toml'), 'utf8');
  const config = development.replace(
    `frame_ancestors = ["'self'"]`,
    `frame_ancestors = ["'self'", "${consoleOrigin}"]\nconsole_origins = ["${consoleOrigin}"]`,
  );
  assert.notEqual(config, development, 'dev-config.toml sets frame_ancestors');
  const oidc = `\n[auth.oidc]\nissuer = "${fixture.issuer}"\naudience = "${AUDIENCE}"\njwks_url = "${fixture.issuer}/jwks.json"\nleeway_seconds = 0\n`;
  await writeFile(configPath, config + oidc);
}

const started = useServerAndBrowser({ args: ['--config', configPath] });

after(async () => {
  await Promise.all([fixture.console, fixture.keys].map((server) => server && new Promise((resolve) => server.close(resolve))));
  await rm(configPath, { force: true });
});

/** Opens the framing page and waits until the framed editor shows the customer; the frame. */
async function openFramed(page, query = '') {
  await page.goto(`${origin(fixture.console)}/framing.html${query}`);
  await page.waitForFunction(() => window.__messages.some((m) => m.type === 'ready'));
  const frame = page.frame({ url: /\/frame\.html$/ });
  await waitForEditor(frame);
  return frame;
}

const messages = (page) => page.evaluate(() => window.__messages);

/** The POSTs of the contacts and their answers' statuses, as they happen. */
function recordPosts(page) {
  const posts = [];
  page.on('response', (response) => {
    if (isContactsPost(response.request())) {
      posts.push({ status: response.status(), headers: response.request().headers() });
    }
  });
  return posts;
}

test('a console frames the editor, sends init with a token, and hears saved', { timeout: 60_000 }, async () => {
  await inSession(started.browser, 'framed-save', async ({ page }) => {
    const posts = recordPosts(page);
    const frame = await openFramed(page);
    assert.equal(await frame.getByLabel('User', { exact: true }).count(), 0, 'no sign-in form');
    await assertAccessible(frame, 'framed');

    await fillPanel(frame, 'billing', { name: 'Framed Agent' });
    await assertEventually(async () => (await messages(page)).some((m) => m.type === 'dirty' && m.dirty), 'no dirty message');
    await button(frame, 'Save').click();
    await page.waitForFunction(() => window.__messages.some((m) => m.type === 'saved'));
    const saved = (await messages(page)).find((m) => m.type === 'saved');
    assert.equal(posts.length, 1);
    assert.match(posts[0].headers.authorization, /^Bearer /);
    assert.deepEqual(saved, { type: 'saved', ezpayId: ACTIVE_CUSTOMER, requestTrackingId: posts[0].headers['request-tracking-id'] });
    assert.equal((await storedContact(started.server, ACTIVE_CUSTOMER, 'billing')).name, 'Framed Agent');
    await assertEventually(async () => (await messages(page)).at(-1)?.dirty === false, 'no dirty: false after the save');
    await assertAccessible(frame, 'framed, saved');
  });
});

test('a token that expires mid-session costs one token-needed round and no sign-in', { timeout: 60_000 }, async () => {
  await inSession(started.browser, 'framed-expiry', async ({ page }) => {
    const posts = recordPosts(page);
    const frame = await openFramed(page, '?first_ttl=2');
    // The first token has expired (the server allows no leeway).
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    await fillPanel(frame, 'billing', { name: 'After Expiry' });
    await button(frame, 'Save').click();
    await page.waitForFunction(() => window.__messages.some((m) => m.type === 'saved'));
    const kinds = (await messages(page)).map((m) => m.type);
    assert.equal(kinds.filter((type) => type === 'token-needed').length, 1, kinds.join(' '));
    assert.deepEqual(posts.map((p) => p.status), [401, 200]);
    assert.equal(posts[0].headers['request-tracking-id'], posts[1].headers['request-tracking-id'], 'one tracking id');
    assert.notEqual(posts[0].headers.authorization, posts[1].headers.authorization, 'a fresh token');
    assert.equal(await frame.getByLabel('User', { exact: true }).count(), 0, 'no sign-in form');
    assert.equal((await storedContact(started.server, ACTIVE_CUSTOMER, 'billing')).name, 'After Expiry');
    await assertAccessible(frame, 'framed, saved after a new token');
  });
});

test('messages from an origin not listed change nothing', { timeout: 60_000 }, async () => {
  await inSession(started.browser, 'framed-intruder', async ({ page }) => {
    const sent = [];
    page.on('request', (request) => sent.push(request.headers().authorization ?? ''));
    const frame = await openFramed(page);
    const before = (await messages(page)).length;
    // `localhost` is another origin than the listed `127.0.0.1`, served by the same console server.
    const intruder = `${origin(fixture.console, 'localhost')}/intruder.html`;
    await page.evaluate((src) => {
      document.querySelector('main').append(Object.assign(document.createElement('iframe'), { src, title: 'Another site' }));
    }, intruder);
    await page.frameLocator('iframe[title="Another site"]').locator('body[data-sent="yes"]').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await frame.getByLabel('eZpayID', { exact: true }).inputValue(), ACTIVE_CUSTOMER);
    assert.ok(!sent.some((authorization) => authorization.includes('forged')), 'no request with the forged token');
    assert.equal((await messages(page)).length, before, 'the editor answered nothing');
    await assertAccessible(frame, 'framed, after the unlisted messages');

    // The same message from the console is taken.
    await page.evaluate((ezpayId) => window.__send({ type: 'load', ezpayId }), CUSTOMER_WITHOUT_CONTACTS);
    await assertEventually(
      async () => (await frame.getByLabel('eZpayID', { exact: true }).inputValue()) === CUSTOMER_WITHOUT_CONTACTS,
      'the console load was not taken',
    );
  });
});

test('the contact-editor element loads, saves and follows its ezpay-id', { timeout: 60_000 }, async () => {
  await inSession(started.browser, 'element', async ({ page, dialogs }) => {
    await page.goto(`${origin(fixture.console)}/element.html`);
    await waitForEditor(page);
    assert.equal(await page.getByLabel('User', { exact: true }).count(), 0, 'no sign-in form');
    await assertAccessible(page, 'element');

    await fillPanel(page, 'billing', { name: 'Element Agent' });
    await button(page, 'Save').click();
    await page.waitForFunction(() => window.__events.some((e) => e.type === 'contacts-saved'));
    const saved = (await page.evaluate(() => window.__events)).find((e) => e.type === 'contacts-saved');
    assert.equal(saved.detail.status, 'Success');
    assert.equal(saved.detail.ezpay_id, ACTIVE_CUSTOMER);
    assert.equal((await storedContact(started.server, ACTIVE_CUSTOMER, 'billing')).name, 'Element Agent');

    // With unsaved edits the element asks first; the agent declines (the
    // session dismisses every dialog) and stays on the customer.
    const setCustomer = (id) => page.evaluate((ezpayId) => document.querySelector('contact-editor').setAttribute('ezpay-id', ezpayId), id);
    await fillPanel(page, 'billing', { name: 'Unsaved Edit' });
    await page.waitForFunction(() => window.__events.at(-1)?.detail.dirty === true);
    await setCustomer(CUSTOMER_WITHOUT_CONTACTS);
    assert.equal(dialogs.length, 1, `one question: ${dialogs}`);
    assert.match(dialogs[0], /^confirm: Open another customer\?/);
    assert.equal(await page.locator('contact-editor').getAttribute('ezpay-id'), ACTIVE_CUSTOMER, 'the attribute goes back');
    assert.equal(await field(page, 'billing', 'name').inputValue(), 'Unsaved Edit');

    await button(page, 'Reset billing').click();
    await page.waitForFunction(() => window.__events.at(-1)?.detail.dirty === false);
    await setCustomer(CUSTOMER_WITHOUT_CONTACTS);
    await page.getByText('Customer status: inactive').waitFor();
    assert.equal(dialogs.length, 1, 'no question without unsaved edits');
    assert.equal(await page.getByLabel('eZpayID', { exact: true }).inputValue(), CUSTOMER_WITHOUT_CONTACTS);
    await assertAccessible(page, 'element, another customer');
  });
});

test('a getToken that rejects shows the editor own Failure and no sign-in form', { timeout: 45_000 }, async () => {
  await inSession(started.browser, 'element-rejecting', async ({ page }) => {
    await page.goto(`${origin(fixture.console)}/rejecting.html`);
    const failure = page.locator('#load-error');
    await failure.waitFor({ timeout: 15_000 });
    const text = await failure.innerText();
    assert.match(text, /could not sign the agent in/);
    assert.match(text, /The console has signed the agent out/);
    assert.equal(await page.getByLabel('User', { exact: true }).count(), 0, 'no sign-in form');
    await assertAccessible(page, 'getToken rejected');
  });
});

test('the demo console of cargo xtask run frames the editor and mounts the element', { timeout: 60_000 }, async () => {
  await inSession(started.browser, 'demo-console', async ({ page }) => {
    await page.goto(`${origin(fixture.console)}/console/index.html?editor=${started.server.baseUrl}`);
    const frame = page.frameLocator('#framed-editor');
    await frame.getByText('Customer status: active').waitFor({ timeout: 15_000 });
    await page.locator('contact-editor').getByText('Customer status: active').waitFor({ timeout: 15_000 });
    await page.getByText('ready {}').waitFor();
    await assertAccessible(page, 'demo console');
  });
});
