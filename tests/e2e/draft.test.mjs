// A reload in the middle of an edit brings the unsaved contacts back, with a
// notice, while the credentials (held in memory only) are asked for again.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER } from './support/config.mjs';
import { assertEventually, fillPanel, openSignedIn, panelValues, signIn, waitForEditor } from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();

test('a reload mid-edit restores the draft with a notice', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'draft-restore', async ({ page }) => {
    await openSignedIn(page, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
    await fillPanel(page, 'billing', { name: 'Draft Billing', work_phone: '9147212006' });
    await fillPanel(page, 'service', { email: 'draft@example.net' });
    const billing = await panelValues(page, 'billing');
    const service = await panelValues(page, 'service');
    await assertEventually(
      () => page.evaluate(() => JSON.stringify({ ...window.sessionStorage }).includes('draft@example.net')),
      'the draft never reached sessionStorage',
    );

    await page.reload();
    await signIn(page);
    await waitForEditor(page);
    await page.locator('#draft-notice').waitFor({ state: 'visible' });
    assert.deepEqual(await panelValues(page, 'billing'), billing);
    assert.deepEqual(await panelValues(page, 'service'), service);
    await screenshot(page, 'draft-restored');
  });
});
