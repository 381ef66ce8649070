// Cluster mode (--redis) for the Azure-compatible hubs: a real redis-server
// on a free port and three `hubbub --redis ...` nodes; an unmodified app
// server (npm socket.io + @azure/web-pubsub-socket.io, ref/azure-app.mjs,
// whose header specifies its events) given the connection string of ONE
// node serves the socket.io-client clients of all three: each node asks it
// to open a tunnel to the others (the tunnel protocol's rebalance), and the
// app's REST calls, made on whichever tunnel, act on the whole cluster.
// Checked: tunnels on every node; rooms, io.emit and socket.broadcast across
// nodes; acks both ways and a broadcast with acks (:invoke) collecting the
// answers of every node; the REST API (WebPubSubServiceClient) on any node:
// exists queries, sends to a connection, group and user, group membership
// and closing connections held by other nodes; polling clients behind a
// round-robin balancer; a node killed with SIGKILL (the app server gets the
// disconnected events of its clients within the TTL); a Redis restart;
// nodes with --public-url behind a balancer (tunnels routed to their
// target; a killed node's tunnel closed for good, after which new clients
// are all answered on their first try).
// docs/cluster.md describes the design.
//
// Who does NOT receive a broadcast is checked with a marker, but only after
// what must arrive has: the extension sends each REST call on a tunnel it
// picks at random, so two broadcasts of the app may enter the cluster on
// different nodes and cross Redis on different connections, in either
// order (docs/cluster.md, "Order"). A marker
// sent after the expected messages arrived makes it very likely that a
// stray one would have arrived as well; the order of separate broadcasts
// is not checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import jwt from 'jsonwebtoken';
import { startServer, stopChecked, freePort, REPO, IS_REF } from './lib/server.mjs';
import { connected, recorder, until, within, once, request } from './lib/sio.mjs';
import {
  metrics, roundRobin, testCluster, startRedis, redisReady, marker as markerOf, got,
} from './lib/cluster.mjs';

const SKIP = IS_REF ? 'cluster mode is Hubbub\'s' : false;
const APP = path.join(REPO, 'tests/e2e/ref/azure-app.mjs');
const KEY = crypto.randomBytes(32).toString('base64');
const TTL_S = 2; // --node-ttl, so that a killed node leaves the registry quickly
const WAIT_MS = 20000; // generous bounds for a loaded 2-core machine (and ASan)
const T = { skip: SKIP, timeout: 120000 };
const WS = { transports: ['websocket'] };
const POLLING = { transports: ['polling'] };
const INSECURE = { allowInsecureConnection: true };

const cl = testCluster({
  prefix: 'az',
  waitMs: WAIT_MS,
  launch: (url, id) => startServer({
    ref: false,
    args: ['--access-key', KEY, '--allow-anonymous', '--redis', url, '--node-id', id,
      '--node-ttl', String(TTL_S)],
  }),
});
const { nodes, ready } = cl;
const connStr = (srv) => `Endpoint=${srv.url};AccessKey=${KEY};Version=1.0;`;

before(async () => {
  if (!SKIP) await cl.start();
});

after(async () => {
  if (!SKIP) await cl.stop();
});

let hubs = 0;
const newHub = () => `cz_${process.pid}_${++hubs}`;

// ---------------------------------------------------------------------------
// App servers and clients

