// File-system routing through the real server: precedence at every level,
// groups and private folders, catch-all arrays, percent-decoding per
// segment, trailing slashes, case, methods (HEAD, OPTIONS, 405, 501),
// pages/api index files, public/ before dynamic routes, `cairn start`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Conn, show } from '../lib/http.mjs';
import { assertHtmlError, assertJsonError } from '../lib/expect.mjs';
import { APP, ask, assertServing, cairnBin, ctx, okJson, reqBytes, startApp, stopAll, killAll, withAppBuilt } from './harness.mjs';

let srv;
before(async () => { srv = await startApp(); });
after(() => killAll(srv));

const P = (all) => ({ first: all.length ? all[0] : null, all, present: all.length > 0 });
const ABSENT = { first: null, all: [], present: false };

// [path, route that must answer, {param: expected}]
const PRECEDENCE = [
  ['/', '(root index)', {}],
  ['/prec', 'prec (index)', {}],
  ['/prec/static', 'prec/static', {}],
  ['/prec/abc', 'prec/[id]', { id: P(['abc']) }],
  ['/prec/abc/deep', 'prec/[id]/deep', { id: P(['abc']) }],
  // the static child dead-ends: fall back to [id] with "static"
  ['/prec/static/deep', 'prec/[id]/deep', { id: P(['static']) }],
  ['/prec/a/b', 'prec/[...rest]', { rest: P(['a', 'b']) }],
  ['/prec/a/b/c/d', 'prec/[...rest]', { rest: P(['a', 'b', 'c', 'd']) }],
  ['/prec/static/x', 'prec/[...rest]', { rest: P(['static', 'x']) }],
  ['/prec/abc/deep/more', 'prec/[...rest]', { rest: P(['abc', 'deep', 'more']) }],
  ['/prec/STATIC', 'prec/[id]', { id: P(['STATIC']) }],
  // a (group) folder is left out of the URL, and its static route beats [id]
  ['/prec/grouped', 'prec/(group)/grouped', {}],
  ['/prec/(group)/grouped', 'prec/[...rest]', { rest: P(['(group)', 'grouped']) }],
  ['/about', '(marketing)/about', {}],
  ['/deeper', '(marketing)/(nested)/deeper', {}],
  // _private folders are never routed: their URL falls to the dynamic sibling
  ['/prec/_private', 'prec/[id]', { id: P(['_private']) }],
  ['/prec/_private/inner', 'prec/[...rest]', { rest: P(['_private', 'inner']) }],
  // the optional catch-all: the bare path matches with no param
  ['/opt', 'opt/[[...parts]]', { parts: ABSENT }],
  ['/opt/a', 'opt/[[...parts]]', { parts: P(['a']) }],
  ['/opt/a/b/c', 'opt/[[...parts]]', { parts: P(['a', 'b', 'c']) }],
  ['/opt/fixed', 'opt/fixed', {}],
  ['/opt/fixed/more', 'opt/[[...parts]]', { parts: P(['fixed', 'more']) }],
  // a catch-all is an array even for one segment
  ['/files/one', 'files/[...path]', { path: P(['one']) }],
  ['/files/a/b/c', 'files/[...path]', { path: P(['a', 'b', 'c']) }],
  // pages/api: create.c, [pid].c, [...slug].c, index.c naming its folder
  ['/api/post/create', 'pages/api/post/create', {}],
  ['/api/post/abc', 'pages/api/post/[pid]', { pid: P(['abc']) }],
  ['/api/post/a/b', 'pages/api/post/[...slug]', { slug: P(['a', 'b']) }],
  ['/api/post/create/x', 'pages/api/post/[...slug]', { slug: P(['create', 'x']) }],
  ['/api/post', 'pages/api/post/index', {}],
  ['/api', 'pages/api/index', {}],
  ['/api/grouped', 'pages/api/(internal)/grouped', {}],
  ['/Case', 'Case', {}],
  ['/seg/one/two', 'seg/[a]/[b]', { a: P(['one']), b: P(['two']) }],
];

