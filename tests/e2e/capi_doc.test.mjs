// The complete program of docs/c-api.md (the ```c block after the line
// `<!-- c-api-example -->`) compiles as written against the library of the
// build under test and behaves as the guide says: a middleware refuses a bad
// token, "chat" reaches the sender's room but not the sender nor another
// room, the sender's ack answers, disconnects are logged with Socket.IO's
// reasons, and SIGTERM stops it cleanly (no sanitizer report in an ASan
// build).
//
// The build is the one of HUBBUB_BIN (default build/hubbub): libhubbub.a and
// libllhttp.a sit next to the binary. When that library is instrumented
// (build-asan/, or nm finds __asan_init in it) the program is compiled with
// the same sanitizers.
//   HUBBUB_BIN=build-asan/hubbub node --test tests/e2e/capi_doc.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  REPO, freePort, within, until, client, connected, connectError, ask, recorder,
} from './lib/sio.mjs';

const run = promisify(execFile);
const DOC = path.join(REPO, 'docs/c-api.md');
const MARKER = '<!-- c-api-example -->';
const READY_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 8000;
const BIN = path.resolve(REPO, process.env.HUBBUB_BIN || 'build/hubbub');
const BUILD_DIR = path.dirname(BIN);
const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

/** The C program that follows the marker line in the guide; exactly one. */
function extractProgram(markdown) {
  const lines = markdown.split('\n');
  const at = lines.flatMap((l, i) => (l.trim() === MARKER ? [i] : []));
  assert.equal(at.length, 1, `docs/c-api.md must have exactly one ${MARKER} line`);
  let i = at[0] + 1;
  while (i < lines.length && lines[i].trim() === '') i++;
  assert.equal(lines[i]?.trim(), '```c', `the line after ${MARKER} must open a \`\`\`c block`);
  const end = lines.indexOf('```', i + 1);
  assert.ok(end > i, `the \`\`\`c block after ${MARKER} is not closed`);
  return lines.slice(i + 1, end).join('\n') + '\n';
}

/**
 * The pkg-config modules libhubbub links with, as CMakeLists.txt lists them
 * (`pkg_check_modules(DEPS REQUIRED IMPORTED_TARGET ...)`), so that the guide
 * and this test notice when they change.
 */
function libraryDeps() {
  const cmake = fs.readFileSync(path.join(REPO, 'CMakeLists.txt'), 'utf8');
  const m = /pkg_check_modules\(DEPS\s+REQUIRED\s+IMPORTED_TARGET\s+([^)]*)\)/.exec(cmake);
  assert.ok(m, 'CMakeLists.txt has no pkg_check_modules(DEPS REQUIRED IMPORTED_TARGET ...)');
  return m[1].trim().split(/\s+/);
}

/** True when libhubbub.a was built with AddressSanitizer. */
async function isAsanBuild(lib) {
  if (path.basename(BUILD_DIR) === 'build-asan') return true;
  const { stdout } = await run('nm', ['--undefined-only', lib], { maxBuffer: 64 << 20 });
  return /\b__asan_init\b/.test(stdout);
}

let tmp;
let exe;
let asan;

before(async () => {
  const lib = path.join(BUILD_DIR, 'libhubbub.a');
  const llhttp = path.join(BUILD_DIR, 'libllhttp.a');
  for (const f of [lib, llhttp]) {
    assert.ok(fs.existsSync(f), `${f} is missing: build ${BUILD_DIR} first (make test does)`);
  }
  asan = await isAsanBuild(lib);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubbub-capi-'));
  const src = path.join(tmp, 'chat.c');
  exe = path.join(tmp, 'chat');
  fs.writeFileSync(src, extractProgram(fs.readFileSync(DOC, 'utf8')));
  const { stdout: deps } = await run('pkg-config', ['--libs', ...libraryDeps()]);
  const san = asan ? ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined',
    '-fno-omit-frame-pointer'] : [];
  const argv = [
    '-std=c11', '-Wall', '-Wextra', '-Werror', '-g', ...san,
    // Only the public header: the include/ directory and nothing of src/.
    '-I', path.join(REPO, 'include'),
    src, '-o', exe, lib, llhttp, ...deps.trim().split(/\s+/).filter(Boolean), '-lm',
  ];
  try {
    await run('cc', argv, { cwd: tmp });
  } catch (e) {
    throw new Error(`the program of docs/c-api.md does not compile:\ncc ${argv.join(' ')}\n${e.stderr || e.message}`);
  }
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Starts the compiled program on a free port; resolves once it listens.
 * Another port is tried when the free one was taken meanwhile. */
async function startChat(t) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startChatOnce(t);
    } catch (e) {
      if (attempt >= 5 || !/address already in use/i.test(String(e && e.message))) throw e;
    }
  }
}

