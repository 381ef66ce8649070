// The reference for Hubbub's `--app testbed`: an app that exercises the whole
// Socket.IO server API, written with npm's `socket.io` 4. The C app is written
// from the same text, so the specification below is exact; the tests
// (tests/e2e/sio_testbed.test.mjs, tests/e2e/test_sio_testbed.py) must pass
// against both unchanged.
//
//   node tests/e2e/ref/socketio-testbed.mjs --listen HOST:PORT [--app NAME]
//        [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS]
//        [--max-payload BYTES] [--cors-origin ORIGIN]... [--recovery-window MS]
//
// Specification ("io" is the server, i.e. namespace "/"; "ack(...)" calls the
// client's acknowledgement callback; binary arguments are Buffers, sent back
// as received):
//
// Namespace "/"
//   Middleware: if auth.token === "bad", refuse with new Error("unauthorized")
//   and err.data = {"reason":"bad token"}. Any other auth (or none) passes.
//   On connection: nothing is emitted.
//   Events:
//   - "echo" (...args[, ack]): if the last argument is an ack function,
//     ack(...args) (the other arguments); else emit "echo" with the args.
//   - "join" (room, ack): socket.join(room); ack("joined", room).
//   - "leave" (room, ack): socket.leave(room); ack("left", room).
//   - "rooms" (ack): ack(Array.from(socket.rooms).sort()) (the socket's own
//     id is one of its rooms).
//   - "to-room" (rooms: string|string[], payload):
//     io.to(rooms).emit("room-msg", payload) (a socket in several of the
//     rooms receives it once; the sender receives it too if it is in one).
//   - "to-except" (room, exceptRoom, payload):
//     io.to(room).except(exceptRoom).emit("room-msg", payload).
//   - "broadcast" (payload): socket.broadcast.emit("bcast", payload) (every
//     socket of "/" but the sender).
//   - "emit-all" (payload): io.emit("all", payload).
//   - "volatile" (payload): io.volatile.emit("vol", payload) (a client
//     whose transport cannot take it right now may miss it; never stored for
//     recovery).
//   - "ask" (timeoutMs, ack): socket.timeout(timeoutMs).emit("question", "q",
//     (err, answer) => ack(err ? "timeout" : answer)), i.e. the first
//     argument of the client's acknowledgement, or "timeout".
//   - "ask-room" (room, timeoutMs, ack): io.to(room).timeout(timeoutMs)
//     .emit("poll", "vote?", (err, responses) => ack({ timedOut: !!err,
//     responses: [...responses].sort() })); responses holds the first argument
//     of each acknowledgement received (before the timeout, if it fired).
//   - "fetch" (room, ack): io.in(room).fetchSockets(), then
//     ack(sockets.map(s => s.id).sort()).
//   - "set-data" (data, ack): socket.data = data; ack("ok") (what other nodes
//     of a cluster see of the socket in their fetchSockets()).
//   - "server-emit" (event, payload[, ack]): with an ack,
//     io.serverSideEmit(event, payload, (err, responses) => ack({ timedOut:
//     !!err, responses: [...responses].sort() })) (one response per other
//     server of a cluster; alone, socket.io's Redis adapter calls back at
//     once with (null, []), and so does this reference, whose in-memory
//     adapter would never call back); without, io.serverSideEmit(event,
//     payload).
//   - "sockets-join" (room, newRoom, ack): io.in(room).socketsJoin(newRoom);
//     ack("ok").
//   - "sockets-leave" (room, oldRoom, ack): io.in(room).socketsLeave(oldRoom);
//     ack("ok").
//   - "disconnect-room" (room, ack): ack("ok"), then
//     io.in(room).disconnectSockets() (each one gets a DISCONNECT packet; the
//     Engine.IO sessions stay open).
//   - "handshake" (ack): ack({ query: { foo: socket.handshake.query.foo ?? null },
//     auth: socket.handshake.auth, hasAddress: !!socket.handshake.address,
//     url: socket.handshake.url.split("?")[0] }) (auth is {} when the CONNECT
//     packet had none; url is the path of the Engine.IO handshake request).
//   - "disconnect-me" (): socket.disconnect() (DISCONNECT packet; the client
//     sees "io server disconnect").
//   - "close-me" (): socket.disconnect(true): a DISCONNECT packet for every
//     namespace the connection has joined (in the order they were joined),
//     then the Engine.IO session is closed. The client sees
//     "io server disconnect" (not "transport close"), then its connection
//     closes.
//   - any other event (catch-all, socket.onAny): emit "unknown-event" with the
//     event name (an acknowledgement it may carry is never called).
//   Server-side events (serverSideEmit of the other servers of a cluster):
//   - "whoami" (...args, cb): cb(this server's node id) (--node-id; null
//     when not in a cluster, as the reference always is).
//   - "sse-note" (payload): io.local.emit("sse-note", payload); a callback
//     it may carry is never called.
//
// Namespace "/secure"
//   Middleware: if auth.token !== "good", refuse with new Error("unauthorized")
//   and err.data = {"code":401}.
//   On connection: emit "secure-hello" with socket.id. No events.
//
// Dynamic namespaces matching /^\/dyn-\d+$/
//   No middleware. On connection: emit "dyn-hello" with the namespace name
//   (e.g. "/dyn-42"). Events: "echo" exactly as on "/". Any other namespace
//   (e.g. "/dyn-x") is refused with CONNECT_ERROR "Invalid namespace".
//
// Connection-state recovery: with --recovery-window MS > 0,
//   connectionStateRecovery = { maxDisconnectionDuration: MS,
//   skipMiddlewares: true }; off otherwise. Then the CONNECT answer carries
//   "pid", every EVENT without an ack id that is not volatile carries its
//   offset as a last argument, and a socket whose transport went away (not
//   one that sent or got a DISCONNECT) can come back with {pid, offset} in its
//   CONNECT payload: same id, same rooms, the missed events replayed before
//   the CONNECT answer, no middleware, and the connection handler runs again
//   (so "/dyn-N" sockets get "dyn-hello" and "/secure" ones "secure-hello"
//   again).
//
// --app is accepted and ignored. Prints `listening on http://HOST:PORT` to
// stderr once ready; exits 0 on SIGTERM or SIGINT after closing every session.
import { Adapter } from 'socket.io-adapter';
import { parseArgs, serve } from './socketio-protocol.mjs';

