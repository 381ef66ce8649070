// Engine.IO v4 at the wire level (shared/PROTOCOL-NOTES.md items 1-10), with
// raw HTTP requests and a raw WebSocket, asserting exactly what npm's
// engine.io 6.x answers. Where the reference does something one might not
// expect, a comment says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, stopChecked, EIO_PATH } from './lib/server.mjs';
import {
  RS, request, handshake, post, poll, openWs, eioUrl, jsonBody, until, within, sleep,
} from './lib/eio.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv && stopChecked(srv));

const TEXT = 'text/plain; charset=UTF-8';
const err = (code, message) => ({ code, message });
const UNKNOWN_SID = err(1, 'Session ID unknown');
const wsUrl = (query) => eioUrl(srv, { transport: 'websocket', ...query }, { ws: true });

function assertJsonError(res, status, body) {
  assert.equal(res.status, status, `status (body ${JSON.stringify(res.body)})`);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(jsonBody(res), body);
  assert.equal(res.body, JSON.stringify(body)); // compact, code before message
}

async function assertGone(sid) {
  assertJsonError(await poll(srv, sid), 400, UNKNOWN_SID);
}

// A GET held by the server until it has something to send, started now.
function heldPoll(sid) {
  const p = poll(srv, sid, { timeoutMs: 8000 });
  p.catch(() => {}); // observed by the test; avoid an unhandled rejection meanwhile
  return p;
}

// Gives a request just sent time to reach the server before the next one.
// Ordering only: nothing is asserted about how long anything takes.
const settle = () => sleep(100);

// ---- 3. open packet ---------------------------------------------------------

test('polling handshake: 200, text/plain, "0" + the five open fields with their types', async () => {
  const { res, open } = await handshake(srv);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], TEXT);
  assert.equal(res.body[0], '0');
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.equal(typeof open.sid, 'string');
  assert.ok(open.sid.length > 0);
  assert.deepEqual(open.upgrades, ['websocket']);
  // Socket.IO's defaults, with no flags given
  assert.equal(open.pingInterval, 25000);
  assert.equal(open.pingTimeout, 20000);
  assert.equal(open.maxPayload, 1000000);
  // Exactly one packet in the handshake response: no separator.
  assert.ok(!res.body.includes(RS));
});

test('each handshake gets a distinct sid', async () => {
  const sids = new Set();
  for (let i = 0; i < 20; i++) sids.add((await handshake(srv)).sid);
  assert.equal(sids.size, 20);
});

test('websocket handshake: the first frame is a text open packet with upgrades []', async (t) => {
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  const m = await w.next();
  assert.equal(m.binary, false);
  assert.equal(m.data[0], '0');
  const open = JSON.parse(m.data.slice(1));
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.deepEqual(open.upgrades, []);
  assert.equal(open.pingInterval, 25000);
  assert.equal(open.pingTimeout, 20000);
  assert.equal(open.maxPayload, 1000000);
  w.send('4ws');
  assert.deepEqual(await w.next(), { data: '4ws', binary: false });
});

// ---- 4. polling payloads, content types, POST → ok ------------------------------

test('POST answers 200 "ok"; everything buffered comes back in one GET joined by \\x1e', async () => {
  const { sid } = await handshake(srv);
  // text, binary (b + base64), non-ASCII text, an empty text and an empty binary message
  const packets = ['4a', '4b', 'bAQID', '4héllo ✓', '4', 'b', 'b/wAB'];
  const p = await post(srv, sid, packets);
  assert.equal(p.status, 200);
  assert.equal(p.body, 'ok');
  // Surprising but true: engine.io answers a POST with Content-Type
  // text/html (not the text/plain of its GET responses).
  assert.equal(p.headers['content-type'], 'text/html');
  const g = await poll(srv, sid);
  assert.equal(g.status, 200);
  assert.equal(g.headers['content-type'], TEXT);
  assert.equal(g.body, packets.join(RS));
});

