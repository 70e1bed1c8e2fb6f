// Islands (issue 12), against tests/apps/islands: a counter island mounts
// with server props and counts clicks; a module used twice is preloaded
// and loaded once; the visible strategy loads nothing until scrolled to
// (the test watches the network); without JavaScript the fallback HTML is
// there; hostile props render inert and reach the module intact; modules
// are served immutable under a content hash; an unknown module is a
// render error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from './lib/browser.mjs';
import { build, copyApp, start, stop } from './lib/app.mjs';

let srv, browser;

before(async () => {
  const dir = copyApp('islands');
  await build(dir);
  srv = await start(dir);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await stop(srv);
});

test('the HTML: props as inert JSON, one modulepreload per module (not for visible), modules immutable', async () => {
  const html = await (await fetch(`${srv.url}/islands`)).text();
  const islands = html.match(/<cairn-island [^>]*>/g);
  assert.equal(islands.length, 4, html);
  assert.doesNotMatch(html, /<\/script><script>window\.pwned/);
  assert.doesNotMatch(html, /<!-- -->/);
  assert.doesNotMatch(html, /\u2028|\u2029/);
  assert.match(html, /\\u003c\/script\\u003e\\u003cscript\\u003ewindow\.pwned=1\\u003c\/script\\u003e/);
  const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  assert.equal(preloads.length, 2, 'counter (used twice) and echo, not the chart');
  assert.ok(preloads.every((u) => /^\/_cairn\/m\/[0-9a-f]{16}\/(counter|echo)\.js$/.test(u)), preloads.join(' '));
  assert.ok(html.indexOf('modulepreload') < html.indexOf('</head>'));
  const r = await fetch(`${srv.url}${preloads[0]}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  assert.match(await r.text(), /export default function mount/);
  assert.equal((await fetch(`${srv.url}/_cairn/m/0000000000000000/counter.js`)).status, 404);
  assert.equal((html.match(/\/_cairn\/islands\.js/g) || []).length, 1, 'the script once');
});

test('in Chromium: mounted with server props, counting clicks; hostile props arrive intact and inert; visible loads when seen', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  const requested = [];
  page.on('request', (q) => requested.push(new URL(q.url()).pathname));
  page.on('dialog', (d) => { page.errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  try {
    await page.goto(`${srv.url}/islands`);
    await page.waitForSelector('button.counter >> nth=1');
    assert.deepEqual(await page.$$eval('button.counter', (bs) => bs.map((b) => b.textContent)), ['3', '3']);
    await page.click('button.counter >> nth=0');
    await page.click('button.counter >> nth=0');
    assert.deepEqual(await page.$$eval('button.counter', (bs) => bs.map((b) => b.textContent)), ['5', '3']);
    assert.equal(requested.filter((p) => p.endsWith('/counter.js')).length, 1, 'one load for two uses');
    await page.waitForSelector('pre.echo');
    const got = JSON.parse(await page.textContent('pre.echo'));
    assert.equal(got.html, '</script><script>window.pwned=1</script>');
    assert.equal(got.comment, '<!-- -->&amp;');
    assert.equal(got.ls, 'a\u2028b\u2029c');
    let d = got.deep, depth = 0;
    while (d.d) { d = d.d; depth++; }
    assert.equal(depth, 50);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    // the chart: not loaded until scrolled into view
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!requested.some((p) => p.endsWith('/chart.js')), requested.join(' '));
    assert.equal(await page.$('svg.chart'), null);
    await page.evaluate(() => document.querySelector('cairn-island[data-strategy=visible]').scrollIntoView());
    await page.waitForSelector('svg.chart[data-points="3"]');
    assert.ok(requested.some((p) => p.endsWith('/chart.js')));
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('without JavaScript the fallback HTML is the page', async () => {
  browser ??= await launch();
  const page = await openPage(browser, { javaScriptEnabled: false });
  try {
    await page.goto(`${srv.url}/islands`);
    assert.deepEqual(await page.$$eval('p.fallback', (ps) => ps.map((p) => p.textContent)),
      ['count: 3', 'the same module again', 'echo']);
    assert.equal(await page.$('button.counter'), null);
  } finally { await page.closeAll(); }
});

test('a template naming a module the app does not have is a render error', async () => {
  const r = await fetch(`${srv.url}/bad`);
  assert.equal(r.status, 500);
  await srv.waitFor(() => /app\/bad\/page\.html:1:1: no client module nosuch\.client\.js beside the page, above it or in components\//.test(srv.stderr), 5000, 'the render error in the log');
});

test('props that are not an object, or cannot be written as JSON, are a render error naming the island and the prop', async () => {
  assert.equal((await fetch(`${srv.url}/bad/props`)).status, 500);
  await srv.waitFor(() => /app\/bad\/props\/page\.html:1:1: island echo: its props \(the value of "echo"\) must be a JSON object/.test(srv.stderr), 5000, 'the props error');
  assert.equal((await fetch(`${srv.url}/bad/cycle`)).status, 500);
  await srv.waitFor(() => /app\/bad\/cycle\/page\.html:1:1: island echo: the prop "loop" cannot be written as JSON \(it contains itself\)/.test(srv.stderr), 5000, 'the cycle error');
});

// Error recovery: app/flaky/error.html has {{#error.reset}}; the page below
// it fails on the first visit of each ?k= and renders on the next.
test("an error page's retry control: a link to the page, in a box where the segment was", async () => {
  const r = await fetch(`${srv.url}/flaky/segment?k=html&x=%3Cb%3E`);
  assert.equal(r.status, 500);
  const html = await r.text();
  assert.match(html, /<main><cairn-error data-level="1" style="display:contents"><p class="failed">/);
  assert.match(html, /<a href="\/flaky\/segment\?k=html&amp;x=%3Cb%3E" data-cairn-reset>Try again<\/a><script>/);
  assert.match(html, /<\/cairn-error><\/main>\n<footer>the layout's footer<\/footer>/);
});

test('in Chromium the retry re-renders the failed segment in place: the rest of the page keeps its state', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  try {
    const res = await page.goto(`${srv.url}/flaky/segment?k=js`);
    assert.equal(res.status(), 500);
    page.errors.length = 0; // the page's own 500, expected
    await page.waitForSelector('button.counter');
    await page.click('button.counter');
    await page.click('button.counter');
    assert.equal(await page.textContent('button.counter'), '12');
    await page.evaluate(() => { window.beforeRetry = 'kept'; });
    await page.click('a[data-cairn-reset]');
    await page.waitForSelector('p.recovered');
    assert.equal(await page.$('cairn-error'), null);
    assert.equal(await page.textContent('button.counter'), '12', "the layout's island kept its state");
    assert.equal(await page.evaluate(() => window.beforeRetry), 'kept', 'no reload');
    assert.equal(navigations.length, 1, navigations.join(' '));
    // the new segment's island mounted with its props
    await page.waitForSelector('pre.echo');
    assert.deepEqual(JSON.parse(await page.textContent('pre.echo')), { from: 'the retried segment' });
    assert.equal(await page.title(), 'Flaky');
    assert.equal(await page.textContent('footer'), "the layout's footer");
    assert.equal(await page.$$eval('main', (m) => m.length), 1);
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('without JavaScript the retry control reloads the page', async () => {
  browser ??= await launch();
  const page = await openPage(browser, { javaScriptEnabled: false });
  try {
    const res = await page.goto(`${srv.url}/flaky/segment?k=nojs`);
    assert.equal(res.status(), 500);
    assert.ok(await page.$('p.failed'));
    await Promise.all([page.waitForNavigation(), page.click('a[data-cairn-reset]')]);
    assert.ok(await page.$('p.recovered'));
    assert.equal(await page.$('cairn-error'), null);
  } finally { await page.closeAll(); }
});

test('an island in a streamed section mounts as the section arrives, before the stream ends', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    await page.goto(`${srv.url}/streamed`, { waitUntil: 'commit' });
    await page.waitForSelector('div.quick button.counter');
    assert.equal(await page.textContent('div.quick button.counter'), '7');
    // the slow section (3 s) has not arrived: the stream is still open
    assert.ok(await page.$('p.slow-fallback'), 'mounted before the last section');
    assert.equal(await page.$('p.slow-done'), null);
    await page.click('div.quick button.counter');
    assert.equal(await page.textContent('div.quick button.counter'), '8');
    await page.waitForSelector('p.slow-done', { timeout: 15000 });
    assert.equal(await page.$$eval('button.counter', (b) => b.length), 1, 'mounted once');
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});
