// Headless Chromium through playwright-core: one browser per test file, a
// fresh context per test, and the checks every flow ends with.

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { ARTIFACTS_DIR, AXE_PATH, CHROMIUM_PATH, DEV_AUTHORIZATION, DEV_PASSWORD, DEV_USER } from './config.mjs';

/** Playwright's wait for any single step; a test as a whole has its own timeout. */
const STEP_TIMEOUT_MS = 10_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Opens a fresh context and page, recording what a flow must not produce:
 * dialogs (an `alert` is how injected script would show itself), uncaught page
 * errors and console output (checked for credentials).
 */
export async function openSession(browser, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const session = { context, page, dialogs: [], pageErrors: [], consoleLines: [] };
  page.on('dialog', (dialog) => {
    session.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => session.pageErrors.push(error.message));
  page.on('console', (message) => session.consoleLines.push(message.text()));
  return session;
}

/** Every form in which the development credentials could be written down. */
const CREDENTIAL_NEEDLES = [
  DEV_USER,
  DEV_PASSWORD,
  'Basic ',
  DEV_AUTHORIZATION.slice('Basic '.length),
  Buffer.from(DEV_USER).toString('base64').replace(/=+$/, ''),
];

function findCredential(text) {
  return CREDENTIAL_NEEDLES.find((needle) => text.includes(needle));
}

/**
 * Asserts that no credential is in localStorage, sessionStorage, the URL or
 * the console, and that the page raised no uncaught error.
 */
export async function assertNoCredentialLeft(session) {
  const { page } = session;
  const stores = await page.evaluate(() => {
    const dump = (storage) => {
      const entries = [];
      for (let i = 0; i < storage.length; i += 1) {
        const key = storage.key(i);
        entries.push(`${key}=${storage.getItem(key)}`);
      }
      return entries.join('\n');
    };
    return { localStorage: dump(window.localStorage), sessionStorage: dump(window.sessionStorage) };
  });
  for (const [place, text] of [
    ['localStorage', stores.localStorage],
    ['sessionStorage', stores.sessionStorage],
    ['the URL', page.url()],
    ['the console', session.consoleLines.join('\n')],
  ]) {
    const found = findCredential(text);
    assert.equal(found, undefined, `credential ${JSON.stringify(found)} found in ${place}:\n${text}`);
  }
  assert.deepEqual(session.pageErrors, [], 'uncaught errors in the page');
}

/** Runs axe-core on the whole page and asserts no WCAG 2.1 A/AA violation. */
export async function assertAccessible(page, state) {
  if (!(await page.evaluate(() => 'axe' in window))) {
    // Evaluated through the DevTools protocol rather than added as a <script>,
    // which the server's Content-Security-Policy rightly refuses.
    await page.evaluate(await readFile(AXE_PATH, 'utf8'));
  }
  const { passes, violations } = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] },
    });
    return {
      passes: result.passes.length,
      violations: result.violations.map((v) => ({
        id: v.id,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
      })),
    };
  });
  assert.ok(passes > 0, `axe-core checked nothing in the ${state} state`);
  assert.deepEqual(violations, [], `axe-core violations in the ${state} state:\n${JSON.stringify(violations, null, 2)}`);
}

/** Saves a full-page screenshot of a state under the artefacts directory. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
}

/**
 * Runs one flow in a fresh context and ends it with the credential check.
 * When the flow fails, a screenshot `failed-<name>.png` shows where it stood.
 */
export async function inSession(browser, name, flow, options) {
  const session = await openSession(browser, options);
  try {
    await flow(session);
    await assertNoCredentialLeft(session);
  } catch (error) {
    await screenshot(session.page, `failed-${name}`).catch(() => {});
    throw error;
  } finally {
    await session.context.close();
  }
}
