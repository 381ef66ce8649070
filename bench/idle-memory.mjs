#!/usr/bin/env node
// Idle-session memory benchmark: how many bytes of server RSS one idle
// Engine.IO WebSocket session costs. It starts the server itself, opens N raw
// Engine.IO-over-WebSocket sessions from P forked client processes, and reads
// the server's VmRSS before and after (plus the kernel's TCP socket memory).
//
//   node bench/idle-memory.mjs --server hubbub|node --clients N [--procs P]
//   node bench/idle-memory.mjs --server-cmd "CMD ARGS" --clients N
//
// Prints one readable row and one JSON line on stdout; progress goes to stderr.
// Run with --help for every option. In worker mode (--worker, forked by this
// script) it is a client process holding its share of the sessions.
import { fork, spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SCRIPT), '..');
// The per-process fd limit here is 20,000 and cannot be raised; keep each
// client process well under it (stdio, ipc and node's own fds included).
const MAX_PER_PROC = 18000;
const DEFAULT_PER_PROC = 10000;

const HELP = `usage: node bench/idle-memory.mjs (--server hubbub|node | --server-cmd "CMD") --clients N [options]

  --server hubbub       run the hubbub binary: --hubbub-bin, else $HUBBUB_BIN,
                        else ${path.join('build', 'hubbub')} (relative to the repo root)
  --hubbub-bin PATH     the hubbub binary for --server hubbub
  --server node         run node bench/ref/engineio-server.mjs (npm engine.io)
  --server-cmd "CMD"    run CMD through sh (exec'd, so its pid is the server);
                        --listen/--engineio-echo[/--ping-*] are appended
  --label NAME          name shown in the output (default: the --server value)
  --clients N           idle sessions to open (required)
  --procs P             client processes (default ceil(N/${DEFAULT_PER_PROC}); at most ${MAX_PER_PROC} each)
  --path PATH           Engine.IO path (default /engine.io/)
  --ping-interval MS    passed to the server as --ping-interval (default: not passed,
                        the server's own default, 25000 for both)
  --ping-timeout MS     passed to the server as --ping-timeout (default: not passed)
  --concurrency C       handshakes in flight per client process (default 64)
  --warmup W            sessions opened and closed before the baseline (default 10)
  --settle SEC          wait after the last session opened, before reading RSS (default 2)
  --timeout SEC         give up after this long (default 60 + N/200)
`;

// ---------------------------------------------------------------- helpers

function die(msg, code = 2) {
  process.stderr.write(`idle-memory: ${msg}\n`);
  process.exit(code);
}

