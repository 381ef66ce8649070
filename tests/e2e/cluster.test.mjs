// Cluster mode (--redis) for the embedded Socket.IO apps: a real
// redis-server on a free port and three `hubbub --app testbed --redis ...`
// nodes (its behaviour is specified at the top of ref/socketio-testbed.mjs),
// with socket.io-client clients spread over them. Checked: room broadcasts,
// io.emit and socket.broadcast reach every node; socketsJoin and
// disconnectSockets cross nodes; broadcasts with acks collect the answers
// of every node (and time out with those that came); fetchSockets lists
// the sockets of every node; npm's @socket.io/redis-emitter reaches the
// clients of every node; a Node socket.io server on @socket.io/redis-adapter
// and Hubbub nodes broadcast to each other's clients and answer each
// other's acks, fetchSockets and allRooms, and serverSideEmit crosses
// between them both ways, with and without acks (a node with no handler
// answers at once with no value); polling-only clients behind a
// round-robin balancer work (requests for another node's session are
// forwarded to it), default-transport clients behind it upgrade to
// WebSocket (an upgrade on the wrong node is relayed to the owner), and
// the Engine.IO errors come when the owner is unknown or gone; a node
// killed with SIGKILL leaves the others working and the registry within
// its TTL; a Redis restart is survived (local delivery goes on, what could
// not cross is counted, then broadcasts cross again). docs/cluster.md
// describes the design.
//
// Who does not receive a broadcast is checked with a marker: after the
// broadcast, the same sender emits "emit-all"; a node publishes both in
// order on one connection and Redis delivers them in order, so once every
// client has the marker, anything sent before it has arrived too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import {
  startServer, client, connected, recorder, ask, until, within, request, stopChecked, freePort,
  IS_REF,
} from './lib/sio.mjs';
import {
  metrics, roundRobin, testCluster, redisReady, startRedis, CONNECTED_CMD, marker as markerOf, got,
} from './lib/cluster.mjs';

const SKIP = IS_REF ? 'cluster mode is Hubbub\'s (the reference has no Redis adapter)' : false;
const WS = { transports: ['websocket'] };
const TTL_S = 2; // --node-ttl, so that a killed node leaves the registry quickly
const WAIT_MS = 20000; // generous bounds for a loaded 2-core machine (and ASan)

// ---------------------------------------------------------------------------
// The cluster

const cl = testCluster({
  prefix: 'n',
  waitMs: WAIT_MS,
  launch: (url, id) => startServer({
    app: 'testbed',
    args: ['--redis', url, '--node-id', id, '--node-ttl', String(TTL_S)],
  }),
});
const { nodes, ready } = cl;
const startNode = () => cl.startNode();

before(async () => {
  if (!SKIP) await cl.start();
});

after(async () => {
  if (!SKIP) await cl.stop();
});

/** A connected client on node i, recording what it receives. */
async function member(t, i, opts = {}) {
  const sock = client(t, nodes[i], { ...WS, ...opts });
  const rec = recorder(sock);
  await connected(sock, 10000);
  return { sock, rec, node: i };
}

/** sender emits "emit-all" with a fresh marker; resolves once all have it. */
const marker = (sender, all) => markerOf(sender, all, WAIT_MS);

// ---------------------------------------------------------------------------

test('a room broadcast reaches its members on every node, once, and nobody else', { skip: SKIP }, async (t) => {
  const a = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  const outsiders = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  for (const m of a) assert.deepEqual(await ask(m.sock, 'join', 'room-1'), 'joined');
  a[1].sock.emit('to-room', 'room-1', { from: 'node 1', n: 1.5, s: 'é\u0001' });
  await marker(a[1], [...a, ...outsiders]);
  for (const m of a) assert.deepEqual(got(m.rec, 'room-msg'), [{ from: 'node 1', n: 1.5, s: 'é\u0001' }]);
  for (const m of outsiders) assert.deepEqual(got(m.rec, 'room-msg'), []);
});

test('io.emit reaches every client of every node exactly once', { skip: SKIP }, async (t) => {
  const all = await Promise.all([0, 0, 1, 2, 2].map((i) => member(t, i)));
  all[3].sock.emit('emit-all', 'to everyone');
  await until(() => all.every((m) => got(m.rec, 'all').length >= 1), WAIT_MS, 'io.emit on every node');
  await marker(all[0], all);
  for (const m of all) assert.deepEqual(got(m.rec, 'all'), ['to everyone']);
});