test('a held GET is answered as soon as there is something to send', async () => {
  const { sid } = await handshake(srv);
  const g = heldPoll(sid);
  await settle();
  assert.equal((await post(srv, sid, '4wake')).status, 200);
  const r = await g;
  assert.equal(r.status, 200);
  assert.equal(r.body, '4wake');
});

test('one POST may carry many packets; each is echoed once, in order', async () => {
  const { sid } = await handshake(srv);
  const packets = Array.from({ length: 100 }, (_, i) => (i % 3 === 2 ? 'b' + Buffer.from([i]).toString('base64') : `4#${i}`));
  assert.equal((await post(srv, sid, packets)).status, 200);
  assert.equal((await poll(srv, sid)).body, packets.join(RS));
});

// ---- 5. websocket framing ---------------------------------------------------------

test('websocket: one packet per frame, binary messages are binary frames without a type byte', async (t) => {
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  await w.next();
  w.send('4one');
  w.send(Buffer.from([0x34, 0x00, 0xff])); // starts with "4" on purpose
  w.send('4two');
  assert.deepEqual(await w.next(), { data: '4one', binary: false });
  const b = await w.next();
  assert.equal(b.binary, true);
  assert.deepEqual([...b.data], [0x34, 0x00, 0xff]);
  assert.deepEqual(await w.next(), { data: '4two', binary: false });
});

test('polling → websocket: binary sent by POST as b+base64 arrives on the websocket as a binary frame', async (t) => {
  const { sid } = await handshake(srv);
  const w = await openWs(wsUrl({ sid }));
  t.after(() => w.ws.terminate());
  w.send('2probe');
  assert.deepEqual(await w.next(), { data: '3probe', binary: false });
  assert.equal((await post(srv, sid, ['bAQID', '4text'])).status, 200);
  w.send('5');
  const b = await w.next();
  assert.equal(b.binary, true);
  assert.deepEqual([...b.data], [1, 2, 3]);
  assert.deepEqual(await w.next(), { data: '4text', binary: false });
});

// ---- 6. handshake errors ------------------------------------------------------------

const ERROR_CASES = [
  ['unknown transport', 'GET', { transport: 'foo' }, err(0, 'Transport unknown')],
  ['missing transport', 'GET', { transport: undefined }, err(0, 'Transport unknown')],
  ['unknown sid (GET)', 'GET', { sid: 'no-such-sid' }, err(1, 'Session ID unknown')],
  ['unknown sid (POST)', 'POST', { sid: 'no-such-sid' }, err(1, 'Session ID unknown')],
  ['handshake with PUT', 'PUT', {}, err(2, 'Bad handshake method')],
  ['handshake with POST', 'POST', {}, err(2, 'Bad handshake method')],
  ['handshake with DELETE', 'DELETE', {}, err(2, 'Bad handshake method')],
  // An OPTIONS request is just another method when CORS is not configured.
  ['OPTIONS without --cors-origin', 'OPTIONS', {}, err(2, 'Bad handshake method')],
  ['EIO=3', 'GET', { EIO: '3' }, err(5, 'Unsupported protocol version')],
  ['missing EIO (means v3)', 'GET', { EIO: undefined }, err(5, 'Unsupported protocol version')],
  ['EIO=5', 'GET', { EIO: '5' }, err(5, 'Unsupported protocol version')],
  // transport=websocket on a plain GET (no Upgrade header)
  ['websocket transport without upgrade', 'GET', { transport: 'websocket' }, err(3, 'Bad request')],
  // The transport is checked before the protocol version.
  ['unknown transport and EIO=3', 'GET', { transport: 'foo', EIO: '3' }, err(0, 'Transport unknown')],
];

for (const [name, method, query, body] of ERROR_CASES) {
  test(`error: ${name} → 400 ${JSON.stringify(body)}`, async () => {
    const res = await request(eioUrl(srv, query), { method, body: method === 'POST' ? '4x' : undefined });
    assertJsonError(res, 400, body);
  });
}

