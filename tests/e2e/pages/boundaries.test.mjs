// Pages (issue 5): not-found and error boundaries and redirects from
// loaders. The nearest not-found.html / error.html wins and is wrapped in
// the layouts above it; a layout's own failure goes to the boundary above
// that layout; with no file at all cairn's built-in pages answer. In
// production an error page shows a generic message and a digest that the
// server's log line also carries; with --dev it shows the real message and
// where it came from (app/.../page.c:N). The server keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HEAD_DEFAULTS, ROOT_META, ask, ctx, killAll, lineOf, rootDoc, startApp, stopAll,
} from './harness.mjs';

let prod, dev, bare;
before(async () => {
  prod = await startApp('pages');
  dev = await startApp('pages', { args: ['--dev'] });
  bare = await startApp('pages-bare');
});
after(() => killAll(prod, dev, bare));

const GENERIC = 'An error occurred while rendering this page.';
const NOINDEX = '<meta name="robots" content="noindex">';
const ROOT_NF_META = '<title>Root Title</title><meta name="description" content="root description">' + NOINDEX +
  '<meta property="og:title" content="Root OG"><meta property="og:site_name" content="Site">';
const DOCS_META = (robots = '') => '<title>Docs Home | Site</title><meta name="description" content="docs description">' +
  robots + '<meta property="og:title" content="Root OG"><meta property="og:site_name" content="Site">';
const ROOT_NF = '<h1 id="root-nf">Root not found</h1>';

async function get(srv, path, status, opts) {
  const r = await ask(srv, 'GET', path, opts);
  assert.equal(r.status, status, `GET ${path}: status${ctx(r)}`);
  return r;
}

// The digest an error page shows, checked against the server's log line
// for that request (which names the message and its source).
async function digestLogged(srv, r, path, message, source) {
  const m = /<p class="digest">([0-9a-f]{8})<\/p>/.exec(r.text());
  assert.ok(m, `an 8-hex-digit digest on the page${ctx(r)}`);
  const line = `cairn: GET ${path}: ${message} (at ${source}; digest ${m[1]})`;
  await srv.waitFor(() => srv.stderr.includes(line), 5000, `the log line ${JSON.stringify(line)}`);
  return m[1];
}

// ------------------------------------------------------------ not found

test('cn_not_found in a page loader: the section\'s not-found.html inside root + section layouts, 404, noindex', async () => {
  const r = await get(prod, '/docs/missing', 404);
  assert.equal(r.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.text(), rootDoc(DOCS_META(NOINDEX),
    '<section class="docs">DOCS[Docs|missing|missing]<h2 id="docs-nf">Docs page not found</h2></section>', 'missing'), ctx(r));
});

test('cn_not_found in a page without a not-found.html beside it: the root one, inside the root layout only', async () => {
  const r = await get(prod, '/nf', 404);
  assert.equal(r.text(), rootDoc(ROOT_NF_META, ROOT_NF), ctx(r));
});

test('cn_not_found in a layout loader: the boundary ABOVE that layout (root), not the section\'s own', async () => {
  const r = await get(prod, '/docs/layout-missing', 404);
  assert.equal(r.text(), rootDoc(ROOT_NF_META, ROOT_NF, 'layout-missing'), ctx(r));
  assert.ok(!r.text().includes('docs-nf') && !r.text().includes('class="docs"'), ctx(r));
});

test('an unmatched URL: the root not-found.html in the root layout, 404, noindex', async () => {
  for (const path of ['/nope', '/docs/a/b/c', '/meta/none', '/%E2%9C%93']) {
    const r = await get(prod, path, 404);
    assert.equal(r.text(), rootDoc(ROOT_NF_META, ROOT_NF), `GET ${path}${ctx(r)}`);
  }
});

test('an unmatched /api/... URL keeps the JSON 404', async () => {
  const r = await get(prod, '/api/nope', 404);
  assert.match(r.get('content-type'), /^application\/json/, ctx(r));
  assert.deepEqual(r.json(), { error: 'This page could not be found.', status: 404 }, ctx(r));
});

