// Contacts stored by an older version (or imported) that today's validation
// refuses: the API returns them as stored with their errors, and the editor
// shows those fields flagged, each error tied to its input, so that the agent
// can fix them and save.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertAccessible, inSession, screenshot } from './support/browser.mjs';
import { ACTIVE_CUSTOMER } from './support/config.mjs';
import { queryDb } from './support/database.mjs';
import { field, fillPanel, openSignedIn, storedContact, submitWith, waitForResult } from './support/editor.mjs';
import { useServerAndBrowser } from './support/fixture.mjs';

const fixture = useServerAndBrowser();

/** The error message tied to an input by aria-describedby, or null. */
function describedError(input) {
  return input.evaluate((element) => {
    const id = element.getAttribute('aria-describedby');
    return id ? document.getElementById(id)?.textContent ?? null : null;
  });
}

test('stored contacts refused today are flagged field by field, fixed and saved', { timeout: 45_000 }, async () => {
  const { server, browser } = fixture;
  // The mobile phone's area code and the fax's exchange are not in use
  // (libphonenumber's NANP data): refused only since issue 23.
  await queryDb(
    server.dbPath,
    "UPDATE contacts SET email = 'bob@localhost', work_phone = '12345', mobile_phone = '3705550123', fax = '2682001234' WHERE ezpay_id = ? AND type = 'service'",
    [ACTIVE_CUSTOMER],
  );
  const { body } = await server.getContacts(ACTIVE_CUSTOMER);
  assert.deepEqual(
    body.errors.map((error) => error.path).sort(),
    ['contacts[service].email', 'contacts[service].fax', 'contacts[service].mobile_phone', 'contacts[service].work_phone'],
    'the API flags the stored service contact',
  );

  await inSession(browser, 'stored-refused', async ({ page }) => {
    await openSignedIn(page, server.baseUrl, { ezpay_id: ACTIVE_CUSTOMER });
    for (const name of ['email', 'work_phone', 'mobile_phone', 'fax']) {
      const input = field(page, 'service', name);
      assert.equal(await input.getAttribute('aria-invalid'), 'true', `service ${name} is flagged`);
      assert.ok((await describedError(input))?.trim(), `service ${name} has its message`);
    }
    assert.equal(await field(page, 'service', 'name').getAttribute('aria-invalid'), null, 'a valid field is not flagged');
    assert.equal(await field(page, 'billing', 'email').getAttribute('aria-invalid'), null, 'nor is the valid billing contact');
    assert.equal(await field(page, 'service', 'email').inputValue(), 'bob@localhost', 'shown as stored');
    await assertAccessible(page, 'stored-refused');
    await screenshot(page, 'stored-refused');

    await fillPanel(page, 'service', {
      email: 'bob@example.com',
      work_phone: '2125550100',
      mobile_phone: '9147212006',
      fax: '2684601234',
    });
    assert.equal(await field(page, 'service', 'email').getAttribute('aria-invalid'), null, 'fixed, no longer flagged');
    await submitWith(page, 'Save');
    await waitForResult(page, 'Success');
  });

  const saved = await storedContact(server, ACTIVE_CUSTOMER, 'service');
  assert.deepEqual([saved.email, saved.work_phone], ['bob@example.com', '2125550100']);
  assert.equal((await server.getContacts(ACTIVE_CUSTOMER)).body.errors, undefined, 'nothing is flagged any more');
});
