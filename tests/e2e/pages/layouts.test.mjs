// Pages (issue 5): nested layouts root to leaf, each with its own loader
// (which sees the page's params), {{{children}}} placement, partials from
// components/ before the page's folder, and loaders with params: [slug],
// [...path] as an array, [[...opt]] absent or present. Whole bodies are
// compared byte for byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_META, ask, ctx, killAll, rootDoc, startApp, stopAll } from './harness.mjs';

let srv;
before(async () => { srv = await startApp('pages'); });
after(() => killAll(srv));

async function page(path, status = 200, opts = {}) {
  const r = await ask(srv, 'GET', path, opts);
  assert.equal(r.status, status, `GET ${path}: status${ctx(r)}`);
  assert.equal(r.get('content-type'), 'text/html; charset=utf-8', `GET ${path}: content type${ctx(r)}`);
  return r;
}

const DOCS_META = (title) => `<title>${title}</title><meta name="description" content="docs description">` +
  '<meta property="og:title" content="Root OG"><meta property="og:site_name" content="Site">';
const BADGE = '<b class="badge">components badge</b>';

test('the home page: root layout around the page, metadata in the layout\'s own <head>, a partial from components/', async () => {
  const r = await page('/');
  assert.equal(r.text(), rootDoc(ROOT_META, `<h1>Home</h1>${BADGE}`), ctx(r));
});

test('a section layout inside the root layout: each level\'s loader fills its own template', async () => {
  const r = await page('/docs');
  assert.equal(r.text(), rootDoc(DOCS_META('Docs Home | Site'),
    '<section class="docs">DOCS[Docs||]<p>docs index</p></section>'), ctx(r));
});

test('root layout + section layout + page: output root to leaf, each layout loader sees the params', async () => {
  const r = await page('/docs/intro');
  const want = rootDoc(DOCS_META('Doc intro · Docs'),
    '<section class="docs">DOCS[Docs|intro|intro]<article>Doc intro|intro|' + BADGE +
    '|<i>local partial Doc intro</i></article></section>', 'intro');
  assert.equal(r.text(), want, ctx(r));
  const t = r.text();
  const order = ['<header>ROOT[', '<section class="docs">DOCS[', '<article>', '</article>', '</section>', '<footer>/ROOT</footer>']
    .map((s) => t.indexOf(s));
  assert.ok(order.every((v, i) => v >= 0 && (i === 0 || v > order[i - 1])), `root, section, page, then closing in reverse: ${order}`);
});

test('an on-demand param renders the same chain with its own params, decoded', async () => {
  for (const [path, slug, shown] of [['/docs/zeta', 'zeta', 'zeta'], ['/docs/caf%C3%A9', 'café', 'café'], ['/docs/x%20y', 'x y', 'x y']]) {
    const r = await page(path);
    assert.equal(r.text(), rootDoc(DOCS_META(`Doc ${shown} · Docs`),
      `<section class="docs">DOCS[Docs|${slug}|${slug}]<article>Doc ${slug}|${slug}|${BADGE}` +
      `|<i>local partial Doc ${slug}</i></article></section>`, slug), `GET ${path}${ctx(r)}`);
  }
});

test('partials: components/badge.html wins over the page folder\'s badge.html; local.html comes from the page folder', async () => {
  const t = (await page('/docs/setup')).text();
  assert.ok(t.includes(`|${BADGE}|`), t);
  assert.ok(!t.includes('PAGE-FOLDER'), `the page folder's badge.html must lose to components/: ${t}`);
  assert.ok(t.includes('|<i>local partial Doc setup</i></article>'), t);
});

test('a catch-all param is an array in the template, one element per segment, %2F kept inside', async () => {
  const cases = [
    ['/files/a/b', ['a', 'b']],
    ['/files/one', ['one']],
    ['/files/a%2Fb/c%20d/%E2%82%AC', ['a/b', 'c d', '€']],
    ['/files/%3Cx%3E/%26', ['&lt;x&gt;', '&amp;']],
  ];
  for (const [path, items] of cases) {
    const r = await page(path);
    assert.equal(r.text(), rootDoc(ROOT_META, `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul><p>files</p>`), `GET ${path}${ctx(r)}`);
  }
});

test('an optional catch-all: absent from params at the bare path, an array when present', async () => {
  const cases = [
    ['/opt', 'none'],
    ['/opt/a', '[a]'],
    ['/opt/a/b%2Fc/%3Cs%3E', '[a][b/c][&lt;s&gt;]'],
  ];
  for (const [path, shown] of cases) {
    const r = await page(path);
    assert.equal(r.text(), rootDoc(ROOT_META, `<p>opt:${shown}</p>`), `GET ${path}${ctx(r)}`);
  }
});

test('a catch-all without its required segment is not this page: the root not-found, 404', async () => {
  const r = await page('/files', 404);
  assert.ok(r.text().includes('<h1 id="root-nf">Root not found</h1>'), ctx(r));
});

test('a layout loader reading a header: the theme shows, rendered per request', async () => {
  const a = await page('/lay-dyn', 200, { headers: { 'X-Theme': 'dark' } });
  assert.equal(a.text(), rootDoc(ROOT_META, '<div class="theme-dark"><p>layout reads a header</p></div>'), ctx(a));
  const b = await page('/lay-dyn', 200, { headers: { 'X-Theme': '"><script>' } });
  assert.ok(b.text().includes('<div class="theme-&quot;&gt;&lt;script&gt;"><p>'), ctx(b));
  const c = await page('/lay-dyn');
  assert.ok(c.text().includes('<div class="theme-none">'), ctx(c));
});

test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
