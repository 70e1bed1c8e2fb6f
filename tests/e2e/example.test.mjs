// The example app (examples/app), built with `cairn build` from a copy in a
// temporary directory and served by its own .cairn/server: what `make run`
// shows a newcomer must keep working. Pages (home, blog list, prerendered
// and on-demand posts, not-found and error pages, metadata), then the API
// routes, middleware and public files it links to; then its forms, and the
// live tasks page with its islands, in Chromium as well.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from './lib/browser.mjs';
import { REPO, Server } from './lib/server.mjs';
import { runCairn } from './routing/harness.mjs';

let srv, dir, build, browser;
const url = (p) => `http://127.0.0.1:${srv.port}${p}`;
const get = (p, init) => fetch(url(p), { redirect: 'manual', ...init });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-example-'));
  cpSync(join(REPO, 'examples', 'app'), dir, {
    recursive: true, filter: (src) => !src.includes('/.cairn'),
  });
  build = await runCairn(['build', dir]);
  assert.equal(build.code, 0, build.stdout + build.stderr);
  const proc = spawn(join(dir, '.cairn', 'server'), [], {
    cwd: dir, env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', CAIRN_REVALIDATE_SECRET: 'example-secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  srv = new Server(proc, { root: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }, true);
  await srv.ready(20000);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('the build prints each page with the kind Next.js would give it', () => {
  const out = build.stdout;
  assert.match(out, /○ \/ +page: static/);
  assert.match(out, /○ \/blog +page: static/);
  assert.match(out, /● \/blog\/\[slug\] +page: prerendered/);
  assert.match(out, /├ \/blog\/hello-cairn\n.*└ \/blog\/layouts\n/);
  assert.match(out, /ƒ \/hello +page: dynamic/);
});

test('home: root layout around the page, metadata in <head>, served from memory', async () => {
  const r = await get('/');
  const body = await r.text();
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.headers.get('x-cairn-cache'), 'HIT');
  assert.match(body, /^<!doctype html>\n<html lang="en">\n<head>\n<link rel="stylesheet" href="\/style.css">\n<meta charset="utf-8">/);
  assert.match(body, /<title>cairn<\/title><meta name="description" content="The Next.js server runtime, rebuilt in C.">/);
  assert.match(body, /<meta property="og:type" content="website"><meta property="og:site_name" content="cairn"><\/head>/);
  assert.match(body, /<main>\n<h1>cairn<\/h1>[\s\S]*<\/main>\n<footer>Served by cairn \d+\.\d+\.\d+<\/footer>/);
  const again = await get('/', { headers: { 'if-none-match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), '');
});

test('blog: the list inside the blog layout, each post through the components/ partial', async () => {
  const r = await get('/blog');
  const body = await r.text();
  assert.equal(r.status, 200);
  assert.match(body, /<title>Blog \| cairn<\/title>/);
  assert.match(body, /<div class="blog">\n<aside><a href="\/blog">All posts<\/a><\/aside>\n<section>\n<h1>Blog<\/h1>/);
  for (const slug of ['hello-cairn', 'layouts', 'on-demand'])
    assert.match(body, new RegExp(`<li><a href="/blog/${slug}">`));
  assert.match(body, /<a href="\/blog\/hello-cairn">Hello, cairn<\/a> <time>2026-11-01<\/time><br>What cairn is and why it is written in C.<\/li>/);
});

test('a prerendered post: from the build, title and Open Graph from its props', async () => {
  const r = await get('/blog/layouts');
  const body = await r.text();
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-cairn-cache'), 'HIT');
  assert.match(body, /<title>Layouts that wrap every page \| cairn<\/title>/);
  assert.match(body, /<meta name="description" content="How layout.html nests from the root to the page.">/);
  // og_* set by the post replace the root's as one group (no og:site_name).
  assert.match(body, /<meta property="og:title" content="Layouts that wrap every page"><meta property="og:type" content="article"><\/head>/);
  assert.equal(r.headers.get('cache-control'), 's-maxage=60, stale-while-revalidate=31535940', 'ISR');
  assert.match(body, /<p>A layout renders around everything below it; \{\{\{children\}\}\} marks where the page goes.<\/p>/);
});

test('an unlisted post renders on its first request and is kept', async () => {
  const first = await get('/blog/on-demand');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('x-cairn-cache'), 'MISS');
  assert.equal(first.headers.get('cache-control'), 's-maxage=60, stale-while-revalidate=31535940');
  assert.match(await first.text(), /<h1>Rendered on demand, then kept<\/h1>/);
  const second = await get('/blog/on-demand');
  assert.equal(second.status, 200);
  assert.equal(second.headers.get('x-cairn-cache'), 'HIT');
});

test('an unknown post: the blog not-found page inside both layouts, 404, noindex', async () => {
  const r = await get('/blog/nope');
  const body = await r.text();
  assert.equal(r.status, 404);
  assert.match(body, /<meta name="robots" content="noindex">/);
  assert.match(body, /<section>\n<h1>No such post<\/h1>/);
  assert.match(body, /<footer>Served by cairn/);
});

test('an unknown URL: the root not-found page; an unknown API path keeps its JSON 404', async () => {
  const r = await get('/no/such/page');
  assert.equal(r.status, 404);
  const body = await r.text();
  assert.match(body, /<main>\n<h1>Not found<\/h1>/);
  assert.doesNotMatch(body, /No such post/);
  const api = await get('/api/nope');
  assert.equal(api.status, 404);
  assert.deepEqual(await api.json(), { error: 'This page could not be found.', status: 404 });
});

test('/hello reads the query: rendered per request, escaped', async () => {
  const r = await get('/hello?name=%3Cb%3E%22x%22');
  const body = await r.text();
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-cairn-cache'), null);
  assert.equal(r.headers.get('cache-control'), 'private, no-cache, no-store, max-age=0, must-revalidate');
  assert.match(body, /<h1>Hello, &lt;b&gt;&quot;x&quot;!<\/h1>/);
  assert.match(body, /<title>Hello \| cairn<\/title>/);
  assert.match(await (await get('/hello?name=bob')).text(), /<h1>Hello, bob!<\/h1>/);
  assert.match(await (await get('/hello')).text(), /<h1>Hello, stranger!<\/h1>/);
});

test('a failing loader: the root error page with a digest the log names too', async () => {
  const r = await get(`/hello?name=${'x'.repeat(65)}`);
  const body = await r.text();
  assert.equal(r.status, 500);
  assert.match(body, /<h1>Something went wrong<\/h1>\n<p>An error occurred while rendering this page.<\/p>/);
  const digest = body.match(/Digest: ([0-9a-f]{8})/)[1];
  await srv.waitFor(() => srv.stderr.includes(`digest ${digest}`), 5000, 'the error in the log');
  assert.match(srv.stderr, /a name of 65 bytes is too long \(at app\/hello\/page.c:\d+; digest/);
  assert.equal((await get('/')).status, 200, 'still serving');
});

test('the routes, middleware and public files the home page links to', async () => {
  assert.deepEqual(await (await get('/api/hello')).json(), { message: 'Hello' });
  assert.equal((await get('/api/users/42')).status, 200);
  assert.equal((await get('/api/files/a/b/c')).status, 200);
  assert.equal((await get('/api/post/abc?pid=123')).status, 200);
  assert.equal((await get('/api/old/x/y')).status, 200);
  assert.equal(await (await get('/hello.txt')).text(), await (await fetch(url('/hello.txt'))).text());
  assert.equal((await get('/style.css')).status, 200);
});

test('dashboard: the shell with both fallbacks first, then activity, then stats', async (t) => {
  const t0 = performance.now();
  const r = await get('/dashboard');
  t.diagnostic(`time to first byte: ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  while (!text.includes('Loading activity…</p></cairn-defer>')) {
    const { value, done } = await reader.read();
    assert.ok(!done, text);
    text += dec.decode(value, { stream: true });
  }
  assert.match(text, /<cairn-defer id="cd0"><p class="loading">Counting visitors…<\/p><\/cairn-defer>/);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  const activity = text.indexOf('<div id="cc1"><ol class="activity"><li>ann signed up</li>');
  const stats = text.indexOf('<div id="cc0"><ul class="stats"><li>Mon: <b>120</b></li>');
  assert.ok(activity > 0 && stats > activity, `activity (300 ms) before stats (1 s): ${text}`);
  assert.match(text, /<\/script><\/body>\n<\/html>\n$/);
});

test('dashboard in Chromium: both fallbacks painted, then each section in its place, the clock ticking', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    // What the page showed at the moment activity arrived, seen from inside
    // the page (a test's own later look could come after stats, too).
    await page.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (!document.querySelector('ol.activity li')) return;
        window.atActivity = document.body.textContent;
        obs.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(url('/dashboard'), { waitUntil: 'commit' });
    await page.waitForSelector('p.loading', { timeout: 10000 });
    // activity (300 ms) replaces its fallback while stats (1 s) still shows its own
    await page.waitForSelector('ol.activity li', { timeout: 10000 });
    assert.equal(await page.textContent('ol.activity li'), 'ann signed up');
    assert.match(await page.evaluate(() => window.atActivity), /Counting visitors…/);
    await page.waitForSelector('ul.stats li', { timeout: 10000 });
    assert.equal(await page.$('p.loading'), null, 'no fallback left');
    assert.equal(await page.$('cairn-defer'), null);
    // h2 Visitors, its stats, h2 Recent activity, its list: in that order
    const order = await page.$$eval('main > *', (els) => els.map((e) => e.tagName + (e.className ? `.${e.className}` : '')));
    assert.deepEqual(order.filter((x) => /^(H2|UL|OL)/.test(x)), ['H2', 'UL.stats', 'H2', 'OL.activity']);
    // The page's own EventSource fills the clock from /api/clock.
    await page.waitForFunction(() => /^\d\d:\d\d:\d\d$/.test(document.getElementById('clock').textContent), null, { timeout: 10000 });
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('/api/clock: Server-Sent Events with ids, a retry and the time', async () => {
  const r = await get('/api/clock?count=2&every=10');
  assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.match(await r.text(), /^retry: 2000\n\nevent: tick\nid: 1\ndata: \d\d:\d\d:\d\d\n\nevent: tick\nid: 2\ndata: \d\d:\d\d:\d\d\n\n$/);
});

test('revalidating the tag "posts" refreshes the blog list through the webhook', async () => {
  assert.equal((await get('/blog')).headers.get('x-cairn-cache'), 'HIT');
  const denied = await fetch(url('/_cairn/revalidate?tag=posts'), { method: 'POST' });
  assert.equal(denied.status, 401);
  const ok = await fetch(url('/_cairn/revalidate?tag=posts'), { method: 'POST', headers: { authorization: 'Bearer example-secret' } });
  assert.equal(ok.status, 200);
  assert.equal((await get('/blog')).headers.get('x-cairn-cache'), 'REVALIDATED');
  assert.equal((await get('/blog')).headers.get('x-cairn-cache'), 'HIT');
  assert.equal((await get('/')).headers.get('x-cairn-cache'), 'HIT', 'the home page does not carry the tag');
});

// The action ID and the form's fields of a page, as a browser would post them.
async function formOf(path) {
  const html = await (await get(path)).text();
  const id = html.match(/name="\$ACTION_ID" value="([0-9a-f]{40})"/)[1];
  return id;
}

const submit = (path, fields, headers = {}) => get(path, {
  method: 'POST',
  headers: { origin: `http://127.0.0.1:${srv.port}`, ...headers },
  body: new URLSearchParams(fields),
});

test('sign-up: errors next to their fields with the typed values kept, then welcome and a cookie', async () => {
  const id = await formOf('/signup');
  const bad = await submit('/signup', { $ACTION_ID: id, name: 'A', email: 'nope', age: '7', plan: 'gold' });
  assert.equal(bad.status, 200);
  assert.equal(bad.headers.get('cache-control'), 'no-cache, no-store, max-age=0, must-revalidate');
  const html = await bad.text();
  assert.match(html, /<span class="error">Name must be 2 to 40 characters long<\/span>/);
  assert.match(html, /<span class="error">Email must be an email address<\/span>/);
  assert.match(html, /<span class="error">Age must be a whole number from 13 to 130<\/span>/);
  assert.match(html, /<span class="error">Plan must be one of free,pro<\/span>/);
  assert.match(html, /<input name="email" type="email" value="nope">/);
  const ok = await submit('/signup', { $ACTION_ID: id, name: 'Ann <b>', email: 'ann@example.com', age: '30', plan: 'pro' });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('set-cookie'), /^member=1; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/);
  assert.match(await ok.text(), /<p class="welcome">Welcome, Ann &lt;b&gt;! A cookie now remembers you.<\/p>/);
  const foreign = await submit('/signup', { $ACTION_ID: id, name: 'x' }, { origin: 'https://evil.example' });
  assert.equal(foreign.status, 403);
});

test('a new post: its action revalidates the blog and sends the browser to the post (303)', async () => {
  const id = await formOf('/blog/new');
  const r = await submit('/blog/new', { $ACTION_ID: id, title: 'Streams in C', body: 'A post written through the form.' });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/blog/streams-in-c-1');
  const post = await get('/blog/streams-in-c-1');
  assert.equal(post.status, 200);
  assert.match(await post.text(), /<h1>Streams in C<\/h1>/);
  const list = await get('/blog');
  assert.equal(list.headers.get('x-cairn-cache'), 'REVALIDATED');
  assert.match(await list.text(), /<a href="\/blog\/streams-in-c-1">Streams in C<\/a>/);
  const short = await submit('/blog/new', { $ACTION_ID: id, title: 'x', body: '' });
  assert.match(await short.text(), /Title must be 3 to 80 characters long[\s\S]*Text is required/);
});

test('the admin action revalidates the tag "posts": the blog renders afresh', async () => {
  assert.equal((await get('/blog')).headers.get('x-cairn-cache'), 'HIT');
  const id = await formOf('/admin');
  const r = await submit('/admin', { $ACTION_ID: id });
  assert.equal(r.status, 200);
  assert.match(await r.text(), /<p class="done">The blog will be rendered afresh on its next visit.<\/p>/);
  assert.equal((await get('/blog')).headers.get('x-cairn-cache'), 'REVALIDATED');
  assert.equal((await get('/blog')).headers.get('x-cairn-cache'), 'HIT');
});

// ------------------------------------------- the forms in Chromium, JS off and on

// The sign-up form as a person fills it: bad values first, then good ones.
async function signUp(page, { name, age }) {
  await page.fill('input[name=name]', name);
  await page.fill('input[name=email]', 'ann@example.com');
  await page.fill('input[name=age]', age);
  await page.selectOption('select[name=plan]', 'pro');
  await page.click('button');
}

for (const js of [false, true]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';

  test(`sign-up in Chromium ${how}: errors shown with what was typed, then welcome and the cookie`, async () => {
    browser ??= await launch();
    const page = await openPage(browser, { javaScriptEnabled: js });
    try {
      await page.goto(url('/signup'));
      if (js) await page.evaluate(() => { window.stayed = 'same document'; });
      await signUp(page, { name: 'A', age: '7' });
      await page.waitForSelector('span.error');
      assert.deepEqual(await page.$$eval('span.error', (s) => s.map((e) => e.textContent)),
        ['Name must be 2 to 40 characters long', 'Age must be a whole number from 13 to 130']);
      assert.equal(await page.inputValue('input[name=name]'), 'A');
      assert.equal(await page.inputValue('input[name=age]'), '7');
      await signUp(page, { name: 'Ann', age: '30' });
      await page.waitForSelector('p.welcome');
      assert.equal(await page.textContent('p.welcome'), 'Welcome, Ann! A cookie now remembers you.');
      const cookies = await page.context().cookies();
      assert.deepEqual(cookies.filter((c) => c.name === 'member').map((c) => [c.value, c.httpOnly, c.sameSite]),
        [['1', true, 'Lax']]);
      // With the script the page was updated in place, never reloaded.
      assert.equal(await page.evaluate(() => window.stayed), js ? 'same document' : undefined);
      assert.equal(page.url(), url('/signup'));
      assert.deepEqual(page.errors, []);
    } finally { await page.closeAll(); }
  });

  test(`a new post in Chromium ${how}: the redirect lands on the post and the blog lists it`, async () => {
    browser ??= await launch();
    const page = await openPage(browser, { javaScriptEnabled: js });
    try {
      const title = `Written ${how}`;
      await page.goto(url('/blog/new'));
      if (js) await page.evaluate(() => { window.stayed = 'same document'; });
      await page.fill('input[name=title]', title);
      await page.fill('textarea[name=body]', 'From a real browser.');
      await page.click('button');
      await page.waitForURL(/\/blog\/written-.*-\d+$/);
      assert.equal(await page.textContent('h1'), title);
      assert.equal(await page.evaluate(() => window.stayed), js ? 'same document' : undefined);
      await page.goto(url('/blog'));
      assert.ok((await page.$$eval('a', (as) => as.map((a) => a.textContent))).includes(title));
      assert.deepEqual(page.errors, []);
    } finally { await page.closeAll(); }
  });
}

test('in Chromium: the form is busy, its button disabled, while its action is pending', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    await page.goto(url('/signup'));
    // The answer is held in the browser until the test has looked: the
    // action has run on the server, the page does not have its answer yet.
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route('**/signup', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const answer = await route.fetch();
      await held;
      return route.fulfill({ response: answer });
    });
    await signUp(page, { name: 'Bea', age: '40' });
    await page.waitForSelector('form[aria-busy=true][data-pending]');
    assert.equal(await page.isDisabled('form button'), true);
    release();
    await page.waitForSelector('p.welcome');
    assert.equal(await page.$('form[aria-busy]'), null);
    assert.equal(await page.textContent('p.welcome'), 'Welcome, Bea! A cookie now remembers you.');
  } finally { await page.closeAll(); }
});

// ------------------------------------------------------------ /tasks

test('tasks: visitors are asked to sign in; the data functions refuse them', async () => {
  const body = await (await get('/tasks')).text();
  assert.match(body, /<a href="\/signin">Sign in<\/a> to keep a list of tasks/);
  assert.doesNotMatch(body, /<cairn-live/);
  const r = await fetch(url('/_cairn/query'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"path":"tasks:list"}' });
  assert.equal(r.status, 401);
});

test('tasks over HTTP: a token from the example route, each user sees only their own, the owner rule guards the rest', async () => {
  const token = async (user) => {
    const r = await fetch(url('/api/auth/token'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) });
    assert.equal(r.status, 200);
    return (await r.json()).token;
  };
  const [gil, hal] = [await token('gil'), await token('hal')];
  const fn = async (kind, path, args, t) => {
    const r = await fetch(url(`/_cairn/${kind}`), {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify({ path, args }),
    });
    return { status: r.status, body: await r.json() };
  };
  const id = (await fn('mutation', 'tasks:add', { title: 'gil\'s task' }, gil)).body.value;
  assert.ok(Number.isInteger(id));
  assert.deepEqual((await fn('query', 'tasks:list', {}, gil)).body.value,
    { items: [{ id, title: 'gil\'s task', done: 0 }], chart: { done: 0, open: 1, total: 1 } });
  assert.deepEqual((await fn('query', 'tasks:list', {}, hal)).body.value, { items: [] }, 'no tasks, no chart');
  assert.equal((await fn('mutation', 'tasks:toggle', { id }, hal)).status, 403);
  assert.equal((await fn('mutation', 'tasks:remove', { id }, hal)).status, 403);
  assert.equal((await fn('mutation', 'tasks:toggle', { id }, gil)).status, 200);
  assert.deepEqual((await fn('query', 'tasks:list', {}, gil)).body.value,
    { items: [{ id, title: 'gil\'s task', done: 1 }], chart: { done: 1, open: 0, total: 1 } });
  assert.equal((await fn('mutation', 'tasks:add', { title: '' }, gil)).status, 400);
  const bad = await fetch(url('/api/auth/token'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":1}' });
  assert.equal(bad.status, 400);
});

test('tasks in Chromium: sign in, add without JavaScript\'s help; two tabs stay live; another user sees none of it', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  const other = await openPage(browser);
  try {
    await page.goto(url('/signin'));
    await page.fill('input[name=name]', 'ivy');
    await page.click('button');
    await page.waitForURL(url('/tasks'));
    const cookies = await page.context().cookies();
    assert.deepEqual(cookies.filter((c) => c.name === 'session').map((c) => [c.httpOnly, c.sameSite]), [[true, 'Lax']]);
    await page.fill('input[name=title]', 'water the plants');
    await page.click('form button:text("Add")');
    await page.waitForSelector('.tasks li:has-text("water the plants")');

    // a second tab: its first paint already has the task (no loading flash)
    const tab2 = await page.context().newPage();
    const first = await (await tab2.goto(url('/tasks'))).text();
    assert.match(first, /<cairn-live[^>]*data-query="tasks:list"[^>]*>\s*<ul class="tasks">[\s\S]*water the plants/);
    await tab2.waitForFunction(() => window.cairnLive && document.querySelector('cairn-live[data-live]'));
    await page.waitForFunction(() => document.querySelector('cairn-live[data-live]'));
    // give both live connections their first transition before changing anything
    await new Promise((r) => setTimeout(r, 300));

    // added in one tab, shown in the other without reload
    await page.evaluate(() => { window.stayed = 'same document'; });
    await tab2.evaluate(() => { window.stayed = 'same document'; });
    await tab2.fill('input[name=title]', 'call mum');
    await tab2.evaluate(() => cairnLive.regions().mutation('tasks:add', { title: 'from a script' }));
    await page.waitForSelector('.tasks li:has-text("from a script")');
    // ticked in the first, struck through in the second
    await page.click('.tasks li:has-text("water the plants") input[type=checkbox]');
    await tab2.waitForSelector('.tasks li.done:has-text("water the plants")');
    // removed in the second, gone from the first
    await tab2.click('.tasks li:has-text("from a script") button');
    await page.waitForSelector('.tasks li:has-text("from a script")', { state: 'detached' });
    assert.equal(await page.evaluate(() => window.stayed), 'same document');
    assert.equal(await tab2.evaluate(() => window.stayed), 'same document');

    // another user, another browser context: none of ivy's tasks
    await other.goto(url('/signin'));
    await other.fill('input[name=name]', 'jon');
    await other.click('button');
    await other.waitForURL(url('/tasks'));
    assert.equal(await other.textContent('.tasks'), '\nNothing to do.\n');
    await other.fill('input[name=title]', 'jon\'s only');
    await other.click('form button:text("Add")');
    await other.waitForSelector('.tasks li:has-text("jon\'s only")');
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(await page.textContent('.tasks'), /jon/);

    // sign out: back to the sign-in page, and /tasks asks to sign in
    await page.click('button:text("Sign out")');
    await page.waitForURL(url('/signin'));
    await page.goto(url('/tasks'));
    assert.match(await page.textContent('main'), /Sign in to keep a list of tasks/);
    assert.deepEqual([...page.errors, ...other.errors], []);
  } finally {
    await page.closeAll();
    await other.closeAll();
  }
});

// ------------------------------------------------------ /tasks: its islands

async function signIn(page, name) {
  await page.goto(url('/signin'));
  await page.fill('input[name=name]', name);
  await page.click('button');
  await page.waitForURL(url('/tasks'));
}

const CHART = 'cairn-live cairn-island[data-strategy=visible]';

test('tasks in Chromium: the title field counts its characters as one types, and says what is left once typing pauses', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    await signIn(page, 'lea');
    await page.waitForSelector('cairn-island[data-mounted] .hint.count');
    assert.equal(await page.textContent('.hint'), '0/200');
    assert.equal(await page.getAttribute('.hint', 'aria-hidden'), 'true', 'not read out on every key');
    await page.fill('input[name=title]', 'buy milk');
    assert.equal(await page.textContent('.hint'), '8/200');
    await page.press('input[name=title]', 'Backspace');
    await page.type('input[name=title]', 'k!');
    assert.equal(await page.textContent('.hint'), '9/200');
    assert.equal(await page.$('.hint.full'), null);
    await page.fill('input[name=title]', 'x'.repeat(200));
    assert.equal(await page.textContent('.hint'), '200/200');
    assert.ok(await page.$('.hint.full'), 'marked at the limit');
    await page.waitForFunction(() => document.querySelector('[aria-live=polite]').textContent === '0 characters left',
      null, { timeout: 5000 });
    // inside the island the field is still the form's; the page the action
    // brings back has a new field, counted from zero
    await page.fill('input[name=title]', 'counted');
    await page.click('form button:text("Add")');
    await page.waitForSelector('.tasks li:has-text("counted")');
    await page.waitForSelector('cairn-island[data-mounted] .hint.count');
    assert.equal(await page.textContent('.hint'), '0/200', 'a fresh field, counted afresh');
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('tasks in Chromium: the chart below the list loads only when scrolled to, shows done and open, and follows the list', async () => {
  browser ??= await launch();
  // a phone-sized window: the chart starts below the fold
  const page = await openPage(browser, { viewport: { width: 360, height: 300 } });
  try {
    await signIn(page, 'max');
    await page.waitForSelector('cairn-live[data-live]');
    await page.evaluate(async () => {
      const live = cairnLive.regions();
      for (const title of ['sweep', 'dust', 'mop', 'tidy']) await live.mutation('tasks:add', { title });
    });
    await page.click('.tasks li:has-text("dust") input[type=checkbox]');
    await page.waitForSelector('.tasks li.done:has-text("dust")');

    const requested = [];
    page.on('request', (q) => requested.push(new URL(q.url()).pathname));
    await page.goto(url('/tasks'));
    await page.waitForSelector('cairn-live[data-live]');
    await page.waitForSelector('cairn-island[data-mounted] .hint.count'); // the page's other island is up
    await new Promise((r) => setTimeout(r, 500)); // and the region's first transition is in
    const where = await page.$eval(CHART, (el) => [el.getBoundingClientRect().top, innerHeight]);
    assert.ok(where[0] > where[1], `off-screen at first: top ${where[0]}, window ${where[1]}`);
    assert.deepEqual(requested.filter((p) => p.endsWith('/chart.js')), [], 'not loaded before it is seen');
    assert.equal(await page.$('figure.chart'), null);
    assert.equal(await page.textContent(`${CHART} p.progress`), '1 of 4 done');

    await page.$eval(CHART, (el) => el.scrollIntoView());
    await page.waitForSelector('figure.chart');
    assert.equal(requested.filter((p) => /^\/_cairn\/m\/[0-9a-f]{16}\/chart\.js$/.test(p)).length, 1, requested.join(' '));
    const chart = () => page.$eval('figure.chart', (f) => ({
      caption: f.querySelector('figcaption').textContent,
      bars: [...f.querySelectorAll('rect')].map((r) => [r.getAttribute('class'), r.getAttribute('x'), r.getAttribute('width')]),
    }));
    assert.deepEqual(await chart(), { caption: '1 done · 3 open', bars: [['done', '0%', '25%'], ['open', '25%', '75%']] });

    // added elsewhere: the region comes back with the chart mounted afresh
    await page.evaluate(() => cairnLive.regions().mutation('tasks:add', { title: 'iron' }));
    await page.waitForFunction(() => document.querySelector('figure.chart figcaption')?.textContent === '1 done · 4 open',
      null, { timeout: 10000 });
    assert.deepEqual((await chart()).bars, [['done', '0%', '20%'], ['open', '20%', '80%']]);
    // ticked here: the list scrolls up to the box, the chart counts it when seen again
    await page.click('.tasks li:has-text("mop") input[type=checkbox]');
    await page.waitForSelector('.tasks li.done:has-text("mop")');
    await page.$eval(CHART, (el) => el.scrollIntoView());
    await page.waitForFunction(() => document.querySelector('figure.chart figcaption')?.textContent === '2 done · 3 open',
      null, { timeout: 10000 });
    assert.deepEqual((await chart()).bars, [['done', '0%', '40%'], ['open', '40%', '60%']]);
    assert.equal(requested.filter((p) => p.endsWith('/chart.js')).length, 1, 'loaded once, mounted again');
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('tasks in Chromium without JavaScript: the fallbacks say it all (a hint for the field, the count of done tasks)', async () => {
  browser ??= await launch();
  const page = await openPage(browser, { javaScriptEnabled: false });
  try {
    await signIn(page, 'noa');
    assert.equal(await page.textContent('.hint'), 'Up to 200 characters.');
    assert.equal(await page.$(CHART), null, 'no tasks, no chart');
    for (const title of ['plant', 'water']) {
      await page.fill('input[name=title]', title);
      await page.click('form button:text("Add")');
      await page.waitForSelector(`.tasks li:has-text("${title}")`);
    }
    assert.equal(await page.textContent(`${CHART} p.progress`), '0 of 2 done');
    // ticking needs the script: done here through the API, as noa
    const r = await fetch(url('/api/auth/token'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"noa"}' });
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${(await r.json()).token}` };
    const list = await (await fetch(url('/_cairn/query'), { method: 'POST', headers: auth, body: '{"path":"tasks:list"}' })).json();
    const plant = list.value.items.find((t) => t.title === 'plant');
    const tick = await fetch(url('/_cairn/mutation'), { method: 'POST', headers: auth, body: JSON.stringify({ path: 'tasks:toggle', args: { id: plant.id } }) });
    assert.equal(tick.status, 200);
    await page.reload();
    assert.equal(await page.textContent(`${CHART} p.progress`), '1 of 2 done');
    assert.equal(await page.textContent('.hint'), 'Up to 200 characters.');
    assert.equal(await page.$('figure.chart'), null);
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});