test('socket.broadcast reaches the other nodes and skips only the sender', { skip: SKIP }, async (t) => {
  const all = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  all[0].sock.emit('broadcast', 'not to me');
  await marker(all[0], all);
  assert.deepEqual(got(all[0].rec, 'bcast'), []);
  assert.deepEqual(got(all[1].rec, 'bcast'), ['not to me']);
  assert.deepEqual(got(all[2].rec, 'bcast'), ['not to me']);
});

test('socketsJoin and disconnectSockets act on the sockets of every node', { skip: SKIP }, async (t) => {
  const a = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  const other = await member(t, 1);
  for (const m of a) await ask(m.sock, 'join', 'sj-src');
  assert.equal(await ask(a[2].sock, 'sockets-join', 'sj-src', 'sj-dst'), 'ok');
  // The join request and this broadcast leave node 2 in this order.
  a[2].sock.emit('to-room', 'sj-dst', 'moved');
  await marker(a[2], [...a, other]);
  for (const m of a) assert.deepEqual(got(m.rec, 'room-msg'), ['moved']);
  assert.deepEqual(got(other.rec, 'room-msg'), []);
  assert.deepEqual(await ask(a[1].sock, 'rooms'), [a[1].sock.id, 'sj-dst', 'sj-src'].sort());

  const gone = a.map((m) => new Promise((resolve) => m.sock.once('disconnect', resolve)));
  assert.equal(await ask(other.sock, 'disconnect-room', 'sj-dst'), 'ok');
  const reasons = await within(Promise.all(gone), WAIT_MS, 'the disconnects');
  assert.deepEqual(reasons, ['io server disconnect', 'io server disconnect', 'io server disconnect']);
  assert.equal(other.sock.connected, true);
});

/** ask() with the cluster's generous bound. */
function askLong(sock, ev, ...args) {
  return within(sock.emitWithAck(ev, ...args), WAIT_MS, `the ack of "${ev}"`);
}

test('a broadcast with acks collects the answers of the clients of every node', { skip: SKIP }, async (t) => {
  const a = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  const outsider = await member(t, 0);
  a.forEach((m, i) => m.sock.on('poll', (q, cb) => cb(`${q} from node ${i}`)));
  outsider.sock.on('poll', (q, cb) => cb('outsider'));
  for (const m of a) assert.equal(await ask(m.sock, 'join', 'ack-room'), 'joined');
  // io.to(room).timeout(ms).emit("poll", ..., cb) on node 1: each node counts
  // its recipients, and their answers come back to node 1.
  const res = await askLong(a[1].sock, 'ask-room', 'ack-room', WAIT_MS);
  assert.deepEqual(res, {
    timedOut: false,
    responses: ['vote? from node 0', 'vote? from node 1', 'vote? from node 2'],
  });

  // A member on node 2 that never answers: the others' answers come with
  // the timeout.
  const silent = await member(t, 2);
  assert.equal(await ask(silent.sock, 'join', 'ack-room'), 'joined');
  const late = await askLong(a[0].sock, 'ask-room', 'ack-room', 3000);
  assert.deepEqual(late, {
    timedOut: true,
    responses: ['vote? from node 0', 'vote? from node 1', 'vote? from node 2'],
  });
  assert.equal(silent.rec.of('poll').length, 1, 'the silent member got the poll');
});

test('a node with no member in a room skips its broadcasts (counted), and delivers them once one joins', { skip: SKIP }, async (t) => {
  const only = await member(t, 0);
  const later = await member(t, 1);
  const sender = await member(t, 2);
  assert.equal(await ask(only.sock, 'join', 'idle-1'), 'joined');
  const before = (await metrics(nodes[1])).hubbub_cluster_received_total;
  sender.sock.emit('to-room', 'idle-1', 'first');
  await marker(sender, [only, later, sender]);
  assert.deepEqual(got(only.rec, 'room-msg'), ['first']);
  assert.deepEqual(got(later.rec, 'room-msg'), []);
  // node 1 received it (and the marker), without a member to give it to
  assert.ok((await metrics(nodes[1])).hubbub_cluster_received_total >= before + 2);
  assert.equal(await ask(later.sock, 'join', 'idle-1'), 'joined');
  sender.sock.emit('to-room', 'idle-1', 'second');
  await marker(sender, [only, later, sender]);
  assert.deepEqual(got(only.rec, 'room-msg'), ['first', 'second']);
  assert.deepEqual(got(later.rec, 'room-msg'), ['second']);
});

