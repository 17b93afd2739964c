// Failures an agent meets: a ProfileId the server does not know, and the
// server dying in the middle of a save. The draft must survive, and a Retry
// after the restart must write the update exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertAccessible, inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER } from './support/config.mjs';
import { ONE_WRITE, writesFor } from './support/database.mjs';
import {
  fillPanel,
  isContactsPost,
  openSignedIn,
  panelValues,
  signIn,
  storedContact,
  submitWith,
  waitForResult,
} from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();


test('an unknown ProfileId shows "Source not configured" inline', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'unknown-profile', async ({ page }) => {
    await page.goto(`${server.baseUrl}/?ezpay_id=${ACTIVE_CUSTOMER}&profile_id=NOPE`);
    await signIn(page);
    assert.equal(await page.getByLabel('ProfileId', { exact: true }).inputValue(), 'NOPE');
    // Loading the customer's contacts already fails, and says why.
    await page.getByText('Source not configured').first().waitFor({ state: 'visible', timeout: 15_000 });
    await screenshot(page, 'load-failure');

    // A save is answered exactly as the contract's failure sample.
    await fillPanel(page, 'billing', { name: 'Nobody Configured' });
    await submitWith(page, 'Save');
    const text = await waitForResult(page, 'Failure');
    for (const part of ['500', 'Service Error', 'Source not configured']) {
      assert.ok(text.includes(part), `the result shows "${part}": ${text}`);
    }
    await screenshot(page, 'failure');
    await assertAccessible(page, 'failure');
  });
});

/**
 * Edits the billing contact, lets `interrupt` break the first POST while the
 * server dies, checks the failure and the kept draft, restarts the server and
 * retries. Returns the tracking ids of every POST sent.
 */
async function saveThroughACrash(page, server, name, interrupt) {
  await openSignedIn(page, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
  await fillPanel(page, 'billing', { name, email: 'crash@example.com' });
  const edited = await panelValues(page, 'billing');

  const trackingIds = [];
  page.on('request', (request) => {
    if (isContactsPost(request)) trackingIds.push(request.headers()['request-tracking-id']);
  });
  let interrupted = false;
  await page.route('**/api/v1/customers/*/contacts', async (route) => {
    if (route.request().method() !== 'POST' || interrupted) return route.fallback();
    interrupted = true;
    return interrupt(route);
  });

  await submitWith(page, 'Save');
  await waitForResult(page, 'Failure');
  await screenshot(page, `failure-${name.toLowerCase().replaceAll(' ', '-')}`);
  assert.deepEqual(await panelValues(page, 'billing'), edited, 'the edit is kept on screen');
  const stored = await page.evaluate(() => JSON.stringify({ ...window.sessionStorage }));
  assert.ok(stored.includes(name), `the draft is kept in sessionStorage: ${stored}`);

  await server.restart();
  await submitWith(page, 'Retry');
  await waitForResult(page, 'Success');
  assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, name);
  assert.ok(trackingIds.length >= 2, `a POST and its retry, got ${trackingIds.length}`);
  assert.ok(
    trackingIds.every((id) => id && id === trackingIds[0]),
    `the retry reuses the tracking id: ${trackingIds.join(', ')}`,
  );
  return trackingIds[0];
}

test('the server dying before the save reaches it: failure, draft kept, Retry writes once', { timeout: 60_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'crash-before-write', async ({ page }) => {
    const trackingId = await saveThroughACrash(page, server, 'Crash Before Write', async (route) => {
      await server.kill();
      // The request now meets a closed port, as it would have a moment later.
      await route.continue();
    });
    assert.deepEqual(await writesFor(server.dbPath, trackingId), ONE_WRITE);
  });
});

test('the server dying after writing but before answering: Retry replays and writes nothing more', { timeout: 60_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'crash-after-write', async ({ page }) => {
    const trackingId = await saveThroughACrash(page, server, 'Crash After Write', async (route) => {
      await route.fetch();
      await server.kill();
      await route.abort('connectionreset');
    });
    assert.deepEqual(await writesFor(server.dbPath, trackingId), ONE_WRITE);
  });
});
