// 2,000 concurrent WebSocket sessions (engine.io-client), opened in batches,
// all open at the same time, each exchanging a few messages that must all
// come back to the right client, then all closed; the server must still
// serve afterwards and exit cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './lib/server.mjs';
import { client, opened, collect, within, until, poll, jsonBody, handshake } from './lib/eio.mjs';

const SESSIONS = 2000;
const BATCH = 200;
const MESSAGES = 3;

test(`${SESSIONS} concurrent websocket sessions, each echoing ${MESSAGES} messages`, { timeout: 60000 }, async (t) => {
  const srv = await withServer(t, { args: ['--ping-interval', '20000', '--ping-timeout', '20000'] });
  const socks = [];
  t.after(() => { for (const s of socks) s.close(); });

  for (let i = 0; i < SESSIONS; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(i + BATCH, SESSIONS); j++) {
      const s = client(null, srv, { transports: ['websocket'] });
      socks.push(s);
      batch.push(opened(s, 20000));
    }
    await Promise.all(batch);
  }
  const sids = new Set(socks.map((s) => s.id));
  assert.equal(sids.size, SESSIONS, 'every session has its own sid');
  let unexpectedClose = 0;
  for (const s of socks) s.on('close', () => { unexpectedClose++; });

  // All sessions are open now; every one sends its messages at once.
  const results = socks.map((s, i) => {
    const got = collect(s, MESSAGES, 30000);
    for (let k = 0; k < MESSAGES; k++) s.send(k === 1 ? Buffer.from(`bin ${i}`) : `client ${i} message ${k}`);
    return got;
  });
  const all = await within(Promise.all(results), 30000, 'all echoes');
  all.forEach((got, i) => {
    assert.equal(got[0], `client ${i} message 0`);
    assert.ok(Buffer.isBuffer(got[1]) && got[1].toString() === `bin ${i}`, `client ${i} binary echo`);
    assert.equal(got[2], `client ${i} message 2`);
  });
  assert.equal(unexpectedClose, 0, 'no session closed during the exchange');

  // Close them all; the server forgets every session.
  for (const s of socks) s.removeAllListeners('close');
  for (const s of socks) s.close();
  const sample = [...sids].filter((_, i) => i % 100 === 0);
  await until(async () => {
    for (const sid of sample) {
      const r = await poll(srv, sid);
      if (!(r.status === 400 && jsonBody(r).code === 1)) return false;
    }
    return true;
  }, 20000, 'the closed sessions to be forgotten');
  // Still serving.
  const { open } = await handshake(srv);
  assert.equal(typeof open.sid, 'string');
});
