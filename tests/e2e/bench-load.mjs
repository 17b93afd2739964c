// `cargo xtask bench`, editor part: the first-load transfer size of the editor
// and the median time from navigation to an interactive editor in headless
// Chromium, against the real contacts-server serving CONTACTS_DIST.
//
//   CONTACTS_SERVER_BIN=… CONTACTS_DIST=… node tests/e2e/bench-load.mjs
//
// The size counts the files of dist/ that a first load of the page really
// fetches (HTML, JS, wasm, CSS), raw and gzip -9; API calls are not counted.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { launchBrowser, openSession } from './support/browser.mjs';
import { ACTIVE_CUSTOMER, DEV_AUTHORIZATION, DEV_PROFILE_ID, distDir } from './support/config.mjs';
import { ContactsServer } from './support/server.mjs';

const RUNS = 7;
const RUN_TIMEOUT_MS = 20_000;
const GZIP_BUDGET_BYTES = 90 * 1024;

/** Records, inside the page, the moment the billing Name input first exists and is enabled. */
function watchForInteractiveEditor() {
  const check = () => {
    const input = document.getElementById('billing-name');
    if (input && !input.disabled && window.__interactiveAt === undefined) {
      window.__interactiveAt = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, attributes: true });
}

/**
 * The editor asks a standalone agent to sign in before it loads the customer;
 * the bench answers with the development credentials so that the time covers
 * wasm start-up, the GET of the contacts and the first render of the panels,
 * as an agent would wait for them.
 */
async function loadOnce(browser, url) {
  const session = await openSession(browser);
  const { page, context } = session;
  try {
    await page.route('**/api/**', (route) =>
      route.fallback({ headers: { ...route.request().headers(), authorization: DEV_AUTHORIZATION } }),
    );
    const fetched = [];
    page.on('requestfinished', (request) => fetched.push(new URL(request.url()).pathname));
    await page.addInitScript(watchForInteractiveEditor);
    await page.goto(url, { timeout: RUN_TIMEOUT_MS });
    await page.waitForFunction(() => window.__interactiveAt !== undefined, null, { timeout: RUN_TIMEOUT_MS });
    return { ms: await page.evaluate(() => window.__interactiveAt), fetched };
  } finally {
    await context.close();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Sizes of the dist/ files behind the fetched paths, raw and gzip -9. */
async function transferSizes(dist, paths) {
  const files = [...new Set(paths.filter((p) => !p.startsWith('/api/')))].map((p) =>
    path.join(dist, p.endsWith('/') ? `${p}index.html` : p),
  );
  const rows = [];
  for (const file of files) {
    const bytes = await readFile(file);
    rows.push({ file: path.relative(dist, file), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
  }
  return rows;
}

async function main() {
  const dist = distDir();
  const server = await ContactsServer.start();
  const browser = await launchBrowser();
  try {
    const url = `${server.baseUrl}/?ezpay_id=${ACTIVE_CUSTOMER}&profile_id=${DEV_PROFILE_ID}`;
    const runs = [];
    for (let i = 0; i < RUNS; i += 1) runs.push(await loadOnce(browser, url));

    const rows = await transferSizes(dist, runs[0].fetched);
    for (const row of rows) console.log(`  ${row.file}: raw ${row.raw}, gzip ${row.gzip}`);
    const raw = rows.reduce((sum, row) => sum + row.raw, 0);
    const gzip = rows.reduce((sum, row) => sum + row.gzip, 0);
    const verdict = gzip <= GZIP_BUDGET_BYTES ? 'within' : 'OVER';
    console.log(`first-load bytes: raw ${raw}, gzip ${gzip} (${verdict} the ${GZIP_BUDGET_BYTES} gzip budget)`);
    const times = runs.map((run) => run.ms);
    console.log(`time-to-interactive runs: ${times.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    console.log(`time-to-interactive median: ${median(times).toFixed(0)} ms`);
  } finally {
    await browser.close();
    await server.dispose();
  }
}

await main();
