// Helpers for the Socket.IO end-to-end tests (tests/e2e/sio_*.test.mjs):
// starting the server under test with an app, a raw Engine.IO session over
// polling or WebSocket that speaks Socket.IO packets byte for byte, and
// socket.io-client helpers. Nothing here asserts timing: a timeout only bounds
// how long a test waits for something that must happen.
//
// The server under test: with HUBBUB_REF=1, the npm socket.io reference
// `node tests/e2e/ref/socketio-<app>.mjs`; else HUBBUB_BIN (default
// build/hubbub). Both get `--listen 127.0.0.1:<port> --app <app> <flags>` and
// are ready once they print a line containing `listening on` to stderr.
//
//   HUBBUB_REF=1 node --test --test-concurrency=1 tests/e2e/sio_*.test.mjs
//   HUBBUB_BIN=build/hubbub node --test --test-concurrency=1 tests/e2e/sio_*.test.mjs
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { io as ioClient } from 'socket.io-client';
import { freePort, launch, retryOnPortTaken } from './server.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SIO_PATH = '/socket.io/';
export const IS_REF = process.env.HUBBUB_REF === '1';
export const RS = '\x1e'; // the record separator between polling packets


// ---------------------------------------------------------------------------
// Waiting

/** Rejects with `what` if `p` does not settle within ms. */
export function within(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Calls fn until it returns a truthy value (which is returned) or ms pass. */
export async function until(fn, ms, what, every = 20) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

// ---------------------------------------------------------------------------
// The server under test (the start/stop logic follows lib/server.mjs)

// Starting and stopping are lib/server.mjs's, which also kills whatever is
// left when the test process ends.
export { freePort };

/** The command that runs the server under test for `app`. */
export function serverCommand(app, { ref = IS_REF } = {}) {
  if (ref) {
    const script = path.join(REPO, `tests/e2e/ref/socketio-${app}.mjs`);
    return { file: process.execPath, argv: [script], name: `socket.io reference (${app})` };
  }
  const bin = process.env.HUBBUB_BIN || path.join(REPO, 'build/hubbub');
  return { file: bin, argv: [], name: bin };
}

/**
 * Starts a server with `--app app` and waits for its `listening on` line.
 * args: extra flags (e.g. ['--ping-interval', '300']); env: extra environment;
 * ref: force the reference (true) or the binary (false).
 * Resolves { port, url, proc, name, stderr(), stop() }. stop() sends SIGTERM,
 * waits up to 5 s (then SIGKILLs and rejects) and resolves
 * { code, signal, stderr }; calling it again returns the same promise.
 */
export function startServer({ app, args = [], env = {}, ref = IS_REF } = {}) {
  if (!app) throw new Error('startServer: app is required');
  return retryOnPortTaken(async () => {
    const port = await freePort();
    const cmd = serverCommand(app, { ref });
    return launch(cmd, [...cmd.argv, '--listen', `127.0.0.1:${port}`, '--app', app, ...args],
      port, env);
  });
}

/** srv.stop(), rejecting unless the server exited with code 0 (a crash, a hang, an ASan leak). */
export async function stopChecked(srv) {
  const r = await srv.stop();
  if (r.code !== 0) {
    throw new Error(`server exited with code ${r.code} signal ${r.signal} after SIGTERM:\n${r.stderr}`);
  }
  return r;
}

/** startServer() stopped (and checked) after the test t whatever happens. */
export async function withServer(t, opts) {
  const srv = await startServer(opts);
  t.after(() => stopChecked(srv));
  return srv;
}

// ---------------------------------------------------------------------------
// Raw HTTP

/**
 * One raw HTTP request on its own connection. Resolves { status, headers,
 * body (utf8 string), raw (Buffer) }; rejects if the connection fails.
 */
export function request(url, { method = 'GET', headers = {}, body, timeoutMs = 10000, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: raw.toString('utf8'), raw });
      });
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no response to ${method} ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** The Socket.IO endpoint of srv with the given query (an object). */
export function sioUrl(srv, query = {}, { ws = false } = {}) {
  const q = new URLSearchParams({ EIO: '4', transport: ws ? 'websocket' : 'polling', ...query });
  const base = ws ? srv.url.replace(/^http/, 'ws') : srv.url;
  return `${base}${SIO_PATH}?${q}`;
}