for (const [path, route, params] of PRECEDENCE) {
  test(`GET ${path} -> ${route}`, async () => {
    const r = await ask(srv, 'GET', path);
    const body = okJson(r);
    assert.equal(body.route, route, `route${ctx(r)}`);
    assert.deepEqual(body.params, params, `params${ctx(r)}`);
    assert.equal(body.echo.path, path, `the handler sees the client's path${ctx(r)}`);
  });
}

// Paths nothing answers: private folders, group names in the URL, case.
const NOT_FOUND = [
  '/_hidden', '/(marketing)/about', '/marketing/about', '/case', '/CASE', '/Prec', '/PREC/static',
  '/api/_util/hidden', '/api/util/hidden', '/api/(internal)/grouped', '/files', '/seg/a', '/seg/a/b/c',
  '/nothing/here', '/opt/fixed/../fixed',
];
for (const path of NOT_FOUND) {
  test(`GET ${path} -> 404`, async () => {
    const r = await ask(srv, 'GET', path, { headers: { Accept: 'application/json' } });
    assertJsonError(r, 404, `GET ${path}`);
  });
}

// Percent-decoding happens per segment, after splitting: %2F stays inside.
const DECODING = [
  ['/seg/x%2Fy/z', { a: P(['x/y']), b: P(['z']) }],
  ['/seg/a%20b/c+d', { a: P(['a b']), b: P(['c+d']) }],
  ['/seg/caf%C3%A9/%E2%9C%93', { a: P(['café']), b: P(['✓']) }],
  ['/seg/%25/%3F', { a: P(['%']), b: P(['?']) }],
  ['/seg/%2F/%2f%2F', { a: P(['/']), b: P(['//']) }],
  ['/seg/%41%42/%23x', { a: P(['AB']), b: P(['#x']) }],
];
for (const [path, params] of DECODING) {
  test(`GET ${path}: params decoded per segment`, async () => {
    const r = await ask(srv, 'GET', path);
    const body = okJson(r);
    assert.equal(body.route, 'seg/[a]/[b]', ctx(r));
    assert.deepEqual(body.params, params, ctx(r));
  });
}

test('catch-all segments are decoded one by one: a%2Fb stays one element', async () => {
  const r = await ask(srv, 'GET', '/files/a%2Fb/c%20d/%E2%82%AC');
  assert.deepEqual(okJson(r).params, { path: P(['a/b', 'c d', '€']) }, ctx(r));
  const r2 = await ask(srv, 'GET', '/api/post/a%2Fb');
  const b2 = okJson(r2);
  assert.equal(b2.route, 'pages/api/post/[pid]', `an encoded slash does not make two segments${ctx(r2)}`);
  assert.deepEqual(b2.params, { pid: P(['a/b']) }, ctx(r2));
  const r3 = await ask(srv, 'GET', '/opt/x%2Fy');
  assert.deepEqual(okJson(r3).params, { parts: P(['x/y']) }, ctx(r3));
});

const BAD_ESCAPES = [
  '/seg/%zz/b', '/seg/%/b', '/seg/a/%2', '/seg/a/b%', '/seg/%G0/b', '/seg/%C3%28/b', '/seg/%FF/b',
  '/seg/%00/b', '/api/post/%zz', '/files/ok/%E2%82', '/opt/%',
];
for (const path of BAD_ESCAPES) {
  test(`GET ${path}: a bad escape -> 400`, async () => {
    const r = await ask(srv, 'GET', path, { headers: { Accept: 'application/json' } });
    assertJsonError(r, 400, `GET ${path}`);
    const r2 = await ask(srv, 'GET', path);
    assert.equal(r2.status, 400, `without Accept too${ctx(r2)}`);
  });
}

// [request target, Location]
const TRAILING = [
  ['/prec/static/', '/prec/static'],
  ['/prec/static/?a=1&b=%20', '/prec/static?a=1&b=%20'],
  ['/api/post/abc/', '/api/post/abc'],
  ['/api/post/abc/?pid=1', '/api/post/abc?pid=1'],
  ['/opt/', '/opt'],
  ['/nothing/here/', '/nothing/here'],
  ['/seg/x%2Fy/z/', '/seg/x%2Fy/z'],
];
for (const [target, location] of TRAILING) {
  test(`GET ${target} -> 308 ${location}`, async () => {
    const r = await ask(srv, 'GET', target);
    assert.equal(r.status, 308, ctx(r));
    assert.equal(r.get('location'), location, ctx(r));
    assert.equal(r.count('location'), 1, ctx(r));
  });
}