test('no not-found.html anywhere: the built-in text inside the root layout, for an unmatched URL and for cn_not_found', async () => {
  const want = `<html><head>${HEAD_DEFAULTS}${NOINDEX}</head><body><main><h1>404</h1>` +
    '<p>This page could not be found.</p></main></body></html>';
  for (const path of ['/nope', '/gone']) {
    const r = await get(bare, path, 404);
    assert.equal(r.get('content-type'), 'text/html; charset=utf-8');
    // the title is checked on its own below
    assert.equal(r.text().replace(/<title>[^<]*<\/title>/, ''), want, `GET ${path}${ctx(r)}`);
  }
});

test('no not-found.html and no title anywhere: the built-in 404 page is titled as Next.js titles it', async () => {
  const r = await get(bare, '/nope', 404);
  assert.ok(r.text().includes('<title>404: This page could not be found.</title>'), ctx(r));
});

test('a root layout without <head>: one is made right after <html>', async () => {
  const r = await get(bare, '/', 200);
  assert.equal(r.text(), `<html><head>${HEAD_DEFAULTS}<title>Bare &amp; &lt;Home&gt;</title>` +
    '<meta name="description" content="bare"></head><body><main><p>bare home</p></main></body></html>', ctx(r));
});

// --------------------------------------------------------------- errors

test('cn_fail in a page loader: the section\'s error.html inside root + section layouts, 500, generic message, digest logged', async () => {
  const r = await get(prod, '/docs/boom', 500);
  assert.equal(r.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.get('cache-control'), 'no-store', ctx(r));
  const t = r.text();
  const digest = /<p class="digest">([0-9a-f]{8})<\/p>/.exec(t)?.[1];
  assert.equal(t, rootDoc(DOCS_META(), '<section class="docs">DOCS[Docs|boom|boom]<h2 id="docs-err">Docs error</h2>' +
    `<p class="msg">${GENERIC}</p><p class="digest">${digest}</p><p class="src"></p></section>`, 'boom'), ctx(r));
  for (const secret of ['NO DOC', 'secret', 'page.c', 'app/'])
    assert.ok(!t.includes(secret), `production shows no ${secret}${ctx(r)}`);
  const line = lineOf(prod.dir, 'app/docs/[slug]/page.c', 'NO DOC');
  await digestLogged(prod, r, '/docs/boom', 'NO DOC <boom> & "secret"', `app/docs/[slug]/page.c:${line}`);
});

