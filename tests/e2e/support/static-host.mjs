// A static web host of the kind that serves the editor in production: it
// serves a copy of dist/ under a sub-path (`/contacts/`), as nginx would with
// `location /contacts/ { alias …/dist/; }`, and forwards `/api/` to the
// contacts-server with the Host header unchanged (nginx: `proxy_pass` with
// `proxy_set_header Host $http_host`), so that the API stays same-origin.

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

import { forward, listenLocally } from './fault-proxy.mjs';

/** The types of the files in dist/. */
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

export class StaticHost {
  /** Starts a host on a free 127.0.0.1 port serving `dir` under `prefix` (`/contacts/`), `/api/` from `apiUrl()`. */
  static async start({ dir, prefix, apiUrl }) {
    const host = new StaticHost(dir, prefix, apiUrl);
    host.baseUrl = await listenLocally(host.#server);
    return host;
  }

  /** The path of every request that reached the host, in order. */
  requests = [];

  #server;

  constructor(dir, prefix, apiUrl) {
    this.#server = http.createServer((request, response) => {
      const { pathname } = new URL(request.url, 'http://host');
      this.requests.push(pathname);
      if (pathname.startsWith('/api/')) {
        forward(request, response, new URL(apiUrl()));
      } else if (pathname.startsWith(prefix) && request.method === 'GET') {
        serveFile(path.join(dir, pathname.slice(prefix.length) || 'index.html'), dir, response);
      } else {
        response.writeHead(404, { 'Content-Type': 'text/plain' });
        response.end('not found');
      }
    });
  }

  async close() {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }
}

/** Answers with `file` from `dir` (404 outside it, or for a type the editor does not use). */
export async function serveFile(file, dir, response) {
  const type = TYPES[path.extname(file)];
  if (!type || !path.resolve(file).startsWith(path.resolve(dir) + path.sep)) {
    response.writeHead(404, { 'Content-Type': 'text/plain' });
    response.end('not found');
    return;
  }
  try {
    const bytes = await readFile(file);
    response.writeHead(200, { 'Content-Type': type, 'Content-Length': bytes.length });
    response.end(bytes);
  } catch {
    response.writeHead(404, { 'Content-Type': 'text/plain' });
    response.end('not found');
  }
}
