// Pages (issue 5): static vs dynamic, as Next.js decides. `cairn build`'s
// route table and .cairn/pages/manifest.json classify every page; static
// and prerendered pages are answered from the full-route cache (HIT, an
// ETag, 304 on If-None-Match, HEAD without a body); pages that read the
// request render per request (private, no-store; never a HIT). Listed
// params come from the build, unlisted ones render on demand and are kept,
// or 404 with dynamic_params_off. A blocking loader stalls nobody (shown
// with gates and a barrier, not with timing); odd URLs get sane answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ask, buildApp, ctx, killAll, startApp, stopAll } from './harness.mjs';

let srv, output;
before(async () => {
  output = (await buildApp('pages')).output;
  srv = await startApp('pages');
});
after(() => killAll(srv));

const PRIVATE = 'private, no-cache, no-store, max-age=0, must-revalidate';
const key = () => randomBytes(6).toString('hex');

async function get(path, status = 200, opts = {}) {
  const r = await ask(srv, 'GET', path, opts);
  assert.equal(r.status, status, `GET ${path}: status${ctx(r)}`);
  return r;
}

// ------------------------------------------------------ classification

const KINDS = {
  '/': 'static', '/barrier': 'dynamic', '/broken': 'dynamic', '/counter': 'static', '/docs': 'static',
  '/docs/[slug]': 'prerendered', '/dyn/cookie': 'dynamic', '/dyn/forced': 'dynamic', '/dyn/header': 'dynamic',
  '/dyn/query': 'dynamic', '/escape': 'static', '/files/[...path]': 'prerendered', '/go/perm': 'static',
  '/go/temp': 'static', '/lay-dyn': 'dynamic', '/meta/absolute': 'static', '/meta/generated': 'static',
  '/meta/hostile': 'static', '/meta/nested': 'static', '/meta/nested/deep': 'static', '/meta/plain': 'static',
  '/nf': 'static', '/opt/[[...opt]]': 'dynamic', '/slow': 'dynamic', '/strict/[id]': 'prerendered',
};
const SYMBOL = { static: '○', prerendered: '●', dynamic: 'ƒ' };

test('cairn build\'s route table marks each page static, prerendered (its paths listed under it) or dynamic', () => {
  const lines = output.split('\n');
  for (const [route, kind] of Object.entries(KINDS)) {
    const i = lines.findIndex((l) => new RegExp(`^[┌├└] ${SYMBOL[kind]} ${route.replace(/[[\].*+?^$()|\\/]/g, '\\$&')} +page: ${kind}\\b`).test(l));
    assert.ok(i >= 0, `a line "${SYMBOL[kind]} ${route}  page: ${kind}" in\n${output}`);
    if (kind === 'prerendered') {
      const listed = { '/docs/[slug]': ['/docs/intro', '/docs/setup'], '/files/[...path]': ['/files/a/b', '/files/x%20y/%C3%BC'],
        '/strict/[id]': ['/strict/1', '/strict/2'] }[route];
      const under = lines.slice(i + 1, i + 1 + listed.length).map((l) => l.replace(/^[│ ]+[├└] /, '').trim());
      assert.deepEqual(under, listed, `the listed paths under ${route}\n${output}`);
    }
  }
  assert.match(output, /^├ ƒ \/api\/release +API \(route handler\)/m, output);
  assert.match(output, /○ +\(Static\)/, output);
  assert.match(output, /● +\(SSG\)/, output);
  assert.match(output, /ƒ +\(Dynamic\)/, output);
});

test('.cairn/pages/manifest.json: the routes map, and one entry per prerendered path', () => {
  const m = JSON.parse(readFileSync(join(srv.dir, '.cairn', 'pages', 'manifest.json'), 'utf8'));
  assert.deepEqual(m.routes, KINDS);
  assert.match(m.build_id, /^\S+$/);
  const paths = m.pages.map((p) => p.path).sort();
  assert.deepEqual(paths, ['/', '/counter', '/docs', '/docs/intro', '/docs/setup', '/escape', '/files/a/b',
    '/files/x%20y/%C3%BC', '/go/perm', '/go/temp', '/meta/absolute', '/meta/generated', '/meta/hostile',
    '/meta/nested', '/meta/nested/deep', '/meta/plain', '/nf', '/strict/1', '/strict/2']);
  const byPath = Object.fromEntries(m.pages.map((p) => [p.path, p]));
  assert.equal(byPath['/docs/intro'].route, '/docs/[slug]');
  assert.equal(byPath['/docs/intro'].status, 200);
  assert.equal(byPath['/nf'].status, 404);
  assert.equal(byPath['/go/temp'].status, 307);
  assert.equal(byPath['/go/temp'].location, '/docs/intro');
  assert.equal(byPath['/go/perm'].status, 308);
  const html = readFileSync(join(srv.dir, '.cairn', 'pages', byPath['/docs/intro'].file), 'utf8');
  assert.ok(html.includes('<article>Doc intro|intro|'), html);
});