const liveApps = new Set();
process.on('exit', () => {
  for (const p of liveApps) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** The tunnels open on srv now (its /metrics gauge). */
const tunnels = async (srv) => (await metrics(srv)).hubbub_tunnels_open;

/**
 * Starts ref/azure-app.mjs for hub with the connection string of `via`,
 * waits for its ready line, then for a tunnel on every node (the nodes ask
 * it to open them). Stopped when t ends.
 */
async function startApp(t, hub, via, on = nodes) {
  const before = await Promise.all(on.map(tunnels));
  const proc = spawn(process.execPath, [APP, hub, connStr(via), 'app'], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveApps.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', () => { liveApps.delete(proc); resolve(); }));
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  await until(() => out.includes('ready app\n'), WAIT_MS, `app server of ${hub} to be ready:\n${out}`);
  await until(async () => (await Promise.all(on.map(tunnels))).every((n, i) => n > before[i]),
    WAIT_MS, 'a tunnel of the app server on every node', 100);
  return { proc, output: () => out };
}

/** A connected socket.io-client of hub on node srv, recording what it receives. */
async function member(t, hub, srv, opts = WS) {
  const sock = ioClient(srv.url, {
    path: `/clients/socketio/hubs/${hub}`, forceNew: true, reconnection: false, timeout: WAIT_MS, ...opts,
  });
  t.after(() => sock.disconnect());
  const rec = recorder(sock);
  await connected(sock, WAIT_MS);
  return { sock, rec };
}

const ask = (sock, ev, ...args) => within(sock.emitWithAck(ev, ...args), WAIT_MS, `the ack of "${ev}"`);

/**
 * ask, retried: after a node died, the app server still sends some of its
 * calls on its tunnel to that node, and they fail (the extension keeps
 * reconnecting that tunnel and picks tunnels at random).
 */
async function askRetry(sock, ev, ...args) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await sock.timeout(3000).emitWithAck(ev, ...args);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`no ack of "${ev}" in ${WAIT_MS} ms`);
    }
  }
}

const marker = (sender, all) => markerOf(sender, all, WAIT_MS);

/**
 * Waits until member i of m has counts[i] events ev, then for a marker from
 * sender; resolves what each got, sorted (separate broadcasts of the app
 * may arrive in either order).
 */
async function settled(m, ev, counts, sender) {
  await Promise.all(m.map(({ rec }, i) => until(() => got(rec, ev).length >= counts[i], WAIT_MS,
    `${counts[i]} "${ev}" on member ${i} (it has ${JSON.stringify(got(rec, ev))})`)));
  await marker(sender, m);
  return m.map(({ rec }) => got(rec, ev).sort());
}

// ---------------------------------------------------------------------------

test('an app server given one node\'s connection string gets a tunnel to every node and serves all their clients', T, async (t) => {
  const hub = newHub();
  const app = await startApp(t, hub, nodes[0]);
  const m = [];
  for (const srv of nodes) m.push(await member(t, hub, srv));
  for (const { sock } of m) {
    const me = await ask(sock, 'whoami');
    assert.equal(me.id, sock.id);
    assert.equal(me.label, 'app');
  }
  // Connection ids name their node: each node's tag differs.
  const tags = new Set(m.map(({ sock }) => sock.io.engine.id.slice(0, 8)));
  assert.equal(tags.size, 3);
  assert.match(nodes[1].stderr(), /app server tunnel \S+ connected \(asked for by a node of the cluster\)/);
  assert.ok(app.proc.exitCode === null);
});