test('the same failure twice gives the same digest; a different failure another', async () => {
  const a = /<p class="digest">([0-9a-f]{8})/.exec((await get(prod, '/docs/boom', 500)).text())[1];
  const b = /<p class="digest">([0-9a-f]{8})/.exec((await get(prod, '/docs/boom', 500)).text())[1];
  const c = /<p class="digest">([0-9a-f]{8})/.exec((await get(prod, '/broken', 500)).text())[1];
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('a failing layout loader: the error boundary ABOVE that layout (root error.html), in the root layout only', async () => {
  const r = await get(prod, '/docs/layout-boom', 500);
  const t = r.text();
  const digest = /<p class="digest">([0-9a-f]{8})<\/p>/.exec(t)?.[1];
  assert.equal(t, rootDoc(ROOT_META, '<h1 id="root-err">Root error</h1>' +
    `<p class="msg">${GENERIC}</p><p class="digest">${digest}</p><p class="src"></p>`, 'layout-boom'), ctx(r));
  const line = lineOf(prod.dir, 'app/docs/layout.c', 'DOCS LAYOUT EXPLODED');
  await digestLogged(prod, r, '/docs/layout-boom', 'DOCS LAYOUT EXPLODED', `app/docs/layout.c:${line}`);
});

test('a loader that fails without cn_fail: the root error.html, 500, logged with its file', async () => {
  const r = await get(prod, '/broken', 500);
  assert.ok(r.text().includes(`<h1 id="root-err">Root error</h1><p class="msg">${GENERIC}</p>`), ctx(r));
  await digestLogged(prod, r, '/broken', 'the loader failed: input/output error', 'app/broken/page.c');
});

test('no error.html anywhere: the built-in page with the digest, the message only in the log', async () => {
  const r = await get(bare, '/fail', 500);
  const t = r.text();
  const digest = /<p>Digest: ([0-9a-f]{8})<\/p>/.exec(t)?.[1];
  assert.ok(digest, ctx(r));
  assert.equal(t, `<!DOCTYPE html><html><head>${HEAD_DEFAULTS}<title>500: Internal Server Error</title></head><body>` +
    `<h1>Application error: a server-side exception has occurred</h1><p>Digest: ${digest}</p></body></html>`, ctx(r));
  const line = lineOf(bare.dir, 'app/fail/page.c', 'BARE FAILURE');
  const log = `cairn: GET /fail: BARE FAILURE 42 <b> (at app/fail/page.c:${line}; digest ${digest})`;
  await bare.waitFor(() => bare.stderr.includes(log), 5000, log);
});

test('--dev: the error page shows the real message (escaped) and its source file:line', async () => {
  const r = await get(dev, '/docs/boom', 500);
  const line = lineOf(dev.dir, 'app/docs/[slug]/page.c', 'NO DOC');
  const t = r.text();
  assert.ok(t.includes('<h2 id="docs-err">Docs error</h2><p class="msg">NO DOC &lt;boom&gt; &amp; &quot;secret&quot;</p>'), ctx(r));
  assert.ok(t.includes(`<p class="src">app/docs/[slug]/page.c:${line}</p>`), ctx(r));
  assert.ok(!t.includes(dev.dir), `no absolute path of the build machine${ctx(r)}`);
  const l = await get(dev, '/docs/layout-boom', 500);
  const lline = lineOf(dev.dir, 'app/docs/layout.c', 'DOCS LAYOUT EXPLODED');
  assert.ok(l.text().includes(`<h1 id="root-err">Root error</h1><p class="msg">DOCS LAYOUT EXPLODED</p>`), ctx(l));
  assert.ok(l.text().includes(`<p class="src">app/docs/layout.c:${lline}</p>`), ctx(l));
});

test('the server keeps serving after failures, not-founds and redirects', async () => {
  const bursts = [];
  for (let i = 0; i < 5; i++)
    for (const p of ['/docs/boom', '/docs/layout-boom', '/broken', '/docs/missing', '/docs/redirect', '/nope'])
      bursts.push(ask(prod, 'GET', p).then((r) => [p, r.status]));
  const got = await Promise.all(bursts);
  const want = { '/docs/boom': 500, '/docs/layout-boom': 500, '/broken': 500, '/docs/missing': 404, '/docs/redirect': 307, '/nope': 404 };
  for (const [p, s] of got) assert.equal(s, want[p], p);
  const home = await get(prod, '/', 200);
  assert.ok(home.text().includes('<h1>Home</h1>'), ctx(home));
  const docs = await get(prod, '/docs/intro', 200);
  assert.ok(docs.text().includes('<article>Doc intro|intro|'), ctx(docs));
});

// ------------------------------------------------------------ redirects

const REDIRECTS = [
  ['/docs/redirect', 307, '/docs/intro', 'cn_redirect(req, 0, ...) in a page loader'],
  ['/docs/moved', 308, '/docs/setup?from=moved', 'cn_redirect(req, 308, ...) in a page loader'],
  ['/docs/layout-redirect', 308, '/docs', 'cn_redirect in a layout loader'],
  ['/go/temp', 307, '/docs/intro', 'a static page redirecting (decided at build)'],
  ['/go/perm', 308, '/docs', 'a static page redirecting permanently (decided at build)'],
];
for (const [path, status, location, what] of REDIRECTS) {
  test(`${what}: ${status} with Location ${location}, no page rendered`, async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get(prod, path, status);
      assert.equal(r.get('location'), location, ctx(r));
      assert.equal(r.count('location'), 1, ctx(r));
      assert.ok(!/<html|never shown/.test(r.text()), `no page in a redirect${ctx(r)}`);
      const h = await ask(prod, 'HEAD', path);
      assert.equal(h.status, status, ctx(h));
      assert.equal(h.get('location'), location, ctx(h));
      assert.equal(h.body.length, 0, ctx(h));
    }
  });
}

test('fetch follows a loader\'s redirect to the page it names', async () => {
  const r = await fetch(`${prod.url}/docs/redirect`);
  assert.equal(r.status, 200);
  assert.equal(r.url, `${prod.url}/docs/intro`);
  assert.ok((await r.text()).includes('<article>Doc intro|intro|'));
});

test('SIGTERM: the servers exit 0 with no sanitizer report', () => stopAll(prod, dev, bare));
