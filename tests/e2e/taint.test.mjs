// Server-only values (issue 12's taint), against tests/apps/taint: a secret
// environment variable, a value tainted at run time and a tainted object,
// each placed in a rendered page, an island's props, a streamed section, an
// action's returned state, a data function's HTTP answer and a live
// query's result. Every attempt fails with the documented sentence in the
// log ("a server-only value (WHAT) would reach the browser in WHERE"), the
// error page shows it only under --dev, and no byte of the secret reaches
// the client: the tests search every answer, and in Chromium every
// response body and WebSocket frame. CN_PUBLIC_ variables and a tainted
// object's fields rendered one by one go through.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { launch, openPage } from './lib/browser.mjs';
import { build, call, copyApp, raw, start, stop } from './lib/app.mjs';

const SECRET = `tok-${randomBytes(12).toString('hex')}`;
const SECRET_HTML = `a<b&c"d-${randomBytes(6).toString('hex')}`;
const PUBLIC = 'hello-everyone-in-public';
const OBJECT_FIELD = 'pbkdf2$not-for-the-browser';
const API_KEY = 'sk_live_0123456789abcdefDEADBEEF';
// What must never be in a byte sent: the values, and their escaped forms.
const FORBIDDEN = [SECRET, SECRET_HTML, 'a&lt;b&amp;c&quot;d', 'a\\u003cb', OBJECT_FIELD, API_KEY, 'cairn:server-only:'];

function clean(text, what) {
  for (const f of FORBIDDEN) assert.ok(!text.includes(f), `${what} holds ${f}: ${text.slice(0, 800)}`);
}

const said = (srv, re, what) => srv.waitFor(() => re.test(srv.stderr), 5000, what);
const sentence = (what, where) =>
  new RegExp(`a server-only value \\(${what}\\) would reach the browser in ${where}`);

let dir;
before(async () => {
  dir = copyApp('taint');
  await build(dir);
});

const ENV = { SECRET_TOKEN: SECRET, SECRET_HTML, CN_PUBLIC_GREETING: PUBLIC };

describe('in production', () => {
  let srv;
  before(async () => { srv = await start(dir, { env: ENV }); });
  after(async () => { if (srv) await stop(srv); });

  const get = async (path) => {
    const r = await raw(srv, 'GET', path);
    clean(r.text, `GET ${path}`);
    return r;
  };

  test('a page rendering a secret variable is a 500 without it; the log names the variable', async () => {
    const r = await get('/env');
    assert.equal(r.status, 500);
    assert.match(r.text, /An error occurred while rendering this page/);
    assert.doesNotMatch(r.text, /SECRET_TOKEN/, 'no detail in production');
    await said(srv, sentence('the environment variable SECRET_TOKEN', 'the rendered page'), 'the /env sentence');
    // HTML-escaped, it is still found
    assert.equal((await get('/escaped')).status, 500);
    await said(srv, sentence('the environment variable SECRET_HTML', 'the rendered page'), 'the /escaped sentence');
  });

  test('CN_PUBLIC_ variables and pages without secrets are served', async () => {
    const r = await get('/public');
    assert.equal(r.status, 200);
    assert.match(r.text, new RegExp(`<p class="greeting">${PUBLIC}</p>`));
    assert.equal((await get('/clean')).status, 200);
  });

  test('island props: a secret variable or a tainted object is a render error naming the island and the prop', async () => {
    assert.equal((await get('/island')).status, 500);
    await said(srv, sentence('the environment variable SECRET_TOKEN', 'the props of island echo \\(prop "token"\\)'), 'the /island sentence');
    assert.equal((await get('/object')).status, 500);
    await said(srv, sentence("an object tainted: the user's database record", 'the props of island echo \\(prop "user"\\)'), 'the /object sentence');
    // its fields, one by one, are the app's to show
    const f = await get('/fields');
    assert.equal(f.status, 200);
    assert.match(f.text, /<p class="name">Ada<\/p>/);
    assert.match(f.text, /\{"name":"Ada"\}/);
  });

  test('a value tainted at run time is refused; what is not it passes', async () => {
    assert.equal((await get('/value')).status, 500);
    await said(srv, sentence("the payment provider's API key", 'the rendered page'), 'the /value sentence');
    const ok = await get('/value?safe=1');
    assert.equal(ok.status, 200);
    assert.match(ok.text, /<p class="key">BEEF<\/p>/);
  });

  test('a streamed section that would show a secret fails as a section; the rest stands', async () => {
    const r = await get('/stream');
    assert.equal(r.status, 200);
    assert.match(r.text, /<p class="fine">harmless<\/p>/);
    assert.match(r.text, /<div id="cc\d"><p class="error">Something went wrong/);
    assert.match(r.text, /<\/html>\s*$/);
    await said(srv, sentence('the environment variable SECRET_TOKEN', 'the deferred section "secret"'), 'the /stream sentence');
  });

  test("an action's returned state with a secret is a 500; a clean one renders", async () => {
    const page = await get('/action');
    const ids = [...page.text.matchAll(/name="\$ACTION_ID" value="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(ids.length, 2, page.text);
    const post = async (id) => {
      const r = await raw(srv, 'POST', '/action', {
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: srv.url },
        body: new URLSearchParams({ $ACTION_ID: id }).toString(),
      });
      clean(r.text, 'POST /action');
      return r;
    };
    const leak = await post(ids[0]);
    assert.equal(leak.status, 500);
    await said(srv, sentence('the environment variable SECRET_TOKEN', 'the state returned by server action "leak"'), 'the action sentence');
    const fine = await post(ids[1]);
    assert.equal(fine.status, 200);
    assert.match(fine.text, /<p class="state">nothing secret<\/p>/);
  });

  test('a data function answering a secret over HTTP is an internal error', async () => {
    const r = await call(srv, 'query', 'notes:secret', {});
    clean(r.text, 'the query answer');
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { status: 'error', code: 'internal', errorMessage: 'Server Error' });
    await said(srv, sentence('the environment variable SECRET_TOKEN', 'the result of query notes:secret'), 'the query sentence');
  });

  test('a live query whose result comes to hold a secret pushes an error, never the value', async () => {
    const frames = [];
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/_cairn/sync`, 'cairn.sync.1');
    const wait = (pred, what) => new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out: ${what}: ${frames.join('\n').slice(-1500)}`)), 10000);
      const check = () => { const m = frames.map((f) => JSON.parse(f)).find(pred); if (m) { clearTimeout(t); res(m); } else setTimeout(check, 20); };
      check();
    });
    ws.on('message', (d) => frames.push(d.toString()));
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    try {
      ws.send(JSON.stringify({ type: 'modify', baseVersion: 0, newVersion: 1, modifications: [{ type: 'add', queryId: 1, path: 'notes:list', args: {} }] }));
      await wait((m) => m.type === 'transition' && m.modifications.some((q) => q.queryId === 1 && q.type === 'updated'), 'the first result');
      assert.equal((await call(srv, 'mutation', 'notes:add', { body: 'leak' })).status, 200);
      const failed = await wait((m) => m.type === 'transition' && m.modifications.some((q) => q.queryId === 1 && q.type === 'failed'), 'the failure');
      assert.equal(failed.modifications.find((q) => q.queryId === 1).errorMessage, 'Server Error');
      await said(srv, sentence('the environment variable SECRET_TOKEN', 'the result of query notes:list'), 'the live sentence');
      for (const f of frames) clean(f, 'a socket frame');
    } finally { ws.close(); }
  });
});

