// The status page (/status) and its JSON (/api/status), on a real cluster:
// a redis-server on a free port and two `hubbub --app testbed --redis ...`
// nodes, socket.io-client clients on both, and the page opened in headless
// Chromium (playwright-core with /usr/bin/chromium) on one node: it shows
// both nodes (the other one's status read from its /api/status, which any
// origin may read) with their sessions, and follows clients that come and
// go. One node without Redis says so too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import {
  startServer, client, connected, until, request, withServer, IS_REF,
} from './lib/sio.mjs';
import { testCluster } from './lib/cluster.mjs';

const SKIP = IS_REF ? 'the status page is Hubbub\'s' : false;
const CHROMIUM = process.env.HUBBUB_CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 20000;
const WS = { transports: ['websocket'] };

const cl = testCluster({
  n: 2,
  prefix: 'st',
  waitMs: WAIT_MS,
  launch: (url, id) => startServer({ app: 'testbed', args: ['--redis', url, '--node-id', id] }),
});

before(async () => {
  if (!SKIP) await cl.start();
});

after(async () => {
  if (!SKIP) await cl.stop();
});

const status = async (srv) => {
  const r = await request(`${srv.url}/api/status`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], '*');
  return JSON.parse(r.body);
};

test('/api/status: this node, the cluster\'s nodes, the sessions by transport', { skip: SKIP }, async (t) => {
  const [a, b] = cl.nodes;
  const socks = [client(t, a, WS), client(t, a, { transports: ['polling'] }), client(t, b, WS)];
  await Promise.all(socks.map((s) => connected(s, WAIT_MS)));
  const st = await status(a);
  assert.equal(st.node.id, 'st0');
  assert.equal(st.node.address, new URL(a.url).host);
  assert.equal(st.node.state, 'running');
  assert.equal(st.cluster.redis, 'up');
  assert.deepEqual(st.cluster.nodes.map((n) => n.id).sort(), ['st0', 'st1']);
  assert.deepEqual(st.sessions, { websocket: 1, polling: 1 });
  assert.match(st.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual((await status(b)).sessions, { websocket: 1, polling: 0 });
  // exact path, GET or HEAD only
  assert.equal((await request(`${a.url}/api/status/x`)).status, 404);
  assert.equal((await request(`${a.url}/api/status`, { method: 'POST' })).status, 405);
});

test('/status in a browser shows every node of the cluster and follows its clients', { skip: SKIP }, async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/install-deps installs it)`);
  const [a, b] = cl.nodes;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  t.after(() => browser.close().catch(() => {}));
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${a.url}/status`);
  const text = () => page.locator('body').innerText();
  await until(async () => /a cluster of 2 nodes, 0 sessions in all/.test(await text()), WAIT_MS,
    'the page to show both nodes and no session', 100);
  assert.equal(await page.locator('section.node').count(), 2);
  assert.match(await page.locator('section.node[data-node="st1"]').innerText(), /st1[\s\S]*Redis\s+up/);
  // clients on both nodes appear within a refresh or two
  const socks = [client(t, a, WS), client(t, b, WS), client(t, b, WS)];
  await Promise.all(socks.map((s) => connected(s, WAIT_MS)));
  await until(async () => /3 sessions in all/.test(await text()), WAIT_MS, 'the page to count 3 sessions', 100);
  assert.match(await page.locator('section.node[data-node="st1"]').innerText(), /sessions\s+2 \(2 WebSocket, 0 polling\)/);
  for (const s of socks) s.disconnect();
  await until(async () => /0 sessions in all/.test(await text()), WAIT_MS, 'the page to see them go', 100);
  assert.deepEqual(problems, []);
});

test('/status of one node without Redis', { skip: SKIP }, async (t) => {
  const srv = await withServer(t, { app: 'testbed' });
  const st = await status(srv);
  assert.equal(st.node.id, null);
  assert.equal(st.cluster, null);
  const page = await request(`${srv.url}/status`);
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
  assert.match(page.body, /<title>Hubbub status<\/title>/);
});
