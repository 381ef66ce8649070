// The reference for Hubbub's `--app protocol`: npm's `socket.io` 4 doing what
// Socket.IO's own protocol test suite expects of a server (shared/
// PROTOCOL-NOTES.md, "The protocol reference app"), taking the same flags as
// the C binary so that tests/e2e/sio_protocol.test.mjs can run against it
// (HUBBUB_REF=1).
//
//   node tests/e2e/ref/socketio-protocol.mjs --listen HOST:PORT [--app NAME]
//        [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS]
//        [--max-payload BYTES] [--cors-origin ORIGIN]... [--recovery-window MS]
//        [--engineio-echo PATH]
//
// The app:
// - namespace "/": on connection emit "auth" with the CONNECT payload (or {});
//   on "message" emit "message-back" with the same arguments (binary
//   included); on "message-with-ack" acknowledge with the same arguments.
// - namespace "/custom": on connection emit "auth" with the payload (or {}).
// - any other namespace: CONNECT_ERROR "Invalid namespace".
//
// --app is accepted and ignored. Prints `listening on http://HOST:PORT` to
// stderr once ready; exits 0 on SIGTERM or SIGINT after closing every session.
// The argument parsing and server setup are exported for
// ref/socketio-testbed.mjs.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { Server as EngineServer } from 'engine.io';
import { Server } from 'socket.io';

function usage(name, msg) {
  process.stderr.write(`${name}: ${msg}\n`);
  process.exit(2);
}

/** Parses the common flags; exits 2 on a bad one. */
export function parseArgs(name, argv) {
  const o = { listen: '127.0.0.1:3000', cors: [], recoveryWindow: 0 };
  const num = (flag, v) => {
    if (v === undefined || !/^\d+$/.test(v)) usage(name, `${flag} needs a non-negative integer`);
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
      if (v === undefined) usage(name, `${a} needs a value`);
      if (eq < 0) i++;
      return v;
    };
    switch (a) {
      case '--listen': o.listen = take(); break;
      case '--app': o.app = take(); break;
      case '--ping-interval': o.pingInterval = num(a, take()); break;
      case '--ping-timeout': o.pingTimeout = num(a, take()); break;
      case '--connect-timeout': o.connectTimeout = num(a, take()); break;
      case '--max-payload': o.maxPayload = num(a, take()); break;
      case '--cors-origin': o.cors.push(take()); break;
      case '--recovery-window': o.recoveryWindow = num(a, take()); break;
      case '--engineio-echo': o.engineioEcho = take(); break;
      default: usage(name, `unknown argument ${a}`);
    }
  }
  return o;
}

/**
 * Starts an http server with socket.io on /socket.io/ configured from opts,
 * calls setup(io) before listening, and installs the SIGTERM/SIGINT shutdown.
 */
export function serve(name, opts, setup) {
  const colon = opts.listen.lastIndexOf(':');
  if (colon < 0) usage(name, '--listen wants HOST:PORT');
  const host = opts.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(opts.listen.slice(colon + 1));

  const ioOpts = { serveClient: false };
  if (opts.pingInterval !== undefined) ioOpts.pingInterval = opts.pingInterval;
  if (opts.pingTimeout !== undefined) ioOpts.pingTimeout = opts.pingTimeout;
  if (opts.connectTimeout !== undefined) ioOpts.connectTimeout = opts.connectTimeout;
  if (opts.maxPayload !== undefined) ioOpts.maxHttpBufferSize = opts.maxPayload;
  if (opts.cors.length > 0) {
    // As in ref/engineio-echo.mjs: "*" allows any origin without
    // credentials; a list echoes a listed Origin with credentials.
    ioOpts.cors = opts.cors.includes('*') ? { origin: '*' } : { origin: opts.cors, credentials: true };
  }
  if (opts.recoveryWindow > 0) {
    ioOpts.connectionStateRecovery = {
      maxDisconnectionDuration: opts.recoveryWindow,
      skipMiddlewares: true,
    };
  }

  const httpServer = http.createServer((req, res) => {
    // Reached only for paths outside the Socket.IO (and echo) endpoints.
    const body = JSON.stringify({ code: 404, message: 'Not found' });
    res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  let echo = null;
  if (opts.engineioEcho) {
    const eioOpts = {};
    for (const k of ['pingInterval', 'pingTimeout', 'maxHttpBufferSize', 'cors']) {
      if (ioOpts[k] !== undefined) eioOpts[k] = ioOpts[k];
    }
    echo = new EngineServer(eioOpts);
    echo.attach(httpServer, { path: opts.engineioEcho });
    echo.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  }
  const io = new Server(httpServer, ioOpts);
  setup(io);

  httpServer.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  httpServer.listen(port, host, () => {
    const a = httpServer.address();
    const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    process.stderr.write(`listening on http://${h}:${a.port}\n`);
  });

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    if (echo) echo.close();
    io.close(() => process.exit(0)); // every socket and session, then the http server
    httpServer.closeAllConnections();
    // Closed transports may keep timers; do not wait for them.
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return io;
}

function setupProtocolApp(io) {
  io.on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth);
    socket.on('message', (...args) => socket.emit('message-back', ...args));
    socket.on('message-with-ack', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
  });
  io.of('/custom').on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = parseArgs('socketio-protocol', process.argv.slice(2));
  serve('socketio-protocol', opts, setupProtocolApp);
}
