// The reference for Hubbub's `--engineio-echo` endpoint: npm's `engine.io`
// attached to a plain http server, taking the same flags as the C binary, so
// that the end-to-end tests can be checked against it (HUBBUB_REF=1) and the
// side-by-side test can compare the two byte for byte.
//
//   node tests/e2e/ref/engineio-echo.mjs --listen HOST:PORT --engineio-echo PATH
//        [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]
//        [--cors-origin ORIGIN]...      ('*' allows any origin)
//
// Prints `listening on http://HOST:PORT` to stderr once ready; exits 0 on
// SIGTERM or SIGINT after closing every session.
import http from 'node:http';
import { Server } from 'engine.io';

function usage(msg) {
  process.stderr.write(`engineio-echo: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { listen: '127.0.0.1:3000', path: '/engine.io/', cors: [] };
  const num = (name, v) => {
    if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs a non-negative integer`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else {
      v = argv[i + 1];
    }
    const take = () => {
      if (v === undefined) usage(`${a} needs a value`);
      if (eq < 0) i++;
      return v;
    };
    switch (a) {
      case '--listen': o.listen = take(); break;
      case '--engineio-echo': o.path = take(); break;
      case '--ping-interval': o.pingInterval = num(a, take()); break;
      case '--ping-timeout': o.pingTimeout = num(a, take()); break;
      case '--max-payload': o.maxPayload = num(a, take()); break;
      case '--cors-origin': o.cors.push(take()); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const colon = opts.listen.lastIndexOf(':');
if (colon < 0) usage('--listen wants HOST:PORT');
const host = opts.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
const port = Number(opts.listen.slice(colon + 1));

const eioOpts = {};
if (opts.pingInterval !== undefined) eioOpts.pingInterval = opts.pingInterval;
if (opts.pingTimeout !== undefined) eioOpts.pingTimeout = opts.pingTimeout;
if (opts.maxPayload !== undefined) eioOpts.maxHttpBufferSize = opts.maxPayload;
if (opts.cors.length > 0) {
  // The usual ways of configuring the `cors` package through engine.io:
  // "*" gives `Access-Control-Allow-Origin: *` and no credentials (browsers
  // refuse credentials with "*"); a list of origins echoes a listed Origin
  // together with `Access-Control-Allow-Credentials: true`.
  eioOpts.cors = opts.cors.includes('*')
    ? { origin: '*' }
    : { origin: opts.cors, credentials: true };
}

const httpServer = http.createServer((req, res) => {
  // Reached only for paths outside the Engine.IO endpoint.
  const body = JSON.stringify({ code: 404, message: 'Not found' });
  res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
const engine = new Server(eioOpts);
engine.attach(httpServer, { path: opts.path });

engine.on('connection', (socket) => {
  // Text arrives as a string and binary as a Buffer; sending each back
  // unchanged keeps text as text and binary as binary.
  socket.on('message', (data) => socket.send(data));
});

httpServer.on('error', (err) => {
  process.stderr.write(`engineio-echo: ${err.message}\n`);
  process.exit(1);
});

httpServer.listen(port, host, () => {
  const a = httpServer.address();
  const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  process.stderr.write(`listening on http://${h}:${a.port}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  engine.close(); // every session: pending polls get "1", websockets are closed
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
  // Closed transports may keep timers (engine.io's 30 s polling close
  // timeout); do not wait for them.
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