test('POST with a trailing slash is redirected 308 too (the method is kept by 308)', async () => {
  const r = await ask(srv, 'POST', '/prec/static/', { body: 'x', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(r.status, 308, ctx(r));
  assert.equal(r.get('location'), '/prec/static', ctx(r));
});

// ------------------------------------------------------------- methods

test('HEAD runs GET and sends its headers without the body', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('HEAD', '/methods') + '');
    const h = await c.final({ head: true });
    await c.write(reqBytes('GET', '/methods'));
    const g = await c.final();
    assert.equal(h.status, 200, c.transcript());
    assert.equal(h.get('x-handler'), 'get', c.transcript());
    assert.equal(h.get('content-type'), 'text/plain; charset=utf-8', c.transcript());
    assert.equal(h.get('content-length'), '9', `HEAD announces the GET body's length\n${c.transcript()}`);
    assert.equal(h.body.length, 0);
    // if HEAD had leaked its body, this would not parse as the GET answer
    assert.equal(g.status, 200, c.transcript());
    assert.equal(g.text(), 'GET body\n', c.transcript());
    assert.equal(c.unread().length, 0, `nothing after the GET answer\n${c.transcript()}`);
  } finally { c.close(); }
});

test('GET and POST run their own handlers', async () => {
  const g = await ask(srv, 'GET', '/methods');
  assert.equal(g.status, 200);
  assert.equal(g.text(), 'GET body\n');
  const p = await ask(srv, 'POST', '/methods', { body: '' });
  assert.equal(p.status, 201, ctx(p));
  assert.equal(p.get('x-handler'), 'post');
  assert.equal(p.text(), 'POST body\n');
});

test('OPTIONS without a handler -> 204 with a sorted Allow, no body', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(Buffer.concat([reqBytes('OPTIONS', '/methods'), reqBytes('GET', '/methods')]));
    const o = await c.final();
    const g = await c.final();
    assert.equal(o.status, 204, c.transcript());
    assert.equal(o.get('allow'), 'GET, HEAD, OPTIONS, POST', c.transcript());
    assert.equal(o.count('allow'), 1);
    assert.equal(o.get('content-length'), undefined, `no Content-Length on a 204 (RFC 9110 8.6)\n${c.transcript()}`);
    assert.equal(g.status, 200, `the next answer parses: the 204 had no body\n${c.transcript()}`);
  } finally { c.close(); }
});

for (const method of ['PUT', 'PATCH', 'DELETE']) {
  test(`${method} on a GET+POST route -> 405 with Allow`, async () => {
    const r = await ask(srv, method, '/methods', { headers: { Accept: 'application/json' }, body: method === 'DELETE' ? undefined : '{}' });
    assertJsonError(r, 405, method);
    assert.equal(r.get('allow'), 'GET, HEAD, OPTIONS, POST', ctx(r));
    assert.equal(r.count('allow'), 1, ctx(r));
  });
}

test('a route declaring HEAD and OPTIONS itself runs them', async () => {
  const h = await ask(srv, 'HEAD', '/methods/own');
  assert.equal(h.status, 200, ctx(h));
  assert.equal(h.get('x-handler'), 'head', ctx(h));
  const o = await ask(srv, 'OPTIONS', '/methods/own');
  assert.equal(o.status, 200, ctx(o));
  assert.equal(o.get('x-handler'), 'options', ctx(o));
  assert.equal(o.text(), 'custom options\n', ctx(o));
  const p = await ask(srv, 'POST', '/methods/own', { body: '', headers: { Accept: 'application/json' } });
  assertJsonError(p, 405, 'POST /methods/own');
  assert.equal(p.get('allow'), 'DELETE, GET, HEAD, OPTIONS', ctx(p));
  const d = await ask(srv, 'DELETE', '/methods/own');
  assert.equal(d.status, 204, ctx(d));
});

