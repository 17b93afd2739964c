// Reads the server's SQLite database with Python's sqlite3 module, so that a
// test can check what was really written, not only what the API says, or
// store what the API would refuse (contacts of an older version).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The query and its parameters travel as JSON in argv, never spliced into code.
const QUERY_SCRIPT = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
db.row_factory = sqlite3.Row
rows = db.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()
db.commit()
print(json.dumps([dict(row) for row in rows]))
`;

/** Runs one SQL statement, committed, and returns its rows as plain objects. */
export async function queryDb(dbPath, sql, params = []) {
  const { stdout } = await run('python3', ['-c', QUERY_SCRIPT, dbPath, sql, JSON.stringify(params)], {
    timeout: 10_000,
  });
  return JSON.parse(stdout);
}

/**
 * What the server wrote for one submission: its audit rows (one per accepted
 * update) and the targets of its outbox rows (one per target, MAS and MDM).
 * The tables are those of crates/contacts-server/src/store/sqlite.rs.
 */
export async function writesFor(dbPath, trackingId) {
  const audit = await queryDb(dbPath, 'SELECT COUNT(*) AS n FROM audit WHERE tracking_id = ?', [trackingId]);
  const outbox = await queryDb(dbPath, 'SELECT target FROM outbox WHERE tracking_id = ? ORDER BY target', [
    trackingId,
  ]);
  return { audit: audit[0].n, outboxTargets: outbox.map((row) => row.target) };
}

/** One accepted update: one audit row, one outbox row for each target. */
export const ONE_WRITE = { audit: 1, outboxTargets: ['MAS', 'MDM'] };