// A refused WebSocket handshake is a plain HTTP answer: engine.io writes
// 400 with Content-type text/html and the bare message (not JSON).
for (const [name, query, message] of [
  ['unknown sid', { sid: 'no-such-sid' }, 'Session ID unknown'],
  ['unknown transport', { transport: 'foo' }, 'Transport unknown'],
]) {
  test(`error: websocket upgrade with ${name} → HTTP 400 text/html "${message}"`, async () => {
    const e = await openWs(eioUrl(srv, { transport: 'websocket', ...query }, { ws: true })).then(
      (w) => { w.ws.terminate(); return null; },
      (x) => x,
    );
    assert.ok(e, 'the websocket handshake was accepted');
    assert.equal(e.status, 400);
    assert.equal(e.headers['content-type'], 'text/html');
    assert.equal(e.body, message);
  });
}

// ---- 7. overlapping requests, a poller that goes away --------------------------------

test('overlapping GET: the second gets an empty 400, the held one gets "1", the session is gone', async () => {
  const { sid } = await handshake(srv);
  const first = heldPoll(sid);
  await settle();
  const second = await poll(srv, sid);
  assert.equal(second.status, 400);
  // Not a JSON error: engine.io writes a bare 400 with no body here.
  assert.equal(second.body, '');
  const r = await first;
  assert.equal(r.status, 200);
  assert.equal(r.body, '1');
  await assertGone(sid);
});

test('overlapping POST: the second gets an empty 400, a held GET gets "1", the session is gone', async (t) => {
  const { sid } = await handshake(srv);
  const g = heldPoll(sid);
  // The first POST announces 10 bytes and sends 4, so it stays in progress.
  const s = net.connect(srv.port, '127.0.0.1');
  t.after(() => s.destroy());
  s.on('error', () => {});
  const sClosed = new Promise((r) => s.on('close', r));
  await new Promise((r) => s.on('connect', r));
  s.write(`POST ${EIO_PATH}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n` +
    'Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 10\r\n\r\n4abc');
  await settle();
  const second = await post(srv, sid, '4second');
  assert.equal(second.status, 400);
  assert.equal(second.body, '');
  const r = await g;
  assert.equal(r.status, 200);
  assert.equal(r.body, '1');
  await assertGone(sid);
  // The reference drops the unfinished first POST's connection unanswered.
  await within(sClosed, 5000, 'the unfinished POST to be dropped');
});

test('a held GET whose client goes away closes the session', async () => {
  const { sid } = await handshake(srv);
  const ac = new AbortController();
  const g = poll(srv, sid, { signal: ac.signal }).then(() => 'answered', (e) => e.name);
  await settle();
  ac.abort();
  assert.equal(await g, 'AbortError');
  // POSTs are never held, so probing with them cannot take the GET's place.
  const r = await until(async () => {
    const x = await post(srv, sid, '4probe');
    return x.status === 400 ? x : null;
  }, 5000, 'the session to close');
  assertJsonError(r, 400, UNKNOWN_SID);
});

// ---- 8. client close --------------------------------------------------------------

test('client close over polling: POST "1" → "ok", the held GET gets "6", later requests 400', async () => {
  const { sid } = await handshake(srv);
  const g = heldPoll(sid);
  await settle();
  const p = await post(srv, sid, '1');
  assert.equal(p.status, 200);
  assert.equal(p.body, 'ok');
  const r = await g;
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], TEXT);
  assert.equal(r.body, '6');
  await assertGone(sid);
  assertJsonError(await post(srv, sid, '4late'), 400, UNKNOWN_SID);
});

test('client close over polling with no GET held: POST "1" → "ok", then 400', async () => {
  const { sid } = await handshake(srv);
  const p = await post(srv, sid, '1');
  assert.equal(p.status, 200);
  assert.equal(p.body, 'ok');
  await assertGone(sid);
});

test('packets after a close packet in the same POST are ignored', async () => {
  const { sid } = await handshake(srv);
  const p = await post(srv, sid, ['4before', '1', '4after']);
  assert.equal(p.status, 200);
  await assertGone(sid);
});

