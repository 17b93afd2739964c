// The editor as an agent sees it, located only through the DOM contract the
// editor promises (accessible names, labels, ids), never its internals.

import assert from 'node:assert/strict';

import { CONTACTS_PATH, DEV_PASSWORD, DEV_USER } from './config.mjs';

export const PANELS = { billing: 'Billing contact', service: 'Service contact' };

/** The label of each contact field, keyed by its name in the contract. */
export const FIELD_LABELS = {
  name: 'Name',
  organization_name: 'Organization',
  email: 'Email',
  work_phone: 'Work phone',
  work_phone_extension: 'Extension',
  mobile_phone: 'Mobile phone',
  fax: 'Fax',
};

/** How long the editor may take to load its wasm and the customer's contacts. */
const LOAD_TIMEOUT_MS = 15_000;
/** How long a save may take to show its result (the editor's own timeout is 15 s). */
const RESULT_TIMEOUT_MS = 20_000;

export function panel(page, type) {
  return page.getByRole('region', { name: PANELS[type], exact: true });
}

export function field(page, type, name) {
  return panel(page, type).getByLabel(FIELD_LABELS[name], { exact: true });
}

export function button(page, name) {
  return page.getByRole('button', { name, exact: true });
}

export function result(page) {
  return page.locator('#result');
}

/** Signs in with the development credentials through the standalone sign-in form. */
export async function signIn(page, { user = DEV_USER, password = DEV_PASSWORD } = {}) {
  const userInput = page.getByLabel('User', { exact: true });
  await userInput.waitFor({ state: 'visible', timeout: LOAD_TIMEOUT_MS });
  await userInput.fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await button(page, 'Sign in').click();
}

/**
 * Waits until the customer's current contacts are loaded (the customer bar
 * shows the customer's status) and the billing Name input can be typed into.
 * Typing earlier would race the load, which replaces the panels' values.
 */
export async function waitForEditor(page) {
  await page.getByText('Customer status:').waitFor({ state: 'visible', timeout: LOAD_TIMEOUT_MS });
  const name = field(page, 'billing', 'name');
  await name.waitFor({ state: 'visible' });
  await assertEventually(() => name.isEnabled(), 'the billing Name input never became enabled');
}

/** Fills the given fields of one panel, leaving each one (blur) as an agent tabbing through would. */
export async function fillPanel(page, type, values) {
  for (const [name, value] of Object.entries(values)) {
    const input = field(page, type, name);
    await input.fill(value);
    await input.blur();
  }
}

/** The current values of every field of a panel. */
export async function panelValues(page, type) {
  const values = {};
  for (const name of Object.keys(FIELD_LABELS)) {
    values[name] = await field(page, type, name).inputValue();
  }
  return values;
}

/** Waits for the save result to show `status` ("Success" or "Failure") and returns its text. */
export async function waitForResult(page, status) {
  const role = status === 'Success' ? 'status' : 'alert';
  const box = result(page);
  await box.filter({ hasText: status }).waitFor({ state: 'visible', timeout: RESULT_TIMEOUT_MS });
  assert.equal(await box.getAttribute('role'), role, `#result should have role ${role} for ${status}`);
  return box.innerText();
}

/**
 * Asserts that an unsaved edit survived a failed save: the panel still shows
 * `edited` and the tab's draft storage still holds `marker`.
 */
export async function assertDraftKept(page, type, edited, marker) {
  assert.deepEqual(await panelValues(page, type), edited, 'the edit is kept on screen');
  const stored = await page.evaluate(() => JSON.stringify({ ...window.sessionStorage }));
  assert.ok(stored.includes(marker), `the draft is kept in sessionStorage: ${stored}`);
}

/** Polls an async predicate for a few seconds, then fails with `message`. */
export async function assertEventually(predicate, message, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) assert.fail(message);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether a request is the editor's POST of the contacts. */
export function isContactsPost(request) {
  return request.method() === 'POST' && CONTACTS_PATH.test(new URL(request.url()).pathname);
}

/** Clicks a button that submits the contacts and returns the POST request it sent. */
export async function submitWith(page, buttonName) {
  const [request] = await Promise.all([page.waitForRequest(isContactsPost), button(page, buttonName).click()]);
  return request;
}

/**
 * Opens the standalone editor for a customer, signs in (as the development
 * user unless `credentials` say otherwise) and waits until it can be edited.
 */
export async function openSignedIn(page, baseUrl, query, credentials) {
  await page.goto(`${baseUrl}/?${new URLSearchParams(query)}`);
  await signIn(page, credentials);
  await waitForEditor(page);
}

/** The stored contact of one type, as the API's GET returns it. */
export async function storedContact(server, ezpayId, type) {
  const { status, body } = await server.getContacts(ezpayId);
  assert.equal(status, 200, `GET contacts answered ${status}: ${JSON.stringify(body)}`);
  return body.contacts.find((contact) => contact.type === type);
}