// ---------------------------------------------------------------------------
// Socket.IO packets (text part)

/**
 * Parses the text of a Socket.IO packet:
 * `<type>[<attachments>-][<nsp>,][<ackId>][JSON]`. Returns { type, attachments,
 * nsp, id, json (the JSON text, '' if none), data (parsed, or undefined) }.
 */
export function parseSio(text) {
  const type = Number(text[0]);
  let i = 1;
  let attachments = 0;
  if (type === 5 || type === 6) {
    const dash = text.indexOf('-', 1);
    if (dash < 0) throw new Error(`binary packet without attachment count: ${JSON.stringify(text)}`);
    attachments = Number(text.slice(1, dash));
    i = dash + 1;
  }
  let nsp = '/';
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  let id;
  const m = /^\d+/.exec(text.slice(i));
  if (m) {
    id = Number(m[0]);
    i += m[0].length;
  }
  const json = text.slice(i);
  return { type, attachments, nsp, id, json, data: json ? JSON.parse(json) : undefined };
}

/** Replaces {_placeholder:true,num:i} in v by buffers[i]. */
export function fillPlaceholders(v, buffers) {
  if (Array.isArray(v)) return v.map((x) => fillPlaceholders(x, buffers));
  if (v && typeof v === 'object') {
    if (v._placeholder === true && typeof v.num === 'number') return buffers[v.num];
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = fillPlaceholders(x, buffers);
    return o;
  }
  return v;
}

// ---------------------------------------------------------------------------
// A raw Engine.IO session on the Socket.IO endpoint

/** Splits a polling payload into packets: { type: '4', data } or { binary: Buffer }. */
export function decodePollingPayload(body) {
  if (body === '') return [];
  return body.split(RS).map((p) => (p[0] === 'b'
    ? { type: '4', binary: Buffer.from(p.slice(1), 'base64') }
    : { type: p[0], data: p.slice(1) }));
}

/**
 * Opens an Engine.IO session on the Socket.IO endpoint with a raw client,
 * over `transport` 'polling' (a GET always pending) or 'websocket'. Pings
 * are answered unless autoPong is false.
 *
 * Resolves a session:
 * - open: the parsed open packet; sid: its sid.
 * - send(...pkts): sends Engine.IO packets, each a string with its type
 *   (e.g. '40' is a message holding the Socket.IO CONNECT '0'; '3' a pong)
 *   or a Buffer (a binary message); over polling in one POST (resolves its
 *   response), over WebSocket one frame each.
 * - nextMsg(ms): the next Engine.IO message: { text } or { binary }.
 * - next(ms): the next Socket.IO packet, attachments gathered: parseSio()
 *   plus text (the raw text), buffers, and data with the buffers in place.
 * - closed: a promise of how the session ended: { by: 'close-packet' },
 *   { by: 'http', status, body }, { by: 'ws-close', code } or
 *   { by: 'error', message }; isClosed().
 * - waitClosed(ms): closed, bounded; fails if a message arrives first
 *   unless allowMessages.
 * - close(): ends the session from the client side.
 */