// Over WebSocket a client closes its session by closing the socket (that is
// what engine.io-client does). Not tested on purpose: a close packet "1" sent
// over a WebSocket. engine.io 6.6 ignores it (the session goes on and echoes
// what follows), while Engine.IO's own protocol test suite expects the socket
// to close (it passes on engine.io only because the session then dies of
// ping timeout); a server may do either.
test('client close over websocket: the client closes the socket → the session is gone', async (t) => {
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  const { sid } = JSON.parse((await w.next()).data.slice(1));
  w.send('4last');
  assert.equal((await w.next()).data, '4last');
  w.ws.close(1000);
  const { code } = await within(w.closed, 5000, 'the close handshake');
  assert.equal(code, 1000); // the server answered our close frame
  const r = await until(async () => {
    const x = await poll(srv, sid);
    return x.status === 400 && jsonBody(x).code === 1 ? x : null;
  }, 5000, 'the session to be forgotten');
  assertJsonError(r, 400, UNKNOWN_SID);
});

test('client going away over websocket (no close frame) also ends the session', async () => {
  const w = await openWs(wsUrl());
  const { sid } = JSON.parse((await w.next()).data.slice(1));
  w.ws.terminate();
  const r = await until(async () => {
    const x = await poll(srv, sid);
    return x.status === 400 && jsonBody(x).code === 1 ? x : null;
  }, 5000, 'the session to be forgotten');
  assertJsonError(r, 400, UNKNOWN_SID);
});

// ---- 9. upgrade -------------------------------------------------------------------

test('upgrade: probe, "6" to held and new GETs, buffer flushed over websocket, polling then refused', async (t) => {
  const { sid } = await handshake(srv);
  const held = heldPoll(sid);
  await settle();
  const w = await openWs(wsUrl({ sid }));
  t.after(() => w.ws.terminate());
  // Nothing is sent on the websocket before the probe (no open packet).
  w.send('2probe');
  assert.deepEqual(await w.next(), { data: '3probe', binary: false });
  const r1 = await held;
  assert.equal(r1.status, 200);
  assert.equal(r1.body, '6');
  const r2 = await poll(srv, sid, { timeoutMs: 5000 }); // a new GET while upgrading
  assert.equal(r2.status, 200);
  assert.equal(r2.body, '6');
  // A message posted while upgrading is echoed into the buffer, which goes
  // out over the websocket once the client sends "5".
  const p = await post(srv, sid, '4buffered');
  assert.equal(p.status, 200);
  assert.equal(p.body, 'ok');
  w.send('5');
  assert.deepEqual(await w.next(), { data: '4buffered', binary: false });
  w.send('4after');
  assert.deepEqual(await w.next(), { data: '4after', binary: false });
  // The session now lives on the websocket: polling with its sid is a
  // transport mismatch (code 3), not an unknown session.
  assertJsonError(await poll(srv, sid), 400, err(3, 'Bad request'));
  assertJsonError(await post(srv, sid, '4x'), 400, err(3, 'Bad request'));
  // A second websocket for the same sid is closed at once...
  const w2 = await openWs(wsUrl({ sid }));
  t.after(() => w2.ws.terminate());
  const c2 = await within(w2.closed, 5000, 'the second websocket to be closed');
  assert.ok(c2.code === 1005 || c2.code === 1000, `close code ${c2.code}`);
  // ...and the first one is untouched.
  w.send('4still');
  assert.deepEqual(await w.next(), { data: '4still', binary: false });
});

test('upgrade: a second websocket for the same sid while the first is upgrading is closed', async (t) => {
  const { sid } = await handshake(srv);
  const w = await openWs(wsUrl({ sid }));
  t.after(() => w.ws.terminate());
  w.send('2probe');
  assert.equal((await w.next()).data, '3probe');
  const w2 = await openWs(wsUrl({ sid }));
  t.after(() => w2.ws.terminate());
  await within(w2.closed, 5000, 'the second websocket to be closed');
  w.send('5');
  w.send('4ok');
  assert.deepEqual(await w.next(), { data: '4ok', binary: false });
});

