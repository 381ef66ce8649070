// The whole Socket.IO server API through `--app testbed` (its exact behaviour
// is specified at the top of ref/socketio-testbed.mjs), driven by the real
// socket.io-client over polling, WebSocket and polling upgraded to WebSocket.
// Who does not receive a broadcast is checked with a marker: after the
// broadcast, the same sender emits "emit-all", and once every client has the
// marker, anything sent before it must have arrived too (a sender's events are
// handled in order, and each client receives in order).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopChecked, client, connect, connected, connectError, once, ask, recorder,
  within, until, session, request, sioUrl,
} from './lib/sio.mjs';

let srv;
before(async () => { srv = await startServer({ app: 'testbed' }); });
after(() => srv && stopChecked(srv));

const WS = { transports: ['websocket'] };
const POLLING = { transports: ['polling'] };

/** A client that has finished its upgrade from polling to WebSocket. */
async function upgraded(t, opts = {}) {
  const sock = client(t, srv, opts);
  const up = once(sock.io.engine, 'upgrade', 5000);
  await connected(sock);
  await up;
  assert.equal(sock.io.engine.transport.name, 'websocket');
  return sock;
}

const MODES = {
  polling: (t, opts = {}) => connect(t, srv, { ...POLLING, ...opts }),
  websocket: (t, opts = {}) => connect(t, srv, { ...WS, ...opts }),
  upgraded: (t, opts = {}) => upgraded(t, opts),
};

/** n connected clients with recorders: [{ sock, rec }]. */
async function several(t, n, opts = WS) {
  return Promise.all(Array.from({ length: n }, async () => {
    const sock = client(t, srv, opts);
    const rec = recorder(sock);
    await connected(sock, 10000);
    return { sock, rec };
  }));
}

let markers = 0;
/**
 * sender emits "emit-all" with a fresh marker; resolves once every client in
 * `all` has it. Returns the marker.
 */
async function marker(sender, all) {
  const m = `marker-${++markers}`;
  sender.emit('emit-all', m);
  await Promise.all(all.map(({ rec }) => until(() => rec.of('all').some((a) => a[0] === m), 5000, `marker ${m}`)));
  return m;
}

/** The events a recorder got, marker events left out, as [name, firstArg]. */
const got = (rec) => rec.events.filter((e) => e[0] !== 'all').map((e) => [e[0], e[1]]);

/** The emit with a callback ack, resolving all the ack's arguments. */
const ackAll = (sock, ev, ...args) => within(new Promise((resolve) => sock.emit(ev, ...args, (...a) => resolve(a))), 5000, `ack of ${ev}`);

const join = async (sock, room) => assert.deepEqual(await ackAll(sock, 'join', room), ['joined', room]);

