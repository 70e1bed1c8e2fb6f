// Streaming (issue 6): deferred sections, loading.html, parallel loaders,
// streamed route handlers and Server-Sent Events, against tests/apps/stream
// built with `cairn build`. Order is shown by gates the test opens itself
// (/api/release?key=K), never by timing: a section that waits at gate K
// cannot be in the bytes read before the test opened K.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from './lib/browser.mjs';
import { REPO, Server } from './lib/server.mjs';
import { runCairn } from './routing/harness.mjs';

let srv, dir, browser;
const url = (p) => `http://127.0.0.1:${srv.port}${p}`;
const key = () => randomBytes(6).toString('hex');
const release = async (k) => assert.equal(await (await fetch(url(`/api/release?key=${k}`))).text(), 'released');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-stream-'));
  cpSync(join(REPO, 'tests', 'apps', 'stream'), dir, { recursive: true, filter: (s) => !s.includes('/.cairn') });
  const b = await runCairn(['build', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const proc = spawn(join(dir, '.cairn', 'server'), [], {
    cwd: dir, env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  srv = new Server(proc, { root: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }, true);
  await srv.ready(20000);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

// Read a fetch body until pred(text so far) holds; returns the text.
async function readUntil(reader, state, pred, what) {
  const dec = new TextDecoder();
  while (!pred(state.text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the body ended before ${what}: ${state.text}`);
    state.text += dec.decode(value, { stream: true });
  }
  return state.text;
}

async function readAll(reader, state) {
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return state.text;
    state.text += dec.decode(value, { stream: true });
  }
}

test('a deferred section: the shell with its fallback first, the content once its loader finishes', async (t) => {
  const k = key();
  const t0 = performance.now();
  const r = await fetch(url(`/gate?k=${k}`));
  t.diagnostic(`time to first byte: ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.headers.get('transfer-encoding'), 'chunked');
  assert.match(r.headers.get('cache-control'), /no-store/);
  const reader = r.body.getReader();
  const s = { text: '' };
  await readUntil(reader, s, (x) => x.includes('</cairn-defer>'), 'the fallback');
  assert.match(s.text, /^<!DOCTYPE html><html><head><meta charset="utf-8">.*<\/head><body><main><h1>Gate<\/h1><cairn-defer id="cd0"><p>FALLBACK<\/p><\/cairn-defer>/);
  assert.doesNotMatch(s.text, /SLOW CONTENT|<\/body>/, 'nothing of the section, nor the closing tags, before the gate opens');
  await release(k);
  await readAll(reader, s);
  assert.match(s.text, new RegExp(`<footer>end</footer><script>function \\$cn\\(i\\)\\{.*</script><div id="cc0"><p>SLOW CONTENT 1 ${k}</p>\\n</div><script>\\$cn\\(0\\)</script></body></html>\n$`));
});

test('three deferred sections run together and each streams as soon as it finishes, in that order', async () => {
  const k = key();
  const r = await fetch(url(`/order?k=${k}`));
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  const s = { text: '' };
  await readUntil(reader, s, (x) => x.includes('<p>wait c</p></cairn-defer>'), 'the shell');
  // The loaders are all blocked at their gates (they passed a barrier of
  // four, so they run at once). Open them in the order c, b, a, each after
  // the one before has arrived.
  for (const [name, id] of [['c', 2], ['b', 1], ['a', 0]]) {
    assert.doesNotMatch(s.text, new RegExp(`SECTION ${name}`));
    await release(`${k}:${name}`);
    await readUntil(reader, s, (x) => x.includes(`$cn(${id})</script>`), `section ${name}`);
    assert.ok(s.text.includes(`<div id="cc${id}"><p>SECTION ${name}</p>\n</div><script>$cn(${id})</script>`), s.text);
  }
  await readAll(reader, s);
  assert.doesNotMatch(s.text, /did not run together|never opened|class="error"/, s.text);
  const at = (n) => s.text.indexOf(`<p>SECTION ${n}</p>`);
  assert.ok(at('c') < at('b') && at('b') < at('a'));
});

test("a layout's loader and its page's start together", async () => {
  const r = await fetch(url(`/par?k=${key()}`));
  const body = await r.text();
  assert.equal(r.status, 200, body);
  assert.match(body, /<div class="par">layout:<p>page<\/p>\n<\/div>/);
});

test('a failing section gets the nearest error content in its place; the rest completes with 200', async () => {
  const r = await fetch(url('/fail'));
  const body = await r.text();
  assert.equal(r.status, 200);
  assert.match(body, /<div id="cc\d"><p>OK CONTENT<\/p>\n<\/div>/);
  const m = body.match(/<div id="cc\d"><p class="error">ERROR ([0-9a-f]{8})<\/p>\n<\/div>/g);
  assert.equal(m && m.length, 2, `both the failing and the template-less section show error content: ${body}`);
  assert.match(body, /<\/footer>.*<\/body><\/html>\n$/s);
  await srv.waitFor(() => /deferred section "bad": the stats database is down \(at app\/fail\/page.c:\d+; digest [0-9a-f]{8}\)/.test(srv.stderr), 5000, 'the failure in the log');
  await srv.waitFor(() => /deferred section "missing": no template for the deferred section "missing"/.test(srv.stderr), 5000, 'the missing template in the log');
  assert.equal((await fetch(url('/par?k=' + key()))).status, 200, 'still serving');
});

test('loading.html: the segment below it streams behind its fallback', async () => {
  const k = key();
  const r = await fetch(url(`/seg/inner?k=${k}`));
  const reader = r.body.getReader();
  const s = { text: '' };
  await readUntil(reader, s, (x) => x.includes('</cairn-defer>'), 'the loading fallback');
  assert.match(s.text, /<main><cairn-defer id="cd0"><p>SEGMENT LOADING<\/p>\n<\/cairn-defer><\/main>/);
  assert.doesNotMatch(s.text, /SEGMENT PAGE/);
  await release(k);
  await readAll(reader, s);
  assert.match(s.text, /<div id="cc0"><section class="inner"><p>SEGMENT PAGE 7<\/p>\n<\/section>\n<\/div><script>\$cn\(0\)<\/script><\/body><\/html>\n$/);
});

test('a segment that says not found behind loading.html: the nearest not-found content in place', async () => {
  const k = key();
  await release(k);
  const r = await fetch(url(`/seg/inner?k=${k}&missing=1`));
  const body = await r.text();
  assert.equal(r.status, 200, 'the status went out with the shell');
  assert.match(body, /<div id="cc0"><p>NOT FOUND HERE<\/p>\n<\/div>/);
});

test('status decided before the first byte: a non-deferred not-found answers 404', async () => {
  const r = await fetch(url('/notfound'));
  const body = await r.text();
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('transfer-encoding'), null);
  assert.match(body, /<p>ROOT NOT FOUND<\/p>/);
  assert.doesNotMatch(body, /cairn-defer/);
});

test('a client that leaves in the middle of a page: the server finishes the loaders and keeps serving', async () => {
  const k = key();
  const sock = connect(srv.port, '127.0.0.1');
  let got = '';
  await new Promise((res, rej) => {
    sock.on('error', rej);
    sock.on('data', (d) => { got += d.toString('latin1'); if (got.includes('FALLBACK')) res(); });
    sock.write(`GET /gate?k=${k} HTTP/1.1\r\nHost: t\r\n\r\n`);
  });
  sock.destroy();
  await release(k);
  const r = await fetch(url(`/par?k=${key()}`));
  assert.equal(r.status, 200);
  assert.equal(srv.exit, null, 'the server is still running');
});

test('a streamed route handler: pieces arrive as they are written', async () => {
  const k = key();
  const r = await fetch(url(`/api/chunks?k=${k}`));
  assert.equal(r.headers.get('transfer-encoding'), 'chunked');
  const reader = r.body.getReader();
  const s = { text: '' };
  await readUntil(reader, s, (x) => x.includes('two\n'), 'two pieces');
  assert.equal(s.text, 'one\ntwo\n');
  await release(k);
  assert.equal(await readAll(reader, s), 'one\ntwo\nthree\n');
});

test('Server-Sent Events: retry, comments, events with ids and multi-line data', async () => {
  const r = await fetch(url(`/api/sse?k=${key()}&count=3`));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const ev = (n) => `event: n\nid: ${n}\ndata: line one ${n}\ndata: line two\n\n`;
  assert.equal(await r.text(), `retry: 1500\n\n: hello\n\n${ev(1)}${ev(2)}${ev(3)}`);
});

test('an event stream whose client leaves: the handler sees it and stops', async () => {
  const k = key();
  const ctl = new AbortController();
  const r = await fetch(url(`/api/sse?k=${k}`), { signal: ctl.signal });
  const reader = r.body.getReader();
  const s = { text: '' };
  await readUntil(reader, s, (x) => x.includes('id: 3\n'), 'three events');
  ctl.abort();
  const deadline = Date.now() + 10000;
  let closed = 0;
  while (closed !== 11 && Date.now() < deadline) {
    closed = (await (await fetch(url(`/api/sse-state?k=${k}`))).json()).closed;
    if (closed !== 11) await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(closed, 11, 'the handler got CN_ECLOSED and cn_req_aborted said 1');
});

// ---------------------------------------------------------- in Chromium

test('in Chromium: the fallback shows first, then the section takes its place in the page', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    const k = key();
    // 'commit': the navigation is answered before the body is complete
    await page.goto(url(`/gate?k=${k}`), { waitUntil: 'commit' });
    await page.waitForSelector('cairn-defer p', { timeout: 10000 });
    assert.equal(await page.textContent('main'), 'GateFALLBACK\n');
    // The whole shell is there (only </body></html> wait for the section)
    assert.equal(await page.textContent('footer'), 'end');
    assert.doesNotMatch(await page.content(), /SLOW CONTENT/);
    await release(k);
    await page.waitForFunction(() => !document.querySelector('cairn-defer'), null, { timeout: 10000 });
    // In place: inside <main> between the heading and the footer, the
    // fallback gone, no leftover container.
    assert.equal(await page.innerHTML('main'), `<h1>Gate</h1><p>SLOW CONTENT 1 ${k}</p>\n\n`);
    assert.equal(await page.textContent('footer'), 'end');
    assert.equal(await page.$('[id^=cc]'), null);
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('in Chromium without JavaScript: the section still arrives, after the page', async () => {
  browser ??= await launch();
  const page = await openPage(browser, { javaScriptEnabled: false });
  try {
    const k = key();
    await page.goto(url(`/gate?k=${k}`), { waitUntil: 'commit' });
    await page.waitForSelector('cairn-defer p', { timeout: 10000 });
    await release(k);
    await page.waitForSelector('#cc0', { timeout: 10000 });
    assert.equal(await page.textContent('#cc0'), `SLOW CONTENT 1 ${k}\n`);
    assert.equal(await page.textContent('cairn-defer'), 'FALLBACK');
  } finally { await page.closeAll(); }
});

test('in Chromium: EventSource reads the events, ids and multi-line data, and reconnects with Last-Event-ID', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    await page.goto(url('/gate-missing-page-is-fine'));
    const k = key();
    const asks = [];
    page.on('request', (r) => { if (r.url().includes(`/api/sse?k=${k}`)) asks.push(r); });
    const got = await page.evaluate((u) => new Promise((resolve, reject) => {
      const es = new EventSource(u);
      const seen = [];
      es.addEventListener('n', (e) => {
        seen.push({ id: e.lastEventId, data: e.data });
        if (seen.length === 3) resolve(seen);
      });
      es.onerror = () => { if (seen.length < 3) { es.close(); reject(new Error('EventSource failed')); } };
      window.es = es;
    }), `/api/sse?k=${k}&count=3`);
    assert.deepEqual(got, [1, 2, 3].map((n) => ({ id: String(n), data: `line one ${n}\nline two` })));
    // The stream ends after three; the browser comes back after the
    // server's retry (1.5 s) and says where it stopped.
    const deadline = Date.now() + 10000;
    while (asks.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(asks.length, 2, 'the browser reconnected');
    assert.equal((await asks[0].allHeaders())['last-event-id'], undefined);
    assert.equal((await asks[1].allHeaders())['last-event-id'], '3');
    await page.evaluate(() => window.es.close());
  } finally { await page.closeAll(); }
});
