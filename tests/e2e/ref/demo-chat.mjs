// The reference for Hubbub's demo chat (`--app demo`, examples/demo.c): the
// same chat on npm's `socket.io`, serving the same page
// (examples/demo_page/index.html) and the same browser client bundle, with the
// same flags contract as the C binary, so that the page and its browser test
// can be checked against it (HUBBUB_REF=1).
//
//   node tests/e2e/ref/demo-chat.mjs --listen HOST:PORT [--app demo]
//
// Prints `listening on http://HOST:PORT` to stderr once ready; exits 0 on
// SIGTERM or SIGINT after closing every client.
//
// The chat, on namespace "/" (examples/demo.c implements the same contract):
//   hello(nickname, ack)  nickname trimmed, 1..32 characters, no control
//                         characters; ack {ok:true, rooms:[{name, members}]}
//                         or {error}
//   join(room, ack)       room: 1..32 of [a-z0-9-], default "lobby"; leaves the
//                         previous room; ack {ok:true, room, messages:[last 20]}
//                         then, to the room, "members" {room, members:[nick],
//                         stamp} and a system "message" {system:true, text,
//                         time}
//   message(text[, ack])  text 1..500 characters; "message" {from, text, time}
//                         to the room, kept in its history
//   typing(bool)          "typing" {from, typing} to the rest of the room
//   disconnect            "members" and "<nick> left" to the room
// "members" lists the room's people in join order; stamp (ms since the epoch,
// increasing) orders the lists, and the page ignores one older than what it
// shows. Hubbub computes them asynchronously in a cluster (examples/demo.c),
// where two lists can cross; here they never do, but carry the stamp alike.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PAGE = path.join(REPO, 'examples/demo_page/index.html');
const CLIENT = path.join(REPO, 'node_modules/socket.io-client/dist/socket.io.min.js');

const NICK_MAX = 32;
const TEXT_MAX = 500;
const HISTORY_KEEP = 50; // per room
const HISTORY_SEND = 20; // in the join ack
const MAX_ROOMS = 100;
const ROOM_RE = /^[a-z0-9-]{1,32}$/;

