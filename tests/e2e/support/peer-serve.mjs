// A copy of ../shared/peer/tools/serve.mjs (the React peer's static server
// and API stub), so that `cargo xtask bench` serves the peer's build the way
// its README measures it without running anything from the peer's folder.
// Unchanged below this comment but for its first line, `#!/usr/bin/env node`.
//
// Tiny static server for built dist folders, loopback only, no compression,
// no caching, no dependencies. Also stubs the contacts API:
//   POST /api/v1/customers/:id/contacts  ->  {"status":"Success","request_tracking_id":<Request-Tracking-Id>}
// except for id 000000000000000, which answers a 400 error envelope, and
// id 999999999999999, which answers a non-JSON 502, so failure banners can be exercised.
//
// usage: node serve.mjs DIR [PORT=8080]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

const [dirArg, portArg] = process.argv.slice(2);
if (!dirArg) {
  console.error('usage: node serve.mjs DIR [PORT=8080]');
  process.exit(2);
}
const ROOT = resolve(dirArg);
const PORT = Number(portArg ?? 8080);
const HOST = '127.0.0.1';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Accept, Content-Type, Request-Tracking-Id, Authorization, ProfileId',
};

const CONTACTS = /^\/api\/v1\/customers\/([^/]+)\/contacts$/;

function send(res, status, headers, body) {
  res.writeHead(status, { 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

function sendJson(res, status, obj) {
  send(res, status, { ...CORS, 'Content-Type': 'application/json' }, JSON.stringify(obj));
}

async function readBody(req, limit = 1 << 20) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function api(req, res, id) {
  if (req.method === 'OPTIONS') return send(res, 204, CORS, '');
  if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST only', errors: [] } });
  const tracking = req.headers['request-tracking-id'] ?? null;
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return sendJson(res, 400, {
      error: { code: 'BAD_REQUEST', message: 'Body is not JSON', errors: [] },
      request_tracking_id: tracking,
    });
  }
  if (id === '999999999999999') return send(res, 502, { 'Content-Type': 'text/html' }, '<h1>Bad gateway</h1>');
  if (id === '000000000000000' || !Array.isArray(body?.contacts)) {
    return sendJson(res, 400, {
      error: {
        code: 'VALIDATION_FAILED',
        message: 'The request was rejected',
        errors: [{ message: `Unknown customer ${id}` }, { message: 'Stub error for testing' }],
      },
      request_tracking_id: tracking,
    });
  }
  return sendJson(res, 200, { status: 'Success', request_tracking_id: tracking });
}

async function file(req, res, pathname) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { Allow: 'GET, HEAD' }, '');
  let rel;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return send(res, 400, {}, 'bad path');
  }
  let path = resolve(join(ROOT, rel));
  if (path !== ROOT && !path.startsWith(ROOT + sep)) return send(res, 403, {}, 'forbidden');
  try {
    if ((await stat(path)).isDirectory()) path = join(path, 'index.html');
  } catch {
    // Unknown path without an extension: single-page app route, serve the index.
    if (extname(path) === '') path = join(ROOT, 'index.html');
  }
  let data;
  try {
    data = await readFile(path);
  } catch {
    return send(res, 404, { 'Content-Type': 'text/plain' }, 'not found');
  }
  const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
  send(res, 200, { 'Content-Type': type, 'Content-Length': data.length }, req.method === 'HEAD' ? '' : data);
}

const server = createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, `http://${HOST}`);
    const m = CONTACTS.exec(pathname);
    if (m) return await api(req, res, decodeURIComponent(m[1]));
    return await file(req, res, pathname);
  } catch (e) {
    if (!res.headersSent) send(res, 500, {}, String(e?.message ?? e));
    else res.destroy();
  }
});

server.listen(PORT, HOST, () => {
  console.log(`serving ${ROOT} on http://${HOST}:${server.address().port}/`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