const KNOWN = new Set([
  'echo', 'join', 'leave', 'rooms', 'to-room', 'to-except', 'broadcast', 'emit-all',
  'volatile', 'ask', 'ask-room', 'fetch', 'set-data', 'server-emit', 'sockets-join', 'sockets-leave',
  'disconnect-room', 'handshake', 'disconnect-me', 'close-me',
]);

function unauthorized(data) {
  const err = new Error('unauthorized');
  err.data = data;
  return err;
}

function onEcho(socket) {
  socket.on('echo', (...args) => {
    if (typeof args[args.length - 1] === 'function') {
      const ack = args.pop();
      ack(...args);
    } else {
      socket.emit('echo', ...args);
    }
  });
}

// Calls fn with the arguments of an event and its ack (or a no-op when the
// client sent none, so that a misbehaving client cannot crash the reference).
function withAck(fn) {
  return (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : () => {};
    fn(ack, ...args);
  };
}

function setupTestbed(io) {
  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    next(auth.token === 'bad' ? unauthorized({ reason: 'bad token' }) : undefined);
  });

  io.on('connection', (socket) => {
    onEcho(socket);
    socket.on('join', withAck((ack, room) => {
      socket.join(room);
      ack('joined', room);
    }));
    socket.on('leave', withAck((ack, room) => {
      socket.leave(room);
      ack('left', room);
    }));
    socket.on('rooms', withAck((ack) => ack(Array.from(socket.rooms).sort())));
    socket.on('to-room', (rooms, payload) => io.to(rooms).emit('room-msg', payload));
    socket.on('to-except', (room, exceptRoom, payload) => {
      io.to(room).except(exceptRoom).emit('room-msg', payload);
    });
    socket.on('broadcast', (payload) => socket.broadcast.emit('bcast', payload));
    socket.on('emit-all', (payload) => io.emit('all', payload));
    socket.on('volatile', (payload) => io.volatile.emit('vol', payload));
    socket.on('ask', withAck((ack, timeoutMs) => {
      socket.timeout(timeoutMs).emit('question', 'q', (err, answer) => ack(err ? 'timeout' : answer));
    }));
    socket.on('ask-room', withAck((ack, room, timeoutMs) => {
      io.to(room).timeout(timeoutMs).emit('poll', 'vote?', (err, responses) => {
        ack({ timedOut: !!err, responses: [...responses].sort() });
      });
    }));
    socket.on('fetch', withAck(async (ack, room) => {
      const sockets = await io.in(room).fetchSockets();
      ack(sockets.map((s) => s.id).sort());
    }));
    socket.on('set-data', withAck((ack, data) => {
      socket.data = data;
      ack('ok');
    }));
    socket.on('server-emit', (event, payload, ack) => {
      if (typeof ack !== 'function') {
        io.serverSideEmit(event, payload);
        return;
      }
      const done = (err, responses) => ack({ timedOut: !!err, responses: [...responses].sort() });
      // the in-memory adapter (alone) only warns: see above
      if (io.of('/').adapter.serverSideEmit === Adapter.prototype.serverSideEmit) done(null, []);
      else io.serverSideEmit(event, payload, done);
    });
    socket.on('sockets-join', withAck((ack, room, newRoom) => {
      io.in(room).socketsJoin(newRoom);
      ack('ok');
    }));
    socket.on('sockets-leave', withAck((ack, room, oldRoom) => {
      io.in(room).socketsLeave(oldRoom);
      ack('ok');
    }));
    socket.on('disconnect-room', withAck((ack, room) => {
      ack('ok');
      io.in(room).disconnectSockets();
    }));
    socket.on('handshake', withAck((ack) => {
      const h = socket.handshake;
      ack({
        query: { foo: h.query.foo ?? null },
        auth: h.auth,
        hasAddress: !!h.address,
        url: h.url.split('?')[0],
      });
    }));
    socket.on('disconnect-me', () => socket.disconnect());
    socket.on('close-me', () => socket.disconnect(true));
    socket.onAny((event) => {
      if (!KNOWN.has(event)) socket.emit('unknown-event', event);
    });
  });

  io.of('/').on('whoami', (...args) => {
    const cb = args.pop();
    if (typeof cb === 'function') cb(null);
  });
  io.of('/').on('sse-note', (payload) => io.local.emit('sse-note', payload));

  io.of('/secure').use((socket, next) => {
    const auth = socket.handshake.auth || {};
    next(auth.token !== 'good' ? unauthorized({ code: 401 }) : undefined);
  });
  io.of('/secure').on('connection', (socket) => socket.emit('secure-hello', socket.id));

  io.of(/^\/dyn-\d+$/).on('connection', (socket) => {
    socket.emit('dyn-hello', socket.nsp.name);
    onEcho(socket);
  });
}

const opts = parseArgs('socketio-testbed', process.argv.slice(2));
serve('socketio-testbed', opts, setupTestbed);
