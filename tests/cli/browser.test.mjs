// The newcomer's path of issue 4, in a real browser: `cairn new hello`,
// `cairn dev`, headless Chromium on the page, then the edits the welcome
// page suggests. The browser is never told to reload for a page: the
// development script does it on its own after each successful change, and
// the test only watches what the page shows.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launch, openPage } from '../e2e/lib/browser.mjs';
import { killAll, removeTemps, run, serve, tempDir } from './lib/cli.mjs';

let browser, dir, srv;

before(async () => {
  browser = await launch();
  const parent = tempDir();
  const made = await run(['new', 'hello'], { cwd: parent });
  assert.equal(made.code, 0, made.stdout + made.stderr);
  dir = join(parent, 'hello');
  srv = await serve('dev', dir);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  killAll();
  removeTemps();
});

// Rewrite part of a file of the new app, as an editor's save does.
function edit(rel, from, to) {
  const path = join(dir, rel);
  const text = readFileSync(path, 'utf8');
  assert.ok(text.includes(from), `${rel} holds ${JSON.stringify(from)}`);
  writeFileSync(path, text.replace(from, to));
}

test('the new app in Chromium: a template edit shows without touching the browser', async (t) => {
  const page = await openPage(browser);
  try {
    await page.goto(`${srv.url}/`);
    assert.equal(await page.textContent('h1'), 'Welcome to cairn');
    assert.equal(await page.title(), 'Welcome to cairn');
    const t0 = Date.now();
    edit('app/page.html', '<h1>Welcome to cairn</h1>', '<h1>Hello from my first edit</h1>');
    await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Hello from my first edit',
      null, { timeout: 10000 });
    t.diagnostic(`save to new page in the browser: ${Date.now() - t0} ms`);
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('C code: the layout\'s metadata changes the title; a compile error shows in the page, its fix reloads', async (t) => {
  const page = await openPage(browser);
  try {
    await page.goto(`${srv.url}/`);
    let t0 = Date.now();
    edit('app/layout.c', '.title = "Welcome to cairn"', '.title = "My app"');
    await page.waitForFunction(() => document.title === 'My app', null, { timeout: 20000 });
    t.diagnostic(`save of layout.c to new title in the browser: ${Date.now() - t0} ms`);

    // A typo: the terminal names the file and line, the browser shows the
    // same on its next load, and the old code is not lost meanwhile.
    const n = srv.stderr.length;
    edit('app/layout.c', 'CN_LAYOUT(', 'CN_LAYOUT(oops ');
    await srv.waitFor(() => /app\/layout\.c:\d+:\d+: error/.test(srv.stderr.slice(n)), 20000, 'the compile error');
    await page.reload();
    const shown = await page.textContent('body');
    assert.match(shown, /Failed to compile/);
    assert.match(shown, /app\/layout\.c:\d+/);
    // The fix: the error page reloads itself into the working page.
    t0 = Date.now();
    edit('app/layout.c', 'CN_LAYOUT(oops ', 'CN_LAYOUT(');
    await page.waitForFunction(() => document.title === 'My app' && document.querySelector('h1'), null, { timeout: 20000 });
    t.diagnostic(`fix to working page: ${Date.now() - t0} ms`);
    // The one failed answer: the page itself while it could not compile.
    assert.deepEqual(page.errors, [`500 ${srv.url}/`]);
  } finally { await page.closeAll(); }
});

test('the route the welcome page links to: edited, its next load in the browser has the new code', async (t) => {
  const page = await openPage(browser);
  try {
    await page.goto(`${srv.url}/`);
    await page.click('a[href="/api/hello"]');
    await page.waitForURL(`${srv.url}/api/hello`);
    assert.deepEqual(JSON.parse(await page.textContent('body')), { message: 'Hello, world!' });
    const t0 = Date.now();
    edit('app/api/hello/route.c', '"Hello, %.*s!"', '"Hi there, %.*s!"');
    // A JSON answer carries no script; the newcomer presses reload.
    let body;
    for (;;) {
      await page.reload();
      body = JSON.parse(await page.textContent('body'));
      if (body.message !== 'Hello, world!' || Date.now() - t0 > 20000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.diagnostic(`save of route.c to new answer in the browser: ${Date.now() - t0} ms`);
    assert.deepEqual(body, { message: 'Hi there, world!' });
  } finally { await page.closeAll(); }
});