for (const [mode, make] of Object.entries(MODES)) {
  describe(`${mode} client`, () => {
    test('echo: an event comes back as "echo", an ack gets the arguments', async (t) => {
      const sock = await make(t);
      const rec = recorder(sock);
      sock.emit('echo', 'a', 1, { b: [true, null] });
      const [args] = await rec.waitFor('echo');
      assert.deepEqual(args, ['a', 1, { b: [true, null] }]);
      assert.deepEqual(await ackAll(sock, 'echo', 'x', 2, ['y']), ['x', 2, ['y']]);
      assert.deepEqual(await ackAll(sock, 'echo'), []);
    });

    test('binary both ways: Buffer arguments and buffers inside objects', async (t) => {
      const sock = await make(t);
      const rec = recorder(sock);
      const a = Buffer.from([1, 2, 3]);
      const b = Buffer.alloc(10000, 0xab);
      const c = Buffer.from('nested');
      const args = [a, 'text', { inner: { buf: c, list: [b, 5] } }];
      sock.emit('echo', ...args);
      const [echoed] = await rec.waitFor('echo');
      assert.deepEqual(echoed.map(norm), args.map(norm));
      assert.ok(Buffer.isBuffer(echoed[0]) || echoed[0] instanceof ArrayBuffer);
      const acked = await ackAll(sock, 'echo', ...args);
      assert.deepEqual(acked.map(norm), args.map(norm));
    });

    test('ack from the client: "ask" relays the answer, text or binary', async (t) => {
      const sock = await make(t);
      let answer = 'forty-two';
      sock.on('question', (q, cb) => cb(`${answer}:${q}`));
      assert.equal(await ask(sock, 'ask', 2000), 'forty-two:q');
      sock.off('question');
      answer = Buffer.from('binary answer');
      sock.on('question', (q, cb) => cb(answer));
      assert.deepEqual(norm(await ask(sock, 'ask', 2000)), norm(answer));
    });

    test('disconnect-me: the client sees "io server disconnect"', async (t) => {
      const sock = await make(t);
      const bye = once(sock, 'disconnect');
      sock.emit('disconnect-me');
      assert.equal((await bye)[0], 'io server disconnect');
    });

    test('close-me: the client gets a DISCONNECT and the connection closes', async (t) => {
      // socket.disconnect(true) in the reference sends the DISCONNECT packet
      // of every namespace of the connection before closing it, so the
      // client sees "io server disconnect" (not "transport close").
      // Over polling, the client may still be sending (its POST not yet
      // answered) when the DISCONNECT arrives; its engine is then "closing"
      // for a moment, so wait for the engine's own close.
      const sock = await make(t);
      const bye = once(sock, 'disconnect');
      const closed = once(sock.io, 'close');
      const engineClosed = once(sock.io.engine, 'close');
      sock.emit('close-me');
      assert.equal((await bye)[0], 'io server disconnect');
      await closed;
      await engineClosed;
      assert.equal(sock.io.engine.readyState, 'closed');
    });

    test('a ~500 KB string and a 500 KB buffer', async (t) => {
      const sock = await make(t);
      const big = 'x'.repeat(250000) + 'é'.repeat(125000); // 500,000 bytes of UTF-8
      const [s] = await ackAll(sock, 'echo', big);
      assert.equal(s.length, big.length);
      assert.ok(s === big);
      const buf = Buffer.alloc(500 * 1024);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 31) & 0xff;
      const [b] = await ackAll(sock, 'echo', buf);
      assert.ok(norm(b).equals(buf));
    });

    test('1,000 messages arrive in order', async (t) => {
      const sock = await make(t);
      const rec = recorder(sock);
      for (let i = 0; i < 1000; i++) sock.emit('echo', i);
      const all = await rec.waitFor('echo', 1000, 20000);
      assert.deepEqual(all.map((a) => a[0]), Array.from({ length: 1000 }, (_, i) => i));
    });
  });
}

