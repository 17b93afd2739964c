// Where the end-to-end tests find what `cargo xtask test` built, and the fixed
// facts of the reference server's development defaults that the tests rely on.

import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, two levels above tests/e2e/support. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Reads a required path from the environment, failing with a clear message. */
function requiredEnv(name, hint) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: ${hint}`);
  }
  return value;
}

export function serverBinary() {
  return requiredEnv('CONTACTS_SERVER_BIN', 'give the path of the built contacts-server binary');
}

export function distDir() {
  return requiredEnv('CONTACTS_DIST', 'give the directory of the Trunk-built editor (trunk build --release --dist DIR)');
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const ARTIFACTS_DIR = process.env.E2E_ARTIFACTS || path.join(REPO_ROOT, 'target', 'e2e');

export const AXE_PATH = path.join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js');

/** The development credentials and profile the server starts with when given no --config. */
export const DEV_USER = 'ocsuser';
export const DEV_PASSWORD = 'ocsuser';
export const DEV_AUTHORIZATION = `Basic ${Buffer.from(`${DEV_USER}:${DEV_PASSWORD}`).toString('base64')}`;
export const DEV_PROFILE_ID = 'CAAG_302';

/** The path of a customer's contacts in the API (GET to read, POST to save). */
export const CONTACTS_PATH = /\/api\/v1\/customers\/\d+\/contacts$/;

/** The active demo customer, the only one with demo contacts. */
export const ACTIVE_CUSTOMER = '000010000005008';

/** The inactive demo customer, who has no contacts yet. */
export const CUSTOMER_WITHOUT_CONTACTS = '000010000005009';