test('connection-state recovery on a cluster: a room message from another node, sent while the client was away, is replayed', { skip: SKIP }, async (t) => {
  // Its own two nodes, with --recovery-window: a node with no connected
  // member in the room must still keep the room's broadcasts for a socket
  // that may come back.
  const redis = await startRedis(await freePort());
  t.after(() => redis.stop());
  const rnodes = [];
  for (const id of ['rec0', 'rec1']) {
    const srv = await startServer({
      app: 'testbed', args: ['--redis', redis.url, '--node-id', id, '--recovery-window', '60000'],
    });
    rnodes.push(srv);
    t.after(() => stopChecked(srv));
  }
  await Promise.all(rnodes.map((srv) => redisReady(srv, 2, WAIT_MS)));
  const a = client(t, rnodes[1], { ...WS, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  const rec = recorder(a);
  await connected(a, WAIT_MS);
  assert.equal(await ask(a, 'join', 'rec-room'), 'joined');
  a.emit('echo', 'before'); // its state is recoverable once it has received an event
  await rec.waitFor('echo');
  const b = client(t, rnodes[0], WS);
  await connected(b, WAIT_MS);
  const firstId = a.id;
  const bye = new Promise((resolve) => a.once('disconnect', resolve));
  a.io.engine.close();
  await bye;
  b.emit('to-room', 'rec-room', 'missed');
  await ask(b, 'rooms');
  await new Promise((resolve) => a.once('connect', resolve));
  assert.equal(a.recovered, true);
  assert.equal(a.id, firstId);
  await until(() => got(rec, 'room-msg').includes('missed'), WAIT_MS, 'the missed room message');
  assert.deepEqual(got(rec, 'room-msg'), ['missed']);
});

test('fetchSockets returns the sockets of every node', { skip: SKIP }, async (t) => {
  const a = await Promise.all([0, 1, 2, 2].map((i) => member(t, i)));
  const outsider = await member(t, 1);
  for (const m of a) assert.equal(await ask(m.sock, 'join', 'fetch-room'), 'joined');
  const ids = a.map((m) => m.sock.id).sort();
  for (const m of [a[0], a[2], outsider]) {
    assert.deepEqual(await askLong(m.sock, 'fetch', 'fetch-room'), ids);
  }
  // Two rooms: a socket in both is listed once.
  assert.equal(await ask(outsider.sock, 'join', 'fetch-other'), 'joined');
  assert.equal(await ask(a[3].sock, 'join', 'fetch-other'), 'joined');
  assert.deepEqual(await askLong(a[1].sock, 'fetch', ['fetch-room', 'fetch-other']),
    [...ids, outsider.sock.id].sort());
  assert.deepEqual(await askLong(a[1].sock, 'fetch', 'fetch-nobody'), []);
});

test('@socket.io/redis-emitter reaches rooms and namespaces on every node', { skip: SKIP }, async (t) => {
  const rc = createClient({ url: cl.redis.url });
  rc.on('error', () => {});
  await rc.connect();
  t.after(() => rc.quit().catch(() => {}));
  const emitter = new Emitter(rc);
  const a = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  const outsider = await member(t, 2);
  for (const m of a) await ask(m.sock, 'join', 'em-room');

  emitter.to('em-room').emit('ext', 42, { deep: [true, null, 'x'] }, Buffer.from([1, 2, 3]));
  emitter.emit('ext-all', 'from a Node backend', -0.25);
  await until(() => [...a, outsider].every((m) => m.rec.of('ext-all').length === 1), WAIT_MS, 'ext-all everywhere');
  await until(() => a.every((m) => m.rec.of('ext').length === 1), WAIT_MS, 'ext in em-room');
  for (const m of a) {
    const [n, obj, bin] = m.rec.of('ext')[0];
    assert.equal(n, 42);
    assert.deepEqual(obj, { deep: [true, null, 'x'] });
    assert.ok(Buffer.isBuffer(bin), 'the binary argument arrives as binary');
    assert.deepEqual([...bin], [1, 2, 3]);
    assert.deepEqual(m.rec.of('ext-all')[0], ['from a Node backend', -0.25]);
  }
  // emitted after ext: once it is everywhere, ext would have arrived too
  assert.deepEqual(outsider.rec.of('ext'), []);

  // .except() and socketsJoin() from the emitter
  emitter.in('em-room').socketsJoin('em-joined');
  await until(async () => (await ask(a[0].sock, 'rooms')).includes('em-joined'), WAIT_MS, 'socketsJoin');
  await until(async () => (await ask(a[2].sock, 'rooms')).includes('em-joined'), WAIT_MS, 'socketsJoin');
  emitter.to('em-joined').except(a[1].sock.id).emit('ext-2', 'all but a1');
  await until(() => a[0].rec.of('ext-2').length === 1 && a[2].rec.of('ext-2').length === 1, WAIT_MS, 'ext-2');
  await marker(a[1], [...a, outsider]);
  assert.deepEqual(a[1].rec.of('ext-2'), []);
  assert.deepEqual(outsider.rec.of('ext-2'), []);

  // Another namespace (a dynamic one of the testbed, made on each node by
  // its first client there): only its sockets get it, on every node.
  const dyn = await Promise.all([0, 2].map(async (i) => {
    const sock = client(t, nodes[i], { ...WS, nsp: '/dyn-7' });
    const rec = recorder(sock);
    await connected(sock, 10000);
    await rec.waitFor('dyn-hello', 1, WAIT_MS);
    return { sock, rec };
  }));
  emitter.of('/dyn-7').emit('ext-dyn', 'to /dyn-7');
  await until(() => dyn.every((m) => m.rec.of('ext-dyn').length === 1), WAIT_MS, 'ext-dyn on /dyn-7');
  await marker(a[0], [...a, outsider]);
  for (const m of [...a, outsider]) assert.deepEqual(m.rec.of('ext-dyn'), []);
});

/**
 * A socket.io server on @socket.io/redis-adapter in the cluster (adapter
 * options in adapterOpts), closed after test t; its clients may "join" and
 * "to-room". Resolves { io, url }.
 */
async function nodeIo(t, adapterOpts = {}) {
  const pub = createClient({ url: cl.redis.url });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await pub.connect();
  await sub.connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, adapterOpts) });
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => { socket.join(room); ack('joined', room); });
    socket.on('to-room', (room, payload) => io.to(room).emit('room-msg', payload));
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    io.close();
    await pub.quit().catch(() => {});
    await sub.quit().catch(() => {});
  });
  return { io, url: `http://127.0.0.1:${httpServer.address().port}` };
}

