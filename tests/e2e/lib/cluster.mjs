// What the cluster tests share (cluster.test.mjs, cluster_azure.test.mjs): a
// real redis-server on a free port, the nodes' /metrics, and a small
// round-robin load balancer (HTTP and WebSocket upgrades) that is not sticky.
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { until, request, freePort, stopChecked } from './sio.mjs';

const liveRedis = new Set();
process.on('exit', () => {
  for (const p of liveRedis) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** Starts redis-server on port; resolves once it accepts connections. */
export async function startRedis(port) {
  const proc = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  liveRedis.add(proc);
  let out = '';
  const exited = new Promise((resolve) => proc.on('exit', () => { liveRedis.delete(proc); resolve(); }));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready in 10 s:\n${out}`)), 10000);
    const onData = (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}):\n${out}`)); });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** The samples of srv's /metrics, by name with labels: { 'a{b="c"}': 1 }. */
export async function metrics(srv) {
  const r = await request(`${srv.url}/metrics`);
  const m = {};
  for (const line of r.body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return m;
}

export const CONNECTED_CMD = 'hubbub_redis_connected{connection="commands"}';
export const CONNECTED_SUB = 'hubbub_redis_connected{connection="subscriber"}';

/** Resolves once srv has both Redis connections up (and sees n nodes). */
export async function redisReady(srv, n, ms) {
  await until(async () => {
    const m = await metrics(srv);
    return m[CONNECTED_CMD] === 1 && m[CONNECTED_SUB] === 1 &&
      (n === undefined || m.hubbub_cluster_nodes === n);
  }, ms, `node ${srv.id} to be connected to Redis${n ? ` and see ${n} nodes` : ''}`, 100);
}

/**
 * A small load balancer: each request, and each WebSocket upgrade, goes to
 * the next of targets in turn, whatever its session (an upgrade's sockets
 * are piped to the node it picked; a node that is down gets the client a
 * 502). targets may be filled after the balancer starts (nodes started
 * with its address). Resolves { url, port, counts, upgrades }.
 */
export async function roundRobin(t, targets) {
  let next = 0;
  const counts = targets.map(() => 0);
  const upgrades = targets.map(() => 0);
  const pick = (tally) => {
    while (counts.length < targets.length) counts.push(0);
    while (upgrades.length < targets.length) upgrades.push(0);
    const i = next++ % targets.length;
    counts[i]++;
    if (tally) upgrades[i]++;
    return targets[i];
  };
  const server = http.createServer((req, res) => {
    const target = pick(false);
    const up = http.request({
      host: '127.0.0.1', port: target.port, method: req.method, path: req.url,
      headers: req.headers, agent: false,
    }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
    // A client that goes away takes its request to the node with it.
    res.on('close', () => up.destroy());
  });
  const piped = new Set();
  server.on('upgrade', (req, socket, head) => {
    const target = pick(true);
    const up = net.connect(target.port, '127.0.0.1');
    let connected = false;
    piped.add(socket);
    const end = () => {
      piped.delete(socket);
      up.destroy();
      socket.destroy();
    };
    up.on('connect', () => {
      connected = true;
      let h = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
      for (let k = 0; k < req.rawHeaders.length; k += 2) h += `${req.rawHeaders[k]}: ${req.rawHeaders[k + 1]}\r\n`;
      up.write(`${h}\r\n`);
      if (head.length > 0) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => {
      if (!connected) socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else end();
    });
    up.on('close', end);
    socket.on('error', end);
    socket.on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    for (const s of piped) s.destroy();
    server.closeAllConnections();
    server.close(resolve);
  }));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, port, counts, upgrades };
}

/**
 * The cluster of a test file: a redis-server on a free port and n nodes,
 * each started by launch(redisUrl, id) (a server from startServer; its id
 * is set here). start() in before(), stop() in after() (it checks that
 * every node exits cleanly). startNode() adds one more; restartRedis()
 * starts Redis again on its port after redis.stop().
 */
export function testCluster({ n = 3, prefix = 'n', waitMs, launch }) {
  let ids = 0;
  const c = {
    redis: null,
    redisPort: 0,
    nodes: [],
    async startNode() {
      const id = `${prefix}${ids++}`;
      const srv = await launch(c.redis.url, id);
      srv.id = id;
      return srv;
    },
    /** Resolves once srv has both Redis connections up (and sees k nodes). */
    ready: (srv, k) => redisReady(srv, k, waitMs),
    async restartRedis() {
      c.redis = await startRedis(c.redisPort);
    },
    async start() {
      c.redisPort = await freePort();
      c.redis = await startRedis(c.redisPort);
      for (let i = 0; i < n; i++) c.nodes.push(await c.startNode());
      await Promise.all(c.nodes.map((srv) => c.ready(srv, n)));
    },
    async stop() {
      const errors = [];
      for (const srv of c.nodes) {
        try { await stopChecked(srv); } catch (e) { errors.push(e); }
      }
      if (c.redis) await c.redis.stop();
      if (errors.length) throw errors[0];
    },
  };
  return c;
}

let markers = 0;
/**
 * sender ({ sock }) emits "emit-all" with a fresh marker (both test apps
 * answer it with io.emit("all", marker)); resolves it once every member
 * of all ({ rec }) has it, within ms.
 */
export async function marker(sender, all, ms) {
  const m = `marker-${++markers}`;
  sender.sock.emit('emit-all', m);
  await Promise.all(all.map(({ rec }) =>
    until(() => rec.of('all').some((a) => a[0] === m), ms, `marker ${m}`)));
  return m;
}

/** The first arguments of the events ev a recorder got, markers left out. */
export function got(rec, ev) {
  return rec.of(ev).map((a) => a[0]).filter((x) => !(typeof x === 'string' && x.startsWith('marker-')));
}
