// The demo chat (`hubbub --app demo`, examples/demo.c) on a cluster, as
// docs/cluster.md runs it: a real redis-server on a free port and two
// `hubbub --app demo --redis URL` nodes, people on either node's page in
// headless Chromium. Checked: a room's members are those of both nodes,
// on both pages; messages go both ways; someone who joins on the other node
// gets the history said through the first, both when that node had to ask
// for it (it did not know the room yet) and when it kept it as it was said;
// the room list of hello counts the people of every node; a person who
// leaves on one node drops from the list shown on the other. And with plain
// socket.io-client sockets: "members" lists people in join order across
// nodes, with a stamp that grows; and with one node hung (SIGSTOP), hello,
// join and the member list still answer, with what the other node has, and
// once it is back, someone joining there gets what was said meanwhile.
//
// Cluster mode is Hubbub's: skipped under HUBBUB_REF=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, client, connected, ask, within, IS_REF,
} from './lib/sio.mjs';
import { testCluster } from './lib/cluster.mjs';
import {
  launch, person, send, expectText, expectMembers, expectMessage, expectSystem,
} from './lib/demo_page.mjs';

const SKIP = IS_REF ? 'cluster mode is Hubbub\'s (the reference has no Redis adapter)' : false;
const WAIT_MS = 20000; // generous bounds for a loaded 2-core machine (and ASan)

const cl = testCluster({
  n: 2,
  prefix: 'demo',
  waitMs: WAIT_MS,
  launch: (url, id) => startServer({ app: 'demo', args: ['--redis', url, '--node-id', id] }),
});
const { nodes } = cl;

before(async () => {
  if (!SKIP) await cl.start();
});

after(async () => {
  if (!SKIP) await cl.stop();
});

test('demo chat across two nodes in headless Chromium: members, messages, history, room counts, leaving', { skip: SKIP, timeout: 120000 }, async (t) => {
  const browser = await launch();
  t.after(() => browser.close().catch(() => {}));

  // alice, alone on node 0, speaks first: node 1 does not know the lobby yet.
  const a = await person(browser, nodes[0].url, 'alice');
  await expectText(a.page, '#room-name', 'lobby');
  await expectMembers(a, ['alice']);
  const first = 'Anyone on the other node?';
  await send(a, first);
  await expectMessage(a, 'alice', first);

  // bob comes in on node 1: node 1 asks node 0 for the history, and each
  // sees the other in the lobby.
  const b = await person(browser, nodes[1].url, 'bob');
  await expectText(b.page, '#room-name', 'lobby');
  await expectMessage(b, 'alice', first);
  await expectMembers(a, ['alice', 'bob']);
  await expectMembers(b, ['alice', 'bob']);
  await expectText(a.page, '#rooms [data-room="lobby"] .count', '2');
  await expectText(b.page, '#rooms [data-room="lobby"] .count', '2');
  await expectSystem(a, 'bob joined');

  // Messages both ways.
  const hi = 'Hi Bob, from node 0';
  await send(a, hi);
  await expectMessage(b, 'alice', hi);
  await send(b, 'Hello Alice, from node 1');
  await expectMessage(a, 'bob', 'Hello Alice, from node 1');

  // carol comes later, on node 1, which kept what alice said through node 0.
  const c = await person(browser, nodes[1].url, 'carol', { width: 390, height: 760 });
  await expectMessage(c, 'alice', first);
  await expectMessage(c, 'alice', hi);
  await expectMessage(c, 'bob', 'Hello Alice, from node 1');
  await expectMembers(a, ['alice', 'bob', 'carol']);
  await expectMembers(c, ['alice', 'bob', 'carol']);

  // carol moves to a room of her own on node 1; alice, on node 0, sees her
  // go, and the room list her page asks for (on focus) counts carol there.
  await c.page.locator('#menu').click();
  await c.page.locator('#room-input').fill('night-owls');
  await c.page.locator('#room-input').press('Enter');
  await expectText(c.page, '#room-name', 'night-owls');
  await expectMembers(c, ['carol']);
  await expectMembers(a, ['alice', 'bob']);
  await a.page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expectText(a.page, '#rooms [data-room="night-owls"] .count', '1');
  await expectText(a.page, '#rooms [data-room="lobby"] .count', '2');

  // alice closes her tab: bob, on node 1, sees her leave.
  await a.ctx.close();
  await expectMembers(b, ['bob']);
  await expectSystem(b, 'alice left');
  await b.page.screenshot({ path: '/tmp/demo-cluster-b.png' });

  for (const p of [a, b, c]) assert.deepEqual(p.problems, [], `${p.nick}'s page reported problems`);
});