function log(msg) {
  process.stderr.write(`idle-memory: ${msg}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const o = {
    server: null, serverCmd: null, hubbubBin: null, label: null, clients: null, procs: null,
    path: '/engine.io/', pingInterval: null, pingTimeout: null,
    concurrency: 64, warmup: 10, settle: 2, timeout: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    const int = (min) => {
      const v = val();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) die(`${a}: want an integer >= ${min}, got ${v}`);
      return n;
    };
    switch (a) {
      case '--server': o.server = val(); break;
      case '--server-cmd': o.serverCmd = val(); break;
      case '--hubbub-bin': o.hubbubBin = val(); break;
      case '--label': o.label = val(); break;
      case '--clients': o.clients = int(1); break;
      case '--procs': o.procs = int(1); break;
      case '--path': o.path = val(); break;
      case '--ping-interval': o.pingInterval = int(1); break;
      case '--ping-timeout': o.pingTimeout = int(1); break;
      case '--concurrency': o.concurrency = int(1); break;
      case '--warmup': o.warmup = int(0); break;
      case '--settle': o.settle = Number(val()); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0); break;
      default: die(`unknown argument ${a}\n${HELP}`);
    }
  }
  if (!o.server === !o.serverCmd) die(`give exactly one of --server or --server-cmd\n${HELP}`);
  if (o.server && o.server !== 'hubbub' && o.server !== 'node') die(`--server must be hubbub or node, got ${o.server}`);
  if (o.clients == null) die(`--clients N is required\n${HELP}`);
  if (!o.path.startsWith('/')) die('--path must start with /');
  if (!o.path.endsWith('/')) o.path += '/';
  if (!(o.settle >= 0)) die('--settle wants a number of seconds >= 0');
  if (o.procs == null) o.procs = Math.max(1, Math.ceil(o.clients / DEFAULT_PER_PROC));
  if (o.procs > o.clients) o.procs = o.clients;
  if (Math.ceil(o.clients / o.procs) > MAX_PER_PROC) {
    die(`${o.clients} clients over ${o.procs} process(es) is more than ${MAX_PER_PROC} sockets per ` +
        `process (the fd limit is 20,000); use --procs ${Math.ceil(o.clients / MAX_PER_PROC)} or more`);
  }
  if (o.timeout == null) o.timeout = 60 + o.clients / 200;
  if (!(o.timeout > 0)) die('--timeout wants a number of seconds > 0');
  o.label = o.label || o.server || 'custom';
  return o;
}

function serverCommand(o) {
  if (o.server === 'hubbub') {
    const bin = path.resolve(ROOT, o.hubbubBin || process.env.HUBBUB_BIN || path.join('build', 'hubbub'));
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      die(`${bin} not found or not executable: build it first (make bench builds it)`);
    }
    return [bin];
  }
  if (o.server === 'node') return [process.execPath, path.join(ROOT, 'bench', 'ref', 'engineio-server.mjs')];
  // exec so that the pid we measure is the server, not a shell around it.
  return ['/bin/sh', '-c', `exec ${o.serverCmd} "$@"`, 'sh'];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function procStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => {
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : null;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

// Pages of memory the kernel has charged to TCP socket buffers, machine wide.
function sockstatTcpPages() {
  const m = readFileSync('/proc/net/sockstat', 'utf8').match(/^TCP:.*\bmem (\d+)/m);
  return m ? Number(m[1]) : null;
}

function pageSize() {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
  } catch {
    return 4096;
  }
}

function countSocketFds(pid) {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
const signedMib = (b) => `${b < 0 ? '-' : '+'}${mib(Math.abs(b))}`;
const group = (n) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------- client side

// Opens one Engine.IO session straight over WebSocket and keeps it alive by
// answering pings. Resolves with the socket once the open packet arrived.
function openSession(WebSocket, url, timeoutMs, onDrop) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    let open = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no Engine.IO open packet in time'));
    }, timeoutMs);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const s = data.toString();
      if (!open) {
        if (!s.startsWith('0{')) {
          clearTimeout(timer);
          ws.terminate();
          reject(new Error(`expected an open packet, got ${JSON.stringify(s.slice(0, 80))}`));
          return;
        }
        let info;
        try {
          info = JSON.parse(s.slice(1));
        } catch {
          info = null;
        }
        clearTimeout(timer);
        if (!info || typeof info.sid !== 'string') {
          ws.terminate();
          reject(new Error(`bad open packet ${JSON.stringify(s.slice(0, 80))}`));
          return;
        }
        open = true;
        resolve({ ws, info });
      } else if (s === '2') {
        ws.send('3');
      }
    });
    ws.on('error', (err) => {
      if (!open) {
        clearTimeout(timer);
        reject(err);
      }
    });
    ws.on('close', () => {
      if (open) onDrop();
      else {
        clearTimeout(timer);
        reject(new Error('closed before the open packet'));
      }
    });
  });
}

// Opens `count` sessions with at most `concurrency` handshakes in flight.
async function openMany(WebSocket, url, count, concurrency, state) {
  let next = 0;
  const one = async () => {
    while (next < count) {
      next++;
      try {
        const s = await openSession(WebSocket, url, 15000, () => { if (!state.closing) state.dropped++; });
        state.sockets.push(s.ws);
        state.opened++;
        if (!state.info) state.info = s.info;
      } catch (err) {
        state.failed++;
        if (!state.firstError) state.firstError = err.message || String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, one));
}

async function workerMain() {
  const { default: WebSocket } = await import('ws');
  const state = { sockets: [], opened: 0, failed: 0, dropped: 0, firstError: null, info: null, closing: false };
  const report = (type) => process.send({
    type, opened: state.opened, failed: state.failed, dropped: state.dropped,
    firstError: state.firstError, info: state.info,
  });
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m) => {
    if (m.type === 'start') {
      const ticker = setInterval(() => report('progress'), 500);
      await openMany(WebSocket, m.url, m.count, m.concurrency, state);
      clearInterval(ticker);
      report('done');
      // Tell the parent at once if an open session goes away while it measures.
      setInterval(() => { if (state.dropped) report('progress'); }, 250);
    } else if (m.type === 'exit') {
      state.closing = true;
      for (const ws of state.sockets) ws.terminate();
      process.exit(0);
    }
  });
  process.send({ type: 'ready' });
}

// ---------------------------------------------------------------- parent side

const children = { server: null, workers: [] };

// Every live process below `pid` (a --server-cmd wrapper may have children).
function descendants(pid) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // Field 4 of stat is the ppid; the name in field 2 may hold spaces.
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const walk = (p) => { for (const c of kids.get(p) || []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

function killAll(sig = 'SIGKILL') {
  for (const w of children.workers) if (w.exitCode == null && w.signalCode == null) w.kill(sig);
  const s = children.server;
  if (s && s.exitCode == null && s.signalCode == null) {
    for (const p of descendants(s.pid)) {
      try { process.kill(p, sig); } catch { /* gone */ }
    }
    s.kill(sig);
  }
}

function startServer(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], [...cmd.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.server = child;
    let out = '';
    let ready = false;
    const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
    child.exited = exited;
    const onData = (d) => {
      // Keep only a tail for error messages; the pipes must keep draining.
      out = (out + d.toString()).slice(-4000);
      if (!ready && /listening on/.test(out)) {
        ready = true;
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.tail = () => out;
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(`cannot start ${cmd[0]}: ${err.message}`)); });
    exited.then(({ code, signal }) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`server exited (${signal || code}) before printing "listening on":\n${out}`));
      }
    });
    const timer = setTimeout(() => {
      reject(new Error(`server printed no "listening on" line within 10 s:\n${out}`));
    }, 10000);
  });
}

async function warmUp(url, count) {
  if (count === 0) return;
  const { default: WebSocket } = await import('ws');
  const state = { sockets: [], opened: 0, failed: 0, dropped: 0, firstError: null, closing: false };
  await openMany(WebSocket, url, count, count, state);
  if (state.failed) throw new Error(`warm-up: ${state.failed} of ${count} sessions failed: ${state.firstError}`);
  state.closing = true;
  await Promise.all(state.sockets.map((ws) => new Promise((r) => { ws.once('close', r); ws.close(); })));
}

async function openClients(o, url) {
  const per = Math.floor(o.clients / o.procs);
  const extra = o.clients % o.procs;
  const stats = [];
  const t0 = Date.now();
  const workersDone = Array.from({ length: o.procs }, (_, i) => new Promise((resolve, reject) => {
    const count = per + (i < extra ? 1 : 0);
    const w = fork(SCRIPT, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.workers.push(w);
    stats[i] = { opened: 0, failed: 0, dropped: 0 };
    w.on('message', (m) => {
      if (m.type === 'ready') w.send({ type: 'start', url, count, concurrency: o.concurrency });
      else {
        stats[i] = m;
        if (m.type === 'done') resolve();
      }
    });
    w.on('exit', (code, signal) => reject(new Error(`client process ${i} exited (${signal || code}) early`)));
  }));
  const total = () => stats.reduce((a, s) => ({
    opened: a.opened + s.opened, failed: a.failed + s.failed, dropped: a.dropped + s.dropped,
    firstError: a.firstError || s.firstError, info: a.info || s.info,
  }), { opened: 0, failed: 0, dropped: 0, firstError: null, info: null });
  const ticker = setInterval(() => {
    const t = total();
    log(`${t.opened}/${o.clients} open, ${t.failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }, 2000);
  try {
    await Promise.all(workersDone);
  } finally {
    clearInterval(ticker);
  }
  return { total, openSeconds: (Date.now() - t0) / 1000 };
}