test('rooms, io.emit and socket.broadcast reach the clients of every node, and nobody else', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[1]);
  const m = [];
  for (const i of [0, 1, 2, 0, 2]) m.push(await member(t, hub, nodes[i]));
  for (const i of [0, 1, 2]) assert.equal(await ask(m[i].sock, 'join', 'room-a'), 'ok');
  m[4].sock.emit('to-room', 'room-a', 'to the room');
  m[3].sock.emit('broadcast', 'from 3');
  assert.deepEqual(await settled(m, 'room-msg', [1, 1, 1, 0, 0], m[3]),
    [['to the room'], ['to the room'], ['to the room'], [], []]);
  assert.deepEqual(await settled(m, 'bcast', [1, 1, 1, 0, 1], m[3]),
    [['from 3'], ['from 3'], ['from 3'], [], ['from 3']]);
  // Leaving works across nodes too (the app's REST call reaches the owner).
  assert.equal(await ask(m[2].sock, 'leave', 'room-a'), 'ok');
  m[4].sock.emit('to-except', 'room-a', 'nobody', 'again');
  assert.deepEqual((await settled(m, 'room-msg', [2, 2, 1, 0, 0], m[4])).map((x) => x.length),
    [2, 2, 1, 0, 0]);
  // socketsJoin (a hub-wide :addToGroups with a group filter) reaches
  // the members of every node. socket.io's socketsJoin() returns nothing
  // to await, so the app acks before its REST call is answered: the test
  // waits until the group lists both members (a node answers a listing
  // only once it is subscribed to the group), then sends to it.
  const svc = new WebPubSubServiceClient(connStr(nodes[0]), hub, INSECURE);
  const members = async (room) => {
    const out = [];
    for await (const x of await svc.group(`0~Lw~${Buffer.from(room).toString('base64url')}`).listConnections()) {
      out.push(x.connectionId);
    }
    return out.sort();
  };
  const inRoomA = [m[0], m[1]].map(({ sock }) => sock.io.engine.id).sort();
  for (let i = 0; i < 3; i++) {
    assert.equal(await ask(m[4].sock, 'sockets-join', 'room-a', `moved-${i}`), 'ok');
    await until(async () => JSON.stringify(await members(`moved-${i}`)) === JSON.stringify(inRoomA),
      WAIT_MS, `both members of room-a in moved-${i}`, 50);
    m[4].sock.emit('to-room', `moved-${i}`, `moved ${i}`);
  }
  const moved = await settled(m, 'room-msg', [5, 5, 1, 0, 0], m[4]);
  for (const i of [0, 1]) {
    assert.deepEqual(moved[i].filter((x) => x.startsWith('moved')), ['moved 0', 'moved 1', 'moved 2']);
  }
  assert.deepEqual(moved.map((x) => x.length), [5, 5, 1, 0, 0]);
  // A node's only member leaving and joining again at once: its node
  // unsubscribes from the group's channel and subscribes again while the
  // first answer may still be on its way; broadcasts must still arrive.
  for (let i = 0; i < 5; i++) {
    assert.equal(await ask(m[2].sock, 'join', `flip-${i}`), 'ok');
    assert.equal(await ask(m[2].sock, 'leave', `flip-${i}`), 'ok');
    assert.equal(await ask(m[2].sock, 'join', `flip-${i}`), 'ok');
    m[0].sock.emit('to-room', `flip-${i}`, `flip ${i}`);
  }
  const flipped = await settled(m, 'room-msg', [5, 5, 6, 0, 0], m[0]);
  assert.deepEqual(flipped[2].filter((x) => x.startsWith('flip')), [0, 1, 2, 3, 4].map((i) => `flip ${i}`));
  assert.deepEqual(flipped.map((x) => x.length), [5, 5, 6, 0, 0]);
});

test('acks cross nodes: an emit with ack to one client, and a broadcast with acks (:invoke) collecting every node\'s answers', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[2]);
  const m = [];
  for (const i of [0, 1, 2]) m.push(await member(t, hub, nodes[i]));
  m.forEach(({ sock }, i) => {
    sock.on('question', (q, cb) => cb(`answer ${i}`));
    sock.on('poll', (q, cb) => cb(`vote ${i}`));
  });
  for (let i = 0; i < 3; i++) assert.equal(await ask(m[i].sock, 'ask', 10000), `answer ${i}`);
  for (const { sock } of m) await ask(sock, 'join', 'voters');
  assert.deepEqual(await ask(m[0].sock, 'ask-room', 'voters', 10000),
    { timedOut: false, responses: ['vote 0', 'vote 1', 'vote 2'] });
  // A client that never answers: the others' answers, and the timeout.
  const silent = await member(t, hub, nodes[1]);
  await ask(silent.sock, 'join', 'voters');
  assert.deepEqual(await ask(m[2].sock, 'ask-room', 'voters', 1500),
    { timedOut: true, responses: ['vote 0', 'vote 1', 'vote 2'] });
});

