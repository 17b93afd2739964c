// The editor behind a faulty network: a fault-injecting proxy in front of the
// real server answers a save with an HTML 503 page, stalls it past the
// editor's 15 s timeout, resets its connection, or lets the server commit it
// and loses the answer. Each time the editor shows a clear failure inline and
// keeps the draft, and a Retry (same tracking id) writes exactly once; so does
// a Save of the unchanged edit pressed instead of Retry.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER } from './support/config.mjs';
import { ONE_WRITE, writesFor } from './support/database.mjs';
import {
  assertDraftKept,
  fillPanel,
  openSignedIn,
  panelValues,
  storedContact,
  submitWith,
  waitForResult,
} from './support/editor.mjs';
import { useFaultProxy } from './support/fault-proxy.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();
const faulty = useFaultProxy(fixture);

const NO_WRITE = { audit: 0, outboxTargets: [] };

/** The editor's own failure when no answer comes within its 15 s timeout. */
const TIMEOUT_TEXT = ['timeout', 'The contacts service did not answer in time', 'No answer within 15 seconds'];

/** What #result must say for each fault: the failure's code, message and detail. */
const FAILURE_TEXT = {
  html503: ['503', 'The contacts service gave an unreadable answer', 'HTTP 503', 'not JSON'],
  stall: TIMEOUT_TEXT,
  reset: ['network_error', 'The contacts service could not be reached', 'press Retry'],
  'answer-lost': TIMEOUT_TEXT,
};

/** The editor gives up after 15 s; a failure much earlier would not be its timeout. */
const EDITOR_TIMEOUT_MS = 15_000;

function currentTrackingId(page) {
  return page.locator('#tracking-id').innerText().then((id) => id.trim());
}

/**
 * Edits the billing contact, saves it while the proxy applies `fault`, checks
 * the failure shown and the kept draft, then heals the network and presses
 * `resendWith` (Retry, or Save again as a hurried agent might), which must
 * succeed under the same tracking id with a single write.
 * Returns what the checks of each fault differ in.
 */
async function saveThroughFault(t, page, fault, name, resendWith = 'Retry') {
  const { server } = fixture;
  const { proxy } = faulty;
  await openSignedIn(page, proxy.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
  await fillPanel(page, 'billing', { name, email: 'faults@example.com' });
  const edited = await panelValues(page, 'billing');

  const firstSave = proxy.saves.length;
  proxy.inject(fault);
  const sentAt = Date.now();
  let text;
  try {
    await submitWith(page, 'Save');
    text = await waitForResult(page, 'Failure');
  } finally {
    proxy.heal();
  }
  const failedAfterMs = Date.now() - sentAt;
  t.diagnostic(`${fault}: the failure showed after ${failedAfterMs} ms`);
  for (const part of FAILURE_TEXT[fault]) {
    assert.ok(text.includes(part), `the failure after "${fault}" says "${part}": ${text}`);
  }
  await screenshot(page, `fault-${fault}`);
  await assertDraftKept(page, 'billing', edited, name);

  const trackingId = await currentTrackingId(page);
  const faulted = proxy.saves.slice(firstSave);
  t.diagnostic(`${fault}: ${faulted.length} POST(s) met the fault`);
  assert.ok(faulted.length >= 1, 'the save reached the proxy');
  for (const save of faulted) {
    assert.equal(save.fault, fault, `every attempt met the fault: ${JSON.stringify(faulted)}`);
    assert.equal(save.trackingId, trackingId, 'the tracking id shown is the one sent');
  }
  const writesBeforeRetry = await writesFor(server.dbPath, trackingId);

  await submitWith(page, resendWith);
  await waitForResult(page, 'Success');
  assert.equal(await currentTrackingId(page), trackingId, `the ${resendWith} kept the tracking id`);
  const retries = proxy.saves.slice(firstSave + faulted.length);
  assert.deepEqual(retries, [{ trackingId, fault: null, serverStatus: 200 }], `one ${resendWith}, forwarded and answered`);
  assert.deepEqual(await writesFor(server.dbPath, trackingId), ONE_WRITE);
  assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, name);
  return { faulted, failedAfterMs, writesBeforeRetry };
}