function usage(msg) {
  process.stderr.write(`demo-chat: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { listen: '127.0.0.1:3000' };
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
      case '--app': if (take() !== 'demo') usage('only --app demo is served here'); break;
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

// Read once, like the C binary embeds them at build time.
const page = fs.readFileSync(PAGE);
const client = fs.readFileSync(CLIENT);
const files = {
  '/': [page, 'text/html; charset=utf-8'],
  '/index.html': [page, 'text/html; charset=utf-8'],
  '/socket.io/socket.io.js': [client, 'application/javascript; charset=utf-8'],
};

function serveFile(req, res) {
  const f = files[new URL(req.url, 'http://x').pathname];
  if (!f || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  res.writeHead(200, { 'Content-Type': f[1], 'Content-Length': f[0].length });
  res.end(req.method === 'HEAD' ? undefined : f[0]);
  return true;
}

const httpServer = http.createServer((req, res) => {
  const body = JSON.stringify({ code: 404, message: 'Not found' });
  res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
// socket.io's own client serving picks a bundle by name; serve exactly the
// file the C binary embeds instead, ahead of socket.io's request handler
// (which claims every path under /socket.io/).
const io = new Server(httpServer, { serveClient: false });
const handlers = httpServer.listeners('request');
httpServer.removeAllListeners('request');
httpServer.on('request', (req, res) => {
  if (!serveFile(req, res)) for (const h of handlers) h.call(httpServer, req, res);
});

// --- the chat ----------------------------------------------------------------

const rooms = new Map(); // name -> { name, members: Set<socket>, history: [], used }

const chars = (s) => [...s].length;
// eslint-disable-next-line no-control-regex
const hasControl = (s) => /[\u0000-\u001f\u007f]/.test(s);
const reply = (ack, v) => { if (typeof ack === 'function') ack(v); };

function roomOf(name, create) {
  let r = rooms.get(name);
  if (r || !create) return r;
  if (rooms.size >= MAX_ROOMS) {
    // Forget the empty room that was used least recently, history and all.
    let old = null;
    for (const x of rooms.values()) {
      if (x.members.size === 0 && (!old || x.used < old.used)) old = x;
    }
    if (!old) return null;
    rooms.delete(old.name);
  }
  r = { name, members: new Set(), history: [], used: 0 };
  rooms.set(name, r);
  return r;
}

function roomList() {
  const list = [{ name: 'lobby', members: rooms.get('lobby')?.members.size ?? 0 }];
  for (const r of rooms.values()) {
    if (r.name !== 'lobby' && r.members.size > 0) list.push({ name: r.name, members: r.members.size });
  }
  list.sort((a, b) => (a.name === 'lobby' ? -1 : b.name === 'lobby' ? 1 : b.members - a.members || (a.name < b.name ? -1 : 1)));
  return list;
}

let clock = 0; // the last stamp: milliseconds, never twice the same nor going back
function stamp() {
  clock = Math.max(Date.now(), clock + 1);
  return clock;
}

function announce(r, text) {
  io.to(r.name).emit('members', {
    room: r.name, members: [...r.members].map((s) => s.data.nick), stamp: stamp(),
  });
  io.to(r.name).emit('message', { system: true, text, time: Date.now() });
}

function leave(socket) {
  const r = socket.data.room;
  if (!r) return;
  socket.data.room = null;
  socket.leave(r.name);
  r.members.delete(socket);
  r.used = Date.now();
  if (r.members.size > 0) announce(r, `${socket.data.nick} left`);
  // Nothing left to remember: forget the room.
  else if (r.history.length === 0) rooms.delete(r.name);
}

io.on('connection', (socket) => {
  socket.data.nick = null;
  socket.data.room = null;

  socket.on('hello', (nick, ack) => {
    if (typeof nick !== 'string') return reply(ack, { error: 'nickname must be a string' });
    nick = nick.trim();
    if (chars(nick) < 1 || chars(nick) > NICK_MAX || hasControl(nick)) {
      return reply(ack, { error: `nickname must be 1 to ${NICK_MAX} characters` });
    }
    const old = socket.data.nick;
    socket.data.nick = nick;
    const r = socket.data.room;
    if (r && old !== nick) announce(r, `${old} is now ${nick}`);
    reply(ack, { ok: true, rooms: roomList() });
  });

  socket.on('join', (name, ack) => {
    if (typeof name === 'function') { ack = name; name = undefined; }
    if (!socket.data.nick) return reply(ack, { error: 'say hello first' });
    if (name === undefined || name === null || name === '') name = 'lobby';
    if (typeof name !== 'string' || !ROOM_RE.test(name)) {
      return reply(ack, { error: 'room names are 1 to 32 characters of a-z, 0-9 and -' });
    }
    const cur = socket.data.room;
    if (cur && cur.name === name) {
      return reply(ack, { ok: true, room: name, messages: cur.history.slice(-HISTORY_SEND) });
    }
    const r = roomOf(name, true);
    if (!r) return reply(ack, { error: 'too many rooms' });
    leave(socket);
    socket.join(name);
    r.members.add(socket);
    r.used = Date.now();
    socket.data.room = r;
    // The ack first, so that the page shows the history before what follows.
    reply(ack, { ok: true, room: name, messages: r.history.slice(-HISTORY_SEND) });
    announce(r, `${socket.data.nick} joined`);
  });

  socket.on('message', (text, ack) => {
    const r = socket.data.room;
    if (!r) return reply(ack, { error: 'join a room first' });
    if (typeof text !== 'string' || text.trim() === '' || chars(text) > TEXT_MAX) {
      return reply(ack, { error: `messages are 1 to ${TEXT_MAX} characters` });
    }
    const m = { from: socket.data.nick, text, time: Date.now() };
    r.history.push(m);
    if (r.history.length > HISTORY_KEEP) r.history.shift();
    r.used = m.time;
    io.to(r.name).emit('message', m);
    reply(ack, { ok: true });
  });

  socket.on('typing', (typing) => {
    const r = socket.data.room;
    if (!r) return;
    socket.broadcast.to(r.name).emit('typing', { from: socket.data.nick, typing: typing === true });
  });

  socket.on('disconnect', () => leave(socket));
});

// --- process -------------------------------------------------------------------

httpServer.on('error', (err) => {
  process.stderr.write(`demo-chat: ${err.message}\n`);
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
  io.close(() => process.exit(0));
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
