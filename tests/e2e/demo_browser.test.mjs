// The demo chat (`hubbub --app demo`, examples/demo.c) as a new user meets
// it: headless Chromium loads the page the server embeds, two people join
// with different nicknames, see each other, talk, and see each other type; a
// third joins later and gets the history. Then the server must exit 0 on
// SIGTERM with the browsers still connected.
//
// Server: HUBBUB_REF=1 runs the npm socket.io reference
// (tests/e2e/ref/demo-chat.mjs); otherwise $HUBBUB_BIN or build/hubbub.
// Browser: /usr/bin/chromium (Debian's `chromium`, scripts/install-deps), or
// $HUBBUB_CHROMIUM. Screenshots go to /tmp/demo-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO, freePort } from './lib/server.mjs';
import {
  launch, person, send, expectText, expectMembers, expectMessage, expectSystem,
} from './lib/demo_page.mjs';

const IS_REF = process.env.HUBBUB_REF === '1';
const READY_MS = 10000;
const STOP_MS = 8000;

/** Starts the demo server on a free port; resolves once it says `listening on`.
 * Another port is tried when the free one was taken meanwhile. */
async function startDemo() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDemoOnce();
    } catch (e) {
      if (attempt >= 5 || !/address already in use/i.test(String(e && e.message))) throw e;
    }
  }
}

async function startDemoOnce() {
  const port = await freePort();
  const file = IS_REF ? process.execPath : process.env.HUBBUB_BIN || path.join(REPO, 'build/hubbub');
  const argv = [...(IS_REF ? [path.join(REPO, 'tests/e2e/ref/demo-chat.mjs')] : []),
    '--listen', `127.0.0.1:${port}`, '--app', 'demo'];
  const proc = spawn(file, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const describe = () => `${file} ${argv.join(' ')}\n--- stderr ---\n${err}--- stdout ---\n${out}`;
  process.on('exit', () => { try { proc.kill('SIGKILL'); } catch { /* gone */ } });

  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within ${READY_MS} ms: ${describe()}`)), READY_MS);
    const check = () => { if (err.includes('listening on')) { clearTimeout(timer); resolve(); } };
    proc.stderr.on('data', check);
    proc.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${file}: ${e.message}`)); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening: ${describe()}`));
    });
  });

  let stopping = null;
  const stop = () => {
    stopping ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      let timer;
      const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_MS); });
      const r = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (r === null) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`server did not exit within ${STOP_MS} ms of SIGTERM: ${describe()}`);
      }
      return { ...r, stderr: err };
    })();
    return stopping;
  };
  return { url: `http://127.0.0.1:${port}`, stop, describe };
}

test('demo chat in headless Chromium: join, members, messages, typing, history', { timeout: 90000 }, async (t) => {
  const srv = await startDemo();
  t.after(() => srv.stop().catch(() => {}));
  const browser = await launch();
  t.after(() => browser.close().catch(() => {}));

  // The page and the client bundle are served with the right types.
  const js = await fetch(srv.url + '/socket.io/socket.io.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^application\/javascript/);
  assert.match(await js.text(), /Socket\.IO v4/);
  const index = await fetch(srv.url + '/index.html');
  assert.equal(index.status, 200);
  assert.equal(await index.text(), await (await fetch(srv.url + '/')).text());

  const a = await person(browser, srv.url, 'alice');
  const b = await person(browser, srv.url, 'bob');
  await expectText(a.page, '#room-name', 'lobby');

  // Each sees the other in the member list of the lobby.
  await expectMembers(a, ['alice', 'bob']);
  await expectMembers(b, ['alice', 'bob']);
  await expectText(a.page, '#rooms [data-room="lobby"] .count', '2');
  // alice saw bob arrive.
  await expectSystem(a, 'bob joined');

  // alice writes; bob's page shows it, from alice, with a time.
  const hi = 'Hi Bob! <b>not bold</b> & welcome';
  await send(a, hi);
  await expectMessage(b, 'alice', hi);
  await expectMessage(a, 'alice', hi);
  const time = await b.page.locator('#messages .msg[data-from="alice"] time').first().textContent();
  assert.match(time, /\d{1,2}:\d{2}/);
  assert.equal(await b.page.locator('#messages .msg b').count(), 0, 'message text is not HTML');

  // bob types (without sending); alice sees that he is typing, bob does not.
  await b.page.locator('#text').click();
  await b.page.keyboard.type('Hello al', { delay: 30 });
  await expectText(a.page, '#typing', 'bob is typing…');
  assert.equal((await b.page.locator('#typing').textContent()).trim(), '');
  await a.page.screenshot({ path: '/tmp/demo-a.png' });
  await b.page.screenshot({ path: '/tmp/demo-b.png' });

  // bob sends: the indicator goes away and alice has his message.
  await b.page.keyboard.type('ice', { delay: 10 });
  await b.page.keyboard.press('Enter');
  await expectMessage(a, 'bob', 'Hello alice');
  await expectText(a.page, '#typing', '');

  // Someone who comes later gets the history with the join ack.
  const c = await person(browser, srv.url, 'carol', { width: 390, height: 760 });
  await expectMessage(c, 'alice', hi);
  await expectMessage(c, 'bob', 'Hello alice');
  await expectMembers(a, ['alice', 'bob', 'carol']);
  await c.page.screenshot({ path: '/tmp/demo-c-mobile.png' });

  // carol moves to a new room: she is alone there, and the lobby sees her go.
  await c.page.locator('#menu').click();
  await c.page.locator('#room-input').fill('Night Owls');
  await c.page.locator('#room-input').press('Enter');
  await expectText(c.page, '#room-name', 'night-owls');
  await expectMembers(c, ['carol']);
  await expectText(c.page, '#messages .intro b', 'Welcome to #night-owls');
  await expectMembers(a, ['alice', 'bob']);
  await expectSystem(a, 'carol left');

  // bob closes his tab: alice sees him leave.
  await b.ctx.close();
  await expectMembers(a, ['alice']);
  await expectSystem(a, 'bob left');
  await a.page.screenshot({ path: '/tmp/demo-a-after.png' });

  for (const p of [a, b, c]) assert.deepEqual(p.problems, [], `${p.nick}'s page reported problems`);

  // SIGTERM with browsers still connected: a clean exit, and the pages notice.
  const r = await srv.stop();
  assert.equal(r.signal, null, `server killed by ${r.signal}:\n${r.stderr}`);
  assert.equal(r.code, 0, `server exit code ${r.code}:\n${r.stderr}`);
  await expectText(a.page, '#status', /^(reconnecting|disconnected)/);
  await a.page.screenshot({ path: '/tmp/demo-a-stopped.png' });
});
