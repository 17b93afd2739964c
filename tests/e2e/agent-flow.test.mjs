// A new agent's whole flow, the field error state and a name that looks like
// HTML, in a real Chromium against the real server.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertAccessible, inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, CUSTOMER_WITHOUT_CONTACTS } from './support/config.mjs';
import { ONE_WRITE, writesFor } from './support/database.mjs';
import {
  field,
  fillPanel,
  isContactsPost,
  openSignedIn,
  result,
  signIn,
  storedContact,
  submitWith,
  waitForEditor,
  waitForResult,
} from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();

test('a new agent signs in, edits both panels, saves and the contacts are stored', { timeout: 60_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'agent-flow', async ({ page }) => {
    await page.goto(`${server.baseUrl}/?ezpay_id=${ACTIVE_CUSTOMER}`);
    await signIn(page);
    await waitForEditor(page);
    assert.equal(await page.getByLabel('eZpayID', { exact: true }).inputValue(), ACTIVE_CUSTOMER);
    await screenshot(page, 'loaded');

    // Numbers are typed the way customers dictate them; the extension is pasted with the work phone.
    await fillPanel(page, 'billing', {
      name: 'Ada Lovelace',
      organization_name: 'Analytical Engines Ltd',
      email: 'ada@example.com',
      // The extension field is emptied first: a pasted extension never overwrites a typed one.
      work_phone_extension: '',
      work_phone: '914.721.2006 ext. 2006',
      mobile_phone: '(914) 721-2007',
      fax: '+1 914 721 2008',
    });
    await fillPanel(page, 'service', {
      name: 'Grace Hopper',
      organization_name: '',
      email: 'grace@example.org',
      work_phone: '212-555-0100',
      work_phone_extension: '',
      mobile_phone: '',
      fax: '',
    });
    assert.equal(await field(page, 'billing', 'work_phone').inputValue(), '(914) 721-2006');
    assert.equal(await field(page, 'billing', 'work_phone_extension').inputValue(), '2006');

    const request = await submitWith(page, 'Save');
    const text = await waitForResult(page, 'Success');
    const trackingId = (await page.locator('#tracking-id').innerText()).trim();
    assert.ok(trackingId.length > 0, 'the tracking id is shown');
    assert.equal(request.headers()['request-tracking-id'], trackingId, 'the tracking id shown is the one sent');
    assert.ok(text.includes(trackingId));
    await screenshot(page, 'success');
    await assertAccessible(page, 'success');

    assert.deepEqual(await storedContact(server, ACTIVE_CUSTOMER, 'billing'), {
      type: 'billing',
      name: 'Ada Lovelace',
      organization_name: 'Analytical Engines Ltd',
      email: 'ada@example.com',
      work_phone: '9147212006',
      work_phone_extension: '2006',
      mobile_phone: '9147212007',
      fax: '9147212008',
    });
    assert.deepEqual(await storedContact(server, ACTIVE_CUSTOMER, 'service'), {
      type: 'service',
      name: 'Grace Hopper',
      email: 'grace@example.org',
      work_phone: '2125550100',
    });

    // The draft is cleared on Success.
    const draftLeft = await page.evaluate(() => JSON.stringify({ ...window.sessionStorage }));
    assert.ok(!draftLeft.includes('Ada Lovelace'), `draft still in sessionStorage: ${draftLeft}`);
  });
});

test('the sign-in form and an empty editor are accessible', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'empty', async ({ page }) => {
    await page.goto(`${server.baseUrl}/?ezpay_id=${CUSTOMER_WITHOUT_CONTACTS}`);
    await page.getByLabel('User', { exact: true }).waitFor({ state: 'visible', timeout: 15_000 });
    await screenshot(page, 'sign-in');
    await assertAccessible(page, 'sign-in');
    await signIn(page);
    await waitForEditor(page);
    assert.equal(await field(page, 'billing', 'name').inputValue(), '');
    await screenshot(page, 'empty');
    await assertAccessible(page, 'empty');
  });
});

test('an invalid email shows its error after blur, and Save refuses and focuses it', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'field-error', async ({ page }) => {
    await openSignedIn(page, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
    const email = field(page, 'billing', 'email');

    // No error while the first characters are being typed.
    await email.fill('');
    await email.pressSequentially('ada@exa');
    assert.notEqual(await email.getAttribute('aria-invalid'), 'true', 'error shown while typing');

    await email.pressSequentially('mple');
    await email.blur();
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    const describedBy = (await email.getAttribute('aria-describedby')) ?? '';
    assert.ok(describedBy.split(/\s+/).includes('billing-email-error'), `aria-describedby is "${describedBy}"`);
    const message = page.locator('#billing-email-error');
    await message.waitFor({ state: 'visible' });
    assert.ok((await message.innerText()).trim().length > 0, 'the error says what is wrong');
    await screenshot(page, 'error');
    await assertAccessible(page, 'error');

    let posted = false;
    page.on('request', (request) => {
      posted ||= isContactsPost(request);
    });
    await field(page, 'service', 'name').focus();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'billing-email');
    assert.equal(posted, false, 'an invalid form must not be posted');
    assert.equal(await result(page).filter({ hasText: 'Success' }).count(), 0);
  });
});

test('a name that looks like HTML is shown and saved as text', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  const name = '<img src=x onerror=alert(1)>';
  await inSession(browser, 'html-name', async ({ page, dialogs }) => {
    await openSignedIn(page, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
    await fillPanel(page, 'billing', { name });
    const summary = page.getByRole('region', { name: 'Changes to save', exact: true });
    assert.ok((await summary.innerText()).includes(name), 'the summary of changes shows the name as text');
    await submitWith(page, 'Save');
    await waitForResult(page, 'Success');

    assert.equal(await field(page, 'billing', 'name').inputValue(), name);
    assert.deepEqual(dialogs, [], 'no script ran');
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no img element was created');
    assert.equal((await storedContact(server, ACTIVE_CUSTOMER, 'billing')).name, name);
  });
});

test('a double click on Save sends one request and writes once', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'double-click', async ({ page }) => {
    await openSignedIn(page, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
    await fillPanel(page, 'service', { name: 'Double Click' });
    const posts = [];
    page.on('request', (request) => {
      if (isContactsPost(request)) posts.push(request.headers()['request-tracking-id']);
    });
    await page.getByRole('button', { name: 'Save', exact: true }).dblclick();
    await waitForResult(page, 'Success');
    assert.equal(posts.length, 1, `POSTs sent: ${posts.join(', ')}`);
    assert.deepEqual(await writesFor(server.dbPath, posts[0]), ONE_WRITE);
  });
});
