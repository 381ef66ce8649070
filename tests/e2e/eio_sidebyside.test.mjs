// Side by side: the same raw requests go to npm's engine.io (the reference,
// ref/engineio-echo.mjs) and to the server under test, started with the same
// flags; each answer must have the same status, the same Content-Type, the
// same body once the session id is masked, and the same CORS headers. With
// HUBBUB_REF=1 both sides are the reference, which checks the harness itself
// (the masking must hide everything that differs between two runs).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopChecked, IS_REF } from './lib/server.mjs';
import { RS, request, handshake, post, poll, openWs, eioUrl, sleep } from './lib/eio.mjs';

const A = 'http://a.example';
const B = 'http://b.example';
const C = 'http://c.example';

// What is compared of one HTTP answer.
function summary(res, sids = []) {
  let body = res.body;
  for (const sid of sids) if (sid) body = body.split(sid).join('<sid>');
  const cors = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (k.startsWith('access-control-') || k === 'vary') cors[k] = v;
  }
  return { status: res.status, contentType: res.headers['content-type'] ?? null, body, cors };
}

// Both servers of one configuration.
function pair(args) {
  const p = {};
  before(async () => {
    [p.ref, p.sut] = await Promise.all([startServer({ args, ref: true }), startServer({ args })]);
  });
  after(async () => {
    await Promise.all([p.ref && stopChecked(p.ref), p.sut && stopChecked(p.sut)]);
  });
  return p;
}

// Runs scenario(srv) → summaries on the reference, then on the server under
// test, and compares.
function same(p, name, scenario) {
  test(name, async () => {
    const want = await scenario(p.ref);
    const got = await scenario(p.sut);
    assert.deepEqual(got, want, `${IS_REF ? 'second reference' : 'server under test'} differs from engine.io`);
  });
}

const settle = () => sleep(100); // ordering between concurrent requests only

function simple(p, name, method, query, { headers = {}, body } = {}) {
  same(p, name, async (srv) => summary(await request(eioUrl(srv, query), { method, headers, body })));
}

const ERRORS = [
  ['unknown transport', 'GET', { transport: 'foo' }],
  ['missing transport', 'GET', { transport: undefined }],
  ['unknown sid (GET)', 'GET', { sid: 'no-such-sid' }],
  ['unknown sid (POST)', 'POST', { sid: 'no-such-sid' }, '4x'],
  ['handshake with PUT', 'PUT', {}],
  ['handshake with POST', 'POST', {}, '4x'],
  ['handshake with DELETE', 'DELETE', {}],
  ['EIO=3', 'GET', { EIO: '3' }],
  ['missing EIO', 'GET', { EIO: undefined }],
  ['EIO=5', 'GET', { EIO: '5' }],
  ['websocket transport on a plain GET', 'GET', { transport: 'websocket' }],
  ['unknown transport and EIO=3', 'GET', { transport: 'foo', EIO: '3' }],
];

describe('default flags', () => {
  const p = pair([]);

  same(p, 'polling handshake', async (srv) => {
    const { sid, res } = await handshake(srv);
    return summary(res, [sid]);
  });
  for (const [name, method, query, body] of ERRORS) simple(p, `error: ${name}`, method, query, { body });
  simple(p, 'OPTIONS without --cors-origin', 'OPTIONS', {}, { headers: { Origin: A, 'Access-Control-Request-Method': 'POST' } });

  same(p, 'POST → ok, then GET returns the echoes joined by \\x1e', async (srv) => {
    const { sid } = await handshake(srv);
    const a = summary(await post(srv, sid, ['4a', 'bAQID', '4héllo', '4', 'b']), [sid]);
    const b = summary(await poll(srv, sid), [sid]);
    return [a, b];
  });

  same(p, 'overlapping GET', async (srv) => {
    const { sid } = await handshake(srv);
    const first = poll(srv, sid);
    await settle();
    const second = summary(await poll(srv, sid), [sid]);
    return [second, summary(await first, [sid]), summary(await poll(srv, sid), [sid])];
  });

  same(p, 'client close over polling (POST "1" with a GET held)', async (srv) => {
    const { sid } = await handshake(srv);
    const held = poll(srv, sid);
    await settle();
    const closing = summary(await post(srv, sid, '1'), [sid]);
    return [closing, summary(await held, [sid]), summary(await poll(srv, sid), [sid])];
  });

  same(p, 'client ping "2" over polling', async (srv) => {
    const { sid } = await handshake(srv);
    const held = poll(srv, sid);
    await settle();
    const ping = summary(await post(srv, sid, '2'), [sid]);
    return [ping, summary(await held, [sid]), summary(await poll(srv, sid), [sid])];
  });

  same(p, 'unknown packet type over polling', async (srv) => {
    const { sid } = await handshake(srv);
    return [summary(await post(srv, sid, '9'), [sid]), summary(await poll(srv, sid), [sid])];
  });

  same(p, 'upgrade: "6" to the held GET, then polling refused', async (srv) => {
    const { sid } = await handshake(srv);
    const held = poll(srv, sid);
    await settle();
    const w = await openWs(eioUrl(srv, { transport: 'websocket', sid }, { ws: true }));
    try {
      w.send('2probe');
      const probe = (await w.next()).data;
      const h = summary(await held, [sid]);
      w.send('5');
      w.send('4after');
      const after = (await w.next()).data;
      return [probe, h, after, summary(await poll(srv, sid), [sid]), summary(await post(srv, sid, '4x'), [sid])];
    } finally {
      w.ws.terminate();
    }
  });

  for (const [name, query] of [['unknown sid', { sid: 'no-such-sid' }], ['unknown transport', { transport: 'foo' }]]) {
    same(p, `websocket upgrade refused: ${name}`, async (srv) => {
      const e = await openWs(eioUrl(srv, { transport: 'websocket', ...query }, { ws: true })).then(
        (w) => { w.ws.terminate(); return { status: 101 }; },
        (x) => x,
      );
      return { status: e.status, contentType: e.headers?.['content-type'] ?? null, body: e.body ?? null };
    });
  }

  same(p, 'websocket handshake open packet', async (srv) => {
    const w = await openWs(eioUrl(srv, { transport: 'websocket' }, { ws: true }));
    try {
      const m = await w.next();
      const sid = JSON.parse(m.data.slice(1)).sid;
      return { binary: m.binary, data: m.data.split(sid).join('<sid>') };
    } finally {
      w.ws.terminate();
    }
  });
});

