// maxPayload (--max-payload 100000): payloads near the limit pass on both
// transports; a polling POST over it gets an empty 413 and the session lives
// on; a WebSocket message over it closes the socket with 1009.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopChecked } from './lib/server.mjs';
import {
  client, opened, collect, handshake, post, poll, openWs, eioUrl, jsonBody, until, within,
} from './lib/eio.mjs';

const MAX = 100000;
let srv;
before(async () => { srv = await startServer({ args: ['--max-payload', String(MAX)] }); });
after(() => srv && stopChecked(srv));

function pattern(n) {
  // Varied text (not one repeated byte) so that truncation or reordering shows.
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${i},`;
  return s.slice(0, n);
}

test('the open packet advertises maxPayload', async () => {
  const { open } = await handshake(srv);
  assert.equal(open.maxPayload, MAX);
});

for (const transport of ['polling', 'websocket']) {
  test(`${transport}: a ~90 KB text message and a 70 KB binary message are echoed`, async (t) => {
    const c = client(t, srv, { transports: [transport] });
    await opened(c);
    const text = pattern(90000);
    // 70 KB of binary is ~93 KB once polling base64-encodes it: still under.
    const bin = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7) & 0xff));
    const got = collect(c, 2, 10000);
    c.send(text);
    c.send(bin);
    const [t1, b1] = await got;
    assert.equal(t1.length, text.length);
    assert.ok(t1 === text, 'text echo differs');
    assert.ok(Buffer.isBuffer(b1));
    assert.ok(b1.equals(bin), 'binary echo differs');
  });
}

test('polling: a POST of exactly maxPayload bytes is accepted and echoed', async () => {
  const { sid } = await handshake(srv);
  const body = '4' + pattern(MAX - 1);
  const r = await post(srv, sid, body);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok');
  const g = await poll(srv, sid);
  assert.equal(g.status, 200);
  assert.ok(g.body === body, `echo differs (length ${g.body.length})`);
});

test('polling: a POST over maxPayload gets 413 with an empty body and the session still works', async () => {
  const { sid } = await handshake(srv);
  const r = await post(srv, sid, '4' + pattern(MAX)); // MAX + 1 bytes
  assert.equal(r.status, 413);
  assert.equal(r.body, '');
  // The session is still alive: a normal POST and GET work.
  const ok = await post(srv, sid, '4still here');
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok');
  const g = await poll(srv, sid);
  assert.equal(g.status, 200);
  assert.equal(g.body, '4still here');
});

test('polling: a much larger POST (1 MB) also gets 413 and the session lives', async () => {
  const { sid } = await handshake(srv);
  const r = await post(srv, sid, '4' + 'x'.repeat(1000000));
  assert.equal(r.status, 413);
  const ok = await post(srv, sid, '4again');
  assert.equal(ok.status, 200);
  assert.equal((await poll(srv, sid)).body, '4again');
});

test('polling: several packets summing over maxPayload in one POST get 413', async () => {
  const { sid } = await handshake(srv);
  const half = '4' + pattern(MAX / 2);
  const r = await post(srv, sid, [half, half]);
  assert.equal(r.status, 413);
  const ok = await post(srv, sid, '4fine');
  assert.equal(ok.status, 200);
  assert.equal((await poll(srv, sid)).body, '4fine');
});

test('websocket: a frame of exactly maxPayload bytes is echoed (text and binary)', async (t) => {
  const w = await openWs(eioUrl(srv, { transport: 'websocket' }, { ws: true }));
  t.after(() => w.ws.terminate());
  await w.next(); // open packet
  const text = '4' + pattern(MAX - 1);
  w.send(text);
  const m = await w.next();
  assert.equal(m.binary, false);
  assert.ok(m.data === text, 'text echo differs');
  const bin = Buffer.alloc(MAX, 0xab);
  w.send(bin);
  const b = await w.next();
  assert.equal(b.binary, true);
  assert.ok(b.data.equals(bin), 'binary echo differs');
});

for (const kind of ['text', 'binary']) {
  test(`websocket: a ${kind} frame over maxPayload closes the socket with 1009 and ends the session`, async (t) => {
    const w = await openWs(eioUrl(srv, { transport: 'websocket' }, { ws: true }));
    t.after(() => w.ws.terminate());
    const open = JSON.parse((await w.next()).data.slice(1));
    w.send(kind === 'text' ? '4' + pattern(MAX) : Buffer.alloc(MAX + 1, 1));
    const { code } = await within(w.closed, 5000, 'the websocket to close');
    assert.equal(code, 1009);
    const r = await until(async () => {
      const x = await poll(srv, open.sid);
      return x.status === 400 && jsonBody(x).code === 1 ? x : null;
    }, 5000, 'the session to be gone');
    assert.deepEqual(jsonBody(r), { code: 1, message: 'Session ID unknown' });
  });
}
