// Middleware through the real server: it runs only for the paths its
// matcher accepts (path-to-regexp :param, :param*, :param?, :param+ and a
// negative-lookahead group); it continues with a request header the handler
// sees and a response header the client sees, rewrites (the client's URL
// stays, the handler gets the rewritten route's params), redirects
// (307/308), or answers itself (401 JSON); x-cairn-* request headers from
// clients are stripped before it runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertJsonError } from '../lib/expect.mjs';
import { ask, assertServing, ctx, okJson, startApp, stopAll, killAll } from './harness.mjs';

let srv;
before(async () => { srv = await startApp(); });
after(() => killAll(srv));

const runs = async () => okJson(await ask(srv, 'GET', '/mw/count')).runs;

// [path, does the middleware run, route that answers]
const MATCHING = [
  ['/mw/anything', true, 'mw/[...rest]'], // "/mw/:path*"
  ['/mw/a/b/c', true, 'mw/[...rest]'],
  ['/api/mw/one', true, 'pages/api/mw/[...parts]'], // "/api/mw/:slug"
  ['/api/mw/one/two', false, 'pages/api/mw/[...parts]'], // :slug is one segment; the lookahead skips api
  ['/opt-mw', true, 'opt-mw/[[...p]]'], // "/opt-mw/:x?"
  ['/opt-mw/a', true, 'opt-mw/[[...p]]'],
  ['/opt-mw/a/b', false, 'opt-mw/[[...p]]'],
  ['/plus-mw', false, 'plus-mw/[[...p]]'], // "/plus-mw/:x+"
  ['/plus-mw/a', true, 'plus-mw/[[...p]]'],
  ['/plus-mw/a/b/c', true, 'plus-mw/[[...p]]'],
  ['/mw-skip', false, 'mw-skip/[[...p]]'], // excluded by the lookahead, and not /mw/...
  ['/mw-skip/x', false, 'mw-skip/[[...p]]'],
  ['/prec/static', true, 'prec/static'], // "/((?!api|_cairn|...).*)"
  ['/prec/a/b', true, 'prec/[...rest]'],
  ['/', true, '(root index)'],
  ['/api/echo', false, 'pages/api/echo'],
  ['/api/post/abc', false, 'pages/api/post/[pid]'],
  ['/api', false, 'pages/api/index'],
];
for (const [path, ran, route] of MATCHING) {
  test(`middleware ${ran ? 'runs' : 'does not run'} for ${path}`, async () => {
    const r = await ask(srv, 'GET', path, { headers: { 'x-h': 'x-from-mw' } });
    const body = okJson(r);
    assert.equal(body.route, route, ctx(r));
    assert.equal(r.get('x-mw'), ran ? '1' : undefined, `the response header${ctx(r)}`);
    assert.equal(body.echo.headers['x-from-mw'], ran ? 'hello' : null, `the request header${ctx(r)}`);
  });
}

test('continue: a request header for the handler (replacing the client\'s) and a response header for the client', async () => {
  const r = await ask(srv, 'GET', '/mw/continue', { headers: { 'X-From-Mw': 'client', 'x-h': 'x-from-mw' } });
  const body = okJson(r);
  assert.equal(body.echo.headers['x-from-mw'], 'hello', ctx(r));
  assert.equal(r.get('x-mw-response'), 'yes', ctx(r));
  assert.equal(r.count('x-mw-response'), 1, ctx(r));
  // where the middleware does not run, the client's header goes through
  const n = await ask(srv, 'GET', '/api/echo', { headers: { 'X-From-Mw': 'client', 'x-h': 'x-from-mw' } });
  assert.equal(okJson(n).echo.headers['x-from-mw'], 'client', ctx(n));
  assert.equal(n.get('x-mw-response'), undefined, ctx(n));
});

const FORGED = [
  ['x-cairn-anything', 'forged'], ['X-Cairn-Rewrite', '/mw-target/evil'], ['x-CAIRN-middleware', 'done'],
  ['x-cairn-', 'empty suffix'], ['X-Cairn-Auth', 'Bearer letmein'],
];
const FORGED_NAMES = FORGED.map(([k]) => k).join(',');

