// The editor embedded in a console page of another origin, calling the API
// across origins (CORS): the console is a second HTTP server on another
// 127.0.0.1 port, serving its own page and a copy of the editor's files, and
// the contacts-server lists that origin in `console_origins`. A page of an
// origin not listed cannot call the API.

import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { inSession, launchBrowser } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, DEV_AUTHORIZATION, DEV_PROFILE_ID, REPO_ROOT, distDir } from './support/config.mjs';
import { fillPanel, storedContact, submitWith, waitForEditor, waitForResult } from './support/editor.mjs';
import { ContactsServer } from './support/server.mjs';
import { serveFile } from './support/static-host.mjs';

/** The console's page: it mounts the editor with the API of another origin. */
function consolePage(apiBase) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CAAG console on another origin</title>
<link rel="icon" href="data:,">
<script type="module">
import init, { mountContactEditor, stylesheet } from '/contacts-editor.js';
document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: stylesheet }));
// As host pages written for builds without hashed names call it: init loads
// the wasm built with contacts-editor.js whatever module_or_path names.
await init({ module_or_path: '/contacts-editor_bg.wasm' });
mountContactEditor(document.getElementById('slot'), {
  apiBase: ${JSON.stringify(apiBase)},
  ezpayId: ${JSON.stringify(ACTIVE_CUSTOMER)},
  profileId: ${JSON.stringify(DEV_PROFILE_ID)},
  authorization: 'Basic ' + btoa('ocsuser:ocsuser'),
});
</script>
</head>
<body><main><div id="slot"></div></main></body>
</html>
`;
}

/** Starts the console's HTTP server on a free 127.0.0.1 port; `apiBase()` is read per request. */
async function startConsole(apiBase) {
  const server = http.createServer(async (request, response) => {
    const { pathname } = new URL(request.url, 'http://console');
    try {
      if (pathname === '/blank.html') {
        response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        response.end('<!doctype html><html lang="en"><title>Another page</title></html>');
      } else if (pathname === '/console.html') {
        response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        response.end(consolePage(apiBase()));
      } else {
        await serveFile(path.join(distDir(), pathname), distDir(), response);
      }
    } catch (error) {
      response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const fixture = { console: null, consoleOrigin: null, server: null, browser: null };
const configPath = path.join(tmpdir(), `contacts-cors-e2e-${process.pid}.toml`);

before(async () => {
  fixture.console = await startConsole(() => fixture.server.baseUrl);
  fixture.consoleOrigin = `http://127.0.0.1:${fixture.console.address().port}`;
  // The development configuration, with the console's origin listed.
  const development = await readFile(path.join(REPO_ROOT, 'crates/contacts-server/dev-config.toml'), 'utf8');
  await writeFile(configPath, `console_origins = ["${fixture.consoleOrigin}"]\n${development}`);
  const [server, browser] = await Promise.allSettled([
    ContactsServer.start({ args: ['--config', configPath] }),
    launchBrowser(),
  ]);
  fixture.server = server.value ?? null;
  fixture.browser = browser.value ?? null;
  for (const outcome of [server, browser]) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
});

after(async () => {
  await Promise.all([
    fixture.browser?.close(),
    fixture.server?.dispose(),
    fixture.console && new Promise((resolve) => fixture.console.close(resolve)),
  ]);
  await rm(configPath, { force: true });
});

test('a console page of a listed origin loads and saves through CORS', { timeout: 45_000 }, async () => {
  const { browser, server, consoleOrigin } = fixture;
  assert.notEqual(new URL(server.baseUrl).origin, consoleOrigin, 'the API is on another origin');
  await inSession(browser, 'cors-console', async ({ page }) => {
    await page.goto(`${consoleOrigin}/console.html`);
    await waitForEditor(page);

    await fillPanel(page, 'billing', { name: 'Cross Origin Agent' });
    const request = await submitWith(page, 'Save');
    assert.equal((await request.allHeaders()).origin, consoleOrigin);
    const shown = await waitForResult(page, 'Success');
    assert.ok(shown.includes(request.headers()['request-tracking-id']), `result: ${shown}`);
    assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, 'Cross Origin Agent');

    // The page may read the exposed Request-Tracking-Id header of an answer.
    const echoed = await page.evaluate(
      async ({ url, authorization, profileId }) => {
        const response = await fetch(url, { headers: { Authorization: authorization, ProfileId: profileId } });
        return response.headers.get('Request-Tracking-Id');
      },
      {
        url: `${server.baseUrl}/api/v1/customers/${ACTIVE_CUSTOMER}/contacts`,
        authorization: DEV_AUTHORIZATION,
        profileId: DEV_PROFILE_ID,
      },
    );
    assert.match(echoed ?? '', /^srv-[0-9a-f]{16}$/);
  });
});

test('a page of an origin not listed cannot call the API', { timeout: 30_000 }, async () => {
  const { browser, server, console: consoleServer } = fixture;
  // `localhost` is another origin than `127.0.0.1`, served by the same console server.
  const unlisted = `http://localhost:${consoleServer.address().port}`;
  await inSession(browser, 'cors-unlisted', async ({ page }) => {
    await page.goto(`${unlisted}/blank.html`);
    const before = (await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name;
    const outcome = await page.evaluate(
      async ({ url, authorization, profileId }) => {
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { Authorization: authorization, ProfileId: profileId, 'Content-Type': 'application/json' },
            body: JSON.stringify({ contacts: [{ type: 'billing', name: 'Foreign Page' }] }),
          });
          return `answered ${response.status}`;
        } catch (error) {
          return `${error.name}: ${error.message}`;
        }
      },
      {
        url: `${server.baseUrl}/api/v1/customers/${ACTIVE_CUSTOMER}/contacts`,
        authorization: DEV_AUTHORIZATION,
        profileId: DEV_PROFILE_ID,
      },
    );
    assert.equal(outcome, 'TypeError: Failed to fetch', 'the browser blocks the call');
    assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, before, 'nothing was written');
  });
});
