// Azure compatibility (issue 4): an unmodified Socket.IO app server — npm
// `socket.io` with `@azure/web-pubsub-socket.io` (ref/azure-app.mjs, whose
// header specifies its events) — runs against the real `hubbub` with a
// connection string, and `socket.io-client` clients connect to Hubbub at
// `/clients/socketio/hubs/<hub>`. Then the REST data plane over plain HTTP with
// `@azure/web-pubsub`'s WebPubSubServiceClient, and its errors.
//
// One Hubbub serves the whole file (stopped at the end, checking a clean exit:
// under ASan a leak or error fails the file). Each test uses its own hub and
// starts its own app server process(es), killed when the test ends.
// Who does NOT receive a broadcast is checked with a marker: after the
// broadcast, the same sender emits "emit-all"; once every client has the
// marker, anything sent before it must have arrived (the app handles one
// client's events in order and sends its REST calls in order over one tunnel,
// and Hubbub delivers to each client in order).
//
//   HUBBUB_BIN=build/hubbub node --test tests/e2e/azure.test.mjs
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { io as ioClient } from 'socket.io-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { startServer, stopChecked, REPO } from './lib/server.mjs';
import { once, connected, connectError, recorder, within, until, request } from './lib/sio.mjs';

const APP = path.join(REPO, 'tests/e2e/ref/azure-app.mjs');
const KEY = crypto.randomBytes(32).toString('base64');
const APP_READY_MS = 20000;
const APP_STOP_MS = 5000;
const TEST_TIMEOUT = 90000;

let srv;
let connStr;
before(async () => {
  srv = await startServer({ ref: false, args: ['--access-key', KEY, '--allow-anonymous'] });
  connStr = `Endpoint=${srv.url};AccessKey=${KEY};Version=1.0;`;
});
after(async () => {
  if (!srv) return;
  // AZURE_HB_LOG=file keeps Hubbub's log (e.g. with HUBBUB_LOG_LEVEL=debug).
  if (process.env.AZURE_HB_LOG) fs.writeFileSync(process.env.AZURE_HB_LOG, srv.stderr());
  await stopChecked(srv);
});

let hubs = 0;
/** A hub name of its own for each test. */
const newHub = () => `e2e_${process.pid}_${++hubs}`;

// ---------------------------------------------------------------------------
// App servers

const liveApps = new Set();
process.on('exit', () => {
  for (const p of liveApps) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/**
 * Starts ref/azure-app.mjs for hub and waits for its ready line (its tunnel
 * is connected). Stopped (SIGTERM, then SIGKILL) when test t ends. Resolves
 * { proc, label, exited, stop(signal), output() }.
 */
async function startApp(t, hub, label = 'app', cs = connStr) {
  const proc = spawn(process.execPath, [APP, hub, cs, label], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveApps.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      liveApps.delete(proc);
      resolve({ code, signal });
    });
  });
  const stop = async (signal = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), APP_STOP_MS); });
    const r = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (r === null) {
      proc.kill('SIGKILL');
      return exited;
    }
    return r;
  };
  t.after(async () => {
    await stop();
    // AZURE_APP_LOG=dir keeps each app server's output (e.g. with
    // DEBUG=wps-sio-ext:* to see the extension's side).
    if (process.env.AZURE_APP_LOG) {
      fs.writeFileSync(path.join(process.env.AZURE_APP_LOG, `${hub}-${label}.log`), out);
    }
  });
  await within(new Promise((resolve, reject) => {
    const onData = () => { if (out.includes(`ready ${label}\n`)) resolve(); };
    proc.stdout.on('data', onData);
    proc.on('exit', (code, signal) => reject(new Error(`app ${label} exited (${code}, ${signal}) before ready:\n${out}`)));
    onData();
  }), APP_READY_MS, `app server ${label} to be ready`).catch(async (e) => {
    await stop('SIGKILL');
    throw new Error(`${e.message}\n--- app output ---\n${out}\n--- hubbub stderr (tail) ---\n${srv.stderr().slice(-3000)}`);
  });
  return { proc, label, exited, stop, output: () => out };
}

// ---------------------------------------------------------------------------
// Clients

/** A socket.io-client socket of hub (reconnection off unless opts say so), closed after t. */
function client(t, hub, opts = {}) {
  const { nsp = '/', ...rest } = opts;
  const sock = ioClient(srv.url + (nsp === '/' ? '' : nsp), {
    path: `/clients/socketio/hubs/${hub}`,
    forceNew: true,
    reconnection: false,
    timeout: 20000,
    ...rest,
  });
  t.after(() => {
    sock.io.reconnection(false);
    sock.disconnect();
    sock.io.engine?.close();
  });
  return sock;
}

const connect = (t, hub, opts) => connected(client(t, hub, opts), 20000);

/** emitWithAck bounded in time; resolves the first ack argument. */
const ask = (sock, ev, ...args) => within(sock.emitWithAck(ev, ...args), 20000, `the ack of "${ev}"`);
/** The emit with an ack callback, resolving all the ack's arguments. */
const ackAll = (sock, ev, ...args) => within(new Promise((resolve) => sock.emit(ev, ...args, (...a) => resolve(a))), 20000, `ack of ${ev}`);

const WS = { transports: ['websocket'] };
const POLLING = { transports: ['polling'] };

/** A client that has finished its upgrade from polling to WebSocket. */
async function upgraded(t, hub, opts = {}) {
  const sock = client(t, hub, opts);
  const up = once(sock.io.engine, 'upgrade', 20000);
  await connected(sock, 20000);
  await up;
  assert.equal(sock.io.engine.transport.name, 'websocket');
  return sock;
}

const MODES = {
  polling: (t, hub, opts = {}) => connect(t, hub, { ...POLLING, ...opts }),
  websocket: (t, hub, opts = {}) => connect(t, hub, { ...WS, ...opts }),
  upgraded: (t, hub, opts = {}) => upgraded(t, hub, opts),
};

/** n connected clients with recorders, connected one after the other: [{ sock, rec }]. */
async function several(t, hub, n, opts = WS) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const sock = client(t, hub, opts);
    const rec = recorder(sock);
    await connected(sock, 20000);
    out.push({ sock, rec });
  }
  return out;
}