describe('--cors-origin A --cors-origin B --max-payload 1000', () => {
  const p = pair(['--cors-origin', A, '--cors-origin', B, '--max-payload', '1000']);

  for (const [label, headers] of [['Origin A', { Origin: A }], ['Origin B', { Origin: B }], ['Origin C (not listed)', { Origin: C }], ['no Origin', {}]]) {
    same(p, `handshake with ${label}`, async (srv) => {
      const { sid, res } = await handshake(srv, {}, headers);
      return summary(res, [sid]);
    });
  }
  simple(p, 'error with Origin A', 'GET', { transport: 'foo' }, { headers: { Origin: A } });
  simple(p, 'error with Origin C', 'GET', { sid: 'no-such-sid' }, { headers: { Origin: C } });
  same(p, 'POST and GET with Origin B', async (srv) => {
    const { sid } = await handshake(srv);
    const a = summary(await post(srv, sid, '4x', { headers: { Origin: B } }), [sid]);
    return [a, summary(await poll(srv, sid, { headers: { Origin: B } }), [sid])];
  });
  for (const [label, headers] of [
    ['Origin A, with request headers', { Origin: A, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' }],
    ['Origin A, no request headers', { Origin: A, 'Access-Control-Request-Method': 'GET' }],
    ['Origin C', { Origin: C, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' }],
  ]) {
    simple(p, `preflight: ${label}`, 'OPTIONS', {}, { headers });
  }
  same(p, 'POST over maxPayload → 413, then the session works', async (srv) => {
    const { sid } = await handshake(srv);
    const big = summary(await post(srv, sid, '4' + 'y'.repeat(1000), { headers: { Origin: A } }), [sid]);
    const ok = summary(await post(srv, sid, ['4small', '4two']), [sid]);
    const g = summary(await poll(srv, sid), [sid]);
    return [big, ok, g];
  });
  same(p, 'open packet advertises maxPayload', async (srv) => {
    const { sid, res } = await handshake(srv);
    return JSON.parse(res.body.slice(1).split(sid).join('<sid>'));
  });
});

describe('--cors-origin *', () => {
  const p = pair(['--cors-origin', '*']);
  same(p, 'handshake with Origin', async (srv) => {
    const { sid, res } = await handshake(srv, {}, { Origin: C });
    return summary(res, [sid]);
  });
  same(p, 'handshake without Origin', async (srv) => {
    const { sid, res } = await handshake(srv);
    return summary(res, [sid]);
  });
  simple(p, 'error with Origin', 'PUT', {}, { headers: { Origin: A } });
  simple(p, 'preflight with request headers', 'OPTIONS', {}, {
    headers: { Origin: A, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-custom' },
  });
  simple(p, 'preflight without request headers', 'OPTIONS', {}, { headers: { Origin: A, 'Access-Control-Request-Method': 'GET' } });
});

// The masking must not hide real differences: two answers that differ only
// in their sid compare equal, anything else does not.
test('summary() masks the sid and nothing else', () => {
  const res = (body, h = {}) => ({ status: 200, headers: { 'content-type': 'text/plain; charset=UTF-8', ...h }, body });
  assert.deepEqual(summary(res('0{"sid":"AAA"}'), ['AAA']), summary(res('0{"sid":"BBBB"}'), ['BBBB']));
  assert.notDeepEqual(summary(res('4a' + RS + '4b'), []), summary(res('4a' + RS + '4c'), []));
  assert.notDeepEqual(summary(res('ok', { vary: 'Origin' }), []), summary(res('ok'), []));
  assert.notDeepEqual(summary(res('ok', { 'content-type': 'text/html' }), []), summary(res('ok'), []));
});