for (const [method, path] of [['BREW', '/methods'], ['PROPFIND', '/methods'], ['TRACE', '/methods'],
  ['MKCOL', '/methods'], ['BREW', '/api/echo'], ['PURGE', '/api/post/abc'], ['LINK', '/prec/static']]) {
  test(`${method} ${path}: a method no route file can declare -> 501`, async () => {
    // Refused from the request line, before headers are read: the error is
    // JSON under /api (the path is sniffed), an HTML page elsewhere.
    const r = await ask(srv, method, path, { headers: { Accept: 'application/json' } });
    if (path.startsWith('/api/')) assertJsonError(r, 501, `${method} ${path}`);
    else assertHtmlError(r, 501, `${method} ${path}`);
    await assertServing(srv);
  });
}

test('a pages/api route answers every known method with its one handler', async () => {
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const r = await ask(srv, method, '/api/post/abc', { body: ['GET', 'DELETE', 'OPTIONS'].includes(method) ? undefined : '' });
    const b = okJson(r);
    assert.equal(b.route, 'pages/api/post/[pid]', `${method}${ctx(r)}`);
    assert.equal(b.echo.method, method, `${method}${ctx(r)}`);
  }
  const h = await ask(srv, 'HEAD', '/api/post/abc');
  assert.equal(h.status, 200, ctx(h));
  assert.match(h.get('content-type') || '', /^application\/json/, ctx(h));
  assert.ok(Number(h.get('content-length')) > 0, ctx(h));
});

// ------------------------------------------------------------ public/

test('public/ files are served before dynamic routes', async () => {
  const f = await ask(srv, 'GET', '/pub/file.txt');
  assert.equal(f.status, 200, ctx(f));
  assert.equal(f.text(), 'public file beats [name]\n', ctx(f));
  const h = await ask(srv, 'GET', '/hello.txt');
  assert.equal(h.status, 200, ctx(h));
  assert.equal(h.text(), 'hello from public\n', ctx(h));
  const d = await ask(srv, 'GET', '/pub/other.txt');
  const body = okJson(d);
  assert.equal(body.route, 'pub/[name]', ctx(d));
  assert.deepEqual(body.params, { name: P(['other.txt']) }, ctx(d));
  const e = await ask(srv, 'GET', '/pub/a%2Fb');
  assert.deepEqual(okJson(e).params, { name: P(['a/b']) }, `an encoded slash reaches the param${ctx(e)}`);
});

// ------------------------------------------------------- cairn start

test('`cairn start` runs the build: listening line, then it answers', () => withAppBuilt(async () => {
  const p = spawn(cairnBin(), ['start', APP], {
    env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  p.stdout.setEncoding('utf8').on('data', (s) => { out += s; });
  p.stderr.setEncoding('utf8').on('data', (s) => { err += s; });
  try {
    const deadline = Date.now() + 20000;
    let m;
    while (!(m = /^cairn listening on http:\/\/127\.0\.0\.1:(\d+)$/m.exec(out))) {
      if (Date.now() > deadline || p.exitCode !== null) throw new Error(`no listening line\nstdout: ${out}\nstderr: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await ask({ port: Number(m[1]) }, 'GET', '/api/post/create');
    assert.equal(okJson(r).route, 'pages/api/post/create', show(r.raw));
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null ? r() : p.on('exit', r)));
  }
}));

// --------------------------------------------------------- concurrency

test('200 concurrent requests across the route table each get their own route and params', async () => {
  const rows = [];
  for (let i = 0; i < 200; i++) {
    const [path, route, params] = PRECEDENCE[i % PRECEDENCE.length];
    rows.push([path, route, params]);
  }
  rows.push(['/seg/x%2Fy/z', 'seg/[a]/[b]', { a: P(['x/y']), b: P(['z']) }]);
  const results = await Promise.all(rows.map(([path]) => ask(srv, 'GET', path)));
  results.forEach((r, i) => {
    const [path, route, params] = rows[i];
    const body = okJson(r);
    assert.equal(body.route, route, `${path}${ctx(r)}`);
    assert.deepEqual(body.params, params, `${path}${ctx(r)}`);
  });
});

// The last test: SIGTERM ends every server of this file with exit 0 and no
// sanitizer report (leaks included, under the ASan build).
test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