let markers = 0;
/** sender emits "emit-all" with a fresh marker; resolves once every client in `all` has it. */
async function marker(sender, all) {
  const m = `marker-${++markers}`;
  sender.emit('emit-all', m);
  await Promise.all(all.map(({ rec }) => until(() => rec.of('all').some((a) => a[0] === m), 20000, `marker ${m}`)));
  return m;
}

/** The events a recorder got, marker events left out, as [name, firstArg]. */
const got = (rec) => rec.events.filter((e) => e[0] !== 'all').map((e) => [e[0], e[1]]);

/** Buffers as Node Buffers (socket.io-client may hand out ArrayBuffers), recursively. */
function norm(v) {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

/**
 * The HTTP status behind a handshake's connect_error: polling reports it as
 * the description, WebSocket as "Unexpected server response: N" (a refusal
 * after the 101 would be no connect_error at all, only the client's timeout).
 */
function refusedStatus(err) {
  const d = err.description;
  if (typeof d === 'number') return d;
  const m = /Unexpected server response: (\d+)/.exec(String(d?.message ?? d));
  return m ? Number(m[1]) : `${err.message}: ${d?.message ?? d}`;
}

/** A client token as negotiate() signs it (HS256, aud = the hub's client URL). */
function clientToken(hub, { key = KEY, user = 'bob', aud } = {}) {
  return jwt.sign({ userId: user }, key, {
    audience: aud ?? `${srv.url}/clients/socketio/hubs/${hub}`,
    subject: user,
    expiresIn: '1h',
    algorithm: 'HS256',
  });
}

const T = { timeout: TEST_TIMEOUT };
// Hubbub serves plain HTTP here; the SDK refuses http: endpoints unless told.
const INSECURE = { allowInsecureConnection: true };

// ---------------------------------------------------------------------------
// One client, each transport

for (const [mode, make] of Object.entries(MODES)) {
  describe(`${mode} client`, () => {
    test('connects; emit and acks both ways, text and binary', T, async (t) => {
      const hub = newHub();
      await startApp(t, hub);
      const sock = await make(t, hub);
      const me = await ask(sock, 'whoami');
      assert.equal(me.label, 'app');
      assert.equal(me.id, sock.id);
      assert.equal(me.userId, null);
      const rec = recorder(sock);
      // client → server event, server → client event
      sock.emit('echo', 'a', 1, { b: [true, null] });
      const [args] = await rec.waitFor('echo', 1, 20000);
      assert.deepEqual(args, ['a', 1, { b: [true, null] }]);
      // client → server with an ack
      assert.deepEqual(await ackAll(sock, 'echo', 'x', 2, ['y']), ['x', 2, ['y']]);
      assert.deepEqual(await ackAll(sock, 'echo'), []);
      // server → client with an ack (the client answers)
      sock.on('question', (q, cb) => cb(`answer:${q}`));
      assert.equal(await ask(sock, 'ask', 10000), 'answer:q');
      // binary both ways, in an event, in the server's ack and in the client's ack
      const bin = [Buffer.from([1, 2, 3]), 'text', { inner: { buf: Buffer.from('nested'), list: [Buffer.alloc(3000, 0xab), 5] } }];
      sock.emit('echo', ...bin);
      const [echoed] = await rec.waitFor('echo', 2, 20000).then((all) => all.slice(1));
      assert.deepEqual(norm(echoed), norm(bin));
      assert.deepEqual(norm(await ackAll(sock, 'echo', ...bin)), norm(bin));
      sock.off('question');
      sock.on('question', (q, cb) => cb(Buffer.from('binary answer')));
      assert.deepEqual(norm(await ask(sock, 'ask', 10000)), Buffer.from('binary answer'));
    });

    test('a client\'s disconnect() reaches the app server as "client namespace disconnect"', T, async (t) => {
      const hub = newHub();
      await startApp(t, hub);
      const watcher = await connect(t, hub, WS);
      const sock = await make(t, hub);
      const closed = once(sock.io.engine, 'close', 20000);
      sock.disconnect(); // its last namespace: the client closes the connection too
      await closed;
      const reasons = await until(async () => {
        const r = await ask(watcher, 'server-disconnects');
        return r.length > 0 && r;
      }, 20000, 'the server-side disconnect');
      assert.deepEqual(reasons, ['client namespace disconnect']);
    });

    test('a ~500 KB string and a 500 KB buffer, both ways', T, async (t) => {
      const hub = newHub();
      await startApp(t, hub);
      const sock = await make(t, hub);
      const big = 'x'.repeat(250000) + 'é'.repeat(125000); // 500,000 bytes of UTF-8
      const [s] = await ackAll(sock, 'echo', big);
      assert.ok(s === big, `got ${typeof s} of length ${s?.length}`);
      const buf = Buffer.alloc(500 * 1024);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 31) & 0xff;
      const [b] = await ackAll(sock, 'echo', buf);
      assert.ok(norm(b).equals(buf));
    });

    test('1,000 messages in order, each way', T, async (t) => {
      const hub = newHub();
      await startApp(t, hub);
      const sock = await make(t, hub);
      const rec = recorder(sock);
      const want = Array.from({ length: 1000 }, (_, i) => i);
      for (let i = 0; i < 1000; i++) sock.emit('seq-in', i);
      assert.deepEqual(await ask(sock, 'seq-report'), want);
      sock.emit('burst', 1000);
      const all = await rec.waitFor('seq', 1000, 30000);
      assert.deepEqual(all.map((a) => a[0]), want);
    });

    test('a 20 MB emit of the app server reaches the client, and its tunnel stays', T, async (t) => {
      const hub = newHub();
      await startApp(t, hub);
      const sock = await make(t, hub);
      const rec = recorder(sock);
      const bytes = 20 * 1000 * 1000; // one tunnel message over the old 16 MiB limit
      assert.equal(await ask(sock, 'big', bytes), 'sent');
      const [[got]] = await rec.waitFor('big', 1, 60000);
      assert.equal(got.length, bytes);
      assert.ok(/^x+$/.test(got));
      assert.equal((await ask(sock, 'whoami')).id, sock.id);
      assert.ok(sock.connected);
    });

    test('disconnect-me and close-me: the client sees "io server disconnect"', T, async (t) => {
      const hub = newHub();
      await startApp(t, hub);
      const a = await make(t, hub);
      const bye = once(a, 'disconnect', 20000);
      a.emit('disconnect-me');
      assert.equal((await bye)[0], 'io server disconnect');
      const b = await make(t, hub);
      const bye2 = once(b, 'disconnect', 20000);
      const engineClosed = once(b.io.engine, 'close', 20000);
      b.emit('close-me');
      assert.equal((await bye2)[0], 'io server disconnect');
      await engineClosed;
    });
  });
}