/** A socket.io-client on node i that says hello as nick and records "members". */
async function chatter(t, i, nick) {
  const sock = client(t, nodes[i], { transports: ['websocket'] });
  const lists = [];
  sock.on('members', (m) => lists.push(m));
  await connected(sock, WAIT_MS);
  const hello = await ask(sock, 'hello', nick);
  assert.equal(hello.ok, true, JSON.stringify(hello));
  return { sock, lists };
}

/** Resolves the first "members" list p got for room that satisfies ok. */
async function listWhere(p, room, ok, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const m = p.lists.find((x) => x.room === room && ok(x.members));
    if (m) return m;
    if (Date.now() > deadline) assert.fail(`no "members" list ${what}; got ${JSON.stringify(p.lists)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('demo chat across two nodes: "members" in join order, stamped', { skip: SKIP, timeout: 60000 }, async (t) => {
  const room = 'join-order';
  const x = await chatter(t, 1, 'xavier');
  const y = await chatter(t, 0, 'yasmin');
  const z = await chatter(t, 1, 'zoe');
  // One after the other, each joining once the previous one is listed.
  const want = [];
  for (const p of [y, x, z]) {
    const r = await ask(p.sock, 'join', room);
    assert.equal(r.ok, true, JSON.stringify(r));
    want.push(p === y ? 'yasmin' : p === x ? 'xavier' : 'zoe');
    await listWhere(y, room, (ms) => ms.length === want.length, `of ${want.length} for yasmin`);
  }
  const same = (ms) => JSON.stringify(ms) === JSON.stringify(want);
  for (const p of [x, y, z]) {
    const m = await listWhere(p, room, same, `${JSON.stringify(want)} (join order)`);
    assert.equal(typeof m.stamp, 'number');
  }
  // On each page the stamps of the lists of one room only grow as people
  // come: the last list yasmin got is the newest.
  const stamps = y.lists.filter((m) => m.room === room).map((m) => m.stamp);
  const newest = y.lists.filter((m) => m.room === room).reduce((a, b) => (b.stamp > a.stamp ? b : a));
  assert.deepEqual(newest.members, want, `stamps ${JSON.stringify(stamps)}`);
});

test('demo chat with a hung node: hello, join and members answer with the nodes that answered', { skip: SKIP, timeout: 90000 }, async (t) => {
  const h = await chatter(t, 0, 'hana');
  // Node 1 stops answering but stays subscribed: it is still counted, and
  // only the timeouts of the fetches and of the history ask end the waits.
  nodes[1].proc.kill('SIGSTOP');
  try {
    const joined = await within(h.sock.emitWithAck('join', 'quiet-room'), WAIT_MS, 'the join ack');
    assert.equal(joined.ok, true, JSON.stringify(joined));
    assert.deepEqual(joined.messages, []);
    await listWhere(h, 'quiet-room', (ms) => JSON.stringify(ms) === '["hana"]', '["hana"]');
    const hello = await within(h.sock.emitWithAck('hello', 'hana'), WAIT_MS, 'the hello ack');
    assert.equal(hello.ok, true, JSON.stringify(hello));
    assert.deepEqual(hello.rooms.find((r) => r.name === 'quiet-room'), { name: 'quiet-room', members: 1 });
  } finally {
    nodes[1].proc.kill('SIGCONT');
  }
  // Node 1 back: what is said on node 0 reaches whoever joins there.
  const said = await ask(h.sock, 'message', 'still here');
  assert.equal(said.ok, true, JSON.stringify(said));
  const k = await chatter(t, 1, 'kai');
  const r = await within(k.sock.emitWithAck('join', 'quiet-room'), WAIT_MS, 'the join ack');
  assert.deepEqual(r.messages.map((m) => [m.from, m.text]), [['hana', 'still here']]);
  await listWhere(h, 'quiet-room', (ms) => JSON.stringify(ms) === '["hana","kai"]', '["hana","kai"]');
});
