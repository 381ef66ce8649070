#!/usr/bin/env node
// Reference Engine.IO echo server: npm `engine.io` attached to a plain Node
// http server, started with the same flags as `hubbub --engineio-echo`, so the
// benchmarks can run Node's implementation side by side with Hubbub's.
//
//   node bench/ref/engineio-server.mjs --listen 127.0.0.1:PORT
//        [--engineio-echo /engine.io/] [--ping-interval MS] [--ping-timeout MS]
//
// Prints "listening on http://HOST:PORT/..." on stderr once ready, echoes every
// message packet (text as text, binary as binary), and exits 0 on SIGTERM/SIGINT.
import http from 'node:http';
import { Server } from 'engine.io';

function usage(msg) {
  if (msg) console.error(`engineio-server: ${msg}`);
  console.error('usage: engineio-server.mjs --listen HOST:PORT [--engineio-echo PATH] ' +
                '[--ping-interval MS] [--ping-timeout MS]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { host: '127.0.0.1', port: 0, path: '/engine.io/', pingInterval: 25000, pingTimeout: 20000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const ms = () => {
      const v = val();
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) usage(`${a}: not a positive integer: ${v}`);
      return n;
    };
    if (a === '--listen') {
      const v = val();
      const colon = v.lastIndexOf(':');
      if (colon < 0) usage(`--listen wants HOST:PORT, got ${v}`);
      o.host = v.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
      o.port = Number(v.slice(colon + 1));
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage(`bad port in ${v}`);
    } else if (a === '--engineio-echo') {
      o.path = val();
      if (!o.path.startsWith('/')) usage('--engineio-echo PATH must start with /');
    } else if (a === '--ping-interval') {
      o.pingInterval = ms();
    } else if (a === '--ping-timeout') {
      o.pingTimeout = ms();
    } else if (a === '-h' || a === '--help') {
      usage();
    } else {
      usage(`unknown argument ${a}`);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const engine = new Server({
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  // engine.io wants the path without the trailing slash; it adds one itself.
  path: opts.path.replace(/\/+$/, '') || '/',
});
engine.attach(httpServer);
engine.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});

httpServer.on('error', (err) => {
  console.error(`engineio-server: ${err.message}`);
  process.exit(1);
});
httpServer.listen(opts.port, opts.host, () => {
  const { address, port } = httpServer.address();
  const host = address.includes(':') ? `[${address}]` : address;
  console.error(`engineio-server: listening on http://${host}:${port}${opts.path}`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  // Closing the engine closes every session; the http server then ends once
  // its last (upgraded) connection is gone and the loop drains to exit 0.
  engine.close();
  httpServer.close();
  setTimeout(() => {
    console.error('engineio-server: sessions did not close within 5 s, exiting anyway');
    process.exit(1);
  }, 5000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
