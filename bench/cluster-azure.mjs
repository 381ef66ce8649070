// What a cluster costs the Azure-compatible hubs, side by side with one
// node in the same run, on a private redis-server. The app server is the
// tests' unmodified socket.io + @azure/web-pubsub-socket.io app
// (tests/e2e/ref/azure-app.mjs), given node 0's connection string; in the
// cluster it is asked to open tunnels to the other nodes.
//
//  1. `whoami` with an ack: client → its node → a tunnel → the app, whose
//     answer comes back as a REST call on a tunnel it picks at random (in
//     the cluster, two in three land on another node and go through Redis).
//  2. `ask-room` (io.to(room).timeout().emit with acks, the REST :invoke):
//     three members on one node vs one member on each of three nodes.
//  3. REST HEAD connections/{id} (WebPubSubServiceClient.connectionExists)
//     asked of the node holding the connection vs of another node.
//
// Sequential round trips, as seen by the asking side (WebSocket clients).
//
//   node bench/cluster-azure.mjs [HUBBUB_BIN]   (default build/hubbub; needs redis-server)
//   ROUNDS=300 node bench/cluster-azure.mjs
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { startServer, freePort, REPO } from '../tests/e2e/lib/server.mjs';
import { startRedis } from '../tests/e2e/lib/cluster.mjs';

if (process.argv[2]) process.env.HUBBUB_BIN = process.argv[2];
const ROUNDS = Number(process.env.ROUNDS || 300);
const KEY = crypto.randomBytes(24).toString('base64');
const HUB = 'bench';

const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function timed(fn) {
  const ms = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return [0.5, 0.9, 0.99].map((p) => quantile(ms, p).toFixed(2)).join(' / ');
}

function startNode(redisUrl, id) {
  const args = ['--access-key', KEY, '--allow-anonymous'];
  if (redisUrl) args.push('--redis', redisUrl, '--node-id', id);
  return startServer({ ref: false, args });
}

async function startApp(node) {
  const proc = spawn(process.execPath, [path.join(REPO, 'tests/e2e/ref/azure-app.mjs'), HUB,
    `Endpoint=${node.url};AccessKey=${KEY};Version=1.0;`, 'app'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; if (out.includes('ready app')) resolve(); });
    proc.on('exit', (code) => reject(new Error(`app exited (${code})`)));
  });
  return proc;
}

async function client(node) {
  const sock = ioClient(node.url, {
    path: `/clients/socketio/hubs/${HUB}`, transports: ['websocket'], forceNew: true, reconnection: false,
  });
  // A node without the app's tunnel yet refuses (503): retry until it has one.
  for (let i = 0; ; i++) {
    try {
      await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('connect_error', reject); });
      break;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
      sock.connect();
    }
  }
  sock.on('poll', (q, cb) => cb('yes'));
  return sock;
}

async function measure(label, nodes) {
  const app = await startApp(nodes[0]);
  const members = [];
  for (let i = 0; i < 3; i++) members.push(await client(nodes[i % nodes.length]));
  for (const m of members) await m.emitWithAck('join', 'room');
  const asker = members[0];
  const whoami = await timed(() => asker.emitWithAck('whoami'));
  const askRoom = await timed(() => asker.emitWithAck('ask-room', 'room', 5000));
  const id = members[nodes.length > 1 ? 1 : 0].io.engine.id;
  const svcOwner = new WebPubSubServiceClient(`Endpoint=${nodes[nodes.length > 1 ? 1 : 0].url};AccessKey=${KEY};Version=1.0;`, HUB, { allowInsecureConnection: true });
  const svcOther = new WebPubSubServiceClient(`Endpoint=${nodes[0].url};AccessKey=${KEY};Version=1.0;`, HUB, { allowInsecureConnection: true });
  const existsOwner = await timed(() => svcOwner.connectionExists(id));
  const existsOther = nodes.length > 1 ? await timed(() => svcOther.connectionExists(id)) : '';
  for (const m of members) m.disconnect();
  app.kill('SIGTERM');
  console.log(`| ${label} | ${whoami} | ${askRoom} | ${existsOwner} | ${existsOther} |`);
}

const redis = await startRedis(await freePort());
const single = await startNode(null);
const cluster = [];
for (let i = 0; i < 3; i++) cluster.push(await startNode(redis.url, `b${i}`));
await new Promise((r) => setTimeout(r, 1500)); // the nodes list each other
console.log(`${ROUNDS} sequential rounds each; p50 / p90 / p99 in ms`);
console.log('| setup | whoami (ack) | ask-room (:invoke, 3 members) | connectionExists on its node | ... on another node |');
console.log('|---|---|---|---|---|');
try {
  await measure('1 node', [single]);
  await measure('3 nodes, members spread', cluster);
} finally {
  for (const n of [single, ...cluster]) await n.stop();
  await redis.stop();
}
process.exit(0);
