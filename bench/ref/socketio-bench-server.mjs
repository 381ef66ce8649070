#!/usr/bin/env node
// The Node reference of `hubbub --app bench` (examples/bench.c): npm's
// socket.io 4 on a plain Node http server doing exactly what the C app does,
// so that bench/hubbub-bench measures the same work on both servers.
//
//   node bench/ref/socketio-bench-server.mjs --listen HOST:PORT [--app bench]
//        [--ping-interval MS] [--ping-timeout MS]
//
// Namespace "/":
//   "join"    (room, ack?)          join room, then ack()
//   "publish" (room, payload, ack?) io.to(room).emit("msg", payload), then ack()
//   "echo"    (...args, ack)        ack(...args)
//
// Prints "listening on http://HOST:PORT" on stderr once ready; exits 0 on
// SIGTERM/SIGINT.
import http from 'node:http';
import { Server } from 'socket.io';

function usage(msg) {
  if (msg) process.stderr.write(`socketio-bench-server: ${msg}\n`);
  process.stderr.write('usage: socketio-bench-server.mjs --listen HOST:PORT [--app bench] ' +
    '[--ping-interval MS] [--ping-timeout MS]\n');
  process.exit(2);
}

const o = { host: '127.0.0.1', port: 3000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  switch (a) {
    case '--listen': {
      const v = val();
      const colon = v.lastIndexOf(':');
      if (colon < 0) usage(`--listen wants HOST:PORT, got ${v}`);
      o.host = v.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
      o.port = Number(v.slice(colon + 1));
      break;
    }
    case '--app':
      if (val() !== 'bench') usage('only --app bench is implemented');
      break;
    case '--ping-interval': o.pingInterval = Number(val()); break;
    case '--ping-timeout': o.pingTimeout = Number(val()); break;
    case '-h': case '--help': usage(); break;
    default: usage(`unknown argument ${a}`);
  }
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const ioOpts = { serveClient: false };
if (o.pingInterval !== undefined) ioOpts.pingInterval = o.pingInterval;
if (o.pingTimeout !== undefined) ioOpts.pingTimeout = o.pingTimeout;
const io = new Server(httpServer, ioOpts);

io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    if (typeof room !== 'string') return;
    socket.join(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('publish', (room, payload, ack) => {
    if (typeof room !== 'string' || payload === undefined) return;
    io.to(room).emit('msg', payload);
    if (typeof ack === 'function') ack();
  });
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});

httpServer.on('error', (err) => {
  process.stderr.write(`socketio-bench-server: ${err.message}\n`);
  process.exit(1);
});
httpServer.listen(o.port, o.host, () => {
  const { address, port } = httpServer.address();
  const host = address.includes(':') ? `[${address}]` : address;
  process.stderr.write(`socketio-bench-server: listening on http://${host}:${port}\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  io.close(() => process.exit(0));
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
