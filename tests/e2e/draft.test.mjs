// A reload in the middle of an edit brings the unsaved contacts back, with a
// notice, while the credentials (held in memory only) are asked for again.
// A draft belongs to the agent who made it: the next agent to sign in at the
// same tab never sees it, and a refused sign-in removes the user's draft of the customer.
// Two agents on one customer never overwrite each other unseen: a save over
// a change it has not seen (412), and a draft restored over contacts changed
// since, show the other change field by field, and the agent's choice is saved.

import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { assertAccessible, inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, DEV_PASSWORD, DEV_PROFILE_ID, DEV_USER, REPO_ROOT } from './support/config.mjs';
import {
  assertEventually,
  fillPanel,
  isContactsPost,
  openSignedIn,
  panelValues,
  signIn,
  storedContact,
  submitWith,
  waitForEditor,
  waitForResult,
} from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

/** A second agent, with the development password. */
const AGENT_B = 'agentb';
const configPath = path.join(tmpdir(), `contacts-draft-e2e-${process.pid}.toml`);

// The development configuration with a second user who has the same password
// hash and profile, written before the fixture's hooks start the server with it.
const development = await readFile(path.join(REPO_ROOT, 'crates/contacts-server/dev-config.toml'), 'utf8');
const hash = development.match(/^password_hash = ".*"$/m);
assert.ok(hash, 'the development configuration has a password hash');
await writeFile(configPath, `${development}\n[users.${AGENT_B}]\nprofiles = ["${DEV_PROFILE_ID}"]\n${hash[0]}\n`);
after(() => rm(configPath, { force: true }));

const fixture = useServerAndBrowser({ args: ['--config', configPath] });

/** The keys of this tab's stored drafts. */
function draftKeys(page) {
  return page.evaluate(() => Object.keys(window.sessionStorage).filter((key) => key.startsWith('contacts-editor.draft.')));
}

