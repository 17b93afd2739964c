// The editor as the console embeds it, at the narrowest and widest widths it
// supports, and driven by the keyboard alone.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER } from './support/config.mjs';
import { field, isContactsPost, waitForEditor, waitForResult } from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();

for (const width of [360, 1440]) {
  test(`at ${width} px wide nothing needs a horizontal scroll`, { timeout: 30_000 }, async () => {
    const { server, browser } = fixture;
    const viewport = { width, height: 800 };
    await inSession(
      browser,
      `layout-${width}`,
      async ({ page }) => {
        await page.goto(`${server.baseUrl}/embed.html?ezpay_id=${ACTIVE_CUSTOMER}`);
        await waitForEditor(page);
        const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(scrollWidth <= width, `the page is ${scrollWidth} px wide in a ${width} px window`);
        await screenshot(page, `layout-${width}`);
      },
      { viewport },
    );
  });
}

test('the keyboard alone edits a field and saves with Ctrl+Enter', { timeout: 30_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'keyboard', async ({ page }) => {
    await page.goto(`${server.baseUrl}/embed.html?ezpay_id=${ACTIVE_CUSTOMER}`);
    await waitForEditor(page);
    const name = field(page, 'billing', 'name');
    await name.focus();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('Keyboard Only');
    // Tab leaves the field for the next one, as an agent moves through the form.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'billing-organization_name');
    const [request] = await Promise.all([page.waitForRequest(isContactsPost), page.keyboard.press('Control+Enter')]);
    await waitForResult(page, 'Success');
    assert.equal(JSON.parse(request.postData()).contacts.find((c) => c.type === 'billing').name, 'Keyboard Only');
  });
});