async function startChatOnce(t) {
  const port = await freePort();
  const env = { ...process.env };
  if (asan) {
    env.ASAN_OPTIONS = env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0';
    env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1';
  }
  const proc = spawn(exe, [`127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.setEncoding('utf8');
  proc.stdout.resume();
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  await within(Promise.race([
    until(() => err.includes('listening on'), READY_TIMEOUT_MS, '"listening on"'),
    exited.then((r) => { throw new Error(`the program exited (${JSON.stringify(r)}) before listening:\n${err}`); }),
  ]), READY_TIMEOUT_MS + 1000, 'the program to listen');
  return {
    url: `http://127.0.0.1:${port}`,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM');
      const r = await within(exited, STOP_TIMEOUT_MS, `exit after SIGTERM; stderr:\n${err}`);
      return { ...r, stderr: err };
    },
  };
}

test('the program of docs/c-api.md: token middleware, room broadcast, ack, disconnect log', async (t) => {
  const srv = await startChat(t);

  // The middleware refuses a wrong token with the message and data it gives.
  const bad = client(t, srv, { query: { token: 'wrong' } });
  const e = await connectError(bad);
  assert.equal(e.message, 'bad token');
  assert.deepEqual(e.data, { code: 401 });

  // a and b in the room "lobby" (the default), c in "other"; over polling,
  // WebSocket and polling upgraded.
  const a = client(t, srv, { query: { token: 'secret' }, transports: ['websocket'] });
  const b = client(t, srv, { query: { token: 'secret' }, transports: ['polling'] });
  const c = client(t, srv, { query: { token: 'secret', room: 'other' } });
  const [recA, recB, recC] = [a, b, c].map(recorder);
  await Promise.all([a, b, c].map((s) => connected(s)));
  await until(() => (srv.stderr().match(/^chat: \S+ joined /gm) || []).length >= 3, 5000, 'three "joined" lines');

  // The chat goes to the sender's room, not to the sender, with the ack.
  const text = 'hello "world" \\ ✓';
  assert.deepEqual(await ask(a, 'chat', text), { ok: true, seq: 1 });
  const [[msg]] = await recB.waitFor('chat');
  assert.deepEqual(msg, { from: a.id, text });
  // The server queued any chat to a before a's ack: none came.
  assert.deepEqual(recA.events, []);
  // c's own chat is handled after a's: by its ack, a's chat would be there.
  assert.deepEqual(await ask(c, 'chat', 'anyone?'), { ok: true, seq: 2 });
  assert.deepEqual(recC.events, []);
  // A chat that is not text is answered with an error and not sent.
  assert.deepEqual(await ask(b, 'chat', 42), { ok: false, error: 'text expected' });
  assert.deepEqual(await ask(b, 'chat', 'back'), { ok: true, seq: 3 });
  const [[back]] = await recA.waitFor('chat');
  assert.deepEqual(back, { from: b.id, text: 'back' });
  assert.equal(recB.events.length, 1);

  // The disconnect callback logs Socket.IO's reason.
  const bId = b.id;
  b.disconnect();
  await until(() => srv.stderr().includes(`chat: ${bId} left lobby: client namespace disconnect`),
    5000, "b's disconnect line");

  // SIGTERM: a clean exit; the sockets still connected are told
  // "server shutting down" (and their data is freed: no leak under ASan).
  const [aId, cId] = [a.id, c.id]; // the client forgets its id once disconnected
  const r = await srv.stop();
  assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr);
  assert.ok(r.stderr.includes(`chat: ${aId} left lobby: server shutting down`), r.stderr);
  assert.ok(r.stderr.includes(`chat: ${cId} left other: server shutting down`), r.stderr);
  assert.doesNotMatch(r.stderr, SANITIZER_REPORT);
  // The refused client never connected: three joins, three leaves.
  assert.equal((r.stderr.match(/^chat: \S+ joined /gm) || []).length, 3, r.stderr);
  assert.equal((r.stderr.match(/^chat: \S+ left /gm) || []).length, 3, r.stderr);
});