// ---------------------------------------------------------------------------
// Rooms and broadcasts

describe('rooms and broadcasts', () => {
  test('to-room: one room, several rooms (each member once), the sender too', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 5);
    const [a, b, c, d, x] = cl;
    for (const [s, r] of [[a, 'r1'], [b, 'r2'], [c, 'r1'], [c, 'r2'], [x, 'r1']]) {
      assert.equal(await ask(s.sock, 'join', r), 'ok');
    }
    assert.deepEqual(await ask(c.sock, 'rooms'), [c.sock.id, 'r1', 'r2'].sort());
    x.sock.emit('to-room', 'r1', 'one');
    x.sock.emit('to-room', ['r1', 'r2'], 'both');
    x.sock.emit('to-room', 'r2', { obj: [1] });
    x.sock.emit('to-room', 'empty-room', 'none');
    x.sock.emit('to-room', a.sock.id, 'private');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'one'], ['room-msg', 'both'], ['room-msg', 'private']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'both'], ['room-msg', { obj: [1] }]]);
    assert.deepEqual(got(c.rec), [['room-msg', 'one'], ['room-msg', 'both'], ['room-msg', { obj: [1] }]]);
    assert.deepEqual(got(d.rec), []);
    assert.deepEqual(got(x.rec), [['room-msg', 'one'], ['room-msg', 'both']]);
  });

  test('io.to(200 rooms).emit: a filter far over 4 KiB', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 3);
    const [a, b, x] = cl;
    const rooms = Array.from({ length: 200 }, (_, i) => `a-rather-long-room-name-${i}`);
    assert.equal(await ask(a.sock, 'join', rooms[199]), 'ok');
    assert.equal(await ask(b.sock, 'join', rooms[0]), 'ok');
    x.sock.emit('to-room', rooms, 'many');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'many']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'many']]);
    assert.deepEqual(got(x.rec), []);
  });

  test('to-except: a room without the members of another room', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 4);
    const [a, b, c, x] = cl;
    for (const [s, r] of [[a, 'e1'], [b, 'e1'], [b, 'e2'], [c, 'e2'], [c, 'e3'], [x, 'e3']]) {
      assert.equal(await ask(s.sock, 'join', r), 'ok');
    }
    x.sock.emit('to-except', 'e1', 'e2', 'p');
    x.sock.emit('to-except', 'e1', a.sock.id, 'q');
    // Several rooms and an except: the extension writes the filter
    // "'e1' in groups or 'e3' in groups and not ('e2' in groups)" without
    // parentheses, and OData's "and" binds tighter than "or" — so on Azure as
    // on Hubbub the except only narrows the last room: b (in e1 and e2) gets
    // it, c (in e2 and e3) does not.
    x.sock.emit('to-except', ['e1', 'e3'], 'e2', 'r');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'p'], ['room-msg', 'r']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'q'], ['room-msg', 'r']]);
    assert.deepEqual(got(c.rec), []);
    assert.deepEqual(got(x.rec), [['room-msg', 'r']]);
  });

  test('socket.broadcast: everyone but the sender; io.emit: everyone', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 4);
    const [a, b, c, x] = cl;
    x.sock.emit('broadcast', { n: 1 });
    x.sock.emit('emit-all', 'to-all');
    const m = await marker(x.sock, cl);
    const mine = (r) => r.rec.events.filter((e) => e[0] === 'bcast' || (e[0] === 'all' && [m, 'to-all'].includes(e[1])));
    for (const r of [a, b, c]) assert.deepEqual(mine(r), [['bcast', { n: 1 }], ['all', 'to-all'], ['all', m]]);
    assert.deepEqual(mine(x), [['all', 'to-all'], ['all', m]]);
  });

  test('leave: a client that left a room gets nothing sent to it', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 3);
    const [a, b, x] = cl;
    assert.equal(await ask(a.sock, 'join', 'L'), 'ok');
    assert.equal(await ask(b.sock, 'join', 'L'), 'ok');
    x.sock.emit('to-room', 'L', 'before');
    await marker(x.sock, cl);
    assert.equal(await ask(a.sock, 'leave', 'L'), 'ok');
    assert.equal(await ask(a.sock, 'leave', 'never-joined'), 'ok');
    assert.deepEqual(await ask(a.sock, 'rooms'), [a.sock.id]);
    x.sock.emit('to-room', 'L', 'after');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'before']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'before'], ['room-msg', 'after']]);
  });

  test('socketsJoin and socketsLeave move every socket of a room', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 4);
    const [a, b, c, x] = cl;
    assert.equal(await ask(a.sock, 'join', 'p'), 'ok');
    assert.equal(await ask(b.sock, 'join', 'p'), 'ok');
    assert.equal(await ask(x.sock, 'sockets-join', 'p', 'q'), 'ok');
    x.sock.emit('to-room', 'q', 'joined-q');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'joined-q']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'joined-q']]);
    assert.deepEqual(got(c.rec), []);
    assert.equal(await ask(x.sock, 'sockets-leave', 'p', 'q'), 'ok');
    x.sock.emit('to-room', 'q', 'left-q');
    x.sock.emit('to-room', 'p', 'still-p');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'joined-q'], ['room-msg', 'still-p']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'joined-q'], ['room-msg', 'still-p']]);
    assert.deepEqual(got(c.rec), []);
    assert.deepEqual(got(x.rec), []);
  });

  test('broadcast with acks: every answer, or a timeout with the answers that came', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const [a, b, c, asker] = await several(t, hub, 4);
    a.sock.on('poll', (q, cb) => cb(`a:${q}`));
    b.sock.on('poll', (q, cb) => cb(`b:${q}`));
    let cAsked = 0;
    c.sock.on('poll', () => { cAsked++; }); // never answers
    assert.equal(await ask(a.sock, 'join', 'vote'), 'ok');
    assert.equal(await ask(b.sock, 'join', 'vote'), 'ok');
    assert.deepEqual(await ask(asker.sock, 'ask-room', 'vote', 10000), { timedOut: false, responses: ['a:vote?', 'b:vote?'] });
    assert.equal(await ask(c.sock, 'join', 'vote'), 'ok');
    assert.deepEqual(await ask(asker.sock, 'ask-room', 'vote', 3000), { timedOut: true, responses: ['a:vote?', 'b:vote?'] });
    assert.equal(cAsked, 1);
    assert.deepEqual(await ask(asker.sock, 'ask-room', 'nobody-here', 10000), { timedOut: false, responses: [] });
  });

  test('broadcast with acks over polling and with a binary answer', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const p = await connect(t, hub, POLLING);
    const w = await connect(t, hub, WS);
    p.on('poll', (q, cb) => cb(Buffer.from('bin-answer')));
    w.on('poll', (q, cb) => cb('text-answer'));
    assert.equal(await ask(p, 'join', 'v2'), 'ok');
    assert.equal(await ask(w, 'join', 'v2'), 'ok');
    const r = await ask(w, 'ask-room', 'v2', 10000);
    assert.equal(r.timedOut, false);
    assert.equal(r.responses.length, 2);
    assert.ok(r.responses.includes('text-answer'));
    assert.ok(r.responses.some((x) => typeof x !== 'string' && norm(x).equals(Buffer.from('bin-answer'))));
  });

  test('disconnectSockets(): the room\'s sockets see "io server disconnect", on the app server too; the others stay', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = await several(t, hub, 2);
    const [b, x] = cl;
    // a connection with two namespaces, so that it stays open when "/" goes
    // (socket.io-client closes a connection whose last socket is gone)
    const a = client(t, hub, WS);
    await connected(a, 20000);
    const aChat = a.io.socket('/chat'); // connects by itself
    await connected(aChat, 20000);
    assert.equal(await ask(a, 'join', 'd'), 'ok');
    const bye = once(a, 'disconnect', 20000);
    assert.equal(await ask(x.sock, 'disconnect-room', 'd', false), 'ok');
    assert.equal((await bye)[0], 'io server disconnect');
    // the app server's socket went too: it was told as the client leaving
    // would have told it
    const reasons = await until(async () => {
      const r = await ask(x.sock, 'server-disconnects');
      return r.length > 0 && r;
    }, 20000, 'the server-side disconnect');
    assert.deepEqual(reasons, ['client namespace disconnect']);
    // the connection and its other namespace stay
    assert.equal(a.io.engine.readyState, 'open');
    assert.deepEqual(await ackAll(aChat, 'echo', 'still'), ['still']);
    // the other clients stay; io.emit no longer reaches the disconnected socket
    const aAll = recorder(a);
    x.sock.emit('emit-all', 'after');
    await b.rec.waitFor('all', 1, 20000);
    // "/" can connect again on the same connection, and get broadcasts again
    const again = once(a, 'connect', 20000);
    a.connect();
    await again;
    assert.equal((await ask(a, 'whoami')).id, a.id);
    const m = await marker(x.sock, [b, x, { rec: aAll }]);
    assert.deepEqual(aAll.of('all'), [[m]]);
  });

  test('disconnectSockets(true): the room\'s clients are disconnected and their connections closed', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const cl = [...await several(t, hub, 1, POLLING), ...await several(t, hub, 2, WS)];
    const [a, b, x] = cl; // a polling, b WebSocket
    assert.equal(await ask(a.sock, 'join', 'd'), 'ok');
    assert.equal(await ask(b.sock, 'join', 'd'), 'ok');
    const byes = [a, b].map((c) => once(c.sock, 'disconnect', 20000));
    const closes = [a, b].map((c) => once(c.sock.io.engine, 'close', 20000));
    assert.equal(await ask(x.sock, 'disconnect-room', 'd', true), 'ok');
    for (const bye of byes) assert.equal((await bye)[0], 'io server disconnect');
    await Promise.all(closes);
    assert.ok(x.sock.connected);
    await until(async () => (await ask(x.sock, 'server-disconnects')).length === 2, 20000, 'the server-side disconnects');
  });
});