/** Agent A (the development user) edits the service email and waits until the draft is stored. */
async function editAsAgentA(page, email) {
  await openSignedIn(page, fixture.server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
  await fillPanel(page, 'service', { email });
  await assertEventually(
    () => page.evaluate((email) => JSON.stringify({ ...window.sessionStorage }).includes(email), email),
    'the draft never reached sessionStorage',
  );
}

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

test('the next agent at the tab sees no draft of the first, who still gets it back', { timeout: 60_000 }, async () => {
  await inSession(fixture.browser, 'draft-per-agent', async ({ page }) => {
    await editAsAgentA(page, 'agent-a@example.net');

    await page.reload();
    await signIn(page, { user: AGENT_B, password: DEV_PASSWORD });
    await waitForEditor(page);
    assert.equal(await page.locator('#draft-notice').count(), 0, 'agent B is told of no draft');
    assert.notEqual((await panelValues(page, 'service')).email, 'agent-a@example.net');
    const keys = await draftKeys(page);
    assert.equal(keys.length, 1, `only agent A's draft is kept: ${keys}`);
    assert.ok(keys[0].endsWith(`.${ACTIVE_CUSTOMER}`) && !keys[0].includes(DEV_USER), keys[0]);

    await page.reload();
    await signIn(page);
    await waitForEditor(page);
    await page.locator('#draft-notice').waitFor({ state: 'visible' });
    assert.equal((await panelValues(page, 'service')).email, 'agent-a@example.net');
  });
});

test("a refused sign-in removes the user's draft, an old-format one too", { timeout: 60_000 }, async () => {
  await inSession(fixture.browser, 'draft-refused', async ({ page }) => {
    await editAsAgentA(page, 'refused-a@example.net');
    // A draft as an older editor kept it, keyed by the customer alone.
    await page.evaluate((key) => window.sessionStorage.setItem(key, '{"contacts":[]}'), `contacts-editor.draft.${ACTIVE_CUSTOMER}`);

    await page.reload();
    await signIn(page, { password: 'not-the-password' });
    await page.getByText('refused the user or password').waitFor({ state: 'visible', timeout: 15_000 });
    await assertEventually(async () => (await draftKeys(page)).length === 0, 'drafts were left behind');

    await signIn(page, { user: AGENT_B, password: DEV_PASSWORD });
    await waitForEditor(page);
    assert.equal(await page.locator('#draft-notice').count(), 0, 'agent B is told of no draft');
    assert.notEqual((await panelValues(page, 'service')).email, 'refused-a@example.net');
  });
});

/** The conflict list, and one field's group of choices in it ("Billing name"). */
function conflicts(page) {
  return page.getByRole('region', { name: 'Changed by someone else', exact: true });
}
function choices(page, fieldName) {
  return conflicts(page).getByRole('group', { name: fieldName, exact: true });
}

test('two agents on one customer: the second save shows the conflict and saves the choice', { timeout: 90_000 }, async () => {
  const { server, browser } = fixture;
  await inSession(browser, 'conflict-agent-a', async ({ page: a }) => {
    await inSession(browser, 'conflict-agent-b', async ({ page: b }) => {
      await openSignedIn(a, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
      await openSignedIn(b, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER }, { user: AGENT_B, password: DEV_PASSWORD });
      await fillPanel(a, 'billing', { name: 'Agent A Name', email: 'agent-a@example.net' });
      await fillPanel(b, 'billing', { name: 'Agent B Name', work_phone: '2125550100' });

      const first = await submitWith(b, 'Save');
      assert.match(first.headers()['if-match'] ?? '', /^"\d+"$/, 'B sends the version it loaded');
      await waitForResult(b, 'Success');

      const refused = await submitWith(a, 'Save');
      const answer = await waitForResult(a, 'Failure');
      assert.match(answer, /412/);
      await conflicts(a).waitFor({ state: 'visible' });
      const stored = await storedContact(server, ACTIVE_CUSTOMER, 'billing');
      assert.equal(stored.name, 'Agent B Name', "B's save is not overwritten");
      assert.equal(stored.work_phone, '2125550100');

      // B's name beside A's, A's kept for now; B's work phone, which A left, taken.
      const name = choices(a, 'Billing name');
      assert.ok(await name.getByRole('radio', { name: 'Yours: Agent A Name' }).isChecked());
      assert.ok(!(await name.getByRole('radio', { name: 'Theirs: Agent B Name' }).isChecked()));
      assert.ok(await choices(a, 'Billing work phone').getByRole('radio', { name: 'Theirs: (212) 555-0100' }).isChecked());
      assert.equal(await conflicts(a).getByRole('group', { name: 'Billing email' }).count(), 0, 'B left the email alone');
      assert.equal((await panelValues(a, 'billing')).work_phone, '(212) 555-0100');
      await assertAccessible(a, 'conflict');
      await screenshot(a, 'conflict');

      // A takes B's name from the keyboard and keeps their own email.
      await name.getByRole('radio', { name: 'Yours: Agent A Name' }).focus();
      await a.keyboard.press('ArrowUp');
      assert.equal((await panelValues(a, 'billing')).name, 'Agent B Name');
      const [again] = await Promise.all([a.waitForRequest(isContactsPost), a.keyboard.press('Control+Enter')]);
      await waitForResult(a, 'Success');
      assert.notEqual(again.headers()['request-tracking-id'], refused.headers()['request-tracking-id'], 'a new tracking id');
      assert.notEqual(again.headers()['if-match'], refused.headers()['if-match'], "at the version of B's save");
      const chosen = await storedContact(server, ACTIVE_CUSTOMER, 'billing');
      assert.deepEqual(
        [chosen.name, chosen.work_phone, chosen.email],
        ['Agent B Name', '2125550100', 'agent-a@example.net'],
        'what A chose is saved',
      );
      assert.equal(await conflicts(a).count(), 0, 'the conflict is settled');
    });
  });
});

test('a draft restored over contacts changed since shows the differences', { timeout: 60_000 }, async () => {
  const { server } = fixture;
  await inSession(fixture.browser, 'draft-stale', async ({ page }) => {
    await editAsAgentA(page, 'stale-a@example.net');
    const before = await storedContact(server, ACTIVE_CUSTOMER, 'service');

    // Agent B saves the service contact meanwhile, without If-Match, as the contract allows.
    const response = await fetch(`${server.baseUrl}/api/v1/customers/${ACTIVE_CUSTOMER}/contacts`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${AGENT_B}:${DEV_PASSWORD}`).toString('base64')}`,
        ProfileId: DEV_PROFILE_ID,
        'Content-Type': 'application/json',
        'Request-Tracking-Id': `stale-${process.pid}`,
      },
      body: JSON.stringify({ contacts: [{ ...before, name: 'Changed By B', email: 'changed-by-b@example.net' }] }),
    });
    assert.equal(response.status, 200, await response.text());

    await page.reload();
    await signIn(page);
    await waitForEditor(page);
    await page.locator('#draft-notice').waitFor({ state: 'visible' });
    await conflicts(page).waitFor({ state: 'visible' });
    assert.ok(await choices(page, 'Service name').getByRole('radio', { name: 'Theirs: Changed By B' }).isChecked());
    const email = choices(page, 'Service email');
    assert.ok(await email.getByRole('radio', { name: 'Yours: stale-a@example.net' }).isChecked());
    assert.ok(!(await email.getByRole('radio', { name: 'Theirs: changed-by-b@example.net' }).isChecked()));
    const values = await panelValues(page, 'service');
    assert.equal(values.name, 'Changed By B', "B's change is not hidden under the old draft");
    assert.equal(values.email, 'stale-a@example.net', "A's edit is kept");
    await screenshot(page, 'draft-stale');
  });
});