// --------------------------------------------------------------- static

test('a static page: X-Cairn-Cache HIT with an ETag from the first request; the same bytes every time', async () => {
  const a = await get('/counter');
  const b = await get('/counter');
  for (const r of [a, b]) {
    assert.equal(r.get('x-cairn-cache'), 'HIT', ctx(r));
    assert.match(r.get('etag') || '', /^"[0-9a-f]{16}"$/, ctx(r));
    assert.equal(r.get('cache-control'), 's-maxage=31536000', ctx(r));
    assert.equal(r.get('content-type'), 'text/html; charset=utf-8', ctx(r));
  }
  assert.ok(a.text().includes('<p>static render #1</p>'), `rendered once, at build${ctx(a)}`);
  assert.equal(b.text(), a.text());
  assert.equal(b.get('etag'), a.get('etag'));
});

test('a static page ignores the query, cookies and headers: still the build\'s HIT', async () => {
  const a = await get('/docs/intro');
  const b = await get('/docs/intro?utm=1&x=%3Cy%3E', 200, { headers: { Cookie: 'who=ann', 'X-Who': 'bob' } });
  assert.equal(b.get('x-cairn-cache'), 'HIT', ctx(b));
  assert.equal(b.text(), a.text());
});

test('If-None-Match with the ETag (strong, weak, in a list, *) -> 304 without a body; another ETag -> 200', async () => {
  const a = await get('/docs/intro');
  const etag = a.get('etag');
  for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
    const r = await ask(srv, 'GET', '/docs/intro', { headers: { 'If-None-Match': inm } });
    assert.equal(r.status, 304, `If-None-Match: ${inm}${ctx(r)}`);
    assert.equal(r.body.length, 0, ctx(r));
    assert.equal(r.get('etag'), etag, ctx(r));
    assert.equal(r.get('content-length'), undefined, `no Content-Length on a 304 of a GET${ctx(r)}`);
  }
  const r = await ask(srv, 'GET', '/docs/intro', { headers: { 'If-None-Match': '"0000000000000000"' } });
  assert.equal(r.status, 200, ctx(r));
  assert.equal(r.text(), a.text());
});

test('a cached 404 is never a 304', async () => {
  const a = await get('/nf', 404);
  assert.equal(a.get('x-cairn-cache'), 'HIT', ctx(a));
  const r = await ask(srv, 'GET', '/nf', { headers: { 'If-None-Match': a.get('etag') || '*' } });
  assert.equal(r.status, 404, ctx(r));
  assert.equal(r.text(), a.text());
});

test('HEAD of static, prerendered and dynamic pages: the GET\'s status and headers, no body', async () => {
  for (const path of ['/', '/docs/intro', '/dyn/forced', '/docs/missing', '/nope']) {
    await ask(srv, 'GET', path); // an on-demand page is kept from here on
    const g = await ask(srv, 'GET', path);
    const h = await ask(srv, 'HEAD', path);
    assert.equal(h.status, g.status, `HEAD ${path}${ctx(h)}`);
    assert.equal(h.body.length, 0, ctx(h));
    assert.equal(h.get('content-type'), g.get('content-type'), ctx(h));
    if (path !== '/dyn/forced') assert.equal(h.get('content-length'), String(g.body.length), `HEAD ${path}${ctx(h)}`);
    assert.equal(h.get('etag'), g.get('etag'), `HEAD ${path}${ctx(h)}`);
  }
});

