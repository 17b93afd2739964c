// The host page static/embed.html mounts the editor with
// mountContactEditor(element, options) and hears `contacts-saved`.

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