test('the REST API on any node acts on the whole cluster', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[0]);
  const svc = (i) => new WebPubSubServiceClient(connStr(nodes[i]), hub, INSECURE);
  const user = async (i, name) => {
    const { token } = await svc(0).getClientAccessToken({ userId: name, clientProtocol: 'socketio' });
    return member(t, hub, nodes[i], { ...WS, query: { access_token: token } });
  };
  const a = await user(0, 'ann');
  const b = await user(1, 'bob');
  const c = await member(t, hub, nodes[2], POLLING);
  const ids = new Map([a, b, c].map((x) => [x, x.sock.io.engine.id])); // gone with the session
  const id = (x) => ids.get(x);

  // exists, asked of a node that does not hold the connection or user
  assert.equal(await svc(2).connectionExists(id(a)), true);
  assert.equal(await svc(0).connectionExists(id(c)), true);
  assert.equal(await svc(0).connectionExists(`${id(c).slice(0, 8)}nosuchconnection`), false);
  assert.equal(await svc(1).connectionExists('nosuchnode-nosuchconnection'), false);
  assert.equal(await svc(2).userExists('ann'), true);
  assert.equal(await svc(0).userExists('bob'), true);
  assert.equal(await svc(1).userExists('carl'), false);

  // groups: membership set on one node for connections of others
  await svc(2).group('team').addConnection(id(a));
  await svc(0).group('team').addConnection(id(c));
  assert.equal(await svc(1).groupExists('team'), true);
  assert.equal(await svc(1).groupExists('nobody-here'), false);
  await svc(1).group('team').sendToAll('42["for-team"]', { contentType: 'text/plain' });
  await svc(2).sendToUser('bob', '42["for-bob"]', { contentType: 'text/plain' });
  await svc(1).sendToConnection(id(c), '42["for-c"]', { contentType: 'text/plain' });
  await svc(0).sendToAll('42["for-all"]', { contentType: 'text/plain' });
  for (const x of [a, b, c]) await x.rec.waitFor('for-all', 1, WAIT_MS);
  await a.rec.waitFor('for-team', 1, WAIT_MS);
  await c.rec.waitFor('for-team', 1, WAIT_MS);
  await b.rec.waitFor('for-bob', 1, WAIT_MS);
  await c.rec.waitFor('for-c', 1, WAIT_MS);
  assert.deepEqual([a, b, c].map((x) => x.rec.of('for-team').length), [1, 0, 1]);
  assert.deepEqual([a, b, c].map((x) => x.rec.of('for-bob').length), [0, 1, 0]);
  assert.deepEqual([a, b, c].map((x) => x.rec.of('for-c').length), [0, 0, 1]);

  // listing a group's members held by other nodes, a page at a time
  const list = async (i, g, opts) => {
    const out = [];
    for await (const page of (await svc(i).group(g).listConnections(opts)).byPage()) out.push(page);
    return out;
  };
  assert.deepEqual(await list(1, 'team'), [[id(a), id(c)].sort().map((x) => ({ connectionId: x, ...(x === id(a) ? { userId: 'ann' } : {}) }))]);
  assert.deepEqual((await list(2, 'team', { maxPageSize: 1 })).map((p) => p.map((m) => m.connectionId)),
    [id(a), id(c)].sort().map((x) => [x]));
  assert.deepEqual(await list(0, 'nobody-here'), [[]]);
  // permissions of a connection held by another node
  await svc(1).grantPermission(id(a), 'sendToGroup', { targetName: 'team' });
  assert.equal(await svc(2).hasPermission(id(a), 'sendToGroup', { targetName: 'team' }), true);
  assert.equal(await svc(2).hasPermission(id(a), 'sendToGroup', { targetName: 'other' }), false);
  // user groups: set on one node for a user connected to another
  await svc(2).group('crew').addUser('bob');
  assert.deepEqual((await list(0, 'crew')).flat(), [{ connectionId: id(b), userId: 'bob' }]);
  await svc(0).group('crew').sendToAll('42["for-crew"]', { contentType: 'text/plain' });
  await b.rec.waitFor('for-crew', 1, WAIT_MS);
  await svc(0).removeUserFromAllGroups('bob');
  assert.equal(await svc(1).groupExists('crew'), false);
  await svc(2).group('crew').addUser('bob');
  await svc(0).group('crew').removeUser('bob');
  assert.equal(await svc(1).groupExists('crew'), false);

  await svc(1).group('team').removeConnection(id(a));
  await svc(2).group('team').removeConnection(id(c));
  await until(async () => !(await svc(0).groupExists('team')), WAIT_MS, 'the group to be gone everywhere');

  // closing connections held by other nodes
  const bGone = once(b.sock, 'disconnect', WAIT_MS);
  await svc(0).closeUserConnections('bob');
  await bGone;
  const cGone = once(c.sock, 'disconnect', WAIT_MS);
  await svc(0).closeConnection(id(c), { reason: 'bye' });
  await cGone;
  await until(async () => !(await svc(1).userExists('bob')), WAIT_MS, 'bob to be gone');
  assert.equal(await svc(1).connectionExists(id(c)), false);
  assert.ok(a.sock.connected);
});

