// Socket.IO v5 at the wire level against `--app protocol` (shared/
// PROTOCOL-NOTES.md items 11-17 and "The protocol reference app"), with a
// raw Engine.IO client over HTTP long-polling and over WebSocket, asserting
// the bytes that npm's socket.io 4 sends. Packets in this file are written as
// Engine.IO packets: '40' is an Engine.IO message ('4') holding the
// Socket.IO CONNECT '0'. Where the reference does something one might not
// expect, a comment says so.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopChecked, session, openSession, request, sioUrl, within, until,
} from './lib/sio.mjs';

const ARGS = ['--ping-interval', '300', '--ping-timeout', '200', '--connect-timeout', '1000',
  '--max-payload', '1000000', '--cors-origin', '*'];

let srv;
before(async () => { srv = await startServer({ app: 'protocol', args: ARGS }); });
after(() => srv && stopChecked(srv));

const UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';
const PH = (num) => `{"_placeholder":true,"num":${num}}`;

/** Next packet's text, and that it is exactly `want` (string) or matches it (RegExp). */
async function expectText(s, want, what = 'packet') {
  const p = await s.next();
  if (want instanceof RegExp) assert.match(p.text, want, what);
  else assert.equal(p.text, want, what);
  return p;
}

/**
 * Sends the CONNECT for nsp (with an optional auth payload as JSON text) and
 * checks the answer `0[<nsp>,]{"sid":"..."}` and the app's "auth" event.
 * Returns the socket id.
 */
async function join(s, nsp = '/', authJson = '', expectAuth = authJson || '{}') {
  const prefix = nsp === '/' ? '' : `${nsp},`;
  await s.send(`40${prefix}${authJson}`);
  const p = await s.next();
  assert.equal(p.type, 0, `CONNECT answer, got ${p.text}`);
  assert.equal(p.nsp, nsp);
  assert.deepEqual(Object.keys(p.data), ['sid'], `only "sid" when recovery is off: ${p.text}`);
  const sid = p.data.sid;
  assert.equal(typeof sid, 'string');
  assert.ok(sid.length > 0);
  assert.equal(p.text, `0${prefix}{"sid":"${sid}"}`); // compact JSON
  await expectText(s, `2${prefix}["auth",${expectAuth}]`, 'the auth event');
  return sid;
}

/**
 * A round trip that guarantees the packets sent before it were handled: a
 * CONNECT to an unknown namespace, answered at once. (The reference handles
 * a namespace's packets on the next tick but a CONNECT immediately, so a
 * CONNECT right behind a DISCONNECT in the same read would find the socket
 * still there and close the session; the barrier keeps the tests off that
 * race.)
 */
async function barrier(s) {
  await s.send('40/barrier,');
  await expectText(s, '4/barrier,{"message":"Invalid namespace"}', 'the barrier');
}

/** The session ends from the server's side, with nothing sent before, and is gone. */
async function expectServerClose(s) {
  const info = await s.waitClosed(5000);
  if (s.transport === 'polling') {
    // The pending GET is answered with the close packet "1" (or, when no GET
    // was pending at that moment, the next one gets 400).
    assert.ok(info.by === 'close-packet' || (info.by === 'http' && info.status === 400),
      `closed how: ${JSON.stringify(info)}`);
  } else {
    // The reference closes the WebSocket with an empty close frame (1005)
    // and sends no "1" first; a close frame with 1000 would be as good.
    assert.equal(info.by, 'ws-close', `closed how: ${JSON.stringify(info)}`);
    assert.ok(info.code === 1005 || info.code === 1000, `close code ${info.code}`);
  }
  const res = await request(sioUrl(srv, { sid: s.sid }));
  assert.equal(res.status, 400);
  assert.equal(res.body, UNKNOWN_SID);
}

/** The session is alive and "/" answers: a message comes back. */
async function expectAlive(s, marker = 'alive') {
  await s.send(`42["message","${marker}"]`);
  await expectText(s, `2["message-back","${marker}"]`, 'the message-back marker');
}

