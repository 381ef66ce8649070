// Helpers for the Engine.IO end-to-end tests: raw HTTP requests that show the
// exact status, headers and body; a raw WebSocket with a message queue; an
// engine.io-client factory; bounded waits. Nothing here asserts timing: a
// timeout only bounds how long a test waits for something that must happen.
import http from 'node:http';
import { Socket } from 'engine.io-client';
import WebSocket from 'ws';
import { EIO_PATH } from './server.mjs';

export const RS = '\x1e'; // the record separator between polling packets

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
export async function until(fn, ms, what, every = 25) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** The Engine.IO endpoint of srv with the given query (an object). */
export function eioUrl(srv, query = {}, { ws = false } = {}) {
  const q = new URLSearchParams({ EIO: '4', transport: 'polling', ...query });
  for (const [k, v] of Object.entries(query)) if (v === undefined) q.delete(k);
  const base = ws ? srv.url.replace(/^http/, 'ws') : srv.url;
  return `${base}${EIO_PATH}?${q}`;
}

/**
 * One raw HTTP request on its own connection (no keep-alive, no
 * Accept-Encoding, so the body is what the server wrote). Resolves
 * { status, headers, body (utf8 string), raw (Buffer) }; rejects if the
 * connection fails or is reset. `signal` aborts it (the client going away).
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

/** Parses the body of an error response: {"code":N,"message":"..."}. */
export function jsonBody(res) {
  return JSON.parse(res.body);
}

/** Polling handshake. Resolves { sid, open, res } (open = the parsed open packet). */
export async function handshake(srv, query = {}, headers = {}) {
  const res = await request(eioUrl(srv, query), { headers });
  if (res.status !== 200 || res.body[0] !== '0') {
    throw new Error(`handshake failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const open = JSON.parse(res.body.slice(1));
  return { sid: open.sid, open, res };
}

/** GET for a session (it may be held until the server has something to send). */
export function poll(srv, sid, opts = {}) {
  return request(eioUrl(srv, { sid }), opts);
}

/** POST a polling payload for a session (packets joined by RS if an array). */
export function post(srv, sid, payload, opts = {}) {
  const body = Array.isArray(payload) ? payload.join(RS) : payload;
  return request(eioUrl(srv, { sid }), {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...(opts.headers || {}) },
    body,
    ...opts,
  });
}

/**
 * A raw WebSocket (npm `ws`) with a queue of received messages.
 * Resolves once open: { ws, next(ms) → {data, binary}, closed (promise of
 * {code, reason}), send(data) }. Rejects if the handshake is refused, with
 * err.status set when the server answered with HTTP.
 */
export function openWs(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    const queue = [];
    const waiters = [];
    let closeInfo = null;
    let resolveClosed;
    const closed = new Promise((r) => { resolveClosed = r; });
    ws.on('message', (data, binary) => {
      const m = { data: binary ? data : data.toString('utf8'), binary };
      const w = waiters.shift();
      if (w) w.resolve(m);
      else queue.push(m);
    });
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      resolveClosed(closeInfo);
      for (const w of waiters.splice(0)) w.reject(new Error(`websocket closed (${code}) while waiting for a message`));
    });
    ws.on('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const e = new Error(`websocket handshake refused: HTTP ${res.statusCode}`);
        e.status = res.statusCode;
        e.headers = res.headers;
        e.body = Buffer.concat(chunks).toString('utf8');
        reject(e);
        req.destroy();
      });
      res.on('error', () => {});
    });
    ws.on('error', (e) => reject(e));
    ws.on('open', () => {
      resolve({
        ws,
        closed,
        send: (d) => ws.send(d),
        next(ms = 5000) {
          if (queue.length) return Promise.resolve(queue.shift());
          if (closeInfo) return Promise.reject(new Error(`websocket closed (${closeInfo.code})`));
          return within(new Promise((res2, rej2) => waiters.push({ resolve: res2, reject: rej2 })), ms, 'a websocket message');
        },
        pending: () => queue.length,
      });
    });
  });
}

/** Resolves with the arguments of the next `ev` from an Emitter (engine.io-client). */
export function next(em, ev, ms = 5000) {
  return within(new Promise((resolve) => em.once(ev, (...a) => resolve(a.length > 1 ? a : a[0]))), ms, `event "${ev}"`);
}

/** An engine.io-client Socket on srv, path /engine.io/. Closed after the test t. */
export function client(t, srv, opts = {}) {
  const sock = new Socket(srv.url, { path: EIO_PATH, ...opts });
  if (t) t.after(() => sock.close());
  return sock;
}

/**
 * Resolves with the messages the client receives until `count` arrived.
 * Rejects if the socket closes first or ms pass.
 */
export function collect(sock, count, ms = 5000) {
  const got = [];
  return within(new Promise((resolve, reject) => {
    const onMsg = (d) => {
      got.push(d);
      if (got.length === count) { done(); resolve(got); }
    };
    const onClose = (reason) => { done(); reject(new Error(`socket closed (${reason}) after ${got.length}/${count} messages`)); };
    const done = () => { sock.off('message', onMsg); sock.off('close', onClose); };
    sock.on('message', onMsg);
    sock.on('close', onClose);
  }), ms, `${count} messages`);
}

/** Resolves once the client is open; rejects on error or close. */
export function opened(sock, ms = 5000) {
  return within(new Promise((resolve, reject) => {
    sock.once('open', () => resolve(sock));
    sock.once('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
    sock.once('close', (r) => reject(new Error(`closed before open: ${r}`)));
  }), ms, 'the client to open');
}
