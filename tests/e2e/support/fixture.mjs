// The shared set-up of a test file: one server with a fresh database and one
// browser, both torn down after the file's tests even when they fail.

import { after, before } from 'node:test';

import { launchBrowser } from './browser.mjs';
import { ContactsServer } from './server.mjs';

/**
 * Registers before/after hooks and returns an object whose fields they fill;
 * `args` are the server's further flags.
 */
export function useServerAndBrowser({ args = [] } = {}) {
  const fixture = { server: null, browser: null };
  before(async () => {
    const [server, browser] = await Promise.allSettled([ContactsServer.start({ args }), launchBrowser()]);
    // Keep whichever started, so that `after` stops it even if the other failed.
    fixture.server = server.value ?? null;
    fixture.browser = browser.value ?? null;
    for (const outcome of [server, browser]) {
      if (outcome.status === 'rejected') throw outcome.reason;
    }
  });
  after(async () => {
    await Promise.all([fixture.browser?.close(), fixture.server?.dispose()]);
  });
  return fixture;
}
