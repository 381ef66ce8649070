// Cluster costs, each side by side with its single-node alternative in the
// same run, on a private redis-server:
//
//  1. Requests that collect answers from every node: `ask-room` (a broadcast
//     with acks, io.to(room).timeout().emit) and `fetch` (fetchSockets) of
//     the testbed app, three members in the room, on one node vs one member
//     on each of three nodes. Sequential round trips seen by the asking
//     client (WebSocket).
//  2. Long-polling without sticky sessions: polling clients emitting with
//     acks, straight to one node vs through a small round-robin balancer
//     (Node http) to one node vs through it to three nodes, where two
//     requests in three are forwarded by the node they reach to the one
//     holding their session.
//
//   node bench/cluster.mjs [HUBBUB_BIN]   (default build/hubbub; needs redis-server)
//   ROUNDS=300 CLIENTS=30 ACKS=20 node bench/cluster.mjs
import http from 'node:http';
import { spawn } from 'node:child_process';
import { io as ioClient } from 'socket.io-client';
import { startServer, freePort } from '../tests/e2e/lib/sio.mjs';

if (process.argv[2]) process.env.HUBBUB_BIN = process.argv[2];
const ROUNDS = Number(process.env.ROUNDS || 300);
const CLIENTS = Number(process.env.CLIENTS || 30);
const ACKS = Number(process.env.ACKS || 20);

const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const fmt = (v) => v.toFixed(2);

async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; if (out.includes('Ready to accept')) resolve(); });
    proc.on('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') };
}

async function startNodes(redis, n) {
  const nodes = [];
  for (let i = 0; i < n; i++) {
    nodes.push(await startServer({ app: 'testbed', args: ['--redis', redis.url, '--node-id', `b${i}`] }));
  }
  // Each node has subscribed once its metrics say so.
  for (const srv of nodes) {
    for (;;) {
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      if (/hubbub_redis_connected\{connection="subscriber"\} 1/.test(m) &&
          new RegExp(`hubbub_cluster_nodes ${n}\\b`).test(m)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return nodes;
}

function connect(url, opts) {
  return new Promise((resolve, reject) => {
    const s = ioClient(url, { forceNew: true, reconnection: false, timeout: 20000, ...opts });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** Round trips of ask-room and fetch from the first of servers' clients. */
async function requests(label, servers) {
  const socks = [];
  for (const srv of servers) {
    const s = await connect(srv.url, { transports: ['websocket'] });
    s.on('poll', (q, cb) => cb('yes'));
    await s.emitWithAck('join', 'bench');
    socks.push(s);
  }
  const out = {};
  for (const ev of ['ask-room', 'fetch']) {
    const lat = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = process.hrtime.bigint();
      const res = ev === 'ask-room' ? await socks[0].emitWithAck('ask-room', 'bench', 10000)
        : await socks[0].emitWithAck('fetch', 'bench');
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      const n = ev === 'ask-room' ? res.responses.length : res.length;
      if (n !== servers.length) throw new Error(`${label} ${ev}: ${n} answers, not ${servers.length}`);
    }
    lat.sort((a, b) => a - b);
    out[ev] = { p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), p99: quantile(lat, 0.99) };
  }
  for (const s of socks) s.disconnect();
  return out;
}

/** A balancer sending each request to the next of targets. */
async function balancer(targets) {
  let next = 0;
  const server = http.createServer((req, res) => {
    const to = targets[next++ % targets.length];
    const up = http.request({ host: '127.0.0.1', port: to.port, method: req.method, path: req.url,
      headers: req.headers, agent: false }, (ur) => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(up);
    res.on('close', () => up.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => { server.closeAllConnections(); server.close(); } };
}

/** CLIENTS polling clients at url, each emitting ACKS acks in a row. */
async function polling(url) {
  const socks = await Promise.all(Array.from({ length: CLIENTS }, () => connect(url, { transports: ['polling'] })));
  const lat = [];
  const t0 = Date.now();
  await Promise.all(socks.map(async (s) => {
    for (let k = 0; k < ACKS; k++) {
      const t = process.hrtime.bigint();
      await s.emitWithAck('echo', k);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }));
  const ms = Date.now() - t0;
  for (const s of socks) s.disconnect();
  lat.sort((a, b) => a - b);
  return { ms, p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), p99: quantile(lat, 0.99) };
}

async function forwardedTotal(nodes) {
  let n = 0;
  for (const srv of nodes) {
    const m = await (await fetch(`${srv.url}/metrics`)).text();
    n += Number(/hubbub_cluster_forwards_total (\d+)/.exec(m)?.[1] || 0);
  }
  return n;
}

const redis = await startRedis();
try {
  const single = await startServer({ app: 'testbed' });
  const one = await requests('one node', [single, single, single]);
  await single.stop();
  const nodes = await startNodes(redis, 3);
  const three = await requests('three nodes', nodes);

  console.log(`\nRequests answered by every node (${ROUNDS} sequential round trips, ms)\n`);
  console.log('| request | 1 node, 3 members: p50 / p90 / p99 | 3 nodes, 1 member each: p50 / p90 / p99 | p50 ratio |');
  console.log('|---|---|---|---|');
  for (const ev of ['ask-room', 'fetch']) {
    const a = one[ev], b = three[ev];
    console.log(`| ${ev} | ${fmt(a.p50)} / ${fmt(a.p90)} / ${fmt(a.p99)} | ${fmt(b.p50)} / ${fmt(b.p90)} / ${fmt(b.p99)} | ${fmt(b.p50 / a.p50)} |`);
  }

  const direct = await polling(nodes[0].url);
  const lb1 = await balancer([nodes[0]]);
  const viaOne = await polling(lb1.url);
  lb1.close();
  const before = await forwardedTotal(nodes);
  const lb3 = await balancer(nodes);
  const viaThree = await polling(lb3.url);
  lb3.close();
  const forwarded = await forwardedTotal(nodes) - before;

  console.log(`\nPolling clients, ${CLIENTS} x ${ACKS} emits with acks (ms)\n`);
  console.log('| path | total | p50 / p90 / p99 per ack |');
  console.log('|---|---|---|');
  for (const [name, r] of [['straight to one node', direct], ['balancer -> one node', viaOne],
    [`balancer -> 3 nodes, round robin (${forwarded} requests forwarded)`, viaThree]]) {
    console.log(`| ${name} | ${r.ms} | ${fmt(r.p50)} / ${fmt(r.p90)} / ${fmt(r.p99)} |`);
  }
  console.log(`\nround robin over 3 nodes / balancer to 1 node, p50: ${fmt(viaThree.p50 / viaOne.p50)}`);
  for (const srv of nodes) await srv.stop();
} finally {
  redis.stop();
}