test('upgrade: a probe that sends anything but "2probe" is closed; the session goes on polling and upgrades later', async (t) => {
  const { sid } = await handshake(srv);
  const w = await openWs(wsUrl({ sid }));
  t.after(() => w.ws.terminate());
  w.send('4not-a-probe');
  await within(w.closed, 5000, 'the failed probe to be closed');
  assert.equal((await post(srv, sid, '4still-polling')).status, 200);
  assert.equal((await poll(srv, sid)).body, '4still-polling');
  const w2 = await openWs(wsUrl({ sid }));
  t.after(() => w2.ws.terminate());
  w2.send('2probe');
  assert.equal((await w2.next()).data, '3probe');
  w2.send('5');
  w2.send('4upgraded');
  assert.deepEqual(await w2.next(), { data: '4upgraded', binary: false });
});

test('upgrade: a session closed by its client while a probe is open closes the probe too', async (t) => {
  const { sid } = await handshake(srv);
  const w = await openWs(wsUrl({ sid }));
  t.after(() => w.ws.terminate());
  w.send('2probe');
  assert.equal((await w.next()).data, '3probe');
  assert.equal((await post(srv, sid, '1')).status, 200);
  await within(w.closed, 5000, 'the probe to be closed with its session');
  await assertGone(sid);
});

test('upgrade: messages before the upgrade are answered over polling, the session continues on websocket', async (t) => {
  const { sid } = await handshake(srv);
  assert.equal((await post(srv, sid, '4early')).status, 200);
  assert.equal((await poll(srv, sid)).body, '4early');
  const w = await openWs(wsUrl({ sid }));
  t.after(() => w.ws.terminate());
  w.send('2probe');
  assert.equal((await w.next()).data, '3probe');
  w.send('5');
  w.send(Buffer.from([7, 7]));
  const b = await w.next();
  assert.equal(b.binary, true);
  assert.deepEqual([...b.data], [7, 7]);
});

// ---- 1. client-sent ping, 2. unknown packet type ------------------------------------

test('a client-sent ping "2" over polling is a protocol error: "ok", the held GET gets "1", session gone', async () => {
  const { sid } = await handshake(srv);
  const g = heldPoll(sid);
  await settle();
  // The POST itself is still answered 200 "ok" by the reference.
  const p = await post(srv, sid, '2');
  assert.equal(p.status, 200);
  assert.equal(p.body, 'ok');
  const r = await g;
  assert.equal(r.status, 200);
  assert.equal(r.body, '1');
  await assertGone(sid);
});

test('a client-sent ping "2" over websocket closes the socket', async (t) => {
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  const { sid } = JSON.parse((await w.next()).data.slice(1));
  w.send('2');
  const { code } = await within(w.closed, 5000, 'the websocket to be closed');
  assert.ok(code === 1005 || code === 1000, `close code ${code}`);
  await assertGone(sid);
});

test('"2probe" on a session that is already a websocket is a ping too: closed', async (t) => {
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  await w.next();
  w.send('2probe');
  await within(w.closed, 5000, 'the websocket to be closed');
});

for (const bad of ['9', '7x', '']) {
  test(`unknown packet type ${JSON.stringify(bad)} over polling: "ok", then the session is gone`, async () => {
    const { sid } = await handshake(srv);
    const p = await post(srv, sid, bad);
    assert.equal(p.status, 200);
    assert.equal(p.body, 'ok');
    await assertGone(sid);
  });
}

test('unknown packet type over websocket closes the socket', async (t) => {
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  const { sid } = JSON.parse((await w.next()).data.slice(1));
  w.send('9');
  await within(w.closed, 5000, 'the websocket to be closed');
  await assertGone(sid);
});