test('a socket.io server on @socket.io/redis-adapter and Hubbub nodes broadcast to each other', { skip: SKIP }, async (t) => {
  const { io, url } = await nodeIo(t);
  const nodeSrv = { url };
  const onNode = client(t, nodeSrv, WS);
  const nodeRec = recorder(onNode);
  await connected(onNode, 10000);
  // Node 2's member sends a header of its own and a common one in mixed
  // case (Hubbub keeps common names as a byte: they must come back named).
  const extraHeaders = { 'X-Hubbub-Test': 'a, b', 'Accept-Language': 'fr' };
  const a = await Promise.all([0, 2].map((i) => member(t, i, i === 2 ? { extraHeaders } : {})));
  for (const m of [...a, { sock: onNode }]) assert.equal(await ask(m.sock, 'join', 'mixed'), 'joined');

  // Hubbub -> socket.io: a room broadcast with a binary argument.
  a[0].sock.emit('to-room', 'mixed', { from: 'hubbub', bin: Buffer.from('hb') });
  // socket.io -> Hubbub
  onNode.emit('to-room', 'mixed', 'from node');
  io.emit('all', 'io.emit of node', Buffer.from([7]));
  const all = [...a, { rec: nodeRec }];
  await until(() => all.every((m) => m.rec.of('room-msg').length === 2 && m.rec.of('all').length === 1),
    WAIT_MS, 'the broadcasts of both kinds of nodes');
  for (const m of all) {
    const msgs = m.rec.of('room-msg').map((x) => x[0]);
    const fromHubbub = msgs.find((x) => typeof x === 'object');
    assert.equal(fromHubbub.from, 'hubbub');
    assert.ok(Buffer.isBuffer(fromHubbub.bin));
    assert.equal(fromHubbub.bin.toString(), 'hb');
    assert.ok(msgs.includes('from node'));
    const [text, bin] = m.rec.of('all')[0];
    assert.equal(text, 'io.emit of node');
    assert.deepEqual([...bin], [7]);
  }

  // socket.io's socketsJoin reaches Hubbub's sockets.
  io.in('mixed').socketsJoin('mixed-2');
  await until(async () => (await ask(a[1].sock, 'rooms')).includes('mixed-2'), WAIT_MS, 'socketsJoin from socket.io');

  // Broadcasts with acks, both ways: socket.io counts the nodes with PUBSUB
  // NUMSUB (Hubbub nodes included) and each node reports its recipients.
  onNode.on('poll', (q, cb) => cb(`${q} from node.js`));
  a.forEach((m, i) => m.sock.on('poll', (q, cb) => cb(`${q} from hubbub ${i}`)));
  // (The adapter keeps a timer of that length whatever happens: not 20 s.)
  const fromNode = await within(io.to('mixed').timeout(10000).emitWithAck('poll', 'vote?'),
    WAIT_MS, 'the acks collected by socket.io');
  assert.deepEqual(fromNode.sort(), ['vote? from hubbub 0', 'vote? from hubbub 1', 'vote? from node.js']);
  assert.deepEqual(await askLong(a[0].sock, 'ask-room', 'mixed', WAIT_MS), {
    timedOut: false,
    responses: ['vote? from hubbub 0', 'vote? from hubbub 1', 'vote? from node.js'],
  });

  // fetchSockets, both ways, with what socket.io's RemoteSocket carries.
  assert.equal(await ask(a[1].sock, 'set-data', { user: 'ann', n: 2 }), 'ok');
  const fetched = await within(io.in('mixed').fetchSockets(), WAIT_MS, 'fetchSockets on socket.io');
  assert.deepEqual(fetched.map((s) => s.id).sort(), [a[0].sock.id, a[1].sock.id, onNode.id].sort());
  const remote = fetched.find((s) => s.id === a[1].sock.id);
  assert.deepEqual([...remote.rooms].sort(), [a[1].sock.id, 'mixed', 'mixed-2'].sort());
  assert.deepEqual(remote.data, { user: 'ann', n: 2 });
  assert.equal(remote.handshake.query.EIO, '4');
  assert.equal(remote.handshake.query.transport, 'websocket');
  assert.equal(remote.handshake.url.split('?')[0], '/socket.io/');
  assert.deepEqual(remote.handshake.auth, {});
  assert.equal(typeof remote.handshake.issued, 'number');
  assert.ok(remote.handshake.headers.host, 'the handshake headers, by lower-case name');
  assert.equal(remote.handshake.headers['x-hubbub-test'], 'a, b');
  assert.equal(remote.handshake.headers['accept-language'], 'fr');
  assert.equal(remote.handshake.headers.upgrade, 'websocket');
  assert.equal(remote.handshake.headers['sec-websocket-version'], '13');
  // RemoteSocket.emit() goes through the socket's own room.
  remote.emit('to-you', 'from socket.io');
  await a[1].rec.waitFor('to-you', 1, WAIT_MS);
  assert.deepEqual(await askLong(a[0].sock, 'fetch', 'mixed'), [a[0].sock.id, a[1].sock.id, onNode.id].sort());
  // allRooms() asks every node too.
  const rooms = await within(io.of('/').adapter.allRooms(), WAIT_MS, 'allRooms');
  for (const r of ['mixed', 'mixed-2', a[0].sock.id, a[1].sock.id]) assert.ok(rooms.has(r), r);
});