test('HEAD first on an on-demand param: what it keeps is the whole page, not an empty body', async () => {
  const p = `/docs/head-${key()}`;
  const h = await ask(srv, 'HEAD', p);
  assert.equal(h.status, 200, ctx(h));
  const g = await get(p);
  assert.ok(g.text().includes(`<article>Doc head-`), ctx(g));
  assert.equal(String(g.body.length), h.get('content-length'), ctx(g));
});

// -------------------------------------------------------------- dynamic

test('a page reading a cookie renders per request with the current cookie: private, no-store, never a HIT', async () => {
  for (const who of ['ann', 'bob', 'ann', '']) {
    const r = await get('/dyn/cookie', 200, who ? { headers: { Cookie: `theme=x; who=${who}` } } : {});
    assert.ok(r.text().includes(`<p>cookie:${who}</p>`), `cookie ${who}${ctx(r)}`);
    assert.equal(r.get('cache-control'), PRIVATE, ctx(r));
    assert.equal(r.get('x-cairn-cache'), undefined, ctx(r));
  }
});

test('pages reading the query or a header are dynamic too', async () => {
  for (const [path, opts, shown] of [
    ['/dyn/query?q=one', {}, '<p>query:one</p>'], ['/dyn/query?q=two', {}, '<p>query:two</p>'],
    ['/dyn/header', { headers: { 'X-Who': 'h1' } }, '<p>header:h1</p>'], ['/dyn/header', { headers: { 'X-Who': 'h2' } }, '<p>header:h2</p>'],
  ]) {
    const r = await get(path, 200, opts);
    assert.ok(r.text().includes(shown), ctx(r));
    assert.equal(r.get('cache-control'), PRIVATE, ctx(r));
    assert.equal(r.get('x-cairn-cache'), undefined, ctx(r));
  }
});

