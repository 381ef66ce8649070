// Heartbeat (Engine.IO v4: server pings, client pongs), with pingInterval
// 300 ms and pingTimeout 200 ms. A client that answers keeps its session for
// as long as it likes; one that does not is closed pingTimeout after the
// ping it ignored. No assertion here is about time: the timeouts only bound
// the waits, and the one sleep leaves a wide margin past the deadline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopChecked } from './lib/server.mjs';
import {
  client, opened, collect, handshake, post, poll, openWs, eioUrl, jsonBody, within, sleep,
} from './lib/eio.mjs';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
let srv;
before(async () => {
  srv = await startServer({ args: ['--ping-interval', String(PING_INTERVAL), '--ping-timeout', String(PING_TIMEOUT)] });
});
after(() => srv && stopChecked(srv));

const UNKNOWN_SID = { code: 1, message: 'Session ID unknown' };

test('the open packet carries the configured heartbeat values', async () => {
  const { open } = await handshake(srv);
  assert.equal(open.pingInterval, PING_INTERVAL);
  assert.equal(open.pingTimeout, PING_TIMEOUT);
});

for (const transport of ['polling', 'websocket']) {
  test(`${transport}: engine.io-client answers pings and stays up for 3 intervals`, async (t) => {
    const c = client(t, srv, { transports: [transport] });
    let closed = null;
    c.on('close', (reason) => { closed = reason; });
    let pings = 0;
    const third = new Promise((resolve) => c.on('ping', () => { if (++pings === 3) resolve(); }));
    await opened(c);
    await within(third, 10 * PING_INTERVAL + 5000, '3 pings from the server');
    assert.equal(closed, null, `the session closed: ${closed}`);
    assert.equal(c.readyState, 'open');
    const got = collect(c, 1);
    c.send('still alive');
    assert.deepEqual(await got, ['still alive']);
  });
}

test('raw websocket: the server sends "2", a client answering "3" keeps the session', async (t) => {
  const w = await openWs(eioUrl(srv, { transport: 'websocket' }, { ws: true }));
  t.after(() => w.ws.terminate());
  await w.next(); // open
  for (let i = 0; i < 3; i++) {
    const m = await w.next(PING_INTERVAL + 5000);
    assert.deepEqual(m, { data: '2', binary: false });
    w.send('3');
  }
  w.send('4alive');
  let m = await w.next();
  while (m.data === '2') { w.send('3'); m = await w.next(); }
  assert.equal(m.data, '4alive');
});

test('raw websocket: a client that never answers is closed after the ping timeout', async (t) => {
  const w = await openWs(eioUrl(srv, { transport: 'websocket' }, { ws: true }));
  t.after(() => w.ws.terminate());
  const { sid } = JSON.parse((await w.next()).data.slice(1));
  assert.equal((await w.next(PING_INTERVAL + 5000)).data, '2');
  const { code } = await within(w.closed, PING_TIMEOUT + 5000, 'the server to close the websocket');
  // The reference closes with an empty close frame (1005); a close frame
  // with 1000 would be as good. 1006 (no close frame) would not.
  assert.ok(code === 1005 || code === 1000, `close code ${code}`);
  const r = await poll(srv, sid);
  assert.equal(r.status, 400);
  assert.deepEqual(jsonBody(r), UNKNOWN_SID);
});

test('raw polling: a client answering each ping with a POST "3" keeps the session', async () => {
  const { sid } = await handshake(srv);
  for (let i = 0; i < 3; i++) {
    const g = await poll(srv, sid, { timeoutMs: PING_INTERVAL + 5000 });
    assert.equal(g.status, 200);
    assert.equal(g.body, '2');
    const p = await post(srv, sid, '3');
    assert.equal(p.status, 200);
    assert.equal(p.body, 'ok');
  }
  assert.equal((await post(srv, sid, '4alive')).status, 200);
  // The echo may share a response with (or follow) another ping.
  let seen = [];
  while (!seen.includes('4alive')) {
    const g = await poll(srv, sid, { timeoutMs: PING_INTERVAL + 5000 });
    assert.equal(g.status, 200, g.body);
    seen = g.body.split('\x1e');
    if (seen.includes('2')) await post(srv, sid, '3');
  }
});

test('raw polling: no pong, GET held → the held GET gets "1" and the session is gone', async () => {
  const { sid } = await handshake(srv);
  const g1 = await poll(srv, sid, { timeoutMs: PING_INTERVAL + 5000 });
  assert.equal(g1.body, '2');
  // Do not answer; hold the next GET. The reference answers it with a close
  // packet when the ping timeout fires.
  const g2 = await poll(srv, sid, { timeoutMs: PING_TIMEOUT + 5000 });
  assert.equal(g2.status, 200);
  assert.equal(g2.body, '1');
  const g3 = await poll(srv, sid);
  assert.equal(g3.status, 400);
  assert.equal(g3.headers['content-type'], 'application/json');
  assert.deepEqual(jsonBody(g3), UNKNOWN_SID);
});

test('raw polling: no pong and no GET held → a request after the deadline gets 400 "Session ID unknown"', async () => {
  const { sid } = await handshake(srv);
  const g1 = await poll(srv, sid, { timeoutMs: PING_INTERVAL + 5000 });
  assert.equal(g1.body, '2');
  // The deadline is PING_TIMEOUT after that ping; wait well past it.
  await sleep(PING_TIMEOUT + 500);
  const g2 = await poll(srv, sid, { timeoutMs: 5000 });
  assert.equal(g2.status, 400);
  assert.deepEqual(jsonBody(g2), UNKNOWN_SID);
  const p = await post(srv, sid, '3'); // a late pong does not revive it
  assert.equal(p.status, 400);
  assert.deepEqual(jsonBody(p), UNKNOWN_SID);
});