for (const transport of ['polling', 'websocket']) {
  describe(`${transport}`, () => {
    const open = (t) => session(t, srv, { transport });

    test('CONNECT to "/" answers 0{"sid"} with a new id, then the "auth" event with {}', async (t) => {
      const s = await open(t);
      const sid = await join(s);
      assert.notEqual(sid, s.sid, 'the socket id is not the Engine.IO sid');
      assert.equal(s.pending(), 0);
    });

    test('CONNECT to /custom, with and without the comma, answers with the namespace', async (t) => {
      const s = await open(t);
      const root = await join(s);
      const custom = await join(s, '/custom');
      assert.notEqual(custom, root, 'one id per namespace');
      assert.notEqual(custom, s.sid);

      const s2 = await open(t);
      await s2.send('40/custom'); // clients may leave the comma out
      const p = await s2.next();
      assert.match(p.text, /^0\/custom,\{"sid":"[^"]+"\}$/);
      await expectText(s2, '2/custom,["auth",{}]');
    });

    test('the CONNECT payload is the handshake auth', async (t) => {
      const s = await open(t);
      await join(s, '/', '{"token":"abc","n":1,"nested":{"a":[true,null]}}');
      await join(s, '/custom', '{"token":"xyz"}');
    });

    test('an unknown namespace gets CONNECT_ERROR "Invalid namespace"; the session stays', async (t) => {
      const s = await open(t);
      await s.send('40/nope,');
      await expectText(s, '4/nope,{"message":"Invalid namespace"}');
      await s.send('40/other'); // no comma
      await expectText(s, '4/other,{"message":"Invalid namespace"}');
      await s.send('40/custom/deeper,{"a":1}');
      await expectText(s, '4/custom/deeper,{"message":"Invalid namespace"}');
      await join(s);
      await expectAlive(s);
    });

    test('message → message-back with the same arguments', async (t) => {
      const s = await open(t);
      await join(s);
      const args = '"hello",1,-2.5,true,false,null,{"a":[1,2,{"b":"c"}],"e":{}},["x"],[]';
      await s.send(`42["message",${args}]`);
      await expectText(s, `2["message-back",${args}]`);
      await s.send('42["message"]');
      await expectText(s, '2["message-back"]');
      // Unicode and escapes: compare the values (a server may escape them).
      const u = ['héllo ☃ 😀', 'quote " backslash \\ newline \n tab \t', '\u0001'];
      await s.send(`42${JSON.stringify(['message', ...u])}`);
      const p = await s.next();
      assert.equal(p.type, 2);
      assert.deepEqual(p.data, ['message-back', ...u]);
    });

    test('message → message-back with binary: placeholders and attachments in order', async (t) => {
      const s = await open(t);
      await join(s);
      const one = Buffer.from([0, 1, 2, 3, 255]);
      await s.send(`451-["message",${PH(0)}]`, one);
      let p = await expectText(s, `51-["message-back",${PH(0)}]`);
      assert.deepEqual(p.buffers, [one]);

      // Nested, mixed with text, one attachment empty.
      const bufs = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(3000, 7)];
      const json = `["message","txt",{"a":{"b":${PH(0)}},"list":[${PH(1)},2]},${PH(2)}]`;
      await s.send(`453-${json}`, ...bufs);
      p = await expectText(s, `53-${json.replace('"message"', '"message-back"')}`);
      assert.deepEqual(p.buffers, bufs);
      assert.deepEqual(p.data, ['message-back', 'txt', { a: { b: bufs[0] }, list: [bufs[1], 2] }, bufs[2]]);
    });

    test('binary attachments referenced out of order come back as the same values', async (t) => {
      const s = await open(t);
      await join(s);
      const a = Buffer.from('A');
      const b = Buffer.from('BB');
      await s.send(`452-["message",${PH(1)},${PH(0)}]`, a, b);
      const p = await s.next();
      assert.equal(p.type, 5);
      assert.equal(p.attachments, 2);
      // The reference renumbers them in order of appearance (b, then a);
      // only the decoded values are asserted.
      assert.deepEqual(p.data, ['message-back', b, a]);
    });

    test('ten attachments are accepted', async (t) => {
      const s = await open(t);
      await join(s);
      const bufs = Array.from({ length: 10 }, (_, i) => Buffer.from([i]));
      const json = `["message",${bufs.map((_, i) => PH(i)).join(',')}]`;
      await s.send(`4510-${json}`, ...bufs);
      const p = await expectText(s, `510-${json.replace('"message"', '"message-back"')}`);
      assert.deepEqual(p.buffers, bufs);
    });

    test('a placeholder object in a plain EVENT is plain JSON', async (t) => {
      const s = await open(t);
      await join(s);
      await s.send(`42["message",${PH(0)}]`);
      // Type 2, no attachment: the object comes back as it was.
      await expectText(s, `2["message-back",${PH(0)}]`);
    });

    test('message-with-ack → ACK with the same arguments and id', async (t) => {
      const s = await open(t);
      await join(s);
      await s.send('421["message-with-ack","a",{"b":2},[3]]');
      await expectText(s, '31["a",{"b":2},[3]]');
      await s.send('4212345["message-with-ack"]');
      await expectText(s, '312345[]');
      await s.send('420["message-with-ack",0]');
      await expectText(s, '30[0]');
    });

    test('message-with-ack with binary → BINARY_ACK', async (t) => {
      const s = await open(t);
      await join(s);
      const bin = Buffer.from('binary ack');
      await s.send(`451-7["message-with-ack","t",${PH(0)}]`, bin);
      const p = await expectText(s, `61-7["t",${PH(0)}]`);
      assert.deepEqual(p.buffers, [bin]);
      assert.equal(p.id, 7);
    });

    test('text and binary messages keep their order', async (t) => {
      const s = await open(t);
      await join(s);
      const b1 = Buffer.from('one');
      const b2 = Buffer.from('two');
      await s.send('42["message",1]', `451-["message",${PH(0)}]`, b1, '42["message",2]',
        `451-3["message-with-ack",${PH(0)}]`, b2, '424["message-with-ack",3]');
      await expectText(s, '2["message-back",1]');
      assert.deepEqual((await expectText(s, `51-["message-back",${PH(0)}]`)).buffers, [b1]);
      await expectText(s, '2["message-back",2]');
      assert.deepEqual((await expectText(s, `61-3[${PH(0)}]`)).buffers, [b2]);
      await expectText(s, '34[3]');
    });

    test('an event named by a number is valid', async (t) => {
      const s = await open(t);
      await join(s);
      await s.send('42[1,"x"]');
      await expectAlive(s);
    });

    test('an ACK with an unknown id is ignored', async (t) => {
      const s = await open(t);
      await join(s);
      await s.send('4399["x"]');
      await expectAlive(s);
    });

    test('DISCONNECT gets no answer and keeps the session; CONNECT again gives a new id', async (t) => {
      const s = await open(t);
      const first = await join(s);
      await s.send('41');
      // Nothing is sent for the DISCONNECT: the next packet is the barrier's.
      await barrier(s);
      const second = await join(s);
      assert.notEqual(second, first);
      await expectAlive(s);
    });

    test('DISCONNECT from the last namespace keeps the Engine.IO session', async (t) => {
      const s = await open(t);
      await join(s);
      await join(s, '/custom');
      await s.send('41/custom,');
      await expectAlive(s, 'after-custom');
      await s.send('41');
      await barrier(s);
      await s.send('40/custom,');
      await expectText(s, /^0\/custom,\{"sid":"[^"]+"\}$/);
      await expectText(s, '2/custom,["auth",{}]');
    });

    describe('a packet for a namespace not joined closes the session', () => {
      test('an EVENT for /custom when only "/" was joined', async (t) => {
        const s = await open(t);
        await join(s);
        await s.send('42/custom,["message"]');
        await expectServerClose(s);
      });
      test('an EVENT before any CONNECT', async (t) => {
        const s = await open(t);
        await s.send('42["message"]');
        await expectServerClose(s);
      });
      test('an EVENT after DISCONNECT', async (t) => {
        const s = await open(t);
        await join(s);
        await s.send('41');
        await barrier(s);
        await s.send('42["message"]');
        await expectServerClose(s);
      });
      test('a second DISCONNECT', async (t) => {
        const s = await open(t);
        await join(s);
        await s.send('41');
        await barrier(s);
        await s.send('41');
        await expectServerClose(s);
      });
      test('an ACK for an unknown namespace', async (t) => {
        const s = await open(t);
        await join(s);
        await s.send('43/nope,1[]');
        await expectServerClose(s);
      });
    });

    describe('a malformed or out-of-place packet closes the session', () => {
      // Each is sent after a successful CONNECT to "/".
      const cases = [
        ['CONNECT payload a string', '40/custom,"x"'],
        ['CONNECT payload an array', '40/custom,[]'],
        ['CONNECT payload null', '40/custom,null'],
        ['CONNECT payload true', '40/custom,true'],
        ['CONNECT payload bad JSON', '40/custom,{'],
        ['a second CONNECT to a joined namespace', '40'],
        ['CONNECT_ERROR from the client', '44{"message":"x"}'],
        ['DISCONNECT with an object', '41{}'],
        ['DISCONNECT with an array', '41[]'],
        ['EVENT payload an object', '42{}'],
        ['EVENT payload a string', '42"message"'],
        ['EVENT payload an empty array', '42[]'],
        ['EVENT name an object', '42[{}]'],
        ['EVENT name null', '42[null]'],
        ['EVENT name true', '42[true]'],
        ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']
          .map((n) => [`EVENT with the reserved name "${n}"`, `42["${n}"]`]),
        ['EVENT with unterminated JSON', '42["message"'],
        ['EVENT with trailing garbage', '42["message"]x'],
        ['EVENT with a trailing comma', '42["message",]'],
        ['EVENT with single quotes', "42['message']"],
        ['ACK payload an object', '431{}'],
        ['ACK payload a string', '431"x"'],
        ['ACK payload null', '431null'],
        ['unknown packet type 7', '47'],
        ['unknown packet type 9', '49["message"]'],
        ['packet type not a digit', '4x["message"]'],
        ['an empty Socket.IO packet', '4'],
        ['BINARY_EVENT with 0 attachments', '450-["message"]'],
        ['BINARY_EVENT without the count', '45-["message"]'],
        ['BINARY_EVENT with a bad count', '45a-["message"]'],
        ['BINARY_EVENT without the dash', '451["message"]'],
        ['BINARY_EVENT with 11 attachments', `4511-["message",${Array.from({ length: 11 }, (_, i) => PH(i)).join(',')}]`],
        ['BINARY_ACK with 11 attachments', `4611-1[${Array.from({ length: 11 }, (_, i) => PH(i)).join(',')}]`],
        ['BINARY_EVENT payload not an array', '451-{"a":1}', Buffer.from('x')],
        ['text while an attachment is expected', `451-["message",${PH(0)}]`, '42["message"]'],
        ['a binary message with no binary packet', Buffer.from('stray')],
        ['a placeholder past the attachments', `451-["message",${PH(1)}]`, Buffer.from('x')],
        ['a negative placeholder', `451-["message",${PH(-1)}]`, Buffer.from('x')],
      ];
      for (const [name, ...pkts] of cases) {
        test(name, async (t) => {
          const s = await open(t);
          await join(s);
          await s.send(...pkts);
          await expectServerClose(s);
        });
      }
    });

    test('connectTimeout closes a session that joins no namespace, and only that', async (t) => {
      // Three sessions opened together: one never sends a CONNECT, one
      // sends a refused CONNECT, one joins "/". Pings are answered.
      const idle = await open(t);
      const refused = await open(t);
      const joined = await open(t);
      await join(joined);
      await refused.send('40/nope,');
      await expectText(refused, '4/nope,{"message":"Invalid namespace"}');
      await expectServerClose(idle);
      await expectServerClose(refused);
      // Pings came and were answered (ping interval 300 ms, connectTimeout
      // 1000 ms), so the heartbeat is not what closed them.
      assert.ok(idle.pings.count > 0, 'pings before the connect timeout');
      await expectAlive(joined);
    });

    test('a session that does not answer pings is closed', async (t) => {
      const s = await session(t, srv, { transport, autoPong: false });
      await join(s);
      await expectServerClose(s);
    });
  });
}

test('polling: CORS "*" on the Socket.IO handshake', async () => {
  const res = await request(sioUrl(srv), { headers: { Origin: 'http://example.test' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.match(res.body, /^0\{"sid":"[^"]+","upgrades":\["websocket"\],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000\}$/);
});

test('a session joined over polling keeps working after its upgrade to WebSocket', async (t) => {
  // The raw session helper does not upgrade; socket.io-client does, in
  // sio_testbed.test.mjs. Here: a session handshaken over polling, joined,
  // then driven over a WebSocket with its sid.
  const s = await session(t, srv, { transport: 'polling' });
  await join(s);
  const WebSocket = (await import('ws')).default;
  const ws = new WebSocket(sioUrl(srv, { sid: s.sid }, { ws: true }));
  t.after(() => ws.terminate());
  const msgs = [];
  let wake = () => {};
  ws.on('message', (d, bin) => { msgs.push(bin ? d : d.toString()); wake(); });
  const nextWs = () => within(new Promise((r) => {
    if (msgs.length) r(msgs.shift());
    else wake = () => { wake = () => {}; r(msgs.shift()); };
  }), 5000, 'a websocket message');
  await within(new Promise((r, j) => { ws.once('open', r); ws.once('error', j); }), 5000, 'the websocket');
  ws.send('2probe');
  let m;
  do { m = await nextWs(); } while (m === '2'); // a ping may come first
  assert.equal(m, '3probe');
  ws.send('5');
  ws.send('42["message","upgraded"]');
  do { m = await nextWs(); } while (m === '2');
  assert.equal(m, '42["message-back","upgraded"]');
});

describe('connection-state recovery (--recovery-window 60000)', () => {
  let rsrv;
  before(async () => {
    rsrv = await startServer({ app: 'protocol', args: [...ARGS, '--recovery-window', '60000'] });
  });
  after(() => rsrv && stopChecked(rsrv));

  for (const transport of ['polling', 'websocket']) {
    test(`${transport}: pid in the CONNECT answer, offsets on events, replay on reconnect`, async (t) => {
      const a = await openSession(rsrv, { transport });
      t.after(() => a.close());
      await a.send('40');
      let p = await a.next();
      // `0{"sid":"...","pid":"..."}`: sid first, then pid.
      assert.match(p.text, /^0\{"sid":"[^"]+","pid":"[^"]+"\}$/);
      const { sid, pid } = p.data;
      assert.notEqual(pid, sid);
      // Every stored EVENT carries its offset (a string) as a last argument.
      p = await a.next();
      assert.equal(p.type, 2);
      assert.equal(p.data.length, 3, p.text);
      const [, , o1] = p.data;
      assert.equal(typeof o1, 'string');
      assert.equal(p.text, `2["auth",{},${JSON.stringify(o1)}]`);

      await a.send('42["message","m1"]');
      p = await a.next();
      assert.match(p.text, /^2\["message-back","m1","[^"]+"\]$/);
      const missed1 = p.text;
      const bin = Buffer.from('m2');
      await a.send(`451-["message",${PH(0)}]`, bin);
      p = await a.next();
      assert.match(p.text, /^51-\["message-back",\{"_placeholder":true,"num":0\},"[^"]+"\]$/);
      assert.deepEqual(p.buffers, [bin]);
      const missed2 = p.text;
      // Acks are not stored: no offset.
      await a.send('425["message-with-ack","x"]');
      await expectText(a, '35["x"]');

      // The transport goes away (not a DISCONNECT): the session is kept.
      await a.close();
      // Wait until the server has seen the transport go (else the new
      // CONNECT could race the close and find no session to restore).
      await until(async () => (await request(sioUrl(rsrv, { sid: a.sid }))).body === UNKNOWN_SID,
        5000, 'the server to drop the first session');
      const b = await openSession(rsrv, { transport });
      t.after(() => b.close());
      await b.send(`40{"pid":"${pid}","offset":"${o1}"}`);
      // The events after offset o1 are replayed first, as they were sent,
      // then the CONNECT answer with the same sid and pid.
      await expectText(b, missed1, 'replayed event 1');
      p = await expectText(b, missed2, 'replayed event 2');
      assert.deepEqual(p.buffers, [bin]);
      await expectText(b, `0{"sid":"${sid}","pid":"${pid}"}`, 'CONNECT answer');
      // The app's connection handler runs again, with the new CONNECT payload.
      p = await b.next();
      assert.equal(p.type, 2);
      assert.deepEqual(p.data.slice(0, 2), ['auth', { pid, offset: o1 }]);
      assert.equal(typeof p.data[2], 'string');

      // An unknown offset gives a fresh socket.
      const c = await openSession(rsrv, { transport });
      t.after(() => c.close());
      await c.send(`40{"pid":"${pid}","offset":"no-such-offset"}`);
      p = await c.next();
      assert.match(p.text, /^0\{"sid":"[^"]+","pid":"[^"]+"\}$/);
      assert.notEqual(p.data.sid, sid);
      assert.notEqual(p.data.pid, pid);
    });
  }
});