/** Buffers as Node Buffers (socket.io-client may hand out ArrayBuffers), recursively. */
function norm(v) {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

test('nothing is emitted on connection to "/"; an unknown event gets "unknown-event"', async (t) => {
  const [c] = await several(t, 1);
  c.sock.emit('no-such-event', 1, 2);
  c.sock.emit('another', () => assert.fail('the catch-all never acks'));
  await marker(c.sock, [c]);
  assert.deepEqual(c.rec.events.map((e) => e.slice(0, 2)).slice(0, 3),
    [['unknown-event', 'no-such-event'], ['unknown-event', 'another'], ['all', `marker-${markers}`]]);
});

test('ask: a client that never answers gets "timeout"', async (t) => {
  const sock = await connect(t, srv, WS);
  let asked = 0;
  sock.on('question', () => { asked++; }); // receives it, never calls the ack
  assert.equal(await ask(sock, 'ask', 300), 'timeout');
  assert.equal(asked, 1);
  const silent = await connect(t, srv, WS); // no handler at all
  assert.equal(await ask(silent, 'ask', 300), 'timeout');
});

test('ask-room: acks from every client in the room, or a timeout with the others', async (t) => {
  const [a, b, c, asker] = await several(t, 4);
  a.sock.on('poll', (q, cb) => cb(`a:${q}`));
  b.sock.on('poll', (q, cb) => cb(`b:${q}`));
  let cAsked = 0;
  c.sock.on('poll', () => { cAsked++; }); // never answers
  await join(a.sock, 'vote');
  await join(b.sock, 'vote');
  assert.deepEqual(await ask(asker.sock, 'ask-room', 'vote', 2000), { timedOut: false, responses: ['a:vote?', 'b:vote?'] });
  await join(c.sock, 'vote');
  assert.deepEqual(await ask(asker.sock, 'ask-room', 'vote', 500), { timedOut: true, responses: ['a:vote?', 'b:vote?'] });
  assert.equal(cAsked, 1);
  assert.deepEqual(await ask(asker.sock, 'ask-room', 'nobody-here', 2000), { timedOut: false, responses: [] });
});

test('server-emit alone: no other server, so the ack comes at once with no responses', async (t) => {
  const [a, b] = await several(t, 2);
  assert.deepEqual(await ask(a.sock, 'server-emit', 'whoami', 1), { timedOut: false, responses: [] });
  // Without an ack it goes to the other servers only: never to this one's
  // own handlers ("sse-note" would reach b).
  a.sock.emit('server-emit', 'sse-note', 'not to myself');
  await marker(a.sock, [a, b]);
  assert.deepEqual(b.rec.of('sse-note'), []);
});

test('join, leave and rooms', async (t) => {
  const sock = await connect(t, srv, WS);
  assert.deepEqual(await ask(sock, 'rooms'), [sock.id]);
  await join(sock, 'r1');
  await join(sock, 'a0');
  assert.deepEqual(await ask(sock, 'rooms'), [sock.id, 'a0', 'r1'].sort());
  assert.deepEqual(await ackAll(sock, 'leave', 'r1'), ['left', 'r1']);
  assert.deepEqual(await ackAll(sock, 'leave', 'never-joined'), ['left', 'never-joined']);
  assert.deepEqual(await ask(sock, 'rooms'), [sock.id, 'a0'].sort());
});

describe('rooms with several clients', () => {
  test('to-room: one room, several rooms (each member once), and the sender', async (t) => {
    const cl = await several(t, 5);
    const [a, b, c, d, x] = cl;
    await join(a.sock, 'r1');
    await join(b.sock, 'r2');
    await join(c.sock, 'r1');
    await join(c.sock, 'r2');
    await join(x.sock, 'r1');
    x.sock.emit('to-room', 'r1', 'one');
    x.sock.emit('to-room', ['r1', 'r2'], 'both');
    x.sock.emit('to-room', 'r2', { obj: [1] });
    x.sock.emit('to-room', 'empty-room', 'none');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'one'], ['room-msg', 'both']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'both'], ['room-msg', { obj: [1] }]]);
    assert.deepEqual(got(c.rec), [['room-msg', 'one'], ['room-msg', 'both'], ['room-msg', { obj: [1] }]]);
    assert.deepEqual(got(d.rec), []);
    assert.deepEqual(got(x.rec), [['room-msg', 'one'], ['room-msg', 'both']]);
  });

  test('to-room with a socket id as the room', async (t) => {
    const cl = await several(t, 3);
    const [a, b, x] = cl;
    x.sock.emit('to-room', a.sock.id, 'private');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'private']]);
    assert.deepEqual(got(b.rec), []);
    assert.deepEqual(got(x.rec), []);
  });

  test('to-except: the room without the members of another room', async (t) => {
    const cl = await several(t, 4);
    const [a, b, c, x] = cl;
    await join(a.sock, 'e1');
    await join(b.sock, 'e1');
    await join(b.sock, 'e2');
    await join(c.sock, 'e2');
    x.sock.emit('to-except', 'e1', 'e2', 'p');
    x.sock.emit('to-except', 'e1', a.sock.id, 'q');
    await marker(x.sock, cl);
    assert.deepEqual(got(a.rec), [['room-msg', 'p']]);
    assert.deepEqual(got(b.rec), [['room-msg', 'q']]);
    assert.deepEqual(got(c.rec), []);
    assert.deepEqual(got(x.rec), []);
  });

  test('broadcast: everyone but the sender; emit-all: everyone', async (t) => {
    const cl = await several(t, 4);
    const [a, b, c, x] = cl;
    x.sock.emit('broadcast', { n: 1 });
    x.sock.emit('emit-all', 'to-all');
    const m = await marker(x.sock, cl);
    for (const r of [a, b, c]) {
      const mine = r.rec.events.filter((e) => e[0] === 'bcast' || (e[0] === 'all' && [m, 'to-all'].includes(e[1])));
      assert.deepEqual(mine, [['bcast', { n: 1 }], ['all', 'to-all'], ['all', m]]);
    }
    const xs = x.rec.events.filter((e) => e[0] === 'bcast' || (e[0] === 'all' && [m, 'to-all'].includes(e[1])));
    assert.deepEqual(xs, [['all', 'to-all'], ['all', m]]);
  });

  test('volatile reaches connected WebSocket clients', async (t) => {
    const cl = await several(t, 3);
    cl[0].sock.emit('volatile', 'v');
    await marker(cl[0].sock, cl);
    for (const { rec } of cl) assert.deepEqual(got(rec), [['vol', 'v']]);
  });

  test('binary broadcast to a room', async (t) => {
    const cl = await several(t, 3);
    const [a, b, x] = cl;
    await join(a.sock, 'bin');
    const payload = { data: Buffer.from([9, 8, 7]), list: [Buffer.from('z')] };
    x.sock.emit('to-room', 'bin', payload);
    await marker(x.sock, cl);
    assert.deepEqual(norm(got(a.rec)), norm([['room-msg', payload]]));
    assert.deepEqual(got(b.rec), []);
  });

  test('fetch, sockets-join and sockets-leave', async (t) => {
    const [a, b, c, x] = await several(t, 4);
    await join(a.sock, 'f');
    await join(b.sock, 'f');
    const ids = (...cs) => cs.map((q) => q.sock.id).sort();
    assert.deepEqual(await ask(x.sock, 'fetch', 'f'), ids(a, b));
    assert.deepEqual(await ask(x.sock, 'fetch', 'nobody'), []);
    assert.deepEqual(await ask(x.sock, 'fetch', c.sock.id), ids(c));

    assert.equal(await ask(x.sock, 'sockets-join', 'f', 'g'), 'ok');
    assert.deepEqual(await ask(x.sock, 'fetch', 'g'), ids(a, b));
    assert.deepEqual(await ask(a.sock, 'rooms'), [a.sock.id, 'f', 'g'].sort());
    assert.deepEqual(await ask(c.sock, 'rooms'), [c.sock.id]);
    // The new room works for broadcasts too.
    x.sock.emit('to-room', 'g', 'in-g');
    await marker(x.sock, [a, b, c, x]);
    assert.deepEqual(got(a.rec), [['room-msg', 'in-g']]);
    assert.deepEqual(got(c.rec), []);

    assert.equal(await ask(x.sock, 'sockets-join', c.sock.id, 'g'), 'ok');
    assert.deepEqual(await ask(x.sock, 'fetch', 'g'), ids(a, b, c));
    assert.equal(await ask(x.sock, 'sockets-leave', 'f', 'g'), 'ok');
    assert.deepEqual(await ask(x.sock, 'fetch', 'g'), ids(c));
    assert.deepEqual(await ask(x.sock, 'fetch', 'f'), ids(a, b));
    assert.deepEqual(await ask(b.sock, 'rooms'), [b.sock.id, 'f'].sort());
  });

  test('disconnect-room: the members get "io server disconnect", the others stay', async (t) => {
    const cl = await several(t, 4);
    const [a, b, c, x] = cl;
    await join(a.sock, 'dr');
    await join(b.sock, 'dr');
    const byeA = once(a.sock, 'disconnect');
    const byeB = once(b.sock, 'disconnect');
    assert.equal(await ask(x.sock, 'disconnect-room', 'dr'), 'ok');
    assert.equal((await byeA)[0], 'io server disconnect');
    assert.equal((await byeB)[0], 'io server disconnect');
    assert.equal(c.sock.connected, true);
    assert.deepEqual(await ackAll(c.sock, 'echo', 'still'), ['still']);
    assert.deepEqual(await ask(x.sock, 'fetch', 'dr'), []);

    // The sender in the room: the ack comes first, then the disconnect.
    await join(x.sock, 'dr2');
    const order = [];
    const byeX = once(x.sock, 'disconnect').then((r) => order.push(`disconnect:${r[0]}`));
    x.sock.emit('disconnect-room', 'dr2', (r) => order.push(`ack:${r}`));
    await byeX;
    assert.deepEqual(order, ['ack:ok', 'disconnect:io server disconnect']);
  });

  test('200 clients in one room all get a room message', async (t) => {
    const cl = await several(t, 200);
    await Promise.all(cl.map((c) => join(c.sock, 'big')));
    const [other] = await several(t, 1);
    other.sock.emit('to-room', 'big', 'hello 200');
    await Promise.all(cl.map(({ rec }) => rec.waitFor('room-msg', 1, 10000)));
    for (const { rec } of cl) assert.deepEqual(rec.of('room-msg'), [['hello 200']]);
    assert.equal((await ask(other.sock, 'fetch', 'big')).length, 200);
  });
});

