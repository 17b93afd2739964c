// A reload in the middle of an edit brings the unsaved contacts back, with a
// notice, while the credentials (held in memory only) are asked for again.
// A draft belongs to the agent who made it: the next agent to sign in at the
// same tab never sees it, and a refused sign-in removes the user's drafts.

import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, DEV_PASSWORD, DEV_USER, REPO_ROOT } from './support/config.mjs';
import { assertEventually, fillPanel, openSignedIn, panelValues, signIn, waitForEditor } from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

/** A second agent, with the development password. */
const AGENT_B = 'agentb';
const configPath = path.join(tmpdir(), `contacts-draft-e2e-${process.pid}.toml`);

// The development configuration with a second user who has the same password
// hash, written before the fixture's hooks start the server with it.
const development = await readFile(path.join(REPO_ROOT, 'crates/contacts-server/dev-config.toml'), 'utf8');
const withAgentB = development.replace(/^ocsuser = (".*")$/m, `$&\n${AGENT_B} = $1`);
assert.notEqual(withAgentB, development, 'the development configuration lists ocsuser');
await writeFile(configPath, withAgentB);
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

test("a refused sign-in removes the user's drafts, old-format ones too", { timeout: 60_000 }, async () => {
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
