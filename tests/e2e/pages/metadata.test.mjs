// Pages (issue 5): metadata merged root to leaf into <head> (title
// templates, title_absolute, generate_metadata over static fields, og_*
// replaced as a group, every value escaped), and hostile props in
// templates: only {{{x}}} and {{&x}} write raw.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAD_DEFAULTS, ask, ctx, killAll, rootDoc, startApp, stopAll } from './harness.mjs';

let srv;
before(async () => { srv = await startApp('pages'); });
after(() => killAll(srv));

async function head(path) {
  const r = await ask(srv, 'GET', path);
  assert.equal(r.status, 200, `GET ${path}${ctx(r)}`);
  const t = r.text();
  const m = /<head><link rel="icon" href="\/icon.svg">(.*)<\/head>/.exec(t);
  assert.ok(m, `GET ${path}: the metadata goes into the root layout's <head>, before </head>${ctx(r)}`);
  assert.ok(m[1].startsWith(HEAD_DEFAULTS), `GET ${path}: charset and viewport first${ctx(r)}`);
  assert.equal(t.split('<head>').length, 2, `one <head>${ctx(r)}`);
  assert.equal(t.split('<title>').length, t.includes('<title>') ? 2 : 1, `at most one <title>${ctx(r)}`);
  return m[1].slice(HEAD_DEFAULTS.length);
}

const META_OG = '<meta property="og:title" content="Meta OG"><meta property="og:image" content="/meta.png">';
const ROOT_OG = '<meta property="og:title" content="Root OG"><meta property="og:site_name" content="Site">';

// [path, the <head> after the defaults, what it shows]
const HEADS = [
  ['/', '<title>Root Title</title><meta name="description" content="root description">' + ROOT_OG,
    'the root layout\'s own title is not put through its own template'],
  ['/docs', '<title>Docs Home | Site</title><meta name="description" content="docs description">' + ROOT_OG,
    'a section layout\'s title goes through the root template and is the default below it; its description replaces the root\'s'],
  ['/docs/setup', '<title>Doc setup · Docs</title><meta name="description" content="docs description">' + ROOT_OG,
    'generate_metadata\'s title goes through the nearest template only (the section\'s, not the root\'s too)'],
  ['/meta/plain', '<title>Plain — Meta</title><meta name="description" content="meta section">' + META_OG,
    'a section\'s og_* replace the root\'s as a group: og:site_name is gone'],
  ['/meta/absolute', '<title>Absolute Title</title><meta name="description" content="abs">' + META_OG,
    'title_absolute ignores every template'],
  ['/meta/nested', '<title>Nested Default — Meta</title><meta name="description" content="meta section">' + META_OG,
    'a nested layout\'s default title goes through the template above it'],
  ['/meta/nested/deep', '<title>Deep :: Nested</title><meta name="description" content="meta section">' + META_OG,
    'templates never stack: the nearest one applies'],
  ['/meta/generated', '<title>Gen &lt;Name&gt; — Meta</title><meta name="description" content="static description">' +
    '<meta name="keywords" content="k1,k2"><link rel="canonical" href="https://example.com/g">' +
    '<meta property="og:title" content="Static OG"><meta property="og:image" content="/gen.png">',
    'generate_metadata overrides the static fields of its file (title, og_image) and keeps the others; the page\'s og group replaces the section\'s'],
  ['/meta/hostile', '<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; — Meta</title>' +
    '<meta name="description" content="a &quot;quoted&quot; &lt;desc&gt; &amp; &#39;more&#39;">' +
    '<meta name="keywords" content="&lt;k&gt;&amp;&quot;k&quot;"><meta name="robots" content="index, &quot;follow&quot;">' +
    '<link rel="canonical" href="https://e.com/?a=1&amp;b=&lt;2&gt;"><meta property="og:title" content="O&#39;G &lt;t&gt;">' +
    '<meta property="og:url" content="&quot; onmouseover=&quot;alert(1)"><meta property="og:type" content="a&amp;b">',
    'every value escaped, static or computed: quotes, <, >, &'],
];
for (const [path, want, what] of HEADS) {
  test(`metadata of ${path}: ${what}`, async () => {
    assert.equal(await head(path), want);
  });
}

test('hostile metadata computed from a hostile param (/docs/<script>) stays escaped in <title> and in the body', async () => {
  const r = await ask(srv, 'GET', '/docs/%3C%2Ftitle%3E%3Cscript%3E%22');
  assert.equal(r.status, 200, ctx(r));
  const t = r.text();
  assert.ok(t.includes('<title>Doc &lt;/title&gt;&lt;script&gt;&quot; · Docs</title>'), ctx(r));
  assert.ok(t.includes('<article>Doc &lt;/title&gt;&lt;script&gt;&quot;|&lt;/title&gt;&lt;script&gt;&quot;|'), ctx(r));
  assert.ok(!/<script>|<\/title><script/.test(t), `nothing raw${ctx(r)}`);
});

test('hostile props: {{x}} escapes <script>, quotes, attribute breaks and &; {{{x}}} and {{&x}} write raw', async () => {
  const r = await ask(srv, 'GET', '/escape');
  assert.equal(r.status, 200, ctx(r));
  const body = '<div id="e1">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</div>' +
    '<div id="e2"><a title="&quot; onmouseover=&quot;alert(1)">x</a></div>' +
    '<div id="e3">Tom &amp; Jerry</div><div id="e4">it&#39;s</div>' +
    '<div id="e5">[&lt;i&gt;][&amp;]</div><div id="e6">&lt;b&gt;&quot;bold&quot;&lt;/b&gt;</div>' +
    '<div id="r1"><script>alert(\'x\')</script></div><div id="r2">Tom & Jerry</div>' +
    '<div id="r3">" onmouseover="alert(1)</div>';
  const ROOT_META = '<title>Root Title</title><meta name="description" content="root description">' + ROOT_OG;
  assert.equal(r.text(), rootDoc(ROOT_META, body), ctx(r));
});

test('hostile request data in a dynamic page (query, cookie, header) is escaped', async () => {
  const q = await ask(srv, 'GET', '/dyn/query?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%26amp%3B');
  assert.ok(q.text().includes('<p>query:&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;</p>'), ctx(q));
  const c = await ask(srv, 'GET', '/dyn/cookie', { headers: { Cookie: 'who=<b>\'x\'</b>' } });
  assert.ok(c.text().includes('<p>cookie:&lt;b&gt;&#39;x&#39;&lt;/b&gt;</p>'), ctx(c));
  const h = await ask(srv, 'GET', '/dyn/header', { headers: { 'X-Who': '" onload="x' } });
  assert.ok(h.text().includes('<p>header:&quot; onload=&quot;x</p>'), ctx(h));
});

test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