test('a pong "3" with no ping outstanding is harmless', async (t) => {
  const { sid } = await handshake(srv);
  assert.equal((await post(srv, sid, ['3', '4x'])).status, 200);
  assert.equal((await poll(srv, sid)).body, '4x');
  const w = await openWs(wsUrl());
  t.after(() => w.ws.terminate());
  await w.next();
  w.send('3');
  w.send('4y');
  assert.deepEqual(await w.next(), { data: '4y', binary: false });
});

test('noop "6" from the client is ignored', async () => {
  const { sid } = await handshake(srv);
  assert.equal((await post(srv, sid, ['6', '4x'])).status, 200);
  assert.equal((await poll(srv, sid)).body, '4x');
});

// ---- CORS -----------------------------------------------------------------------------

const A = 'http://a.example';
const B = 'http://b.example';
const C = 'http://c.example';

test('CORS off (no --cors-origin): no Access-Control-* headers', async () => {
  const { res } = await handshake(srv, {}, { Origin: A });
  for (const h of Object.keys(res.headers)) assert.ok(!h.startsWith('access-control-'), h);
});

test('CORS with listed origins: echo a listed Origin with credentials; others get no ACAO', async (t) => {
  const s = await startServer({ args: ['--cors-origin', A, '--cors-origin', B] });
  t.after(() => stopChecked(s));
  for (const o of [A, B]) {
    const { res } = await handshake(s, {}, { Origin: o });
    assert.equal(res.headers['access-control-allow-origin'], o);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.match(res.headers.vary || '', /\bOrigin\b/);
  }
  const { res, sid } = await handshake(s, {}, { Origin: C });
  assert.equal(res.status, 200); // CORS is the browser's business: the request is served
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  assert.match(res.headers.vary || '', /\bOrigin\b/);
  // POST, GET and error responses carry the headers too.
  const p = await post(s, sid, '4x', { headers: { Origin: A } });
  assert.equal(p.headers['access-control-allow-origin'], A);
  const g = await poll(s, sid, { headers: { Origin: A } });
  assert.equal(g.headers['access-control-allow-origin'], A);
  assert.equal(g.body, '4x');
  const e = await request(eioUrl(s, { transport: 'foo' }), { headers: { Origin: B } });
  assert.equal(e.status, 400);
  assert.equal(e.headers['access-control-allow-origin'], B);
  assert.equal(e.headers['access-control-allow-credentials'], 'true');
});

test('CORS with listed origins: preflight OPTIONS → 204 with the allowed methods and headers', async (t) => {
  const s = await startServer({ args: ['--cors-origin', A] });
  t.after(() => stopChecked(s));
  const r = await request(eioUrl(s), {
    method: 'OPTIONS',
    headers: { Origin: A, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  assert.equal(r.status, 204);
  assert.equal(r.body, '');
  assert.equal(r.headers['access-control-allow-origin'], A);
  assert.equal(r.headers['access-control-allow-credentials'], 'true');
  assert.equal(r.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE');
  assert.equal(r.headers['access-control-allow-headers'], 'content-type');
  // A preflight is not an Engine.IO request: no session was made, no JSON error.
  const r2 = await request(eioUrl(s), { method: 'OPTIONS', headers: { Origin: C, 'Access-Control-Request-Method': 'POST' } });
  assert.equal(r2.status, 204);
  assert.equal(r2.headers['access-control-allow-origin'], undefined);
});

test('CORS "*": Access-Control-Allow-Origin: * without credentials; preflight 204', async (t) => {
  const s = await startServer({ args: ['--cors-origin', '*'] });
  t.after(() => stopChecked(s));
  for (const headers of [{ Origin: A }, { Origin: C }, {}]) {
    const { res } = await handshake(s, {}, headers);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  }
  const r = await request(eioUrl(s), {
    method: 'OPTIONS',
    headers: { Origin: C, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-custom' },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.equal(r.headers['access-control-allow-credentials'], undefined);
  assert.equal(r.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE');
  assert.equal(r.headers['access-control-allow-headers'], 'x-custom');
});