export async function openSession(srv, { transport = 'polling', query = {}, autoPong = true } = {}) {
  const queue = [];
  const waiters = [];
  let closeInfo = null;
  let resolveClosed;
  const closed = new Promise((r) => { resolveClosed = r; });
  let stopped = false;
  const pings = { count: 0 };

  const wake = () => {
    while (waiters.length && (queue.length || closeInfo)) {
      const w = waiters.shift();
      if (queue.length) w.resolve(queue.shift());
      else w.reject(new Error(`session closed (${JSON.stringify(closeInfo)}) while waiting for a message`));
    }
  };
  const markClosed = (info) => {
    if (closeInfo) return;
    closeInfo = info;
    resolveClosed(info);
    wake();
  };

  let sendRaw;
  let doClose;
  let open;

  const onPacket = (p) => {
    if (p.binary) {
      queue.push({ binary: p.binary });
      wake();
      return;
    }
    switch (p.type) {
      case '1': markClosed({ by: 'close-packet' }); break;
      case '2':
        pings.count++;
        if (autoPong && !stopped) sendRaw('3').catch(() => {});
        break;
      case '4': queue.push({ text: p.data }); wake(); break;
      case '6': break; // noop
      default: queue.push({ other: p.type + p.data }); wake(); break;
    }
  };

  if (transport === 'polling') {
    const hs = await request(sioUrl(srv, query));
    if (hs.status !== 200 || hs.body[0] !== '0') {
      throw new Error(`handshake failed: ${hs.status} ${JSON.stringify(hs.body)}`);
    }
    const packets = decodePollingPayload(hs.body);
    open = JSON.parse(packets[0].data);
    const url = sioUrl(srv, { ...query, sid: open.sid });
    const ac = new AbortController();
    // POSTs are serialised: two at once would be an overlapping request.
    let chain = Promise.resolve();
    sendRaw = (...pkts) => {
      const body = pkts.map((p) => (Buffer.isBuffer(p) ? `b${p.toString('base64')}` : p)).join(RS);
      const r = chain.then(() => request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        body,
      }));
      chain = r.catch(() => {});
      return r;
    };
    (async () => {
      for (const p of packets.slice(1)) onPacket(p);
      while (!closeInfo && !stopped) {
        let res;
        try {
          res = await request(url, { signal: ac.signal, timeoutMs: 120000 });
        } catch (e) {
          if (!stopped) markClosed({ by: 'error', message: e.message });
          return;
        }
        if (res.status !== 200) {
          markClosed({ by: 'http', status: res.status, body: res.body });
          return;
        }
        for (const p of decodePollingPayload(res.body)) onPacket(p);
      }
    })();
    doClose = async () => {
      if (closeInfo) { stopped = true; ac.abort(); return; }
      try { await sendRaw('1'); } catch { /* gone already */ }
      stopped = true;
      ac.abort();
    };
  } else {
    const ws = new WebSocket(sioUrl(srv, query, { ws: true }));
    const first = new Promise((resolve, reject) => {
      ws.once('message', (data, binary) => {
        const s = data.toString('utf8');
        if (binary || s[0] !== '0') reject(new Error(`expected an open packet, got ${JSON.stringify(s)}`));
        else resolve(JSON.parse(s.slice(1)));
      });
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`websocket closed (${code}) before the open packet`)));
    });
    open = await within(first, 5000, 'the open packet');
    ws.on('message', (data, binary) => {
      if (binary) onPacket({ binary: Buffer.from(data) });
      else {
        const s = data.toString('utf8');
        onPacket({ type: s[0], data: s.slice(1) });
      }
    });
    ws.on('close', (code) => markClosed({ by: 'ws-close', code }));
    ws.on('error', (e) => markClosed({ by: 'error', message: e.message }));
    sendRaw = async (...pkts) => {
      for (const p of pkts) {
        if (ws.readyState === WebSocket.OPEN) ws.send(p, { binary: Buffer.isBuffer(p) });
      }
    };
    doClose = async () => {
      stopped = true;
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    };
  }

  const nextMsg = (ms = 5000) => {
    if (queue.length) return Promise.resolve(queue.shift());
    if (closeInfo) return Promise.reject(new Error(`session closed (${JSON.stringify(closeInfo)})`));
    return within(new Promise((resolve, reject) => waiters.push({ resolve, reject })), ms, 'a message');
  };

  const session = {
    transport,
    open,
    sid: open.sid,
    pings,
    closed,
    isClosed: () => closeInfo !== null,
    pending: () => queue.length,
    send: (...pkts) => sendRaw(...pkts),
    nextMsg,
    async next(ms = 5000) {
      const m = await nextMsg(ms);
      if (m.text === undefined) throw new Error(`expected a text message, got ${JSON.stringify(m)}`);
      const p = { ...parseSio(m.text), text: m.text, buffers: [] };
      for (let i = 0; i < p.attachments; i++) {
        const b = await nextMsg(ms);
        if (!b.binary) throw new Error(`expected binary attachment ${i}, got ${JSON.stringify(b)}`);
        p.buffers.push(b.binary);
      }
      p.data = fillPlaceholders(p.data, p.buffers);
      return p;
    },
    async waitClosed(ms = 5000, { allowMessages = false } = {}) {
      const info = await within(closed, ms, 'the session to close');
      if (!allowMessages && queue.length) {
        throw new Error(`session closed after unexpected messages: ${JSON.stringify(queue)}`);
      }
      return info;
    },
    close: () => doClose(),
  };
  return session;
}

