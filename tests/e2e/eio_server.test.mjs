// The process contract: the server says `listening on http://HOST:PORT` on
// stderr once it accepts connections, and exits with code 0 after SIGTERM
// even with clients connected (under ASan, a leak at exit fails this too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopChecked } from './lib/server.mjs';
import {
  client, opened, collect, next, handshake, post, poll, openWs, eioUrl, within, sleep,
} from './lib/eio.mjs';

test('prints "listening on http://127.0.0.1:<port>" to stderr and serves the endpoint', async (t) => {
  const srv = await startServer();
  t.after(() => stopChecked(srv));
  assert.match(srv.stderr(), new RegExp(`listening on http://127\\.0\\.0\\.1:${srv.port}\\b`));
  const { open } = await handshake(srv);
  assert.equal(typeof open.sid, 'string');
});

test('exits with code 0 on SIGTERM with polling, websocket and upgrading clients connected', async (t) => {
  const srv = await startServer({ args: ['--ping-interval', '60000', '--ping-timeout', '60000'] });
  t.after(() => srv.stop());
  const closes = [];
  const track = (c) => { closes.push(next(c, 'close', 10000)); return c; };

  const polling = track(client(t, srv, { transports: ['polling'] }));
  const ws = track(client(t, srv, { transports: ['websocket'] }));
  const upgraded = track(client(t, srv));
  const upgradedDone = next(upgraded, 'upgrade', 10000);
  await Promise.all([opened(polling), opened(ws), opened(upgraded)]);
  await upgradedDone;
  for (const c of [polling, ws, upgraded]) {
    const got = collect(c, 1);
    c.send('hi');
    assert.deepEqual(await got, ['hi']);
  }
  // Raw sessions in awkward states: a held GET, a websocket in the middle of
  // its upgrade, a message the echo has buffered but nobody has fetched.
  const held = await handshake(srv);
  const heldGet = poll(srv, held.sid, { timeoutMs: 10000 }).then(() => 'answered', () => 'dropped');
  const mid = await handshake(srv);
  const w = await openWs(eioUrl(srv, { transport: 'websocket', sid: mid.sid }, { ws: true }));
  t.after(() => w.ws.terminate());
  w.send('2probe');
  assert.equal((await w.next()).data, '3probe');
  const buffered = await handshake(srv);
  assert.equal((await post(srv, buffered.sid, '4unread')).status, 200);
  await sleep(100); // lets the held GET reach the server (ordering only)

  const r = await srv.stop();
  assert.equal(r.signal, null, `killed by ${r.signal}:\n${r.stderr}`);
  assert.equal(r.code, 0, `exit code ${r.code}:\n${r.stderr}`);
  // Every client learns that its session ended and nothing is left hanging.
  await within(Promise.all(closes), 10000, 'every client to see its session close');
  assert.ok(['answered', 'dropped'].includes(await heldGet));
  await within(w.closed, 5000, 'the upgrading websocket to close');
});