test('.dynamic = 1: rendered on every request though it reads nothing', async () => {
  const n = (r) => Number(/forced render #(\d+)/.exec(r.text())?.[1]);
  const a = await get('/dyn/forced');
  const b = await get('/dyn/forced');
  assert.equal(n(b), n(a) + 1, `${a.text()}\n${b.text()}`);
  assert.equal(b.get('cache-control'), PRIVATE);
  assert.equal(b.get('x-cairn-cache'), undefined);
  assert.equal(b.get('etag'), undefined);
});

// --------------------------------------------------- prerendered params

test('listed params are served from the build: HIT on the first request', async () => {
  for (const p of ['/docs/setup', '/files/a/b', '/files/x%20y/%C3%BC', '/strict/1', '/strict/2']) {
    const r = await get(p);
    assert.equal(r.get('x-cairn-cache'), 'HIT', `GET ${p}${ctx(r)}`);
  }
});

test('a listed param asked with other escapes is the same page (/docs/%69ntro, /strict/%32)', async () => {
  const a = await get('/docs/%69ntro');
  assert.equal(a.get('x-cairn-cache'), 'HIT', ctx(a));
  assert.ok(a.text().includes('<article>Doc intro|intro|'), ctx(a));
  const b = await get('/strict/%32');
  assert.ok(b.text().includes('<p>strict 2</p>'), ctx(b));
});

test('an unlisted param renders on demand (MISS), then is kept (HIT, same bytes, ETag)', async () => {
  for (const p of [`/docs/new-${key()}`, `/files/${key()}/z`, `/docs/%E2%9C%93${key()}`]) {
    const a = await get(p);
    assert.equal(a.get('x-cairn-cache'), 'MISS', `GET ${p}${ctx(a)}`);
    const b = await get(p);
    assert.equal(b.get('x-cairn-cache'), 'HIT', `GET ${p} again${ctx(b)}`);
    assert.equal(b.text(), a.text());
    assert.match(b.get('etag') || '', /^"[0-9a-f]{16}"$/);
  }
});

test('concurrent first requests for one unlisted param all get the page', async () => {
  const p = `/docs/race-${key()}`;
  const rs = await Promise.all(Array.from({ length: 8 }, () => ask(srv, 'GET', p)));
  for (const r of rs) {
    assert.equal(r.status, 200, ctx(r));
    assert.equal(r.text(), rs[0].text());
  }
  assert.equal((await get(p)).get('x-cairn-cache'), 'HIT');
});

test('.dynamic_params_off: an unlisted param is a 404 (root not-found), listed ones 200', async () => {
  for (const p of ['/strict/3', '/strict/0', '/strict/1x', '/strict/%31%31']) {
    const r = await get(p, 404);
    assert.ok(r.text().includes('<h1 id="root-nf">Root not found</h1>'), ctx(r));
    assert.ok(r.text().includes('<meta name="robots" content="noindex">'), ctx(r));
    assert.ok(!r.text().includes('<p>strict'), ctx(r));
  }
  assert.ok((await get('/strict/1')).text().includes('<p>strict 1</p>'));
});

// --------------------------------------------------------- concurrency

test('a loader blocked at a gate stalls no other request; it answers once the gate opens', async () => {
  const k = key();
  let settled = false;
  const slow = ask(srv, 'GET', `/slow?k=${k}`, { timeout: 20000 }).then((r) => { settled = true; return r; });
  const others = [];
  for (let i = 0; i < 3; i++)
    others.push(get('/'), get('/docs/intro'), get(`/dyn/query?q=${i}`), get('/dyn/forced'), get(`/docs/other-${k}-${i}`), get('/nope', 404));
  await Promise.all(others);
  assert.equal(settled, false, 'the blocked page is still waiting while the others answered');
  const rel = await fetch(`${srv.url}/api/release?key=${k}`);
  assert.equal(await rel.text(), 'released');
  const r = await slow;
  assert.equal(r.status, 200, ctx(r));
  assert.ok(r.text().includes(`<p>slow ${k}</p>`), ctx(r));
});

test('loaders that sleep 200 ms run at the same time: 8 renders meet at a barrier only they can pass together', async () => {
  const k = key();
  const rs = await Promise.all(Array.from({ length: 8 }, () => ask(srv, 'GET', `/barrier?k=${k}&n=8`, { timeout: 20000 })));
  for (const r of rs) {
    assert.equal(r.status, 200, ctx(r));
    assert.ok(r.text().includes('<p>barrier 8</p>'), ctx(r));
  }
});

// ---------------------------------------------------------- robustness

test('a 7000-byte slug renders (and is kept); past the request-line limit a 414; the server goes on', async () => {
  const slug = 'a'.repeat(7000);
  const a = await get(`/docs/${slug}`);
  assert.ok(a.text().includes(`<article>Doc ${slug}|${slug}|`), 'the slug shown whole');
  assert.equal((await get(`/docs/${slug}`)).get('x-cairn-cache'), 'HIT');
  const b = await ask(srv, 'GET', `/docs/${'b'.repeat(9000)}`);
  assert.equal(b.status, 414, ctx(b));
  assert.ok((await get('/')).text().includes('<h1>Home</h1>'));
});

test('percent-encoded params: /docs/%E2%9C%93 is ✓, /docs/a%2Fb is one segment "a/b", bad escapes are 400', async () => {
  const a = await get('/docs/%E2%9C%93');
  assert.ok(a.text().includes('<article>Doc ✓|✓|'), ctx(a));
  assert.ok(a.text().includes('<title>Doc ✓ · Docs</title>'), ctx(a));
  const b = await get('/docs/a%2Fb');
  assert.ok(b.text().includes('DOCS[Docs|a/b|a/b]<article>Doc a/b|a/b|'), ctx(b));
  const c = await get('/docs/a/b', 404);
  assert.ok(c.text().includes('<h1 id="root-nf">'), `/docs/a/b is not /docs/a%2Fb${ctx(c)}`);
  for (const p of ['/docs/%zz', '/docs/%E2%9C', '/docs/%00', '/files/a/%']) {
    const r = await ask(srv, 'GET', p);
    assert.equal(r.status, 400, `GET ${p}${ctx(r)}`);
  }
});

test('a catch-all of 300 segments renders them all, and is never kept under a cut-short key', async () => {
  const segs = Array.from({ length: 300 }, (_, i) => `s${i}`);
  const p = `/files/${segs.join('/')}`;
  const a = await get(p);
  assert.ok(a.text().includes(`<ul>${segs.map((s) => `<li>${s}</li>`).join('')}</ul>`), 'all 300 segments');
  const b = await get(p);
  assert.notEqual(b.get('x-cairn-cache'), 'HIT', ctx(b));
  const other = `/files/${segs.slice(0, 299).join('/')}/other`;
  const c = await get(other);
  assert.ok(c.text().includes('<li>other</li></ul>'), `a path sharing the first segments is its own page${ctx(c)}`);
});

test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