test('serverSideEmit between a socket.io server and Hubbub nodes, with and without acks', { skip: SKIP }, async (t) => {
  // requestsTimeout: how long socket.io waits for the answers of the others.
  const { io } = await nodeIo(t, { requestsTimeout: 3000 });
  const nsp = io.of('/');
  const notes = [];
  // (the callback comes last, after whatever arguments the sender gave)
  nsp.on('whoami', (...args) => args.pop()('node.js'));
  nsp.on('sse-note', (payload) => notes.push(payload));
  nsp.on('silent', () => {}); // a listener that never calls back
  const a = await Promise.all([0, 1, 2].map((i) => member(t, i)));

  // socket.io -> Hubbub: PUBSUB NUMSUB counts the three Hubbub nodes, and
  // each one's "whoami" handler answers with its node id.
  const ids = await within(nsp.serverSideEmitWithAck('whoami'), WAIT_MS, 'serverSideEmitWithAck("whoami")');
  assert.deepEqual(ids.sort(), ['n0', 'n1', 'n2']);
  // An event no Hubbub node has a handler for: answered at once, with no
  // value, so that socket.io does not wait for its timeout.
  const none = await within(nsp.serverSideEmitWithAck('nobody-handles-it', 1), WAIT_MS, 'the default answers');
  assert.deepEqual(none, [undefined, undefined, undefined]);
  // A Hubbub handler that does not answer: socket.io times out, as with a
  // socket.io listener that does not call back.
  const silent = await new Promise((resolve) => {
    nsp.serverSideEmit('sse-note', 'asked', (err, responses) => resolve({ err, responses }));
  });
  assert.match(silent.err.message, /timeout reached: only 0 responses received out of 3/);
  assert.deepEqual(silent.responses, []);
  // Without an ack, with arguments as JSON carries them: every Hubbub node
  // hands them to its "sse-note" handler, which emits them to its clients.
  const payload = { n: 0.1, big: 2 ** 53, neg: -7, e: 1e21, s: 'é\u0001"', list: [true, null, {}] };
  nsp.serverSideEmit('sse-note', payload);
  await until(() => a.every((m) => m.rec.of('sse-note').length === 2), WAIT_MS, 'sse-note on every Hubbub node');
  for (const m of a) assert.deepEqual(m.rec.of('sse-note').map((x) => x[0]), ['asked', payload]);

  // Hubbub -> socket.io and the other Hubbub nodes, with an ack: one answer
  // per other node (the sender's own handler is not called).
  assert.deepEqual(await askLong(a[0].sock, 'server-emit', 'whoami', null), {
    timedOut: false, responses: ['n1', 'n2', 'node.js'],
  });
  // Without an ack: the other nodes get it, the sender's node does not.
  a[1].sock.emit('server-emit', 'sse-note', 'from n1');
  await until(() => notes.includes('from n1'), WAIT_MS, 'sse-note on socket.io');
  await marker(a[1], a); // published after the event, by the same node
  assert.deepEqual(a.map((m) => m.rec.of('sse-note').length), [3, 2, 3]);
  assert.deepEqual(a[0].rec.of('sse-note')[2], ['from n1']);
  // A socket.io listener that never calls back: the answers of the others
  // come with the timeout (5 s by default); n1 and n2 know no "silent" and
  // answer without a value.
  assert.deepEqual(await askLong(a[2].sock, 'server-emit', 'silent', 1), {
    timedOut: true, responses: [null, null],
  });
});