async function stopServer(server) {
  server.kill('SIGTERM');
  const timeout = sleep(10000).then(() => null);
  let res = await Promise.race([server.exited, timeout]);
  if (res) return { ...res, clean: res.code === 0, note: res.code === 0 ? null : `exit ${res.signal || res.code}` };
  server.kill('SIGKILL');
  res = await server.exited;
  return { ...res, clean: false, note: 'did not exit within 10 s of SIGTERM, killed' };
}

async function parentMain(o) {
  const cmd = serverCommand(o);
  const port = await freePort();
  const args = ['--listen', `127.0.0.1:${port}`, '--engineio-echo', o.path];
  if (o.pingInterval != null) args.push('--ping-interval', String(o.pingInterval));
  if (o.pingTimeout != null) args.push('--ping-timeout', String(o.pingTimeout));
  const url = `ws://127.0.0.1:${port}${o.path}?EIO=4&transport=websocket`;

  const deadline = setTimeout(() => {
    log(`gave up after ${o.timeout} s`);
    killAll();
    process.exit(1);
  }, o.timeout * 1000);

  const server = await startServer(cmd, args);
  const pid = server.pid;
  log(`${o.label}: pid ${pid} on port ${port}; ${o.clients} clients over ${o.procs} process(es)`);

  // Until we stop it, the server exiting is a failure of the measurement.
  let expectExit = false;
  const died = server.exited.then(({ code, signal }) => {
    if (!expectExit) throw new Error(`server exited (${signal || code}) during the measurement:\n${server.tail()}`);
  });
  died.catch(() => {});
  const guard = (p) => Promise.race([p, died.then(() => p)]);

  await guard(warmUp(url, Math.min(o.warmup, o.clients)));
  await guard(sleep(1000));
  const before = procStatus(pid);
  const sockBefore = sockstatTcpPages();

  const { total, openSeconds } = await guard(openClients(o, url));
  let t = total();
  if (t.failed) throw new Error(`${t.failed} of ${o.clients} sessions failed to open; first error: ${t.firstError}`);
  log(`${t.opened} sessions open in ${openSeconds.toFixed(1)} s; settling ${o.settle} s`);
  await guard(sleep(o.settle * 1000));

  const after = procStatus(pid);
  const sockAfter = sockstatTcpPages();
  const fds = countSocketFds(pid);
  t = total();
  if (t.dropped) throw new Error(`${t.dropped} open sessions were closed while measuring`);
  // A wrapper around the server would hold none of the sockets: its RSS
  // would say nothing about sessions.
  if (fds < o.clients) throw new Error(`pid ${pid} holds ${fds} sockets for ${o.clients} sessions: is it really the server?`);

  expectExit = true;
  const exit = await stopServer(server);
  if (!exit.clean) log(`warning: ${o.label} server did not exit cleanly on SIGTERM: ${exit.note}\n${server.tail()}`);
  for (const w of children.workers) if (w.connected) w.send({ type: 'exit' });
  await Promise.all(children.workers.map((w) => (w.exitCode != null || w.signalCode != null)
    ? null : Promise.race([new Promise((r) => w.once('exit', r)), sleep(5000).then(() => w.kill('SIGKILL'))])));
  clearTimeout(deadline);

  const ps = pageSize();
  const perSession = (after.rss - before.rss) / o.clients;
  const sockPer = sockBefore != null && sockAfter != null ? ((sockAfter - sockBefore) * ps) / o.clients : null;
  const result = {
    bench: 'idle-memory',
    server: o.label,
    command: [...cmd, ...args],
    clients: o.clients,
    procs: o.procs,
    ping_interval_ms: t.info ? t.info.pingInterval : null,
    ping_timeout_ms: t.info ? t.info.pingTimeout : null,
    open_seconds: Number(openSeconds.toFixed(2)),
    rss_before_bytes: before.rss,
    rss_after_bytes: after.rss,
    rss_peak_bytes: after.hwm,
    bytes_per_session: Math.round(perSession),
    server_socket_fds: fds,
    sockstat_tcp_mem_pages_before: sockBefore,
    sockstat_tcp_mem_pages_after: sockAfter,
    page_size: ps,
    socket_mem_bytes_per_session: sockPer == null ? null : Math.round(sockPer),
    server_exit: { code: exit.code, signal: exit.signal, clean: exit.clean },
  };
  const row = [
    o.label.padEnd(8),
    `${String(o.clients).padStart(6)} sessions`,
    `rss ${mib(before.rss).padStart(10)} -> ${mib(after.rss).padStart(10)}`,
    `${group(perSession).padStart(7)} B/session`,
    `(kernel TCP mem ${sockPer == null ? 'n/a' : signedMib((sockAfter - sockBefore) * ps)}, open ${openSeconds.toFixed(1)} s` +
      `${exit.clean ? '' : ', UNCLEAN EXIT'})`,
  ].join('  ');
  // Leftover timers (the shutdown races) must not keep us alive.
  process.stdout.write(`${row}\n${JSON.stringify(result)}\n`, () => process.exit(0));
}

// ---------------------------------------------------------------- main

if (process.argv[2] === '--worker') {
  workerMain();
} else {
  const o = parseArgs(process.argv.slice(2));
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping`);
      killAll('SIGTERM');
      setTimeout(() => { killAll(); process.exit(130); }, 2000).unref();
      // Exit as soon as everything is gone.
      Promise.all([children.server?.exited, ...children.workers.map((w) => new Promise((r) => {
        if (w.exitCode != null || w.signalCode != null) r(); else w.once('exit', r);
      }))]).then(() => process.exit(130));
    });
  }
  parentMain(o).catch((err) => {
    log(`error: ${err.message}`);
    killAll();
    process.exit(1);
  });
}