test('an HTML 503 page: a clear failure, the draft kept, Retry writes once', { timeout: 45_000 }, async (t) => {
  await inSession(fixture.browser, 'fault-html503', async ({ page }) => {
    const { faulted, writesBeforeRetry } = await saveThroughFault(t, page, 'html503', 'Html Five Oh Three');
    assert.equal(faulted.length, 1, 'an answered request is not sent again by the browser');
    assert.deepEqual(writesBeforeRetry, NO_WRITE);
  });
});

test('a stalled save: the 15 s timeout fires, the draft is kept, Retry writes once', { timeout: 60_000 }, async (t) => {
  await inSession(fixture.browser, 'fault-stall', async ({ page }) => {
    const { failedAfterMs, writesBeforeRetry } = await saveThroughFault(t, page, 'stall', 'Stalled Save');
    assert.ok(failedAfterMs >= EDITOR_TIMEOUT_MS - 500, `the failure came from the timeout, after ${failedAfterMs} ms`);
    assert.deepEqual(writesBeforeRetry, NO_WRITE);
  });
});

test('a reset connection: a clear failure, the draft kept, Retry writes once', { timeout: 45_000 }, async (t) => {
  await inSession(fixture.browser, 'fault-reset', async ({ page }) => {
    const { writesBeforeRetry } = await saveThroughFault(t, page, 'reset', 'Reset Connection');
    assert.deepEqual(writesBeforeRetry, NO_WRITE);
  });
});

test('an answer lost after the server committed: Retry gets the replayed Success, no second write', { timeout: 60_000 }, async (t) => {
  await inSession(fixture.browser, 'fault-answer-lost', async ({ page }) => {
    const { faulted, failedAfterMs, writesBeforeRetry } = await saveThroughFault(t, page, 'answer-lost', 'Answer Lost');
    assert.ok(failedAfterMs >= EDITOR_TIMEOUT_MS - 500, `the failure came from the timeout, after ${failedAfterMs} ms`);
    assert.deepEqual(
      faulted.map((save) => save.serverStatus),
      [200],
      'the server received and accepted the stalled save',
    );
    // The write happened before the timeout; the Retry's check above found no second one.
    assert.deepEqual(writesBeforeRetry, ONE_WRITE);
  });
});

test('an answer lost, then Save pressed instead of Retry: the same tracking id, no second write', { timeout: 60_000 }, async (t) => {
  await inSession(fixture.browser, 'fault-answer-lost-save', async ({ page }) => {
    const { writesBeforeRetry } = await saveThroughFault(t, page, 'answer-lost', 'Saved Not Retried', 'Save');
    assert.deepEqual(writesBeforeRetry, ONE_WRITE);
  });
});

test('a reset that strikes once is resent by Chromium itself and written once', { timeout: 45_000 }, async (t) => {
  const { server } = fixture;
  const { proxy } = faulty;
  await inSession(fixture.browser, 'fault-reset-once', async ({ page }) => {
    await openSignedIn(page, proxy.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
    await fillPanel(page, 'billing', { name: 'Reset Once' });
    const firstSave = proxy.saves.length;
    proxy.inject('reset', { times: 1 });
    try {
      await submitWith(page, 'Save');
      await waitForResult(page, 'Success');
    } finally {
      proxy.heal();
    }
    const trackingId = await currentTrackingId(page);
    const saves = proxy.saves.slice(firstSave);
    t.diagnostic(`reset once: ${saves.length} POSTs reached the proxy`);
    assert.deepEqual(
      saves,
      [
        { trackingId, fault: 'reset', serverStatus: null },
        { trackingId, fault: null, serverStatus: 200 },
      ],
      'the browser resent the reset POST, unchanged, once',
    );
    assert.deepEqual(await writesFor(server.dbPath, trackingId), ONE_WRITE);
  });
});
