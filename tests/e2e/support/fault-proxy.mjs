// A fault-injecting HTTP proxy in front of the real contacts-server. The
// browser loads the editor through it, so the API stays same-origin. It
// forwards everything (the editor's files, the GET of the contacts, the
// POSTs) unchanged, except that while a fault is injected the POSTs of the
// contacts meet that fault instead of a normal answer.
//
// A fault stays until `heal()` unless told to strike only so many times:
// Chromium silently sends a POST again when a reused keep-alive connection
// is reset before any answer (it did so four times in a row here), so a reset
// that strikes once never reaches the page.

import http from 'node:http';
import { after, before } from 'node:test';

import { CONTACTS_PATH } from './config.mjs';

/** How long a stalled exchange is held before the proxy drops it (the editor gives up after 15 s). */
export const STALL_MS = 30_000;

/** How long the proxy waits for the server before it gives up on a forwarded request. */
const UPSTREAM_TIMEOUT_MS = 10_000;

/** The page a load balancer answers with when it has no healthy server behind it. */
const MAINTENANCE_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><title>503 Service Temporarily Unavailable</title></head>
<body><h1>503 Service Temporarily Unavailable</h1><hr><p>nginx</p></body>
</html>
`;

/** Headers that describe one connection, not the message, and so are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEndHeaders(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** Starts `server` listening on a free port of 127.0.0.1 and returns its base URL. */
export async function listenLocally(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${server.address().port}`;
}

/**
 * Sends a request on to the server at `target` (a URL); `onAnswer` gets the
 * server's answer, which by default is passed back unchanged.
 */
export function forward(request, response, target, { agent, onAnswer = (answer) => passBack(answer, response) } = {}) {
  const upstream = http.request({
    host: target.hostname,
    port: target.port,
    method: request.method,
    path: request.url,
    // The Host header goes on unchanged: the server compares it with Origin.
    headers: endToEndHeaders(request.headers),
    agent,
    timeout: UPSTREAM_TIMEOUT_MS,
  });
  upstream.once('timeout', () => upstream.destroy(new Error(`no answer from the server within ${UPSTREAM_TIMEOUT_MS} ms`)));
  upstream.once('response', onAnswer);
  upstream.once('error', (error) => {
    if (response.headersSent || response.destroyed) {
      response.destroy();
    } else {
      response.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`proxy: ${error.message}\n`);
    }
  });
  request.pipe(upstream);
}

/** Passes the server's answer back to the browser, if it is still there. */
function passBack(answer, response) {
  if (response.destroyed) {
    // The browser has gone (it gave up, or the test is over): nobody to answer.
    answer.resume();
    return;
  }
  response.writeHead(answer.statusCode, endToEndHeaders(answer.headers));
  answer.pipe(response);
}

/**
 * What each fault does to one POST of the contacts. `proxy` offers the two
 * ways of not answering: `hold` (keep the exchange open, bounded by
 * STALL_MS) and `forward` (to the server).
 */
const FAULTS = {
  /** The API answers 503 with an HTML page; the server never sees the request. */
  html503(request, response) {
    request.resume();
    response.writeHead(503, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(MAINTENANCE_PAGE),
    });
    response.end(MAINTENANCE_PAGE);
  },
  /** The request is taken and never answered; the server never sees it. */
  stall(request, response, proxy) {
    request.resume();
    proxy.hold(response);
  },
  /** The connection is reset (TCP RST) as soon as the request's head arrives. */
  reset(request) {
    request.socket.resetAndDestroy();
  },
  /** The server receives and commits the request, but its answer never reaches the browser. */
  'answer-lost'(request, response, proxy, save) {
    proxy.forward(request, response, (answer) => {
      save.serverStatus = answer.statusCode;
      answer.resume();
      proxy.hold(response);
    });
  },
};

export class FaultProxy {
  /**
   * Starts a proxy on 127.0.0.1 (a free port) in front of the server whose
   * base URL `targetUrl()` returns when a request arrives.
   */
  static async start(targetUrl) {
    const proxy = new FaultProxy(targetUrl);
    proxy.baseUrl = await listenLocally(proxy.#server);
    return proxy;
  }

  /**
   * Every POST of the contacts that reached the proxy, in order:
   * `{ trackingId, fault, serverStatus }`, where `fault` is the one applied
   * (null when forwarded) and `serverStatus` the HTTP status the server
   * answered (null when the server never saw the request).
   */
  saves = [];

  #targetUrl;
  #fault = null;
  #agent = new http.Agent({ keepAlive: true });
  #holds = new Set();
  #server;

  constructor(targetUrl) {
    this.#targetUrl = targetUrl;
    this.#server = http.createServer((request, response) => this.#handle(request, response));
  }

  /**
   * From now on, the POSTs of the contacts meet `fault` (one of FAULTS):
   * the next `times` of them, or all until `heal()`.
   */
  inject(fault, { times = Infinity } = {}) {
    if (!Object.hasOwn(FAULTS, fault)) {
      throw new Error(`unknown fault ${JSON.stringify(fault)}: one of ${Object.keys(FAULTS).join(', ')}`);
    }
    if (!(times >= 1)) {
      throw new Error(`a fault strikes at least once, not ${times} times`);
    }
    this.#fault = { name: fault, strikesLeft: times };
  }

  /** From now on, everything is forwarded again. */
  heal() {
    this.#fault = null;
  }

  /** Keeps an exchange open without answering, for STALL_MS at most, then drops it. */
  hold(response) {
    const timer = setTimeout(() => response.destroy(), STALL_MS);
    this.#holds.add(timer);
    response.once('close', () => {
      clearTimeout(timer);
      this.#holds.delete(timer);
    });
  }

  /** Sends a request on to the server; `onAnswer` as for `forward`. */
  forward(request, response, onAnswer) {
    forward(request, response, new URL(this.#targetUrl()), { agent: this.#agent, onAnswer });
  }

  /** Stops listening and drops every open exchange, held ones included. */
  async close() {
    for (const timer of this.#holds) clearTimeout(timer);
    this.#holds.clear();
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await closed;
  }

  /** The fault this POST meets, if any, counting it against the fault's strikes. */
  #strike() {
    if (!this.#fault) return null;
    const { name } = this.#fault;
    this.#fault.strikesLeft -= 1;
    if (this.#fault.strikesLeft === 0) this.heal();
    return name;
  }

  #handle(request, response) {
    const isSave = request.method === 'POST' && CONTACTS_PATH.test(new URL(request.url, this.baseUrl).pathname);
    if (!isSave) {
      this.forward(request, response);
      return;
    }
    const fault = this.#strike();
    const save = { trackingId: request.headers['request-tracking-id'] ?? null, fault, serverStatus: null };
    this.saves.push(save);
    if (fault) {
      FAULTS[fault](request, response, this, save);
      return;
    }
    this.forward(request, response, (answer) => {
      save.serverStatus = answer.statusCode;
      passBack(answer, response);
    });
  }
}

/**
 * Registers hooks that start a proxy in front of `fixture.server` and close
 * it after the file's tests; returns an object whose `proxy` they fill. The
 * server is looked up per request: Node 20 runs a file's top-level `before`
 * hooks concurrently, so it may not be running yet when the proxy starts.
 */
export function useFaultProxy(fixture) {
  const holder = { proxy: null };
  before(async () => {
    holder.proxy = await FaultProxy.start(() => fixture.server.baseUrl);
  });
  after(async () => {
    await holder.proxy?.close();
  });
  return holder;
}