// ---------------------------------------------------------------------------
// Namespaces and middlewares

describe('namespaces and middlewares', () => {
  test('namespaces are separate: io.of("/chat").emit reaches only /chat sockets', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const root = client(t, hub, WS);
    const rootRec = recorder(root);
    await connected(root, 20000);
    const chat = client(t, hub, { ...WS, nsp: '/chat' });
    const chatRec = recorder(chat);
    await connected(chat, 20000);
    // one connection, two namespaces
    const mx = client(t, hub, WS);
    await connected(mx, 20000);
    const mxChat = mx.io.socket('/chat'); // connects by itself (a second connect() would send a second CONNECT)
    const mxChatRec = recorder(mxChat);
    await connected(mxChat, 20000);
    assert.deepEqual(await ackAll(chat, 'echo', 'in-chat'), ['in-chat']);
    chat.emit('emit-all', 'c1');
    await chatRec.waitFor('chat-all', 1, 20000);
    await mxChatRec.waitFor('chat-all', 1, 20000);
    root.emit('emit-all', 'r1');
    await rootRec.waitFor('all', 1, 20000);
    assert.deepEqual(rootRec.of('chat-all'), []);
    // leaving /chat on the shared connection takes it out of /chat's broadcasts
    mxChat.disconnect();
    chat.emit('emit-all', 'c2');
    await chatRec.waitFor('chat-all', 2, 20000);
    root.emit('emit-all', 'r2');
    await rootRec.waitFor('all', 2, 20000);
    assert.deepEqual(mxChatRec.of('chat-all'), [['c1']]);
    assert.ok(mx.connected);
  });

  test('a middleware refusal reaches the client with its data', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const bad = client(t, hub, { ...WS, auth: { token: 'bad' } });
    const err = await connectError(bad, 20000);
    assert.equal(err.message, 'unauthorized');
    assert.deepEqual(err.data, { reason: 'bad token' });
    const sec = client(t, hub, { ...POLLING, nsp: '/secure' });
    const err2 = await connectError(sec, 20000);
    assert.equal(err2.message, 'unauthorized');
    assert.deepEqual(err2.data, { code: 401 });
    const good = client(t, hub, { ...WS, nsp: '/secure', auth: { token: 'good' } });
    const hello = once(good, 'secure-hello', 20000);
    await connected(good, 20000);
    assert.equal((await hello)[0], good.id);
  });
});