// ---------------------------------------------------------------------------
// Long-polling behind a round-robin load balancer (no sticky sessions)

const POLLING = { transports: ['polling'] };

async function forwarded() {
  let n = 0;
  for (const srv of nodes) n += (await metrics(srv)).hubbub_cluster_forwards_total;
  return n;
}

test('polling clients behind a round-robin balancer: requests for another node\'s session are forwarded', { skip: SKIP }, async (t) => {
  const lb = await roundRobin(t, nodes);
  const before = await forwarded();
  const polling = [];
  for (let i = 0; i < 3; i++) {
    const sock = client(t, { url: lb.url }, POLLING);
    const rec = recorder(sock);
    await connected(sock, WAIT_MS);
    polling.push({ sock, rec });
  }
  const ws = await member(t, 1);
  // Emits with acks, both ways.
  for (const m of polling) {
    assert.deepEqual(await askLong(m.sock, 'join', 'lb-room'), 'joined');
    assert.equal(await askLong(m.sock, 'echo', 'polled', 7), 'polled');
  }
  assert.equal(await ask(ws.sock, 'join', 'lb-room'), 'joined');
  polling[0].sock.on('question', (q, cb) => cb(`answer to ${q}`));
  assert.equal(await askLong(polling[0].sock, 'ask', WAIT_MS), 'answer to q');
  // A room broadcast from a polling client reaches them all.
  polling[2].sock.emit('to-room', 'lb-room', 'through the balancer');
  const everyone = [...polling, ws];
  await Promise.all(everyone.map((m) => m.rec.waitFor('room-msg', 1, WAIT_MS)));
  for (const m of everyone) assert.deepEqual(got(m.rec, 'room-msg'), ['through the balancer']);
  // And a broadcast from elsewhere reaches the polling clients (their held
  // polls are forwarded too).
  ws.sock.emit('emit-all', 'to the pollers');
  await Promise.all(polling.map((m) => until(() => got(m.rec, 'all').includes('to the pollers'),
    WAIT_MS, 'io.emit to the polling clients')));
  assert.ok(lb.counts.every((c) => c > 0), `every node got requests: ${lb.counts}`);
  assert.ok(await forwarded() > before, 'some requests were forwarded to their owner');
  for (const m of polling) assert.equal(m.sock.io.engine.transport.name, 'polling');
});

test('default-transport clients behind a round-robin balancer upgrade to WebSocket, relayed to their session\'s node', { skip: SKIP }, async (t) => {
  const lb = await roundRobin(t, nodes);
  const before = await relayed();
  const all = [];
  // Each client's upgrade goes to whichever node is next: with several
  // clients, some of them land on a node that does not hold the session.
  for (let i = 0; i < 6; i++) {
    const sock = client(t, { url: lb.url });
    const rec = recorder(sock);
    await connected(sock, WAIT_MS);
    if (sock.io.engine.transport.name !== 'websocket') {
      await new Promise((resolve) => sock.io.engine.once('upgrade', resolve));
    }
    assert.equal(sock.io.engine.transport.name, 'websocket');
    all.push({ sock, rec });
  }
  const now = await relayed();
  assert.ok(now.total > before.total, 'some upgrades were relayed to their session\'s node');
  assert.ok(now.open > before.open, 'relays are open while their clients are connected');
  assert.ok(lb.upgrades.some((n) => n > 0));
  // Acks and a room broadcast over the relayed WebSockets.
  for (const m of all) {
    assert.equal(await askLong(m.sock, 'echo', 'over ws', 3), 'over ws');
    assert.equal(await askLong(m.sock, 'join', 'ws-lb-room'), 'joined');
  }
  all[0].sock.emit('to-room', 'ws-lb-room', 'relayed');
  await Promise.all(all.map((m) => m.rec.waitFor('room-msg', 1, WAIT_MS)));
  for (const m of all) assert.deepEqual(got(m.rec, 'room-msg'), ['relayed']);
  for (const m of all) assert.equal(m.sock.io.engine.transport.name, 'websocket');
  // Clients that leave close their relays.
  for (const m of all) m.sock.disconnect();
  await until(async () => (await relayed()).open === before.open, WAIT_MS, 'the relays to close');
});

