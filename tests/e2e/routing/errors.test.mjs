// Handlers that go wrong: a non-zero return before responding (500), a
// return without responding (500), a route's max_duration passed (504), on
// handler threads and on the I/O thread; the server keeps serving, on the
// same connection when it stays open. Production error bodies carry no
// internals; with --dev or "dev": true in cairn.json they carry the detail.
// Handler wrappers composed in C: withAuth(withErrorHandler(handler)).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conn, sleep } from '../lib/http.mjs';
import { assertJsonError } from '../lib/expect.mjs';
import { ask, assertServing, ctx, okJson, reqBytes, startApp, stopAll, killAll } from './harness.mjs';

let prod, devFlag, devConfig;
before(async () => {
  prod = await startApp();
  devFlag = await startApp({ args: ['--dev'] });
  devConfig = await startApp({ config: { dev: true } });
});
after(() => killAll(devConfig, devFlag, prod));

// What a production error body must never show: the error code's name or
// message, the words of the internal failure, file names.
const INTERNALS = [/input\/output/i, /invalid argument/i, /\bCN_E/, /\bEIO\b/, /\bEINVAL\b/, /route\.c/, /middleware\.c/,
  /\bapp\//, /handler failed/i, /middleware failed/i, /\.c:\d+/];

function assertNoInternals(r, what) {
  const text = r.body.toString('latin1');
  for (const re of INTERNALS) assert.ok(!re.test(text), `${what}: the body shows ${re}${ctx(r)}`);
}

// [target, status, where it runs]
const FAILURES = [
  ['/api/fail?mode=error', 500, 'a handler returning CN_EIO'],
  ['/api/fail?mode=silent', 500, 'a handler returning 0 without responding'],
  ['/api/fail?mode=dirty', 500, 'a handler that set a status and type, then failed'],
  ['/api/fail/nb?mode=error', 500, 'a nonblocking handler returning CN_EINVAL'],
  ['/api/fail/nb?mode=silent', 500, 'a nonblocking handler returning without responding'],
];
for (const [target, status, what] of FAILURES) {
  test(`${what} -> ${status} JSON, no internals, the connection goes on`, async () => {
    const c = await Conn.open(prod.port);
    try {
      await c.write(reqBytes('GET', target));
      const r = await c.final();
      assertJsonError(r, status, what);
      assertNoInternals(r, what);
      assert.equal(r.count('content-type'), 1, ctx(r));
      if (!/close/i.test(r.get('connection') || '')) {
        await c.write(reqBytes('GET', '/api/fail?mode=ok'));
        const n = await c.final();
        assert.deepEqual(okJson(n), { route: 'api/fail' }, c.transcript());
      }
    } finally { c.close(); }
    await assertServing(prod);
  });
}

test('a handler that responded and then failed: its response stands', async () => {
  const r = await ask(prod, 'GET', '/api/fail?mode=after-send');
  assert.equal(r.status, 200, ctx(r));
  assert.equal(r.text(), 'sent before failing\n', ctx(r));
});

test('middleware that fails -> 500, no internals in production', async () => {
  const r = await ask(prod, 'GET', '/mw/fail', { headers: { Accept: 'application/json' } });
  assertJsonError(r, 500, 'middleware failing');
  assertNoInternals(r, 'middleware failing');
  const c = await ask(prod, 'GET', '/mw/count');
  assert.equal(c.status, 200, ctx(c));
  await assertServing(prod);
});

test('max_duration exceeded -> 504 JSON; the late answer is dropped; the server keeps serving', async () => {
  const fast = await ask(prod, 'GET', '/api/fail/slow?ms=0');
  assert.equal(okJson(fast).route, 'api/fail/slow', ctx(fast));
  const c = await Conn.open(prod.port);
  try {
    const t0 = Date.now();
    await c.write(reqBytes('GET', '/api/fail/slow?ms=1500'));
    const r = await c.final({ timeout: 5000 });
    assertJsonError(r, 504, 'max_duration 300 ms');
    assertNoInternals(r, '504');
    assert.equal(r.get('x-late'), undefined, ctx(r));
    // while the late handler still sleeps, others are answered
    await assertServing(prod);
    // let the late handler finish: its answer must not appear anywhere
    await sleep(Math.max(0, 1500 - (Date.now() - t0)) + 500);
    assert.equal(c.unread().length, 0, `nothing after the 504\n${c.transcript()}`);
    if (!c.ended) {
      await c.write(reqBytes('GET', '/api/fail?mode=ok'));
      const n = await c.final();
      assert.deepEqual(okJson(n), { route: 'api/fail' }, `the connection goes on after a 504\n${c.transcript()}`);
    }
  } finally { c.close(); }
  await assertServing(prod);
  assert.equal(prod.exit, null, prod.describe());
});

test('several timed-out handlers at once do not stop the server', async () => {
  const rs = await Promise.all([1, 2, 3, 4].map(() => ask(prod, 'GET', '/api/fail/slow?ms=800')));
  for (const r of rs) assertJsonError(r, 504, 'parallel timeouts');
  await assertServing(prod);
  await sleep(900);
  await assertServing(prod);
});

// ------------------------------------------------------------- dev mode

for (const [label, get] of [['--dev', () => devFlag], ['"dev": true in cairn.json', () => devConfig]]) {
  test(`${label}: error bodies carry the detail`, async () => {
    const srv = get();
    const e = await ask(srv, 'GET', '/api/fail?mode=error');
    assertJsonError(e, 500, `${label} CN_EIO`);
    assert.match(e.json().error, /input\/output error/, `the failure's message${ctx(e)}`);
    const n = await ask(srv, 'GET', '/api/fail/nb?mode=error');
    assertJsonError(n, 500, `${label} nonblocking CN_EINVAL`);
    assert.match(n.json().error, /invalid argument/, ctx(n));
    const m = await ask(srv, 'GET', '/mw/fail', { headers: { Accept: 'application/json' } });
    assertJsonError(m, 500, `${label} middleware`);
    assert.match(m.json().error, /input\/output error/, ctx(m));
    const s = await ask(srv, 'GET', '/api/fail?mode=silent');
    assertJsonError(s, 500, `${label} silent`);
    await assertServing(srv);
  });
}

test('production and development differ only in the detail', async () => {
  const p = await ask(prod, 'GET', '/api/fail?mode=error');
  const d = await ask(devFlag, 'GET', '/api/fail?mode=error');
  assert.equal(p.status, d.status);
  assert.notEqual(p.json().error, d.json().error, `dev says more${ctx(p)}${ctx(d)}`);
});

// -------------------------------------------------------------- wrappers

const marks = (r) => r.headers.filter(([k]) => k.toLowerCase() === 'x-wrapped').map(([, v]) => v);

test('withAuth(withErrorHandler(handler)): no token -> 401 before anything else runs', async () => {
  for (const auth of [undefined, 'Bearer wrong', 'bearer letmein', 'Bearer letmein2', 'Basic letmein']) {
    const headers = auth === undefined ? {} : { Authorization: auth };
    const r = await ask(prod, 'GET', '/api/wrapped', { headers });
    assertJsonError(r, 401, `Authorization: ${auth}`);
    assert.equal(r.json().error, 'Authentication required', ctx(r));
    assert.deepEqual(marks(r), ['auth'], `only the outer wrapper ran${ctx(r)}`);
  }
});

test('withAuth(withErrorHandler(handler)): a token -> the handler, wrappers in order', async () => {
  const r = await ask(prod, 'GET', '/api/wrapped', { headers: { Authorization: 'Bearer letmein' } });
  assert.deepEqual(okJson(r), { route: 'api/wrapped' }, ctx(r));
  assert.deepEqual(marks(r), ['auth', 'error-handler', 'handler'], ctx(r));
});

test('withErrorHandler turns a failure into the app\'s own 500, in production too', async () => {
  const r = await ask(prod, 'GET', '/api/wrapped?fail=1', { headers: { Authorization: 'Bearer letmein' } });
  assertJsonError(r, 500, 'wrapped failure');
  assert.equal(r.json().error, 'Something went wrong (wrapped)', ctx(r));
  assert.deepEqual(marks(r), ['auth', 'error-handler'], ctx(r));
  const d = await ask(prod, 'DELETE', '/api/wrapped?fail=1');
  assertJsonError(d, 500, 'DELETE: error handler alone');
  assert.equal(d.json().error, 'Something went wrong (wrapped)', ctx(d));
  await assertServing(prod);
});

// The last test: SIGTERM ends every server of this file with exit 0 and no
// sanitizer report (leaks included, under the ASan build).
test('SIGTERM: the servers exit 0 with no sanitizer report', () => stopAll(devConfig, devFlag, prod));