describe('under --dev', () => {
  let srv;
  before(async () => { srv = await start(dir, { env: ENV, args: ['--dev'] }); });
  after(async () => { if (srv) await stop(srv); });

  test('the error page says which value and where, never the value', async () => {
    const r = await raw(srv, 'GET', '/env');
    assert.equal(r.status, 500);
    clean(r.text, 'the dev error page');
    assert.match(r.text, /a server-only value \(the environment variable SECRET_TOKEN\) would reach the browser in the rendered page/);
    const a = await raw(srv, 'GET', '/island');
    clean(a.text, 'the dev island error');
    assert.match(a.text, /the props of island echo \(prop &quot;token&quot;\)/);
  });
});

describe('in Chromium', () => {
  let srv, browser;
  before(async () => {
    // A database of its own: the notes of the tests above leak already.
    srv = await start(dir, { env: { ...ENV, DATABASE_URL: 'sqlite:.cairn/chromium.db' } });
    browser = await launch();
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) await stop(srv);
  });

  test('no response body and no socket frame the browser gets holds a server-only value', async () => {
    const page = await openPage(browser);
    const seen = [];
    const pending = [];
    page.on('response', (r) => pending.push(r.body().then((b) => seen.push([r.url(), b.toString('latin1')]), () => {})));
    page.on('websocket', (ws) => {
      ws.on('framereceived', (f) => seen.push([`ws ${ws.url()}`, String(f.payload)]));
    });
    try {
      for (const path of ['/env', '/escaped', '/island', '/object', '/value', '/stream', '/public', '/fields']) {
        await page.goto(`${srv.url}${path}`);
      }
      // the tainted object's fields reached the island that was given them
      await page.waitForSelector('pre.echo');
      assert.equal(await page.textContent('pre.echo'), '{"name":"Ada"}');
      // the action, from the form
      await page.goto(`${srv.url}/action`);
      await page.click('#leak');
      await page.waitForLoadState('load');
      // a live region whose query starts leaking while the page is open
      await page.goto(`${srv.url}/live`);
      await page.waitForFunction(() => document.querySelector('cairn-live ul.notes'));
      assert.equal((await call(srv, 'mutation', 'notes:add', { body: 'leak' })).status, 200);
      await srv.waitFor(() => (srv.stderr.match(/in the result of query notes:list/g) || []).length >= 1, 5000, 'the live refusal');
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all(pending);
      assert.ok(seen.length >= 10, `responses seen: ${seen.length}`);
      assert.ok(seen.some(([u]) => u.startsWith('ws ')), 'socket frames were seen');
      for (const [u, body] of seen) clean(body, u);
    } finally { await page.closeAll(); }
  });
});