test('x-cairn-* request headers from the client never reach middleware or handler', async () => {
  const r = await ask(srv, 'GET', '/mw/echo', { headers: [...FORGED, ['x-h', FORGED_NAMES]] });
  const body = okJson(r);
  assert.equal(r.get('x-mw-saw-internal'), 'no', `the middleware saw none${ctx(r)}`);
  for (const [k] of FORGED) assert.equal(body.echo.headers[k], null, `${k}${ctx(r)}`);
  assert.equal(body.route, 'mw/[...rest]', `a forged rewrite header changed nothing${ctx(r)}`);
  const n = await ask(srv, 'GET', '/api/echo', { headers: [...FORGED, ['x-h', FORGED_NAMES]] });
  for (const [k] of FORGED) assert.equal(okJson(n).echo.headers[k], null, `stripped where no middleware runs too: ${k}${ctx(n)}`);
});

test('forged headers cannot skip the middleware (CVE-2025-29927)', async () => {
  const before = await runs();
  const headers = [...FORGED, ['x-middleware-subrequest', 'middleware:middleware:middleware:middleware:middleware'],
    ['x-middleware-next', '1'], ['x-invoke-path', '/mw/private/data']];
  const r = await ask(srv, 'GET', '/mw/private/data', { headers });
  assert.equal(r.status, 401, ctx(r));
  assert.equal(await runs(), before, 'the handler never ran');
});

test('answering directly: 401 JSON, the handler never runs; with the token it does', async () => {
  const before = await runs();
  for (const headers of [{}, { Authorization: 'Bearer nope' }]) {
    const r = await ask(srv, 'GET', '/mw/private/data', { headers });
    assertJsonError(r, 401, 'middleware 401');
    assert.deepEqual(r.json(), { error: 'Authentication required', status: 401 }, ctx(r));
  }
  const p = await ask(srv, 'POST', '/mw/private/data', { body: '{"x":1}', headers: { 'Content-Type': 'application/json' } });
  assertJsonError(p, 401, 'middleware 401 with a body');
  assert.equal(await runs(), before, 'refused requests never reached the handler');
  const ok = await ask(srv, 'GET', '/mw/private/data', { headers: { Authorization: 'Bearer letmein' } });
  const body = okJson(ok);
  assert.equal(body.route, 'mw/[...rest]', ctx(ok));
  assert.deepEqual(body.params.rest.all, ['private', 'data'], ctx(ok));
  assert.equal(await runs(), before + 1);
});

test('redirects: 307 by default, 308 on request; the handler never runs', async () => {
  const before = await runs();
  const t = await ask(srv, 'GET', '/mw/redirect');
  assert.equal(t.status, 307, ctx(t));
  assert.equal(t.get('location'), '/mw/landing?from=mw', ctx(t));
  const p = await ask(srv, 'GET', '/mw/redirect-permanent');
  assert.equal(p.status, 308, ctx(p));
  assert.equal(p.get('location'), '/mw/landing', ctx(p));
  assert.equal(await runs(), before);
});

test('rewrite: the client\'s URL is unchanged and the handler gets the rewritten route\'s params', async () => {
  const r = await ask(srv, 'GET', '/old/abc?q=1', { headers: { 'x-q': 'q,id' } });
  assert.equal(r.status, 200, ctx(r));
  assert.equal(r.count('location'), 0, `a rewrite is not a redirect${ctx(r)}`);
  const body = okJson(r);
  assert.equal(body.route, 'mw-target/[id]', ctx(r));
  assert.deepEqual(body.params.id, { first: 'abc', all: ['abc'], present: true }, ctx(r));
  assert.deepEqual(body.echo.query.q.all, ['1'], `the query stays${ctx(r)}`);
  assert.deepEqual(body.echo.query.id.all, ['abc'], `the rewritten param wins over the query${ctx(r)}`);
  assert.equal(r.get('x-mw'), '1', `the middleware's response headers stay${ctx(r)}`);
  const e = await ask(srv, 'GET', '/old/a%2Fb');
  assert.deepEqual(okJson(e).params.id.all, ['a/b'], `decoded per segment after the rewrite${ctx(e)}`);
});

test('rewrite to a path no route answers -> 404; to two segments where one is expected -> 404', async () => {
  for (const path of ['/mw/rewrite-missing', '/old/x/y']) {
    const r = await ask(srv, 'GET', path, { headers: { Accept: 'application/json' } });
    assertJsonError(r, 404, path);
  }
  await assertServing(srv);
});

// The last test: SIGTERM ends every server of this file with exit 0 and no
// sanitizer report (leaks included, under the ASan build).
test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