test('polling clients behind a round-robin balancer', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[0]);
  const lb = await roundRobin(t, nodes);
  const m = [];
  for (let i = 0; i < 3; i++) m.push(await member(t, hub, lb, POLLING));
  for (const x of m) assert.equal((await ask(x.sock, 'whoami')).id, x.sock.id);
  for (const x of m) await ask(x.sock, 'join', 'lb-room');
  m[0].sock.emit('to-room', 'lb-room', 'through the balancer');
  for (const x of m) await until(() => got(x.rec, 'room-msg').includes('through the balancer'), WAIT_MS, 'room-msg');
  assert.ok(lb.counts.every((n) => n > 0), `every node got requests: ${lb.counts}`);
});

test('a node killed with SIGKILL: within the TTL the app server gets the disconnected events of its clients', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[0]);
  const doomed = await cl.startNode();
  await ready(doomed, 4);
  await Promise.all(nodes.map((n) => ready(n, 4)));
  // The app server was asked to open a tunnel to the new node too.
  await until(async () => (await tunnels(doomed)) > 0, WAIT_MS, 'a tunnel to the new node', 100);
  const safe = await member(t, hub, nodes[1]);
  const before = await ask(safe.sock, 'server-disconnects');
  const lost = [];
  for (let i = 0; i < 2; i++) lost.push(await member(t, hub, doomed));
  await ask(lost[0].sock, 'join', 'doomed-room');
  const lostId = lost[0].sock.io.engine.id;
  doomed.proc.kill('SIGKILL');
  await new Promise((resolve) => doomed.proc.once('exit', resolve));
  await until(async () => (await askRetry(safe.sock, 'server-disconnects')).length === before.length + 2,
    WAIT_MS, 'the disconnected events of the dead node\'s clients', 200);
  const reasons = (await askRetry(safe.sock, 'server-disconnects')).slice(before.length);
  assert.deepEqual(reasons, ['transport close', 'transport close']);
  // The others work on; the dead node's group is gone with it.
  const svc = new WebPubSubServiceClient(connStr(nodes[2]), hub, INSECURE);
  assert.equal(await svc.connectionExists(lostId), false);
  await Promise.all(nodes.map((n) => ready(n, 3)));
  assert.match(nodes.map((n) => n.stderr()).join(''), /node az\d+ left with 2 connections: 2 disconnected events sent/);
  assert.equal((await askRetry(safe.sock, 'whoami')).id, safe.sock.id);
});

test('a node that joins after the app server\'s first node died still gets a tunnel of it', T, async (t) => {
  const hub = newHub();
  const first = await cl.startNode();
  await Promise.all([first, ...nodes].map((n) => ready(n, 4)));
  await startApp(t, hub, first);
  first.proc.kill('SIGKILL');
  await new Promise((resolve) => first.proc.once('exit', resolve));
  await Promise.all(nodes.map((n) => ready(n, 3)));
  const late = await cl.startNode();
  let stopped = false;
  t.after(() => (stopped ? undefined : stopChecked(late)));
  await Promise.all([late, ...nodes].map((n) => ready(n, 4)));
  // Every node with a tunnel of the app asks it; the new node keeps one.
  await until(async () => (await tunnels(late)) === 1, WAIT_MS, 'a tunnel on the new node', 100);
  // (The app server still sends some calls on its tunnel to the dead node;
  // a Socket.IO CONNECT answer lost that way is never retried by
  // socket.io-client, so a new client is tried.)
  let m;
  for (let i = 0; !m; i++) {
    const sock = ioClient(late.url, { path: `/clients/socketio/hubs/${hub}`, forceNew: true, reconnection: false, ...WS });
    t.after(() => sock.disconnect());
    try {
      await connected(sock, 3000);
      m = { sock };
    } catch (e) {
      sock.disconnect();
      if (i >= 10) throw e;
    }
  }
  assert.equal((await askRetry(m.sock, 'whoami')).id, m.sock.id);
  m.sock.disconnect();
  stopped = true;
  await stopChecked(late);
  await Promise.all(nodes.map((n) => ready(n, 3)));
});

/**
 * A TCP proxy to Redis for one node: cut() breaks the node's Redis
 * connections and makes new ones fail (closed at once), while the others'
 * go on; restore() lets them through again. The port stays bound all
 * along: another process could take it meanwhile.
 */
