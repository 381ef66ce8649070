#!/usr/bin/env node
// The report of bench/run: reads the JSON lines of bench/hubbub-bench (and
// of bench/idle-memory.mjs), prints the tables with the ratios Hubbub/Node
// and Hubbub/raw, checks the targets of issue 5, and writes
// RESULTS_DIR/bench.json, RESULTS_DIR/summary.md and, when gnuplot is
// installed, RESULTS_DIR/latency.png and RESULTS_DIR/memory.png.
//
//   node bench/report.mjs RESULTS.jsonl RESULTS_DIR [HUBBUB_BIN QUICK LOAD1 SECONDS OTHER_CPU_S]
//
// OTHER_CPU_S is the CPU time that processes other than the benchmark's took
// during the run (bench/run measures it): every figure depends on having
// both cores.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [input, outDir, hubbubBin = '', quick = '0', load1 = '', seconds = '', otherCpu = ''] = process.argv.slice(2);
if (!input || !outDir) {
  process.stderr.write('usage: report.mjs RESULTS.jsonl RESULTS_DIR [HUBBUB_BIN QUICK LOAD1 SECONDS]\n');
  process.exit(2);
}
const runs = fs.readFileSync(input, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const pick = (scenario, label, pred = () => true) =>
  runs.filter((r) => r.scenario === scenario && r.label === label && pred(r));
const one = (scenario, label, pred) => pick(scenario, label, pred).at(-1) ?? null;

// ---- formatting
const num = (v, d = 0) =>
  v == null || Number.isNaN(v) ? 'n/a' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (v) => (v == null ? 'n/a' : v < 10 ? num(v, 2) : v < 100 ? num(v, 1) : num(v, 0));
const ratio = (a, b, d = 2) => (a == null || b == null || b === 0 ? 'n/a' : `${num(a / b, d)}×`);
const pct = (a, b) => (a == null || b == null || b === 0 ? 'n/a' : `${num((100 * a) / b, 0)} %`);
const mib = (v) => (v == null ? 'n/a' : `${num(v / 1048576, 1)} MiB`);

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const text = rows.map((r) => r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ')).join('\n');
  const md = [
    `| ${rows[0].join(' | ')} |`,
    `|${rows[0].map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  return { text, md };
}

const sections = [];
function section(title, rows, notes = []) {
  if (rows.length < 2) return;
  sections.push({ title, ...table(rows), notes });
}

// ---- summary
const conn = { h: one('connect', 'hubbub'), n: one('connect', 'node') };
const idleMax = (label) => {
  const xs = pick('idle', label);
  return xs.length ? xs.reduce((a, b) => (b.clients > a.clients ? b : a)) : null;
};
const idle = { h: idleMax('hubbub'), n: idleMax('node') };
const paced = { h: one('fanout', 'hubbub', (r) => r.run === 'paced'), n: one('fanout', 'node', (r) => r.run === 'paced'), r: one('fanout', 'raw', (r) => r.run === 'paced') };
// bursts are compared with rawfanout --batch (one write per member per turn)
const burst = { h: one('fanout', 'hubbub', (r) => r.run === 'burst'), n: one('fanout', 'node', (r) => r.run === 'burst'),
  r: one('fanout', 'raw-batch', (r) => r.run === 'burst') ?? one('fanout', 'raw', (r) => r.run === 'burst') };
const best = { h: one('fanout-best', 'hubbub'), n: one('fanout-best', 'node'), r: one('fanout-best', 'raw') };
const echo = { h: one('echo', 'hubbub'), n: one('echo', 'node') };
const scale = runs.filter((r) => r.scenario === 'fanout' && /^hubbub-x/.test(r.label)).at(-1) ?? null;
const scaleSetup = runs.filter((r) => r.scenario === 'fanout-setup' && /^hubbub-x/.test(r.label)).at(-1) ?? null;
// the cluster runs (bench/run's cluster scenario), each with its setup
const clusterRuns = runs.filter((r) => r.scenario === 'fanout' && /^cluster-x/.test(r.label));
const clusterSetup = (r) => runs.find((x) => x.scenario === 'fanout-setup' && x.label === r.label && x.cluster_run === r.cluster_run) ?? null;

const g = (o, k) => (o ? o[k] : null);
const atLeast = (b) => (b && b.capped ? '≥ ' : '');
const summary = [['figure', 'hubbub', 'node', 'raw', 'hubbub/node', 'hubbub/raw']];
if (conn.h || conn.n) {
  summary.push([`handshakes/s, ${num(g(conn.h, 'clients') ?? g(conn.n, 'clients'))} clients (higher is better)`,
    num(g(conn.h, 'handshakes_per_s')), num(g(conn.n, 'handshakes_per_s')), '', ratio(g(conn.h, 'handshakes_per_s'), g(conn.n, 'handshakes_per_s')), '']);
}
if (idle.h || idle.n) {
  summary.push([`server RSS per idle client, bytes, ${num(g(idle.h, 'clients') ?? g(idle.n, 'clients'))} clients (lower is better)`,
    num(g(idle.h, 'bytes_per_client')), num(g(idle.n, 'bytes_per_client')), '', ratio(g(idle.h, 'bytes_per_client'), g(idle.n, 'bytes_per_client'), 3), '']);
}
const fo = paced.h ?? paced.n ?? paced.r;
if (fo) {
  summary.push([`server CPU s per million delivered, paced: ${num(fo.rate)} msg/s to ${num(fo.members)} (lower is better)`,
    num(g(paced.h, 'cpu_s_per_million'), 2), num(g(paced.n, 'cpu_s_per_million'), 2), num(g(paced.r, 'cpu_s_per_million'), 2),
    ratio(g(paced.h, 'cpu_s_per_million'), g(paced.n, 'cpu_s_per_million')), ratio(g(paced.h, 'cpu_s_per_million'), g(paced.r, 'cpu_s_per_million'))]);
}
const fb = burst.h ?? burst.n ?? burst.r;
if (fb) {
  summary.push([`server CPU s per million delivered, bursts of ${fb.burst}: ${num(fb.rate)} msg/s to ${num(fb.members)} (lower is better)`,
    num(g(burst.h, 'cpu_s_per_million'), 2), num(g(burst.n, 'cpu_s_per_million'), 2), num(g(burst.r, 'cpu_s_per_million'), 2),
    ratio(g(burst.h, 'cpu_s_per_million'), g(burst.n, 'cpu_s_per_million')), ratio(g(burst.h, 'cpu_s_per_million'), g(burst.r, 'cpu_s_per_million'))]);
}
const bb = best.h ?? best.n ?? best.r;
if (bb) {
  summary.push([`delivered msgs/s at p99 < ${num(bb.p99_limit_ms)} ms, paced, ${num(bb.members)} members (higher is better)`,
    atLeast(best.h) + num(g(best.h, 'delivered_per_s')), atLeast(best.n) + num(g(best.n, 'delivered_per_s')), atLeast(best.r) + num(g(best.r, 'delivered_per_s')),
    ratio(g(best.h, 'delivered_per_s'), g(best.n, 'delivered_per_s')), pct(g(best.h, 'delivered_per_s'), g(best.r, 'delivered_per_s'))]);
}
const ee = echo.h ?? echo.n;
if (ee) {
  summary.push([`echo round trip p99 ms, ${num(ee.rate)}/s over ${num(ee.clients)} clients (lower is better)`,
    ms(g(echo.h, 'p99_ms')), ms(g(echo.n, 'p99_ms')), '', ratio(g(echo.h, 'p99_ms'), g(echo.n, 'p99_ms')), '']);
  summary.push(['echo: server CPU s per million acks (lower is better)',
    num(g(echo.h, 'cpu_s_per_million'), 1), num(g(echo.n, 'cpu_s_per_million'), 1), '', ratio(g(echo.h, 'cpu_s_per_million'), g(echo.n, 'cpu_s_per_million')), '']);
}
section('Summary', summary, [
  'raw = bench/rawfanout, the machine\'s ceiling: one write() per frame per member (paced rows), or with --batch one write() per member per loop turn (burst row).',
  'Paced rates are searched up to 1,000 msg/s (one publish per ms); "≥" marks a server that still passed there.',
]);

// ---- detail tables
const conRows = [['server', 'clients', 'opened', 'failed', 'seconds', 'handshakes/s', 'p50 ms', 'p99 ms']];
for (const r of runs.filter((x) => x.scenario === 'connect')) {
  conRows.push([r.label, num(r.clients), num(r.opened), num(r.failed), num(r.seconds, 2), num(r.handshakes_per_s), ms(r.handshake_p50_ms), ms(r.handshake_p99_ms)]);
}
section('Connect (Engine.IO open over WebSocket + Socket.IO CONNECT)', conRows);

const idleRows = [['server', 'clients', 'RSS before', 'RSS after', 'bytes/client', 'kernel TCP mem B/client']];
for (const r of runs.filter((x) => x.scenario === 'idle')) {
  idleRows.push([r.label, num(r.clients), mib(r.rss_base_bytes), mib(r.rss_bytes), num(r.bytes_per_client), num(r.socket_mem_bytes_per_client)]);
}
section('Idle Socket.IO clients: server memory', idleRows);

const foRows = [['server', 'run', 'members', 'msg/s', 'burst', 'offered/s', 'delivered/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'CPU s', 'CPU s/M', 'p99 ok']];
for (const r of runs.filter((x) => x.scenario === 'fanout')) {
  foRows.push([r.label, r.run, num(r.members), num(r.rate, r.rate < 10 ? 1 : 0), r.burst, num(r.offered_per_s), num(r.delivered_per_s),
    ms(r.p50_ms), ms(r.p99_ms), ms(r.p999_ms), num(r.server_cpu_s, 2), num(r.cpu_s_per_million, 2), r.pass ? 'yes' : 'no']);
}
section('Fan-out runs', foRows, ['p99 counts undelivered messages as later than any delivered one; "p99 ok" is p99 under the limit (100 ms, 1 s for the 100k run) with every message delivered.']);

const echoRows = [['server', 'clients', 'emits/s', 'sent', 'acked', 'p50 ms', 'p99 ms', 'p99.9 ms', 'CPU s', 'CPU s/M']];
for (const r of runs.filter((x) => x.scenario === 'echo')) {
  echoRows.push([r.label, num(r.clients), num(r.rate), num(r.sent), num(r.acked), ms(r.p50_ms), ms(r.p99_ms), ms(r.p999_ms), num(r.server_cpu_s, 2), num(r.cpu_s_per_million, 1)]);
}
section('Echo (emit with ack)', echoRows);

if (scale) {
  section(`${num(scale.members)} clients on ${scale.servers} independent hubbub processes (no Redis: the publisher publishes to each)`, [
    ['figure', 'value'],
    ['clients joined', num(scaleSetup?.members)],
    ['time to connect and join', `${num(scaleSetup?.join_seconds, 1)} s`],
    ['RSS of all servers', `${mib(scaleSetup?.rss_before_bytes)} → ${mib(scaleSetup?.rss_after_bytes)}`],
    ['RSS per client', `${num(scaleSetup?.bytes_per_client)} B`],
    ['broadcasts to all', num(scale.sent)],
    ['delivered', `${num(scale.delivered)} of ${num(scale.expected)}`],
    ['latency p50 / p99 / max', `${ms(scale.p50_ms)} / ${ms(scale.p99_ms)} / ${ms(scale.max_ms)} ms`],
  ]);
}

if (clusterRuns.length) {
  const c0 = clusterRuns[0];
  const rows = [['run', 'clients', 'join s', 'B/client', 'delivered', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms',
    'first node p50 / p99', 'other nodes p50 / p99', 'all reached /s', 'nodes CPU s', 'Redis CPU s (idle/s)']];
  for (const r of clusterRuns) {
    const st = clusterSetup(r);
    rows.push([r.cluster_run ?? '', num(st?.members ?? r.members), num(st?.join_seconds, 1), num(st?.bytes_per_client),
      `${num(r.delivered)} of ${num(r.expected)}`, ms(r.p50_ms), ms(r.p90_ms), ms(r.p99_ms), ms(r.max_ms),
      `${ms(r.first_node_p50_ms)} / ${ms(r.first_node_p99_ms)}`, `${ms(r.other_nodes_p50_ms)} / ${ms(r.other_nodes_p99_ms)}`,
      num(r.full_broadcast_per_s), num(r.server_cpu_s, 2), `${num(r.redis_cpu_s, 3)} (${num(r.redis_idle_cpu_s_per_s, 4)})`]);
  }
  if (scale) {
    // the same clients and broadcasts without Redis, for comparison
    rows.push([`independent x${scale.servers}`, num(scaleSetup?.members), num(scaleSetup?.join_seconds, 1), num(scaleSetup?.bytes_per_client),
      `${num(scale.delivered)} of ${num(scale.expected)}`, ms(scale.p50_ms), ms(scale.p90_ms), ms(scale.p99_ms), ms(scale.max_ms),
      '', '', num(scale.full_broadcast_per_s), num(scale.server_cpu_s, 2), '']);
  }
  section(`Cluster: ${num(c0.members)} clients on ${c0.servers} hubbub nodes and one Redis, ${num(c0.sent)} broadcasts to all from one client on the first node`, rows, [
    'first node: the members on the publisher\'s node; other nodes: the members whose broadcast came through Redis. "independent": the scale scenario, the same without Redis, the publisher publishing to every process.',
    '"all reached /s": members / max latency, the slowest broadcast\'s rate. CPU from the first publish to the last delivery; Redis\'s from INFO cpu, with what it uses when idle (per second) beside it.',
  ]);
}

const eio = runs.filter((x) => x.scenario === 'eio-idle');
if (eio.length) {
  const rows = [['server', 'sessions', 'RSS before', 'RSS after', 'bytes/session']];
  for (const r of eio) rows.push([r.server, num(r.clients), mib(r.rss_before_bytes), mib(r.rss_after_bytes), num(r.bytes_per_session)]);
  section('Idle Engine.IO sessions (bench/idle-memory.mjs)', rows);
}

// ---- targets of issue 5
const targets = [];
const target = (name, ok, detail) => targets.push({ name, met: ok == null ? null : !!ok, detail });
if (idle.h && idle.n) {
  const h = idle.h.bytes_per_client, n = idle.n.bytes_per_client;
  target('idle client memory ≤ 1/10 of Node and < 2 KB', h <= n / 10 && h < 2048, `${num(h)} B vs ${num(n)} B (${num(n / h, 1)}× less)`);
}
if (paced.h && paced.r) {
  // One frame per send: what one core can deliver is 1 / (CPU per delivery).
  const p = (100 * paced.r.cpu_s_per_million) / paced.h.cpu_s_per_million;
  target('paced fan-out ≥ 70 % of the raw-write rate (one core\'s deliveries/s, from CPU per delivered message)', p >= 70,
    `${num(p, 0)} % (${num(1e6 / paced.h.cpu_s_per_million)} vs ${num(1e6 / paced.r.cpu_s_per_million)} msgs/s per CPU second)`);
}
if (best.h && best.r) {
  const p = best.r.delivered_per_s ? (100 * best.h.delivered_per_s) / best.r.delivered_per_s : null;
  target('paced fan-out at p99 < 100 ms ≥ 70 % of the raw-write rate', p != null && p >= 70,
    `${num(p, 0)} % (${atLeast(best.h)}${num(best.h.delivered_per_s)} vs ${atLeast(best.r)}${num(best.r.delivered_per_s)} msgs/s)`);
}
if (paced.h && paced.n) {
  target('paced: less server CPU per delivered message than Node', paced.h.cpu_s_per_million < paced.n.cpu_s_per_million,
    `${num(paced.h.cpu_s_per_million, 2)} vs ${num(paced.n.cpu_s_per_million, 2)} s per million`);
}
if (burst.h && burst.n) {
  const x = burst.n.cpu_s_per_million / burst.h.cpu_s_per_million;
  target('bursts: at least 5× less server CPU per delivered message than Node', x >= 5, `${num(x, 1)}× less (${num(burst.h.cpu_s_per_million, 2)} vs ${num(burst.n.cpu_s_per_million, 2)} s per million)`);
}
for (const r of clusterRuns) {
  target(`${num(r.members)} clients on a cluster of ${r.servers} nodes (run ${r.cluster_run ?? 1}), broadcast to all from one node with p99 < 1 s`,
    r.delivered >= r.expected && r.p99_ms != null && r.p99_ms < 1000, `p99 ${ms(r.p99_ms)} ms, ${num(r.delivered)} of ${num(r.expected)} delivered`);
}
if (scale) {
  target(`${num(scale.members)} clients, broadcast to all with p99 < 1 s`, scale.delivered >= scale.expected && scale.p99_ms != null && scale.p99_ms < 1000,
    `p99 ${ms(scale.p99_ms)} ms, ${num(scale.delivered)} of ${num(scale.expected)} delivered`);
}

// ---- output
const git = (args) => {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};
const version = (pkg) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
};
const doc = {
  bench: 'hubbub-bench',
  date: new Date().toISOString(),
  quick: quick === '1',
  seconds: seconds ? Number(seconds) : null,
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_bytes: os.totalmem(), kernel: os.release(), load_average_before: load1 ? Number(load1) : null },
  other_processes_cpu_s: otherCpu ? Number(otherCpu) : null,
  hubbub_bin: hubbubBin,
  commit: git(['rev-parse', '--short', 'HEAD']),
  dirty: (git(['status', '--porcelain']) ?? '') !== '',
  node_version: process.version,
  socketio_version: version('socket.io'),
  targets,
  runs,
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'bench.json'), JSON.stringify(doc, null, 2) + '\n');

let out = '';
let md = `# bench/run results\n\n${doc.date}, ${doc.quick ? 'QUICK=1, ' : ''}${doc.machine.cpus} × ${doc.machine.cpu}, Linux ${doc.machine.kernel}, ` +
  `Node ${doc.node_version}, socket.io ${doc.socketio_version}, commit ${doc.commit}${doc.dirty ? ' + working tree' : ''}` +
  `${load1 ? `, load average before ${load1}` : ''}${seconds ? `, ${seconds} s` : ''}` +
  `${otherCpu ? `; other processes used ${otherCpu} CPU s during the run (${num((100 * Number(otherCpu)) / (Number(seconds) * os.cpus().length), 0)} % of the machine)` : ''}.\n`;
for (const s of sections) {
  out += `\n== ${s.title}\n${s.text}\n${s.notes.map((n) => `  ${n}\n`).join('')}`;
  md += `\n## ${s.title}\n\n${s.md}\n${s.notes.map((n) => `\n${n}\n`).join('')}`;
}
if (targets.length) {
  out += '\n== Targets (issue 5)\n';
  md += '\n## Targets (issue 5)\n\n';
  for (const t of targets) {
    const mark = t.met ? 'met' : 'NOT met';
    out += `  ${mark.padEnd(7)}  ${t.name}: ${t.detail}\n`;
    md += `- **${mark}**: ${t.name}: ${t.detail}\n`;
  }
}

// ---- plots
const plots = [];
const hasGnuplot = spawnSync('gnuplot', ['--version'], { stdio: 'ignore' }).status === 0;
if (hasGnuplot) {
  const colors = { hubbub: '#1f77b4', node: '#d62728', raw: '#7f7f7f', 'raw-batch': '#2ca02c' };
  const lat = [];
  for (const label of ['hubbub', 'node', 'raw']) {
    // a failed rate is tried twice and the second try counts: keep the last run of each rate
    const byRate = new Map();
    for (const r of runs) if (r.scenario === 'fanout' && r.label === label && r.run === 'search') byRate.set(r.rate, r);
    const pts = [...byRate.values()].filter((r) => r.p99_ms != null).sort((a, b) => a.offered_per_s - b.offered_per_s);
    if (!pts.length) continue;
    const f = path.join(outDir, `latency-${label}.dat`);
    fs.writeFileSync(f, '# offered_per_s p50_ms p99_ms delivered_per_s\n' + pts.map((r) => `${r.offered_per_s} ${r.p50_ms} ${r.p99_ms} ${r.delivered_per_s}`).join('\n') + '\n');
    lat.push({ label, f });
  }
  if (lat.length) {
    const members = runs.find((r) => r.scenario === 'fanout' && r.label === 'hubbub')?.members ?? '';
    const script = [
      'set terminal pngcairo size 900,560 font "sans,11"',
      `set output "${path.join(outDir, 'latency.png')}"`,
      `set title "Fan-out to one room of ${members} members, paced publisher: latency against load"`,
      'set xlabel "offered load: messages per second to deliver (publish rate × members)"', 'set ylabel "latency (ms)"',
      'set logscale xy', 'set grid', 'set key top right', 'set format x "%.0s%c"',
      'set arrow from graph 0, first 100 to graph 1, first 100 nohead dashtype 2 lc rgb "#999999"',
      'plot ' + lat.flatMap(({ label, f }) => [
        `"${f}" using 1:3 with linespoints lw 2 pt 7 lc rgb "${colors[label]}" title "${label} p99"`,
        `"${f}" using 1:2 with linespoints lw 1 pt 6 dashtype 3 lc rgb "${colors[label]}" title "${label} p50"`,
      ]).join(', '),
    ].join('\n');
    const r = spawnSync('gnuplot', [], { input: script, encoding: 'utf8' });
    if (r.status === 0) plots.push('latency.png');
    else process.stderr.write(`report: gnuplot (latency): ${r.stderr}\n`);
  }
  const mem = [];
  for (const label of ['hubbub', 'node']) {
    const pts = runs.filter((r) => r.scenario === 'idle' && r.label === label).sort((a, b) => a.clients - b.clients);
    if (!pts.length) continue;
    const f = path.join(outDir, `memory-${label}.dat`);
    fs.writeFileSync(f, '# clients rss_mib\n' + [`0 ${pts[0].rss_base_bytes / 1048576}`, ...pts.map((r) => `${r.clients} ${r.rss_bytes / 1048576}`)].join('\n') + '\n');
    mem.push({ label, f });
  }
  if (mem.length) {
    const script = [
      'set terminal pngcairo size 900,560 font "sans,11"',
      `set output "${path.join(outDir, 'memory.png')}"`,
      'set title "Server resident memory against idle Socket.IO clients"',
      'set xlabel "connected clients"', 'set ylabel "server RSS (MiB)"', 'set grid', 'set key top left',
      'plot ' + mem.map(({ label, f }) => `"${f}" using 1:2 with linespoints lw 2 pt 7 lc rgb "${colors[label]}" title "${label}"`).join(', '),
    ].join('\n');
    const r = spawnSync('gnuplot', [], { input: script, encoding: 'utf8' });
    if (r.status === 0) plots.push('memory.png');
    else process.stderr.write(`report: gnuplot (memory): ${r.stderr}\n`);
  }
}
if (plots.length) md += `\n## Plots\n\n${plots.map((p) => `![${p}](${p})`).join('\n')}\n`;
fs.writeFileSync(path.join(outDir, 'summary.md'), md);

if (otherCpu && seconds) {
  const share = (100 * Number(otherCpu)) / (Number(seconds) * os.cpus().length);
  out += `\nother processes used ${otherCpu} CPU s during the run (${num(share, 0)} % of the machine)` +
    `${share > 5 ? ': the figures are lower than on a quiet machine' : ''}\n`;
}
process.stdout.write(out);
const rel = (p) => path.relative(process.cwd(), p) || p;
process.stdout.write(`\nresults: ${rel(path.join(outDir, 'bench.json'))}, ${rel(path.join(outDir, 'summary.md'))}` +
  `${plots.length ? `, ${plots.map((p) => rel(path.join(outDir, p))).join(', ')}` : hasGnuplot ? '' : ' (no plots: gnuplot is not installed)'}\n`);