describe('middlewares and namespaces', () => {
  test('"/" refuses auth.token "bad" with the error message and data', async (t) => {
    const sock = client(t, srv, { ...WS, auth: { token: 'bad' } });
    const err = await connectError(sock);
    assert.equal(err.message, 'unauthorized');
    assert.deepEqual(err.data, { reason: 'bad token' });
    assert.equal(sock.connected, false);
    // Any other token passes.
    const ok = await connect(t, srv, { ...WS, auth: { token: 'fine' } });
    assert.equal(ok.connected, true);
  });

  test('"/" refuses over polling too', async (t) => {
    const err = await connectError(client(t, srv, { ...POLLING, auth: { token: 'bad' } }));
    assert.equal(err.message, 'unauthorized');
    assert.deepEqual(err.data, { reason: 'bad token' });
  });

  test('/secure accepts token "good" and emits "secure-hello" with the socket id', async (t) => {
    const sock = client(t, srv, { ...WS, nsp: '/secure', auth: { token: 'good' } });
    const hello = once(sock, 'secure-hello');
    await connected(sock);
    const [id] = await hello;
    assert.equal(id, sock.id);
    assert.ok(id);
  });

  test('/secure refuses other tokens with data {"code":401}', async (t) => {
    for (const auth of [{ token: 'bad' }, { token: 'Good' }, {}]) {
      const err = await connectError(client(t, srv, { ...WS, nsp: '/secure', auth }));
      assert.equal(err.message, 'unauthorized');
      assert.deepEqual(err.data, { code: 401 });
    }
    const err = await connectError(client(t, srv, { ...POLLING, nsp: '/secure' }));
    assert.deepEqual([err.message, err.data], ['unauthorized', { code: 401 }]);
  });

  test('"/" and /secure on one connection (one Manager): refused, then accepted', async (t) => {
    for (const opts of [WS, POLLING]) {
      const root = client(t, srv, opts);
      await connected(root);
      const secure = root.io.socket('/secure', { auth: { token: 'no' } }); // connects at once
      t.after(() => secure.disconnect());
      const err = await connectError(secure);
      assert.deepEqual([err.message, err.data], ['unauthorized', { code: 401 }]);
      // The refusal leaves the connection and "/" alone.
      assert.deepEqual(await ackAll(root, 'echo', 'still'), ['still']);
      secure.auth = { token: 'good' };
      const hello = once(secure, 'secure-hello');
      secure.connect();
      await connected(secure);
      assert.equal((await hello)[0], secure.id);
      assert.notEqual(secure.id, root.id);
      assert.equal(secure.io, root.io);
      assert.deepEqual(await ackAll(root, 'echo', 'root'), ['root']);
    }
  });

  test('dynamic namespaces: /dyn-<digits> connect and echo, /dyn-x is refused', async (t) => {
    for (const name of ['/dyn-42', '/dyn-0']) {
      for (const opts of [WS, POLLING]) {
        const sock = client(t, srv, { ...opts, nsp: name });
        const rec = recorder(sock);
        await connected(sock);
        assert.deepEqual((await rec.waitFor('dyn-hello'))[0], [name]);
        assert.deepEqual(await ackAll(sock, 'echo', name, Buffer.from('b')).then(norm), [name, Buffer.from('b')]);
        sock.emit('echo', 'plain');
        assert.deepEqual((await rec.waitFor('echo'))[0], ['plain']);
      }
    }
    for (const name of ['/dyn-x', '/dyn-', '/dyn-1a', '/nope']) {
      const err = await connectError(client(t, srv, { ...WS, nsp: name }));
      assert.equal(err.message, 'Invalid namespace');
    }
  });

  test('handshake: query, auth, address and url', async (t) => {
    const a = await connect(t, srv, { ...WS, query: { foo: 'bar', other: '1' }, auth: { token: 't1', n: 2 } });
    assert.deepEqual(await ask(a, 'handshake'), {
      query: { foo: 'bar' }, auth: { token: 't1', n: 2 }, hasAddress: true, url: '/socket.io/',
    });
    const b = await connect(t, srv, POLLING);
    assert.deepEqual(await ask(b, 'handshake'), {
      query: { foo: null }, auth: {}, hasAddress: true, url: '/socket.io/',
    });
  });
});