async function redisProxy(t) {
  const sockets = new Set();
  let open = true;
  const server = net.createServer((c) => {
    if (!open) {
      c.destroy();
      return;
    }
    const u = net.connect(cl.redisPort, '127.0.0.1');
    const done = () => {
      for (const x of [c, u]) { x.destroy(); sockets.delete(x); }
    };
    sockets.add(c);
    sockets.add(u);
    c.pipe(u);
    u.pipe(c);
    for (const x of [c, u]) { x.on('error', done); x.on('close', done); }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = async () => {
    open = false;
    for (const x of sockets) x.destroy();
  };
  const restore = async () => { open = true; };
  t.after(() => new Promise((resolve) => {
    cut();
    server.close(() => resolve());
  }));
  return { url: `redis://127.0.0.1:${server.address().port}`, cut, restore };
}

test('a node cut off from Redis for longer than the TTL: the others report its clients gone, and it closes them when it is back', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[0]);
  const proxy = await redisProxy(t);
  const cut = await startServer({
    ref: false,
    args: ['--access-key', KEY, '--allow-anonymous', '--redis', proxy.url, '--node-id', 'cut-off',
      '--node-ttl', String(TTL_S)],
  });
  cut.id = 'cut-off';
  let stopped = false;
  t.after(() => (stopped ? undefined : stopChecked(cut)));
  await ready(cut, 4);
  await until(async () => (await tunnels(cut)) > 0, WAIT_MS, 'a tunnel to the new node', 100);
  const safe = await member(t, hub, nodes[1]);
  const before = (await ask(safe.sock, 'server-disconnects')).length;
  const stranded = await member(t, hub, cut);
  const gone = once(stranded.sock, 'disconnect', 4 * WAIT_MS);
  await proxy.cut();
  // Within the TTL the others take it for dead and tell the app server.
  // (askRetry: the app server's calls that go through the cut node's
  // tunnel cannot reach other nodes meanwhile.)
  await until(async () => (await askRetry(safe.sock, 'server-disconnects')).length === before + 1,
    WAIT_MS, 'the disconnected event of the stranded client', 200);
  await proxy.restore();
  // Back, the node learns it and closes the client, which would reconnect.
  // (The app server may have closed it already through the cut node's own
  // tunnel, when it handled the disconnected event.)
  await gone;
  await ready(cut, 4);
  assert.match(cut.stderr(), /cut off from Redis for longer than its registry TTL/);
  // Leave the cluster as it was (a node still listed would be offered to
  // the next test's app server).
  stopped = true;
  await stopChecked(cut);
  await Promise.all(nodes.map((n) => ready(n, 3)));
});

test('a Redis restart: the nodes rebuild their subscriptions and directory, and hubs cross nodes again', T, async (t) => {
  const hub = newHub();
  await startApp(t, hub, nodes[0]);
  const m = [];
  for (const i of [0, 1, 2]) m.push(await member(t, hub, nodes[i]));
  for (const x of m) await ask(x.sock, 'join', 'outage-room');
  await cl.redis.stop();
  await Promise.all(nodes.map((n) => until(async () => (await metrics(n))['hubbub_redis_connected{connection="commands"}'] === 0,
    WAIT_MS, `node ${n.id} to notice Redis is gone`, 100)));
  // Local work goes on: a send made on node 0 reaches node 0's client; the
  // others' copies are dropped (counted), not queued.
  const svc0 = new WebPubSubServiceClient(connStr(nodes[0]), hub, INSECURE);
  await svc0.sendToAll('42["during"]', { contentType: 'text/plain' });
  await m[0].rec.waitFor('during', 1, WAIT_MS);
  // A call for another node's connection cannot be taken there: 503, not
  // 404 (the app server's client retries it, on a tunnel picked at random).
  const url = `${nodes[0].url}/api/hubs/${hub}/connections/${m[1].sock.io.engine.id}`;
  const auth = { Authorization: `Bearer ${jwt.sign({}, KEY, { audience: url, expiresIn: '1h', algorithm: 'HS256' })}` };
  assert.equal((await request(url, { method: 'HEAD', headers: auth })).status, 503);
  await cl.restartRedis();
  await Promise.all(nodes.map((n) => ready(n, 3)));
  m[2].sock.emit('to-room', 'outage-room', 'after the restart');
  try {
    for (const x of m) await until(() => got(x.rec, 'room-msg').includes('after the restart'), WAIT_MS, 'room-msg after the restart');
  } catch (e) {
    const logs = nodes.map((n) => `--- ${n.id} ---\n${n.stderr().slice(-2500)}`).join('\n');
    throw new Error(`${e.message}: got ${m.map((x) => JSON.stringify(got(x.rec, 'room-msg')))}\n${logs}`);
  }
  await svc0.sendToAll('42["after"]', { contentType: 'text/plain' });
  for (const x of m) await x.rec.waitFor('after', 1, WAIT_MS);
  assert.deepEqual(m.map((x) => x.rec.of('during').length), [1, 0, 0]);
  // The directory and the inboxes are back: another node answers for m[2].
  const svc1 = new WebPubSubServiceClient(connStr(nodes[1]), hub, INSECURE);
  assert.equal(await svc1.connectionExists(m[2].sock.io.engine.id), true);
});

