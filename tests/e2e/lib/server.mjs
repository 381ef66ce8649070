// Starts the server under test for an end-to-end test: the Hubbub binary
// (HUBBUB_BIN, default build/hubbub) or, with HUBBUB_REF=1, the npm engine.io
// reference in ref/engineio-echo.mjs. Both are started on a free port with
// `--listen 127.0.0.1:<port> --engineio-echo /engine.io/` and are ready once
// they print a line containing `listening on` to stderr.
//
// Run the Engine.IO tests against the reference, or against a build:
//   HUBBUB_REF=1 node --test --test-concurrency=1 tests/e2e/
//   HUBBUB_BIN=build/hubbub node --test --test-concurrency=1 tests/e2e/
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const REF_SCRIPT = path.join(REPO, 'tests/e2e/ref/engineio-echo.mjs');
export const EIO_PATH = '/engine.io/';
export const IS_REF = process.env.HUBBUB_REF === '1';

const READY_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;

// Every process still running, so that none outlives the test file even when
// a test throws before its t.after() was registered.
const live = new Set();
function killAll() {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
// A test process killed by a signal (a CI timeout) runs no 'exit' handlers.
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15]]) {
  process.on(sig, () => {
    killAll();
    // Exit as the signal would have, unless someone else (the test runner)
    // handles it too.
    if (process.listenerCount(sig) === 1) process.exit(128 + n);
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The command that runs the server under test (ref: force the reference). */
export function serverCommand({ ref = IS_REF } = {}) {
  if (ref) return { file: process.execPath, argv: [REF_SCRIPT], name: 'engine.io reference' };
  const bin = process.env.HUBBUB_BIN || path.join(REPO, 'build/hubbub');
  return { file: bin, argv: [], name: bin };
}

/**
 * Runs `start` (which picks a free port and launches on it) again when the
 * port was taken by another process meanwhile: test files run in
 * parallel, so a port freePort() found free can be gone before the bind.
 */
export async function retryOnPortTaken(start) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 5 || !/address already in use|EADDRINUSE/i.test(String(e && e.message))) throw e;
    }
  }
}

/**
 * Starts a server and waits for its `listening on` line.
 * args: extra flags (e.g. ['--ping-interval', '300']); env: extra environment;
 * ref: true to start the engine.io reference whatever HUBBUB_REF says.
 * Resolves { port, url, proc, name, stderr(), stop() }. stop() sends SIGTERM,
 * waits up to 5 s (then SIGKILLs and rejects) and resolves
 * { code, signal, stderr }; calling it again returns the same promise.
 */
export function startServer(opts = {}) {
  return retryOnPortTaken(async () => {
    const { args = [], env = {}, ref = IS_REF } = opts;
    const port = await freePort();
    const cmd = serverCommand({ ref });
    return launch(cmd, [...cmd.argv, '--listen', `127.0.0.1:${port}`, '--engineio-echo', EIO_PATH,
      ...args], port, env);
  });
}

/**
 * Spawns cmd.file with argv (which listens on 127.0.0.1:port) and waits for
 * its `listening on` line. Resolves { port, url, proc, name, stderr(),
 * stop() }; see startServer(). Shared by lib/sio.mjs.
 */
export async function launch(cmd, argv, port, env = {}) {
  const proc = spawn(cmd.file, argv, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  const describe = () =>
    `${cmd.name} ${argv.join(' ')}\n--- stderr ---\n${err}--- stdout ---\n${out}`;

  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      proc.kill('SIGKILL');
      reject(new Error(`server did not print "listening on" within ${READY_TIMEOUT_MS} ms: ${describe()}`));
    }, READY_TIMEOUT_MS);
    const onData = (d) => {
      err += d;
      if (err.includes('listening on')) {
        done();
        resolve();
      }
    };
    const onExit = (code, signal) => {
      done();
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening: ${describe()}`));
    };
    const onError = (e) => {
      done();
      reject(new Error(`cannot start server: ${e.message}: ${describe()}`));
    };
    function done() {
      clearTimeout(timer);
      proc.stderr.off('data', onData);
      proc.off('exit', onExit);
      proc.off('error', onError);
      // keep collecting stderr after the ready line
      proc.stderr.on('data', (d) => { err += d; });
    }
    proc.stderr.on('data', onData);
    proc.on('exit', onExit);
    proc.on('error', onError);
  });

  let stopping = null;
  const stop = () => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      let timer;
      const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); });
      const r = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (r === null) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM: ${describe()}`);
      }
      return { ...r, stderr: err };
    })();
    return stopping;
  };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    name: cmd.name,
    stderr: () => err,
    stop,
  };
}

/**
 * startServer() plus cleanup: the server is stopped after the test `t`
 * whatever happens, and the test fails if it does not then exit with code 0
 * (a crash, a hang or, under ASan, a leak at shutdown).
 */
export async function withServer(t, opts) {
  const srv = await startServer(opts);
  t.after(() => stopChecked(srv));
  return srv;
}

/** srv.stop(), rejecting unless the server exited with code 0. */
export async function stopChecked(srv) {
  const r = await srv.stop();
  if (r.code !== 0) {
    throw new Error(`server exited with code ${r.code} signal ${r.signal} after SIGTERM:\n${r.stderr}`);
  }
  return r;
}