/** openSession() closed after the test t. */
export async function session(t, srv, opts) {
  const s = await openSession(srv, opts);
  t.after(() => s.close());
  return s;
}

// ---------------------------------------------------------------------------
// socket.io-client

/**
 * A socket.io-client socket on srv (a new Manager each time, reconnection
 * off unless opts say otherwise), disconnected after the test t.
 */
export function client(t, srv, opts = {}) {
  const { nsp = '/', ...rest } = opts;
  const sock = ioClient(srv.url + (nsp === '/' ? '' : nsp), {
    forceNew: true,
    reconnection: false,
    timeout: 10000,
    ...rest,
  });
  if (t) {
    t.after(() => {
      sock.io.reconnection(false);
      sock.disconnect();
      sock.io.engine?.close();
    });
  }
  return sock;
}

/** Resolves the arguments (an array) of the next `ev` on an emitter. */
export function once(em, ev, ms = 5000) {
  return within(new Promise((resolve) => em.once(ev, (...a) => resolve(a))), ms, `event "${ev}"`);
}

/** Resolves once sock is connected; rejects on connect_error (with the error). */
export function connected(sock, ms = 5000) {
  if (sock.connected) return Promise.resolve(sock);
  return within(new Promise((resolve, reject) => {
    const ok = () => { sock.off('connect_error', bad); resolve(sock); };
    const bad = (e) => { sock.off('connect', ok); reject(e); };
    sock.once('connect', ok);
    sock.once('connect_error', bad);
  }), ms, 'the client to connect');
}

/** A connected client (see client()). */
export async function connect(t, srv, opts = {}) {
  return connected(client(t, srv, opts));
}

/** Resolves with the connect_error the client gets (rejects if it connects). */
export function connectError(sock, ms = 5000) {
  return within(new Promise((resolve, reject) => {
    const ok = () => { sock.off('connect_error', bad); reject(new Error('connected, expected a connect_error')); };
    const bad = (e) => { sock.off('connect', ok); resolve(e); };
    sock.once('connect', ok);
    sock.once('connect_error', bad);
  }), ms, 'a connect_error');
}

/** emitWithAck bounded by ms; resolves the first ack argument, or all with all. */
export function ask(sock, ev, ...args) {
  return within(sock.emitWithAck(ev, ...args), 5000, `the ack of "${ev}"`);
}

/**
 * Records every event a client receives (socket.onAny), in order:
 * rec.events is a list of [event, ...args]. rec.waitFor(ev, n) resolves
 * once n events named ev arrived (then their args), rec.of(ev) lists them.
 */
export function recorder(sock) {
  const events = [];
  const waiters = [];
  sock.onAny((ev, ...args) => {
    events.push([ev, ...args]);
    for (const w of [...waiters]) w();
  });
  const of = (ev) => events.filter((e) => e[0] === ev).map((e) => e.slice(1));
  return {
    events,
    of,
    names: () => events.map((e) => e[0]),
    waitFor(ev, n = 1, ms = 5000) {
      return within(new Promise((resolve) => {
        let done = false;
        const check = () => {
          if (done || of(ev).length < n) return;
          done = true;
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
          resolve(of(ev));
        };
        waiters.push(check);
        check();
      }), ms, `${n} "${ev}" event(s) (got ${JSON.stringify(events.map((e) => e[0]))})`);
    },
  };
}