/** Sends a raw WebSocket upgrade to url; resolves its status (101 or the refusal's) and body. */
function rawUpgrade(t, url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, {
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('upgrade', (res, socket) => {
      t.after(() => socket.destroy());
      resolve({ status: 101, socket });
    });
    req.on('error', reject);
  });
}

async function relayed() {
  let total = 0, open = 0, errors = 0;
  for (const srv of nodes) {
    const m = await metrics(srv);
    total += m.hubbub_cluster_relays_total;
    open += m.hubbub_cluster_relays_open;
    errors += m.hubbub_cluster_relay_errors_total;
  }
  return { total, open, errors };
}

test('a polling request for an unknown node, or an upgrade of another node\'s session: relayed, or Engine.IO errors', { skip: SKIP }, async (t) => {
  // A session of node 1 seen from node 0.
  const r = await request(`${nodes[1].url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(r.status, 200);
  const sid = JSON.parse(r.body.slice(1)).sid;
  t.after(() => request(`${nodes[1].url}/socket.io/?EIO=4&transport=polling&sid=${sid}`,
    { method: 'POST', body: '1' }).catch(() => {}));
  const viaOther = await request(`${nodes[0].url}/socket.io/?EIO=4&transport=polling&sid=${sid}`,
    { method: 'POST', body: '40' });
  assert.equal(viaOther.status, 200);
  assert.equal(viaOther.body, 'ok');
  // No node has that tag: "Session ID unknown", as engine.io answers.
  const bogus = `${'Zz9-Zz9-'}${sid.slice(8)}`;
  const unknown = await request(`${nodes[0].url}/socket.io/?EIO=4&transport=polling&sid=${bogus}`);
  assert.equal(unknown.status, 400);
  assert.deepEqual(JSON.parse(unknown.body), { code: 1, message: 'Session ID unknown' });
  // A WebSocket upgrade for node 1's session on node 0: relayed to node 1,
  // which answers the probe as its own.
  const before = await relayed();
  const upgrade = await rawUpgrade(t, `${nodes[0].url}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  assert.equal(upgrade.status, 101);
  const mask = [1, 2, 3, 4];
  const payload = Buffer.from('2probe');
  upgrade.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, ...mask]),
    payload.map((b, i) => b ^ mask[i % 4])]));
  const pong = await new Promise((resolve) => upgrade.socket.once('data', resolve));
  assert.equal(pong.subarray(2).toString(), '3probe');
  const during = await relayed();
  assert.equal(during.total, before.total + 1);
  assert.equal(during.open, before.open + 1);
  upgrade.socket.destroy();
  await until(async () => (await relayed()).open === before.open, WAIT_MS, 'the relay to close');
  // An upgrade for a session of no node: engine.io's plain-text 400.
  const lost = await rawUpgrade(t, `${nodes[0].url}/socket.io/?EIO=4&transport=websocket&sid=${bogus}`);
  assert.equal(lost.status, 400);
  assert.equal(lost.body, 'Session ID unknown');
  assert.ok((await relayed()).errors > before.errors, 'the failed relay is counted');
});