// ---------------------------------------------------------------------------
// App servers coming and going

describe('app servers', () => {
  test('two app-server processes share a hub: clients are balanced, broadcasts cross', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub, 'A');
    await startApp(t, hub, 'B');
    const cl = await several(t, hub, 6);
    const labels = [];
    for (const c of cl) labels.push((await ask(c.sock, 'whoami')).label);
    assert.equal(labels.filter((l) => l === 'A').length, 3, `labels: ${labels}`);
    assert.equal(labels.filter((l) => l === 'B').length, 3, `labels: ${labels}`);
    const onA = cl.filter((_, i) => labels[i] === 'A');
    const onB = cl.filter((_, i) => labels[i] === 'B');
    // io.emit from an A client reaches everyone
    onA[0].sock.emit('emit-all', 'from-A');
    await Promise.all(cl.map((c) => c.rec.waitFor('all', 1, 20000)));
    // a room joined through B, sent to through A
    assert.equal(await ask(onB[0].sock, 'join', 'x'), 'ok');
    assert.equal(await ask(onA[1].sock, 'join', 'x'), 'ok');
    onA[0].sock.emit('to-room', 'x', 'cross');
    await onB[0].rec.waitFor('room-msg', 1, 20000);
    await onA[1].rec.waitFor('room-msg', 1, 20000);
    // broadcast with acks from B reaches the clients of A
    onA[1].sock.on('poll', (q, cb) => cb('a1'));
    onB[0].sock.on('poll', (q, cb) => cb('b0'));
    assert.deepEqual(await ask(onB[1].sock, 'ask-room', 'x', 10000), { timedOut: false, responses: ['a1', 'b0'] });
  });

  test('an app server restarting: its clients are disconnected, reconnect and reach the new one', T, async (t) => {
    const hub = newHub();
    const first = await startApp(t, hub, 'first');
    const opts = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0 };
    const mine = [client(t, hub, { ...WS, ...opts }), client(t, hub, { ...POLLING, ...opts })];
    await Promise.all(mine.map((s) => connected(s, 20000)));
    for (const s of mine) assert.equal((await ask(s, 'whoami')).label, 'first');
    const byes = mine.map((s) => once(s, 'disconnect', 20000));
    await first.stop('SIGKILL');
    await Promise.all(byes);
    // with no app server, each reconnect attempt is refused (not left hanging)
    const refused = mine.map((s) => once(s.io, 'reconnect_error', 20000));
    await Promise.all(refused);
    const back = mine.map((s) => once(s, 'connect', 30000));
    await startApp(t, hub, 'second');
    await Promise.all(back);
    for (const s of mine) assert.equal((await ask(s, 'whoami')).label, 'second');
  });

  test('one of two app servers going away: only its clients move, to the other one', T, async (t) => {
    const hub = newHub();
    const a = await startApp(t, hub, 'A');
    await startApp(t, hub, 'B');
    const opts = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0 };
    const socks = [];
    for (let i = 0; i < 4; i++) socks.push(await connect(t, hub, { ...(i % 2 ? POLLING : WS), ...opts }));
    const labels = await Promise.all(socks.map((s) => ask(s, 'whoami').then((w) => w.label)));
    const onA = socks.filter((_, i) => labels[i] === 'A');
    const onB = socks.filter((_, i) => labels[i] === 'B');
    assert.equal(onA.length, 2, `labels: ${labels}`);
    let bDisconnects = 0;
    for (const s of onB) s.on('disconnect', () => { bDisconnects++; });
    const back = onA.map((s) => once(s, 'disconnect', 20000).then(() => once(s, 'connect', 30000)));
    await a.stop();
    await Promise.all(back);
    for (const s of socks) assert.equal((await ask(s, 'whoami')).label, 'B');
    assert.equal(bDisconnects, 0);
  });

  test('SIGTERM with app servers connected: their tunnels are closed (1001) and the service stops at once', T, async (t) => {
    const own = await startServer({ ref: false, args: ['--access-key', KEY, '--allow-anonymous'] });
    let stopped = false;
    t.after(() => (stopped ? undefined : stopChecked(own)));
    const hub = newHub();
    await startApp(t, hub, 'app', `Endpoint=${own.url};AccessKey=${KEY};Version=1.0;`);
    const sock = ioClient(own.url, { path: `/clients/socketio/hubs/${hub}`, transports: ['websocket'], reconnection: false });
    t.after(() => sock.disconnect());
    await connected(sock, 20000);
    const bye = once(sock, 'disconnect', 20000);
    stopped = true;
    const r = await stopChecked(own);
    await bye;
    // Not held until the shutdown deadline by the tunnel's WebSocket.
    assert.doesNotMatch(r.stderr, /shutdown deadline passed/);
  });

  test('no app server: a client is refused at once with a clear error', T, async (t) => {
    const hub = newHub();
    for (const opts of [POLLING, WS]) {
      const sock = client(t, hub, opts);
      const err = await connectError(sock, 10000);
      assert.equal(refusedStatus(err), 503, opts.transports[0]);
    }
    const res = await request(`${srv.url}/clients/socketio/hubs/${hub}/?EIO=4&transport=polling`);
    assert.equal(res.status, 503);
    assert.match(res.body, /app server/i);
  });
});

// ---------------------------------------------------------------------------
// Client tokens

