// An app server for the Azure-compatibility tests (tests/e2e/azure.test.mjs):
// unmodified npm `socket.io` plus `@azure/web-pubsub-socket.io`, exactly as a
// team moving onto Hubbub (or Azure Web PubSub for Socket.IO) would run it. It
// serves no clients itself: they connect to the service, which relays their
// packets here through the tunnel, and every broadcast goes back to the service.
//
//   node tests/e2e/ref/azure-app.mjs HUB CONNECTION_STRING [LABEL]
//
// Prints `ready <LABEL>` on stdout once useAzureSocketIO() resolved (the tunnel
// got ConnectionConnected); exits 0 on SIGTERM or SIGINT. LABEL (default "app")
// tells two app servers of one hub apart.
//
// Namespace "/" ("io"; "ack(...)" calls the client's acknowledgement):
//   Middleware: auth.token === "bad" → refused with Error("unauthorized"),
//   err.data = {"reason":"bad token"}.
//   - "echo" (...args[, ack]): ack(...args), or without an ack emit "echo" with
//     the args (binary arguments go back as received).
//   - "whoami" (ack): ack({ label, id: socket.id, userId (claims' sub or null),
//     query: handshake query "foo" or null }).
//   - "join" / "leave" (room, ack): socket.join/leave(room), awaited; ack("ok").
//   - "rooms" (ack): ack([...socket.rooms].sort()).
//   - "to-room" (rooms, payload): io.to(rooms).emit("room-msg", payload).
//   - "to-except" (room, except, payload): io.to(room).except(except)
//     .emit("room-msg", payload).
//   - "broadcast" (payload): socket.broadcast.emit("bcast", payload).
//   - "emit-all" (payload): io.emit("all", payload).
//   - "ask" (timeoutMs, ack): socket.timeout(timeoutMs).emit("question", "q",
//     (err, answer) => ack(err ? "timeout" : answer)).
//   - "ask-room" (room, timeoutMs, ack): io.to(room).timeout(timeoutMs)
//     .emit("poll", "vote?", (err, responses) => ack({ timedOut: !!err,
//     responses: [...responses].sort() })) — a broadcast with acks (:invoke).
//   - "sockets-join" (room, newRoom, ack) / "sockets-leave" (room, oldRoom,
//     ack): io.in(room).socketsJoin/socketsLeave(...), awaited; ack("ok").
//   - "disconnect-room" (room, close, ack): ack("ok"), then
//     io.in(room).disconnectSockets(close).
//   - "disconnect-me" (): socket.disconnect(); "close-me": socket.disconnect(true).
//   - "burst" (n): emits "seq" 0..n-1 to the sender.
//   - "big" (bytes, ack): emits "big" with a string of that many "x" to the
//     sender, then ack("sent").
//   - "seq-in" (i): appended to the socket's list; "seq-report" (ack): ack(list).
//   - "server-disconnects" (ack): ack(the reasons of the server-side
//     "disconnect" events seen so far on this app server, in order).
// Namespace "/secure": middleware refuses unless auth.token === "good", with
//   Error("unauthorized") and err.data = {"code":401}; on connection emits
//   "secure-hello" with socket.id.
// Namespace "/chat": "echo" as on "/", "emit-all" (payload):
//   io.of("/chat").emit("chat-all", payload).
import http from 'node:http';
import { Server } from 'socket.io';
import { useAzureSocketIO } from '@azure/web-pubsub-socket.io';

const [hub, connectionString, label = 'app'] = process.argv.slice(2);
if (!hub || !connectionString) {
  process.stderr.write('usage: azure-app.mjs HUB CONNECTION_STRING [LABEL]\n');
  process.exit(2);
}

function unauthorized(data) {
  const err = new Error('unauthorized');
  err.data = data;
  return err;
}

// The client's ack, or a no-op when it sent none.
function withAck(fn) {
  return (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : () => {};
    fn(ack, ...args);
  };
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

const serverDisconnects = [];

function setup(io) {
  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    next(auth.token === 'bad' ? unauthorized({ reason: 'bad token' }) : undefined);
  });

  io.on('connection', (socket) => {
    const seq = [];
    onEcho(socket);
    socket.on('disconnect', (reason) => serverDisconnects.push(reason));
    socket.on('whoami', withAck((ack) => {
      const claims = socket.request.claims || {};
      ack({
        label,
        id: socket.id,
        userId: (claims.sub && claims.sub[0]) || null,
        query: socket.handshake.query.foo ?? null,
      });
    }));
    socket.on('join', withAck(async (ack, room) => {
      await socket.join(room);
      ack('ok');
    }));
    socket.on('leave', withAck(async (ack, room) => {
      await socket.leave(room);
      ack('ok');
    }));
    socket.on('rooms', withAck((ack) => ack([...socket.rooms].sort())));
    socket.on('to-room', (rooms, payload) => io.to(rooms).emit('room-msg', payload));
    socket.on('to-except', (room, except, payload) => io.to(room).except(except).emit('room-msg', payload));
    socket.on('broadcast', (payload) => socket.broadcast.emit('bcast', payload));
    socket.on('emit-all', (payload) => io.emit('all', payload));
    socket.on('ask', withAck((ack, timeoutMs) => {
      socket.timeout(timeoutMs).emit('question', 'q', (err, answer) => ack(err ? 'timeout' : answer));
    }));
    socket.on('ask-room', withAck((ack, room, timeoutMs) => {
      io.to(room).timeout(timeoutMs).emit('poll', 'vote?', (err, responses) => {
        ack({ timedOut: !!err, responses: [...(responses || [])].sort() });
      });
    }));
    socket.on('sockets-join', withAck(async (ack, room, newRoom) => {
      await io.in(room).socketsJoin(newRoom);
      ack('ok');
    }));
    socket.on('sockets-leave', withAck(async (ack, room, oldRoom) => {
      await io.in(room).socketsLeave(oldRoom);
      ack('ok');
    }));
    socket.on('disconnect-room', withAck((ack, room, close) => {
      ack('ok');
      io.in(room).disconnectSockets(!!close);
    }));
    socket.on('disconnect-me', () => socket.disconnect());
    socket.on('close-me', () => socket.disconnect(true));
    socket.on('burst', (n) => {
      for (let i = 0; i < n; i++) socket.emit('seq', i);
    });
    socket.on('big', (bytes, ack) => {
      socket.emit('big', 'x'.repeat(bytes));
      ack('sent');
    });
    socket.on('seq-in', (i) => seq.push(i));
    socket.on('seq-report', withAck((ack) => ack(seq)));
    socket.on('server-disconnects', withAck((ack) => ack(serverDisconnects)));
  });

  io.of('/secure').use((socket, next) => {
    const auth = socket.handshake.auth || {};
    next(auth.token !== 'good' ? unauthorized({ code: 401 }) : undefined);
  });
  io.of('/secure').on('connection', (socket) => socket.emit('secure-hello', socket.id));

  io.of('/chat').on('connection', (socket) => {
    onEcho(socket);
    socket.on('emit-all', (payload) => io.of('/chat').emit('chat-all', payload));
  });
}

const httpServer = http.createServer();
const io = new Server(httpServer);
setup(io);
await useAzureSocketIO(io, { hub, connectionString });
process.stdout.write(`ready ${label}\n`);

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
