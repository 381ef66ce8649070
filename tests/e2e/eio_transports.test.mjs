// Engine.IO echo driven by the real npm client (engine.io-client): polling
// only, WebSocket only, upgrade from polling to WebSocket, text and binary
// in both directions, and a client closing its session on each transport.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopChecked } from './lib/server.mjs';
import { client, opened, collect, next, until, within, poll, jsonBody } from './lib/eio.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv && stopChecked(srv));

const TEXTS = ['hello', 'héllo ✓ 😀', '{"json":[1,2,3]}', 'a\nb\tc', '4 looks like a packet type'];

// Sends each message in the same tick (so the client batches them into one
// POST or a burst of frames) and expects every echo, in order.
async function echoes(sock, msgs) {
  const got = collect(sock, msgs.length);
  for (const m of msgs) sock.send(m);
  return got;
}

function sameBinary(got, want) {
  assert.ok(Buffer.isBuffer(got), `expected binary back, got ${typeof got}: ${String(got)}`);
  assert.deepEqual([...got], [...want]);
}

for (const transport of ['polling', 'websocket']) {
  test(`${transport} only: open, echo one text message`, async (t) => {
    const c = client(t, srv, { transports: [transport] });
    await opened(c);
    assert.equal(c.transport.name, transport);
    assert.equal(typeof c.id, 'string');
    assert.ok(c.id.length > 0);
    assert.deepEqual(await echoes(c, ['hello']), ['hello']);
  });

  test(`${transport} only: several messages sent at once all come back in order`, async (t) => {
    const c = client(t, srv, { transports: [transport] });
    await opened(c);
    assert.deepEqual(await echoes(c, TEXTS), TEXTS);
    // and a second round on the same session
    const more = Array.from({ length: 20 }, (_, i) => `msg ${i}`);
    assert.deepEqual(await echoes(c, more), more);
  });

  test(`${transport} only: binary in both directions (Buffer and ArrayBuffer)`, async (t) => {
    const c = client(t, srv, { transports: [transport] });
    await opened(c);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const ab = new Uint8Array([9, 8, 7, 0, 255]).buffer;
    const got = await echoes(c, [all, ab, 'text between', Buffer.from([0])]);
    sameBinary(got[0], all);
    sameBinary(got[1], new Uint8Array(ab));
    assert.equal(got[2], 'text between'); // text stays text
    sameBinary(got[3], [0]);
  });

  test(`${transport} only: client close ends the session`, async (t) => {
    const c = client(t, srv, { transports: [transport] });
    await opened(c);
    const sid = c.id;
    assert.deepEqual(await echoes(c, ['before close']), ['before close']);
    const closed = next(c, 'close');
    c.close();
    const [reason] = await closed;
    assert.equal(reason, 'forced close');
    // The server forgets the session: a polling request with its sid is
    // refused as unknown. Over WebSocket the server learns of the close
    // asynchronously; until then the sid still names a WebSocket session,
    // which a polling request gets 400 code 3 for, so wait for code 1.
    const res = await until(async () => {
      const r = await poll(srv, sid);
      return r.status === 400 && jsonBody(r).code === 1 ? r : null;
    }, 5000, 'the session to be forgotten');
    assert.deepEqual(jsonBody(res), { code: 1, message: 'Session ID unknown' });
  });
}

test('upgrade polling → websocket: messages before and after, text and binary', async (t) => {
  const c = client(t, srv); // default transports: polling first, then upgrade
  const upgraded = next(c, 'upgrade', 10000);
  await opened(c);
  assert.equal(c.transport.name, 'polling');
  assert.deepEqual(await echoes(c, ['before 1', 'before 2']), ['before 1', 'before 2']);
  const tr = await upgraded;
  assert.equal(tr.name, 'websocket');
  assert.equal(c.transport.name, 'websocket');
  const got = await echoes(c, ['after 1', Buffer.from([1, 2, 3]), 'after 2']);
  assert.equal(got[0], 'after 1');
  sameBinary(got[1], [1, 2, 3]);
  assert.equal(got[2], 'after 2');
});

test('messages sent while the upgrade is in progress are all echoed once, in order', async (t) => {
  const c = client(t, srv);
  await opened(c);
  let upgraded = false;
  c.on('upgrade', () => { upgraded = true; });
  const got = [];
  const last = new Promise((resolve) => {
    c.on('message', (d) => { got.push(d); if (d === 'last') resolve(); });
  });
  // Keep sending from open until the upgrade has happened, so that messages
  // and their echoes cross the probe, the noop and the switch.
  const sent = [];
  const end = Date.now() + 10000;
  while (!upgraded && Date.now() < end) {
    const m = `m${sent.length}`;
    sent.push(m);
    c.send(m);
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.ok(upgraded, 'the client did not upgrade within 10 s');
  sent.push('last');
  c.send('last');
  await within(last, 10000, `the echo of "last" (${got.length}/${sent.length} echoes so far)`);
  assert.deepEqual(got, sent);
  assert.equal(c.transport.name, 'websocket');
});
