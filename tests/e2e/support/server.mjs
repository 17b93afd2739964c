// Starts the real contacts-server on 127.0.0.1 with a fresh SQLite file, and
// can kill it (SIGKILL, as a crash would) and start it again on the same port
// with the same database.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { DEV_AUTHORIZATION, DEV_PROFILE_ID, distDir, serverBinary } from './config.mjs';

const START_TIMEOUT_MS = 15_000;
const LISTENING_LINE = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/;

/** Every server still running, so that a failing test run leaves none behind. */
const running = new Set();
function killAll() {
  for (const child of running) child.kill('SIGKILL');
}
process.on('exit', killAll);
// A test run stopped from outside (Ctrl-C, CI cancelling) runs no 'exit' handler by default.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

export class ContactsServer {
  /**
   * Starts a server on a free port with a database file in a new temporary
   * directory, serving the editor of `staticDir` (by default the one under
   * test); `args` are further flags, such as `--config FILE`.
   */
  static async start({ args = [], staticDir = distDir() } = {}) {
    const dir = await mkdtemp(path.join(tmpdir(), 'contacts-e2e-'));
    const server = new ContactsServer(dir, path.join(dir, 'contacts.sqlite3'), args, staticDir);
    await server.#launch('127.0.0.1:0');
    return server;
  }

  #child = null;
  #stderr = '';

  constructor(dir, dbPath, args = [], staticDir = distDir()) {
    this.dir = dir;
    this.dbPath = dbPath;
    this.args = args;
    this.staticDir = staticDir;
    this.baseUrl = null;
    this.port = null;
  }

  /** What the server wrote to stderr, for the message of a failed test. */
  get stderr() {
    return this.#stderr;
  }

  /** Kills the server at once, without a graceful shutdown, and waits for it to be gone. */
  async kill() {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    running.delete(child);
  }

  /** Starts the server again on the same port with the same database. */
  async restart() {
    await this.kill();
    // A port freed by a killed process can take a moment to be bindable again.
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        await this.#launch(`127.0.0.1:${this.port}`);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Stops the server and removes its database. */
  async dispose() {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** GET of a customer's contacts through the API, with the development credentials. */
  async getContacts(ezpayId, { profileId = DEV_PROFILE_ID } = {}) {
    const response = await fetch(`${this.baseUrl}/api/v1/customers/${ezpayId}/contacts`, {
      headers: { Accept: 'application/json', Authorization: DEV_AUTHORIZATION, ProfileId: profileId },
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: await response.json() };
  }

  async #launch(addr) {
    const args = ['--addr', addr, '--db', this.dbPath, '--static-dir', this.staticDir, ...this.args];
    const child = spawn(serverBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    this.#child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.#stderr += chunk;
    });
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no "listening on" line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const lines = createInterface({ input: child.stdout });
      function fail(error) {
        clearTimeout(timer);
        lines.close();
        reject(new Error(`contacts-server ${args.join(' ')}: ${error.message}`));
      }
      lines.once('line', (line) => {
        clearTimeout(timer);
        const match = LISTENING_LINE.exec(line.trim());
        if (match) resolve(match[1]);
        else fail(new Error(`first stdout line was ${JSON.stringify(line)}, not "listening on http://127.0.0.1:PORT"`));
      });
      child.once('error', fail);
      child.once('exit', (code, signal) => fail(new Error(`exited (code ${code}, signal ${signal}) before listening`)));
    }).catch(async (error) => {
      await this.kill();
      throw new Error(`${error.message}\nstderr:\n${this.#stderr}`);
    });
    this.baseUrl = url;
    this.port = Number(new URL(url).port);
  }
}