test('a node killed with SIGKILL leaves the others working and the registry within its TTL', { skip: SKIP }, async (t) => {
  const doomed = await startNode();
  await ready(doomed, 4);
  await Promise.all(nodes.map((n) => ready(n, 4)));
  const onDoomed = client(t, doomed, WS);
  await connected(onDoomed, 10000);
  const a = await Promise.all([0, 1, 2].map((i) => member(t, i)));
  // A polling session on the doomed node, reached through node 0.
  const open = await request(`${doomed.url}/socket.io/?EIO=4&transport=polling`);
  const sid = JSON.parse(open.body.slice(1)).sid;
  const pollUrl = `${nodes[0].url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  assert.equal((await request(pollUrl, { method: 'POST', body: '40' })).body, 'ok');
  doomed.proc.kill('SIGKILL');
  await new Promise((resolve) => doomed.proc.once('exit', resolve));
  // Its owner gone, the session is unknown: the client would start anew.
  const orphan = await request(pollUrl);
  assert.equal(orphan.status, 400);
  assert.deepEqual(JSON.parse(orphan.body), { code: 1, message: 'Session ID unknown' });
  // An upgrade of it too (the route is still known, the owner refuses the connection).
  const orphanWs = await rawUpgrade(t, pollUrl.replace('transport=polling', 'transport=websocket'));
  assert.equal(orphanWs.status, 400);
  assert.equal(orphanWs.body, 'Session ID unknown');

  a[0].sock.emit('emit-all', 'after the kill');
  await until(() => a.every((m) => got(m.rec, 'all').includes('after the kill')), WAIT_MS, 'broadcast after the kill');
  // Within the TTL (plus a refresh period and slack), every node sees 3.
  await Promise.all(nodes.map((n) => ready(n, 3)));
  const rc = createClient({ url: cl.redis.url });
  rc.on('error', () => {});
  await rc.connect();
  t.after(() => rc.quit().catch(() => {}));
  const keys = (await rc.keys('hubbub:node:*')).sort();
  assert.deepEqual(keys, nodes.map((n) => `hubbub:node:${n.id}`).sort());
  assert.match(nodes[0].stderr(), new RegExp(`node ${doomed.id} \\(127\\.0\\.0\\.1:${doomed.port}\\) left`));
});

test('a Redis restart: local delivery goes on, then broadcasts cross nodes again', { skip: SKIP }, async (t) => {
  const a = await Promise.all([0, 0, 1, 2].map((i) => member(t, i)));
  a.forEach((m, i) => m.sock.on('poll', (q, cb) => cb(`member ${i}`)));
  for (const m of a) await ask(m.sock, 'join', 'outage-room');
  const before = await metrics(nodes[0]);
  await cl.redis.stop();
  await Promise.all(nodes.map((n) => until(async () => (await metrics(n))[CONNECTED_CMD] === 0,
    WAIT_MS, `node ${n.id} to notice Redis is gone`, 100)));

  // Redis away: the node's own clients still get its broadcasts; what should
  // have crossed is dropped and counted, not queued.
  a[0].sock.emit('emit-all', 'while Redis is away');
  await until(() => got(a[0].rec, 'all').includes('while Redis is away') &&
    got(a[1].rec, 'all').includes('while Redis is away'), WAIT_MS, 'local delivery without Redis');
  const during = await metrics(nodes[0]);
  assert.ok(during.hubbub_redis_dropped_total > before.hubbub_redis_dropped_total, 'the drop is counted');
  assert.ok(during.hubbub_redis_errors_total > before.hubbub_redis_errors_total, 'the lost connection is counted');
  assert.match(nodes[0].stderr(), /lost the commands connection to 127\.0\.0\.1:\d+/);
  // A broadcast with acks cannot ask the other nodes: it ends at once with
  // this node's answers and an error (the testbed's timedOut), not after its
  // timeout.
  assert.deepEqual(await askLong(a[0].sock, 'ask-room', 'outage-room', 10 * WAIT_MS), {
    timedOut: true, responses: ['member 0', 'member 1'],
  });
  // So does a serverSideEmit with an ack: no answers, an error.
  assert.deepEqual(await askLong(a[0].sock, 'server-emit', 'whoami', null), {
    timedOut: true, responses: [],
  });

  await cl.restartRedis();
  await Promise.all(nodes.map((n) => ready(n, 3)));
  assert.match(nodes[0].stderr(), /connected to 127\.0\.0\.1:\d+ again \(subscriber connection\)/);

  a[3].sock.emit('emit-all', 'Redis is back');
  await until(() => a.every((m) => got(m.rec, 'all').includes('Redis is back')), WAIT_MS, 'broadcast after the restart');
  // Dropped, not buffered: what node 0 sent during the outage never arrives
  // (it would have come before "Redis is back").
  assert.deepEqual(got(a[2].rec, 'all'), ['Redis is back']);
  assert.deepEqual(got(a[3].rec, 'all'), ['Redis is back']);
  for (const m of a) await ask(m.sock, 'join', 'after-restart');
  a[2].sock.emit('to-room', 'after-restart', 'rooms too');
  await until(() => a.every((m) => got(m.rec, 'room-msg').includes('rooms too')), WAIT_MS, 'room broadcast after the restart');
  // The request channels were subscribed to again: acks cross nodes again.
  assert.deepEqual(await askLong(a[3].sock, 'ask-room', 'outage-room', WAIT_MS), {
    timedOut: false, responses: ['member 0', 'member 1', 'member 2', 'member 3'],
  });
});