describe('wire bytes of the testbed', () => {
  for (const transport of ['polling', 'websocket']) {
    test(`${transport}: refusals, DISCONNECT from the server, close-me`, async (t) => {
      const s = await session(t, srv, { transport });
      // CONNECT_ERROR from a middleware: message first, then data.
      await s.send('40{"token":"bad"}');
      assert.equal((await s.next()).text, '4{"message":"unauthorized","data":{"reason":"bad token"}}');
      await s.send('40/secure,');
      assert.equal((await s.next()).text, '4/secure,{"message":"unauthorized","data":{"code":401}}');
      await s.send('40/dyn-x,');
      assert.equal((await s.next()).text, '4/dyn-x,{"message":"Invalid namespace"}');
      await s.send('40/dyn-7,');
      assert.match((await s.next()).text, /^0\/dyn-7,\{"sid":"[^"]+"\}$/);
      assert.equal((await s.next()).text, '2/dyn-7,["dyn-hello","/dyn-7"]');
      await s.send('40/secure,{"token":"good"}');
      const ok = await s.next();
      assert.match(ok.text, /^0\/secure,\{"sid":"[^"]+"\}$/);
      assert.equal((await s.next()).text, `2/secure,["secure-hello","${ok.data.sid}"]`);
      await s.send('40');
      assert.match((await s.next()).text, /^0\{"sid":"[^"]+"\}$/);
      // disconnect-me: a DISCONNECT packet, and the session stays.
      await s.send('42["disconnect-me"]');
      assert.equal((await s.next()).text, '1');
      await s.send('40');
      assert.match((await s.next()).text, /^0\{"sid":"[^"]+"\}$/);
      await s.send('421["echo","x"]');
      assert.equal((await s.next()).text, '31["x"]');
      // close-me: a DISCONNECT for every namespace of the connection, then
      // the Engine.IO session is closed.
      await s.send('42["close-me"]');
      const bye = [(await s.next()).text, (await s.next()).text, (await s.next()).text];
      assert.deepEqual(bye.sort(), ['1', '1/dyn-7,', '1/secure,']);
      await s.waitClosed(5000);
      const res = await request(sioUrl(srv, { sid: s.sid }));
      assert.equal(res.body, '{"code":1,"message":"Session ID unknown"}');
    });
  }
});

test('a client that reconnects without recovery configured gets a new id', async (t) => {
  const a = client(t, srv, { ...WS, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  await connected(a);
  await join(a, 'r');
  const firstId = a.id;
  a.emit('echo', 'before'); // a has received an event (as for a recovery)
  await recorder(a).waitFor('echo');
  const b = await connect(t, srv, WS);
  const rec = recorder(a);
  const bye = once(a, 'disconnect');
  a.io.engine.close(); // the transport is cut; the Manager reconnects
  await bye;
  b.emit('to-room', 'r', 'missed');
  await ask(b, 'rooms'); // b's events before this were handled
  await once(a, 'connect');
  assert.ok(!a.recovered);
  assert.notEqual(a.id, firstId);
  assert.deepEqual(await ask(a, 'rooms'), [a.id]); // the rooms are gone
  await marker(b, [{ rec }]);
  assert.deepEqual(got(rec), []);
});

describe('connection-state recovery (--recovery-window 60000)', () => {
  let rsrv;
  before(async () => { rsrv = await startServer({ app: 'testbed', args: ['--recovery-window', '60000'] }); });
  after(() => rsrv && stopChecked(rsrv));

  for (const [mode, opts] of [['websocket', WS], ['polling', POLLING]]) {
    test(`${mode}: same id, rooms kept and missed room messages replayed in order`, async (t) => {
      const a = client(t, rsrv, { ...opts, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
      const rec = recorder(a);
      await connected(a);
      assert.ok(!a.recovered);
      await join(a, 'r');
      // The client sends the offset of the last event it received: it must
      // have received one for its state to be recoverable.
      a.emit('echo', 'before');
      await rec.waitFor('echo');
      const firstId = a.id;
      const b = client(t, rsrv, WS);
      await connected(b);
      const bye = once(a, 'disconnect');
      a.io.engine.close(); // the transport is cut; the Manager reconnects
      await bye;
      b.emit('to-room', 'r', 'missed-1');
      b.emit('to-room', 'r', { n: 'missed-2' });
      await ask(b, 'rooms'); // b's events before this were handled
      await once(a, 'connect');
      assert.equal(a.recovered, true);
      assert.equal(a.id, firstId);
      // With recovery on, each event carries its offset as a last argument
      // (socket.io-client passes it on to the listeners).
      assert.deepEqual(rec.of('room-msg').map((x) => x[0]), ['missed-1', { n: 'missed-2' }]);
      assert.deepEqual(await ask(a, 'rooms'), [a.id, 'r'].sort());
      b.emit('to-room', 'r', 'after');
      await rec.waitFor('room-msg', 3);
      assert.deepEqual(rec.of('room-msg').map((x) => x[0]), ['missed-1', { n: 'missed-2' }, 'after']);
    });
  }

  test('a DISCONNECT from the client is not recovered', async (t) => {
    const a = await connect(t, rsrv, WS);
    a.emit('echo', 'before');
    await recorder(a).waitFor('echo');
    const firstId = a.id;
    a.disconnect();
    a.connect();
    await connected(a);
    assert.ok(!a.recovered);
    assert.notEqual(a.id, firstId);
  });
});