// ---------------------------------------------------------------------------
// --public-url: one address for the whole cluster

test('with --public-url behind a balancer, tunnels are routed to their target, and a killed node\'s tunnel is closed for good', T, async (t) => {
  // A cluster of its own (its own Redis), behind a round-robin balancer
  // that exists before the nodes, which are told its address.
  const redis = await startRedis(await freePort());
  t.after(() => redis.stop());
  const pub = [];
  const lb = await roundRobin(t, pub);
  const running = new Set();
  t.after(async () => {
    for (const srv of running) await stopChecked(srv);
  });
  for (let i = 0; i < 3; i++) {
    const srv = await startServer({
      ref: false,
      args: ['--access-key', KEY, '--allow-anonymous', '--redis', redis.url, '--node-id', `pub${i}`,
        '--node-ttl', String(TTL_S), '--public-url', lb.url],
    });
    srv.id = `pub${i}`;
    pub.push(srv);
    running.add(srv);
  }
  await Promise.all(pub.map((n) => redisReady(n, 3, WAIT_MS)));
  const hub = newHub();
  // The app server knows only the balancer; each node asks it for a
  // tunnel at the balancer's address with its own id as the target.
  const app = await startApp(t, hub, lb, pub);
  const sum = async (srvs, name) => (await Promise.all(srvs.map(metrics))).reduce((a, m) => a + m[name], 0);
  // Every tunnel request went through the balancer, which does not know
  // targets: the ones that reached another node were relayed.
  assert.ok(lb.upgrades.reduce((a, n) => a + n, 0) >= 3, `tunnels through the balancer: ${lb.upgrades}`);
  const m0 = await member(t, hub, pub[0]);
  assert.equal((await ask(m0.sock, 'whoami')).id, m0.sock.id);

  const doomed = pub[2];
  running.delete(doomed);
  doomed.proc.kill('SIGKILL');
  await new Promise((resolve) => doomed.proc.once('exit', resolve));
  const alive = pub.slice(0, 2);
  // Past the TTL, the app server's tunnel client for the dead node
  // reconnects through the balancer to a live node, which tells it that
  // node left: ConnectionClose, and the extension stops that client.
  await Promise.all(alive.map((n) => redisReady(n, 2, WAIT_MS)));
  await until(async () => (await sum(alive, 'hubbub_cluster_tunnels_dead_target_total')) > 0,
    WAIT_MS, 'a ConnectionClose for the dead node\'s tunnel', 200);
  assert.match(alive.map((n) => n.stderr()).join(''),
    new RegExp(`tunnel for node ${doomed.id}, which left the cluster, is closed for good`));
  // Every live node still has a tunnel of the app.
  await until(async () => (await Promise.all(alive.map(tunnels))).every((n) => n > 0),
    WAIT_MS, 'a tunnel of the app on every live node', 100);
  // New clients of the surviving nodes: each connects, and is answered, on
  // its first try (no REST call of the app is lost on a dead tunnel; a lost
  // CONNECT answer would leave its client waiting, never retried).
  for (let i = 0; i < 24; i++) {
    const m = await member(t, hub, alive[i % 2]);
    assert.equal((await ask(m.sock, 'whoami')).id, m.sock.id);
    await ask(m.sock, 'join', 'after-kill');
    m.sock.disconnect();
  }
  // And no tunnel client is left retrying the dead node: no more
  // ConnectionClose was needed meanwhile than before.
  const closed = await sum(alive, 'hubbub_cluster_tunnels_dead_target_total');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(await sum(alive, 'hubbub_cluster_tunnels_dead_target_total'), closed);
});