describe('client tokens', () => {
  test('a token signed with the access key connects as its user; a wrong key or audience is refused', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const good = await connect(t, hub, { ...WS, query: { access_token: clientToken(hub, { user: 'bob' }) } });
    const me = await ask(good, 'whoami');
    assert.equal(me.userId, 'bob');
    for (const [what, token] of [
      ['a wrong key', clientToken(hub, { key: crypto.randomBytes(32).toString('base64') })],
      ['another hub\'s audience', clientToken(hub, { aud: `${srv.url}/clients/socketio/hubs/${hub}_other` })],
    ]) {
      for (const opts of [POLLING, WS]) {
        const sock = client(t, hub, { ...opts, query: { access_token: token } });
        const err = await connectError(sock, 10000).catch((e) => { throw new Error(`${what}: ${e.message}`); });
        assert.equal(refusedStatus(err), 401, `${what}, ${opts.transports[0]}`);
      }
      const res = await request(`${srv.url}/clients/socketio/hubs/${hub}/?EIO=4&transport=polling&access_token=${token}`);
      assert.equal(res.status, 401, `${what}: ${res.status} ${res.body}`);
    }
  });
});

// ---------------------------------------------------------------------------
// REST over plain HTTP with @azure/web-pubsub

describe('REST with WebPubSubServiceClient', () => {
  const nsRoot = '0~Lw~'; // the group of namespace "/"
  const b64url = (s) => Buffer.from(s).toString('base64url');

  test('sends, groups, exists checks and closing connections', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const svc = new WebPubSubServiceClient(connStr, hub, INSECURE);
    const cl = await several(t, hub, 3);
    const [a, b, c] = cl;
    // the Engine.IO sid is the connection id
    const ids = new Map(cl.map((x) => [x, x.sock.io.engine.id]));
    const id = (x) => ids.get(x);
    // sendToAll with an Engine.IO payload (text/plain): every client of "/"
    await svc.sendToAll('42["rest-all","x"]', { contentType: 'text/plain' });
    await Promise.all(cl.map((x) => x.rec.waitFor('rest-all', 1, 20000)));
    assert.deepEqual(a.rec.of('rest-all'), [['x']]);
    // several packets in one payload, and a filter
    await svc.sendToAll('42["rest-f",1]\x1e42["rest-f",2]', { contentType: 'text/plain', filter: `connectionId eq '${id(b)}'` });
    await b.rec.waitFor('rest-f', 2, 20000);
    assert.deepEqual(b.rec.of('rest-f'), [[1], [2]]);
    // excludedConnections
    await svc.sendToAll('42["rest-ex"]', { contentType: 'text/plain', excludedConnections: [id(a), id(c)] });
    await b.rec.waitFor('rest-ex', 1, 20000);
    // a group: add, exists, send, remove
    assert.equal(await svc.groupExists('g1'), false);
    await svc.group('g1').addConnection(id(a));
    await svc.group('g1').addConnection(id(c));
    assert.equal(await svc.groupExists('g1'), true);
    await svc.group('g1').sendToAll('42["rest-g","in-g1"]', { contentType: 'text/plain' });
    await a.rec.waitFor('rest-g', 1, 20000);
    await c.rec.waitFor('rest-g', 1, 20000);
    await svc.group('g1').removeConnection(id(c));
    await svc.group('g1').sendToAll('42["rest-g","again"]', { contentType: 'text/plain' });
    await a.rec.waitFor('rest-g', 2, 20000);
    // the namespace group, as the extension's broadcasts filter on it
    await svc.sendToAll('42["rest-ns",1]', { contentType: 'text/plain', filter: `'${nsRoot}' in groups and not ('g1' in groups)` });
    await b.rec.waitFor('rest-ns', 1, 20000);
    await c.rec.waitFor('rest-ns', 1, 20000);
    // sendToConnection
    await svc.sendToConnection(id(c), '42["rest-one"]', { contentType: 'text/plain' });
    await c.rec.waitFor('rest-one', 1, 20000);
    // everything since the marker: b and c never got the group's messages, a no rest-ns
    await marker(a.sock, cl);
    assert.deepEqual(b.rec.of('rest-g'), []);
    assert.deepEqual(c.rec.of('rest-g'), [['in-g1']]);
    assert.deepEqual(a.rec.of('rest-ns'), []);
    assert.deepEqual(a.rec.of('rest-one'), []);
    assert.deepEqual(a.rec.of('rest-ex'), []);
    assert.deepEqual(c.rec.of('rest-ex'), []);
    // addConnectionsToGroups / removeConnectionsFromGroups with filters
    await svc.addConnectionsToGroups(['g2', 'g3'], `'${nsRoot}' in groups and not (connectionId eq '${id(a)}')`);
    assert.equal(await svc.groupExists('g2'), true);
    await svc.group('g3').sendToAll('42["rest-g3"]', { contentType: 'text/plain' });
    await b.rec.waitFor('rest-g3', 1, 20000);
    await c.rec.waitFor('rest-g3', 1, 20000);
    await svc.removeConnectionsFromGroups(['g2', 'g3'], `connectionId eq '${id(b)}' or connectionId eq '${id(c)}'`);
    assert.equal(await svc.groupExists('g2'), false);
    // the socket's own room group, as socket.join sees it
    assert.equal(await svc.groupExists(`${nsRoot}${b64url(a.sock.id)}`), true);
    // removeConnectionFromAllGroups: out of every group, the namespace's too
    await svc.removeConnectionFromAllGroups(id(a));
    await svc.sendToAll('42["rest-ns",2]', { contentType: 'text/plain', filter: `'${nsRoot}' in groups` });
    await b.rec.waitFor('rest-ns', 2, 20000);
    // (a direct send orders what a got: nothing of the namespace's since)
    await svc.sendToConnection(id(a), '42["rest-mark"]', { contentType: 'text/plain' });
    await a.rec.waitFor('rest-mark', 1, 20000);
    assert.deepEqual(a.rec.of('rest-ns'), []);
    // exists checks
    assert.equal(await svc.connectionExists(id(a)), true);
    assert.equal(await svc.connectionExists('no-such-connection'), false);
    assert.equal(await svc.userExists('nobody'), false);
    // closeAllConnections with every connection excluded closes none
    await svc.closeAllConnections({ excluded: [id(a), id(b), id(c)] });
    await svc.group('g1').closeAllConnections({ excluded: [id(a)] });
    for (const x of cl) assert.equal(await svc.connectionExists(id(x)), true);
    // closeConnection with a reason
    const closed = once(c.sock, 'disconnect', 20000);
    await svc.closeConnection(id(c), { reason: 'bye' });
    await closed;
    await until(async () => !(await svc.connectionExists(id(c))), 20000, 'the closed connection to be gone');
    // closeGroupConnections / closeAllConnections
    await svc.group('g1').addConnection(id(b));
    const bGone = once(b.sock, 'disconnect', 20000);
    await svc.group('g1').closeAllConnections({ reason: 'group closed' });
    await bGone;
    const aGone = once(a.sock, 'disconnect', 20000);
    await svc.closeAllConnections();
    await aGone;
    await until(async () => !(await svc.connectionExists(id(a))), 20000, 'every connection to be gone');
  });

  test('getClientAccessToken: a user with initial groups; sendToUser, userExists, closeUserConnections', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const svc = new WebPubSubServiceClient(connStr, hub, INSECURE);
    const { token, baseUrl } = await svc.getClientAccessToken({ userId: 'carol', clientProtocol: 'socketio', groups: ['team'] });
    assert.equal(baseUrl, `${srv.url.replace(/^http/, 'ws')}/clients/socketio/hubs/${hub}`);
    const carol = client(t, hub, { ...WS, query: { access_token: token } });
    const rec = recorder(carol);
    await connected(carol, 20000);
    const other = await connect(t, hub, POLLING);
    const otherRec = recorder(other);
    assert.equal((await ask(carol, 'whoami')).userId, 'carol');
    assert.equal(await svc.userExists('carol'), true);
    assert.equal(await svc.groupExists('team'), true);
    await svc.sendToUser('carol', '42["for-carol"]', { contentType: 'text/plain' });
    await rec.waitFor('for-carol', 1, 20000);
    await svc.group('team').sendToAll('42["for-team"]', { contentType: 'text/plain' });
    await rec.waitFor('for-team', 1, 20000);
    // :generateToken (the REST call a token credential makes)
    const gen = await svc['client'].webPubSub.generateClientToken(hub, { userId: 'dave', clientType: 'SocketIO' });
    const dave = await connect(t, hub, { ...POLLING, query: { access_token: gen.token } });
    assert.equal((await ask(dave, 'whoami')).userId, 'dave');
    const gone = once(carol, 'disconnect', 20000);
    await svc.closeUserConnections('carol');
    await gone;
    await until(async () => !(await svc.userExists('carol')), 20000, 'carol to be gone');
    assert.ok(other.connected && dave.connected);
    assert.deepEqual(otherRec.of('for-carol'), []);
  });

  test('user groups (addUser, removeUser, removeUserFromAllGroups) and listConnections a page at a time', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const svc = new WebPubSubServiceClient(connStr, hub, INSECURE);
    const as = async (userId, opts) => {
      const { token } = await svc.getClientAccessToken({ userId, clientProtocol: 'socketio' });
      return connect(t, hub, { ...opts, query: { access_token: token } });
    };
    const ann1 = await as('ann', WS);
    const ann2 = await as('ann', POLLING);
    const bob = await as('bob', WS);
    const anon = await connect(t, hub, WS);
    const [a1, a2, b, x] = [ann1, ann2, bob, anon].map((s) => s.io.engine.id);
    // the status page's JSON counts the hub's clients and app servers
    const st = JSON.parse((await request(`${srv.url}/api/status`)).body);
    assert.deepEqual(st.hubs.find((h) => h.name === hub), { name: hub, connections: 4, app_servers: 1 });
    const list = async (g, opts) => {
      const out = [];
      // (listConnections returns a promise of the iterator: the SDK wraps it in a tracing span)
      for await (const m of await svc.group(g).listConnections(opts)) out.push(m);
      return out;
    };
    // every connection of the user, and none of the others
    await svc.group('team').addUser('ann');
    assert.deepEqual(await list('team'),
      [{ connectionId: a1, userId: 'ann' }, { connectionId: a2, userId: 'ann' }]
        .sort((p, q) => (p.connectionId < q.connectionId ? -1 : 1)));
    await svc.group('team').addConnection(x);
    // a page at a time: each page holds what follows the last one, in id order
    const pages = [];
    for await (const page of (await svc.group('team').listConnections({ maxPageSize: 1 })).byPage()) pages.push(page);
    assert.deepEqual(pages.map((p) => p.length), [1, 1, 1]);
    assert.deepEqual(pages.flat().map((m) => m.connectionId), [a1, a2, x].sort());
    assert.equal(pages.flat().find((m) => m.connectionId === x).userId, undefined);
    assert.equal((await list('team', { top: 2 })).length, 2);
    assert.equal((await list('team', { top: 2, maxPageSize: 1 })).length, 2);
    assert.deepEqual(await list('nobody-here'), []);
    // removeUser takes out the user's connections only
    await svc.group('team').removeUser('ann');
    assert.deepEqual((await list('team')).map((m) => m.connectionId), [x]);
    await svc.group('team').removeUser('no-such-user');
    // removeUserFromAllGroups: out of every group, the namespace's too
    await svc.group('g1').addUser('bob');
    await svc.group('g2').addUser('bob');
    assert.deepEqual((await list('g2')).map((m) => m.connectionId), [b]);
    await svc.removeUserFromAllGroups('bob');
    assert.equal(await svc.groupExists('g1'), false);
    assert.equal(await svc.groupExists('g2'), false);
    assert.deepEqual((await list('0~Lw~')).map((m) => m.connectionId), [a1, a2, x].sort());
    // bad paging parameters are a 400 with a message; other methods 405
    const sign = (url) => jwt.sign({}, KEY, { audience: url, expiresIn: '1h', algorithm: 'HS256' });
    const call = (p, method = 'GET') => {
      const url = `${srv.url}/api/hubs/${hub}${p}`;
      return request(url, { method, headers: { Authorization: `Bearer ${sign(url)}` } });
    };
    for (const q of ['maxpagesize=0', 'maxpagesize=201', 'maxpagesize=x', 'top=0']) {
      const res = await call(`/groups/team/connections?${q}`);
      assert.equal(res.status, 400, `${q}: ${res.status} ${res.body}`);
      assert.match(JSON.parse(res.body).message, /maxpagesize|top/);
    }
    assert.equal((await call('/groups/team/connections', 'POST')).status, 405);
    assert.equal((await call('/users/bob/groups', 'PUT')).status, 405);
    assert.equal((await call('/users/bob/groups/g', 'POST')).status, 405);
  });

  test('permissions: from the token\'s roles, grantPermission, revokePermission, hasPermission', T, async (t) => {
    const hub = newHub();
    await startApp(t, hub);
    const svc = new WebPubSubServiceClient(connStr, hub, INSECURE);
    const { token } = await svc.getClientAccessToken({
      userId: 'eve', clientProtocol: 'socketio', roles: ['webpubsub.sendToGroup.red', 'admin'],
    });
    const eve = (await connect(t, hub, { ...WS, query: { access_token: token } })).io.engine.id;
    const anon = (await connect(t, hub, POLLING)).io.engine.id;
    const has = (id, p, targetName) => svc.hasPermission(id, p, targetName ? { targetName } : {});
    // from the token: one group only
    assert.equal(await has(eve, 'sendToGroup', 'red'), true);
    assert.equal(await has(eve, 'sendToGroup', 'blue'), false);
    assert.equal(await has(eve, 'sendToGroup'), false);
    assert.equal(await has(eve, 'joinLeaveGroup', 'red'), false);
    // granted for one group, then for every group; revoked again
    assert.equal(await has(anon, 'joinLeaveGroup', 'g'), false);
    await svc.grantPermission(anon, 'joinLeaveGroup', { targetName: 'g' });
    assert.equal(await has(anon, 'joinLeaveGroup', 'g'), true);
    assert.equal(await has(anon, 'joinLeaveGroup', 'h'), false);
    await svc.grantPermission(anon, 'joinLeaveGroup');
    assert.equal(await has(anon, 'joinLeaveGroup', 'h'), true);
    await svc.revokePermission(anon, 'joinLeaveGroup');
    assert.equal(await has(anon, 'joinLeaveGroup', 'g'), false);
    await svc.revokePermission(eve, 'sendToGroup', { targetName: 'red' });
    assert.equal(await has(eve, 'sendToGroup', 'red'), false);
    // unknown connections and permissions
    assert.equal(await has('no-such-connection', 'sendToGroup'), false);
    await assert.rejects(svc.grantPermission('no-such-connection', 'sendToGroup'), (e) => e.statusCode === 404);
    await svc.revokePermission('no-such-connection', 'sendToGroup');
    await assert.rejects(svc.grantPermission(anon, 'rule', {}), (e) => e.statusCode === 400);
  });

  test('HEAD answers carry no body, so the next request on a kept-alive connection is read right', T, async () => {
    const hub = newHub();
    const { hostname, port } = new URL(srv.url);
    const head = (p) => {
      const url = `${srv.url}/api/hubs/${hub}${p}`;
      const token = jwt.sign({}, KEY, { audience: url, expiresIn: '1h', algorithm: 'HS256' });
      return `HEAD /api/hubs/${hub}${p} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    };
    const sock = net.connect(Number(port), hostname);
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => { got += d; });
    // a 404 with an error body for GET, and an error status with one too
    sock.write(head('/connections/nobody') + head('/permissions/nothing/connections/x'));
    await until(() => (got.match(/HTTP\/1\.1 /g) || []).length === 2, 20000, 'two answers');
    await new Promise((resolve) => setTimeout(resolve, 100)); // a stray body would be here by now
    sock.destroy();
    const heads = got.split('\r\n\r\n');
    assert.equal(heads.length, 3, got);
    assert.equal(heads[2], '', `nothing after the second head: ${JSON.stringify(got)}`);
    assert.match(heads[0], /^HTTP\/1\.1 404 /);
    assert.match(heads[1], /^HTTP\/1\.1 400 /);
    assert.match(heads[1], /Content-Length: [1-9]/); // the length a GET would get
  });

  test('errors: a bad filter is a 400 with a message; unknown paths 404; no or a bad bearer token 401', T, async () => {
    const hub = newHub();
    const svc = new WebPubSubServiceClient(connStr, hub, INSECURE);
    await assert.rejects(svc.sendToAll('42["x"]', { contentType: 'text/plain', filter: "userId eq 'a' xor true" }), (e) => {
      assert.equal(e.statusCode, 400);
      assert.match(e.message, /xor|unexpected|position/i);
      return true;
    });
    await assert.rejects(svc.addConnectionsToGroups(['g'], "'g' in"), (e) => e.statusCode === 400);
    const sign = (url, key = KEY) => jwt.sign({}, key, { audience: url, expiresIn: '1h', algorithm: 'HS256' });
    const call = (url, { method = 'POST', token = sign(url), body } = {}) => request(url, {
      method,
      headers: token === null ? {} : { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' },
      body,
    });
    // unknown paths with a valid token
    for (const p of [`/api/hubs/${hub}/no-such-thing`, `/api/hubs/${hub}/connections/x/y/z`, `/api/hubs/${hub}`]) {
      const url = `${srv.url}${p}?api-version=2024-12-01`;
      const res = await call(url, { body: '42["x"]' });
      assert.equal(res.status, 404, `${p}: ${res.status} ${res.body}`);
    }
    // a wrong method on a known path
    const sendUrl = `${srv.url}/api/hubs/${hub}/:send?api-version=2024-12-01`;
    assert.equal((await call(sendUrl, { method: 'GET' })).status, 405);
    // the bearer token
    assert.equal((await call(sendUrl, { body: '42["x"]' })).status, 202);
    for (const [what, token] of [
      ['no token', null],
      ['a wrong key', sign(sendUrl, crypto.randomBytes(32).toString('base64'))],
      ['another URL as audience', sign(`${srv.url}/api/hubs/${hub}_other/:send?api-version=2024-12-01`)],
      ['garbage', 'not.a.token'],
    ]) {
      const res = await call(sendUrl, { token, body: '42["x"]' });
      assert.equal(res.status, 401, `${what}: ${res.status} ${res.body}`);
      assert.match(res.body, /unauthorized/i);
    }
    // a bad bearer token through the SDK too
    const wrong = new WebPubSubServiceClient(`Endpoint=${srv.url};AccessKey=${crypto.randomBytes(32).toString('base64')};Version=1.0;`, hub, INSECURE);
    await assert.rejects(wrong.sendToAll('42["x"]', { contentType: 'text/plain' }), (e) => e.statusCode === 401);
  });
});
