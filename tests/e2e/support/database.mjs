// Reads the server's SQLite database with Python's sqlite3 module, so that a
// test can check what was really written, not only what the API says.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The query and its parameters travel as JSON in argv, never spliced into code.
const QUERY_SCRIPT = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
db.row_factory = sqlite3.Row
rows = db.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()
print(json.dumps([dict(row) for row in rows]))
`;

/** Runs one read-only SQL statement and returns its rows as plain objects. */
export async function queryDb(dbPath, sql, params = []) {
  const { stdout } = await run('python3', ['-c', QUERY_SCRIPT, dbPath, sql, JSON.stringify(params)], {
    timeout: 10_000,
  });
  return JSON.parse(stdout);
}

/** The names of the tables in the database. */
export async function tableNames(dbPath) {
  const rows = await queryDb(dbPath, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  return rows.map((row) => row.name);
}
