// `cargo xtask screenshot`: the picture of the editor at the top of README.md
// (docs/editor.png), taken in headless Chromium from the real contacts-server
// serving CONTACTS_DIST: the standalone editor, signed in, with the demo
// customer's contacts loaded.
//
//   CONTACTS_SERVER_BIN=… CONTACTS_DIST=… node tests/e2e/screenshot.mjs

import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { launchBrowser, openSession } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, REPO_ROOT } from './support/config.mjs';
import { signIn, waitForEditor } from './support/editor.mjs';
import { ContactsServer } from './support/server.mjs';

const OUTPUT = path.join(REPO_ROOT, 'docs', 'editor.png');

const server = await ContactsServer.start();
try {
  const browser = await launchBrowser();
  try {
    const { page } = await openSession(browser, { viewport: { width: 1120, height: 800 } });
    await page.goto(`${server.baseUrl}/?ezpay_id=${ACTIVE_CUSTOMER}`);
    await signIn(page);
    await waitForEditor(page);
    await mkdir(path.dirname(OUTPUT), { recursive: true });
    await page.screenshot({ path: OUTPUT, fullPage: true });
    console.log(`wrote ${path.relative(REPO_ROOT, OUTPUT)}`);
  } finally {
    await browser.close();
  }
} finally {
  await server.dispose();
}
