// Live queries (issue 10) over the sync protocol (docs/sync-protocol.md),
// against tests/apps/live built with `cairn build`: first results, pushes
// after mutations (over the socket and over HTTP), one re-run per distinct
// query however many subscribe, nothing pushed when a result did not
// change or an unrelated table was written, commit order under concurrent
// writers, failures, removal, collapsing for a client that reads slowly,
// and protocol errors. Node's `ws` is the client. The suite runs on one
// instance on SQLite and through HAProxy in front of three instances on
// one PostgreSQL, where a session's instance hears the others' commits
// (LISTEN/NOTIFY) and re-runs happen once per instance holding them.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { launch, openPage } from './lib/browser.mjs';
import { REPO, Server } from './lib/server.mjs';
import { runCairn } from './routing/harness.mjs';
import { cluster } from './lib/cluster.mjs';
import { startPostgres } from '../lib/services.mjs';

const WHERE = ['one instance on SQLite', 'three instances behind HAProxy on PostgreSQL'];

for (const where of WHERE) describe(`live queries on ${where}`, () => {
const many = where.startsWith('three');
let srv, dir, browser, pg;
const base = () => `http://127.0.0.1:${srv.port}`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-live-'));
  cpSync(join(REPO, 'tests', 'apps', 'live'), dir, { recursive: true, filter: (s) => !s.includes('/.cairn') });
  const b = await runCairn(['build', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  if (many) {
    pg = await startPostgres();
    srv = await cluster(dir, { DATABASE_URL: pg.url });
    return;
  }
  const proc = spawn(join(dir, '.cairn', 'server'), [], {
    cwd: dir, env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  srv = new Server(proc, { root: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }, true);
  await srv.ready(20000);
});

after(async () => {
  if (browser) await browser.close();
  if (!srv) return;
  if (many) {
    await srv.stop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const r = await srv.stop();
  assert.deepEqual(srv.sanitizerReports(), [], srv.describe());
  assert.equal(r.code, 0, srv.describe());
});

async function call(kind, path, args = {}, url = base()) {
  const r = await fetch(`${url}/_cairn/${kind}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path, args }),
  });
  return r.json();
}
// The query runs so far: each instance counts its own, asked directly.
async function runs() {
  const all = await Promise.all((srv.nodes || [srv]).map((n) => call('query', 'notes:runs', {}, n.url)));
  const sum = { list: 0, other: 0 };
  for (const r of all) for (const k of Object.keys(sum)) sum[k] += r.value[k];
  return sum;
}

// A sync session: every message kept; waiters woken on each.
// A token of tests/apps/live's issuer (cairn.json), minted here.
const SECRET = 'the-live-tests-secret-of-32-bytes-or-more';
function token(sub, ttl = 600) {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b({ alg: 'HS256', typ: 'JWT' })}.${b({ iss: 'live-test', sub, exp: Math.floor(Date.now() / 1000) + ttl })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

class Session {
  constructor(headers) {
    this.ws = new WebSocket(`ws://127.0.0.1:${srv.port}/_cairn/sync`, 'cairn.sync.1', headers ? { headers } : undefined);
    this.auths = 0;
    this.got = [];
    this.waiters = [];
    this.qs = 0;
    this.nextReq = 1;
    this.ws.on('message', (d) => { this.got.push(JSON.parse(d.toString())); this.wake(); });
    this.closed = new Promise((res) => this.ws.on('close', (code, reason) => { this.closeInfo = { code, reason: reason.toString() }; this.wake(); res(this.closeInfo); }));
    this.opened = new Promise((res, rej) => { this.ws.on('open', res); this.ws.on('error', rej); });
  }

  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }

  until(pred, what, ms = 10000) {
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}: ${JSON.stringify(this.got).slice(-2000)}`)), ms);
      const check = () => { const v = pred(); if (v) { clearTimeout(t); res(v); } else this.waiters.push(check); };
      check();
    });
  }

  send(m) { this.ws.send(typeof m === 'string' ? m : JSON.stringify(m)); }

  modify(mods) {
    this.send({ type: 'modify', baseVersion: this.qs, newVersion: this.qs + 1, modifications: mods });
    this.qs++;
  }

  transitions() { return this.got.filter((m) => m.type === 'transition'); }

  authenticate(tok) { this.send({ type: 'authenticate', token: tok, baseVersion: this.auths++ }); }

  // The identity version the last transition ended at.
  identity() { return this.transitions().at(-1)?.endVersion.identity ?? 0; }

  // The latest value of query id qid, as transitions so far say.
  value(qid) {
    let v;
    for (const t of this.transitions()) for (const m of t.modifications) if (m.queryId === qid) v = m;
    return v;
  }

  async mutate(path, args) {
    const requestId = this.nextReq++;
    this.send({ type: 'mutation', requestId, path, args });
    return this.until(() => this.got.find((m) => m.type === 'mutationResponse' && m.requestId === requestId), `mutation ${requestId}`);
  }

  close() { this.ws.close(); return this.closed; }
}

test('a subscription gets its first result, then each change: the mutation ts says when it is in', async () => {
  const s = new Session();
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'notes:list', args: {} }]);
  await s.until(() => s.value(1), 'the first result');
  const first = s.transitions()[0];
  assert.deepEqual(first.startVersion.querySet, 0);
  assert.deepEqual(first.endVersion.querySet, 1);
  const before = s.value(1).value.length;
  const ans = await s.mutate('notes:add', { body: 'from the socket' });
  assert.equal(ans.success, true);
  assert.match(ans.ts, /^\d+$/);
  const t = await s.until(() => s.transitions().find((x) => BigInt(x.endVersion.ts) >= BigInt(ans.ts)), 'a transition at the mutation ts');
  const mine = t.modifications.find((m) => m.queryId === 1) || s.value(1);
  assert.equal(mine.value.length, before + 1);
  assert.deepEqual(mine.value.at(-1), { id: ans.result, body: 'from the socket' });
  // A mutation over HTTP reaches the socket too.
  const n = s.transitions().length;
  const http = await call('mutation', 'notes:add', { body: 'over http' });
  assert.equal(http.status, 'success');
  await s.until(() => s.transitions().length > n, 'the push of an HTTP mutation');
  assert.equal(s.value(1).value.at(-1).body, 'over http');
  await s.close();
});

test('500 identical subscribers: one re-run per commit (per instance holding them), and every one of them gets the change', async () => {
  const subs = Array.from({ length: 500 }, () => new Session());
  await Promise.all(subs.map((s) => s.opened));
  subs.forEach((s) => s.modify([{ type: 'add', queryId: 7, path: 'notes:list', args: {} }]));
  await Promise.all(subs.map((s) => s.until(() => s.value(7), 'first result')));
  const r0 = await runs();
  const ans = await call('mutation', 'notes:add', { body: 'fan out' });
  await Promise.all(subs.map((s) => s.until(() => s.value(7).value.some((x) => x.id === ans.value), 'the pushed change')));
  const r1 = await runs();
  // the balancer spreads the 500 sockets over every instance
  const holders = srv.nodes ? srv.nodes.length : 1;
  assert.equal(r1.list - r0.list, holders, 'exactly one re-run for 500 subscribers on each instance');
  await Promise.all(subs.map((s) => s.close()));
});

// SQLite's writer logs rows and columns; PostgreSQL's write sets are
// tables (docs/sync-protocol.md), so there every write to notes re-runs
// the list, and only a changed result is pushed.
test(many ? 'on PostgreSQL re-runs follow tables: every write to notes re-runs the list, another table re-runs nothing; only a changed result is pushed'
  : 're-runs follow rows and columns: no row changed, or only columns the query does not read, re-runs nothing; rows that came and went re-run it and push nothing; another table re-runs nothing', async () => {
  const s = new Session();
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'notes:list', args: {} }]);
  await s.until(() => s.value(1), 'first result');
  const n = s.transitions().length;
  const r0 = await runs();
  await call('mutation', 'notes:touch');     // writes notes, changes no row
  await call('mutation', 'notes:mark');      // changes every note's `seen`, which list does not read
  await call('mutation', 'notes:churn');     // a note added and deleted: the list is as it was
  await call('mutation', 'notes:add_other'); // writes another table
  const marker = await call('mutation', 'notes:add', { body: 'marker' });
  await s.until(() => s.value(1).value.some((x) => x.id === marker.value), 'the marker');
  const r1 = await runs();
  if (many) assert.equal(r1.list - r0.list, 4, 'touch, mark, churn and add re-ran the list; add_other did not');
  else assert.equal(r1.list - r0.list, 2, 'churn and add re-ran the list; touch, mark and add_other did not');
  assert.equal(s.transitions().length, n + 1, 'only the marker was pushed');
  await s.close();
});

test('concurrent writers: each subscriber sees committed states in commit order, ending with all of them', async () => {
  const s = new Session();
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'notes:list', args: {} }]);
  await s.until(() => s.value(1), 'first result');
  const start = s.value(1).value.length;
  const writers = Array.from({ length: 4 }, (_, w) => (async () => {
    for (let i = 0; i < 50; i++) await call('mutation', 'notes:add', { body: `w${w}-${i}` });
  })());
  await Promise.all(writers);
  await s.until(() => s.value(1).value.length === start + 200, 'all 200 writes');
  let ts = 0n, len = start;
  for (const t of s.transitions().slice(1)) {
    const end = BigInt(t.endVersion.ts);
    assert.ok(end >= ts, 'end ts never goes back');
    assert.equal(BigInt(t.startVersion.ts), ts === 0n ? BigInt(t.startVersion.ts) : ts);
    ts = end;
    const m = t.modifications.find((x) => x.queryId === 1);
    if (m) {
      assert.ok(m.value.length >= len, 'a later state never has fewer notes');
      len = m.value.length;
      // each state is a prefix of the final one: committed, never partial
      const ids = m.value.map((x) => x.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    }
  }
  await s.close();
});

test('a refused query is a failed modification; remove stops its updates', async () => {
  const s = new Session();
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'notes:secret', args: {} }, { type: 'add', queryId: 2, path: 'notes:list', args: {} }]);
  await s.until(() => s.value(1) && s.value(2), 'both');
  assert.deepEqual(s.value(1), { type: 'failed', queryId: 1, code: 'forbidden', errorMessage: 'not for you' });
  s.modify([{ type: 'remove', queryId: 2 }]);
  await s.until(() => s.value(2)?.type === 'removed', 'the removal');
  const n = s.transitions().length;
  await call('mutation', 'notes:add', { body: 'after remove' });
  s.modify([{ type: 'add', queryId: 3, path: 'notes:count_other', args: {} }]);
  await s.until(() => s.value(3), 'the next add');
  assert.ok(s.transitions().slice(n).every((t) => t.modifications.every((m) => m.queryId !== 2)), 'nothing for a removed query');
  await s.close();
});

test('a client that does not read gets the newest value, not every one', async () => {
  const s = new Session();
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'notes:list', args: {} }]);
  await s.until(() => s.value(1), 'first result');
  s.ws._socket.pause();
  const big = 'x'.repeat(20000);
  const ids = [];
  for (let i = 0; i < 60; i++) ids.push((await call('mutation', 'notes:add', { body: big })).value);
  await new Promise((r) => setTimeout(r, 300));
  s.ws._socket.resume();
  await s.until(() => s.value(1).value.some((x) => x.id === ids.at(-1)), 'the newest state', 20000);
  const pushed = s.transitions().length - 1;
  assert.ok(pushed < 60, `collapsed: ${pushed} transitions for 60 commits`);
  await s.close();
});

test('protocol errors end the session with fatal and 4400; the server keeps serving', async () => {
  const cases = [
    ['not JSON', 'garbage'],
    ['no type', { hello: 1 }],
    ['an unknown type', { type: 'subscribeAll' }],
    ['a wrong baseVersion', { type: 'modify', baseVersion: 5, newVersion: 6, modifications: [] }],
    ['a duplicate queryId', { type: 'modify', baseVersion: 0, newVersion: 1, modifications: [{ type: 'add', queryId: 1, path: 'notes:list' }, { type: 'add', queryId: 1, path: 'notes:list' }] }],
    ['remove of an unknown id', { type: 'modify', baseVersion: 0, newVersion: 1, modifications: [{ type: 'remove', queryId: 9 }] }],
    ['args that are not an object', { type: 'modify', baseVersion: 0, newVersion: 1, modifications: [{ type: 'add', queryId: 1, path: 'notes:list', args: [1] }] }],
    ['a mutation without requestId', { type: 'mutation', path: 'notes:add', args: {} }],
    ['authenticate with a wrong baseVersion', { type: 'authenticate', token: null, baseVersion: 3 }],
    ['authenticate with a token that is not a string', { type: 'authenticate', token: 42, baseVersion: 0 }],
  ];
  for (const [what, msg] of cases) {
    const s = new Session();
    await s.opened;
    s.send(msg);
    const info = await s.closed;
    assert.equal(info.code, 4400, what);
    assert.ok(s.got.some((m) => m.type === 'fatal' && m.error), `${what}: a fatal message`);
  }
  const ok = new Session();
  await ok.opened;
  const ans = await ok.mutate('notes:add', { body: 'still serving' });
  assert.equal(ans.success, true);
  const bad = await ok.mutate('notes:add', { body: 12 });
  assert.equal(bad.success, false);
  assert.equal(bad.code, 'invalid_args');
  await ok.close();
});

test('identity: a protected query is refused until authenticate; then re-run as the user, who sees only their own', async () => {
  const ann = new Session();
  const bob = new Session();
  await Promise.all([ann.opened, bob.opened]);
  ann.modify([{ type: 'add', queryId: 1, path: 'mine:list', args: {} }, { type: 'add', queryId: 2, path: 'mine:whoami', args: {} }]);
  await ann.until(() => ann.value(1) && ann.value(2), 'anonymous results');
  assert.deepEqual(ann.value(1), { type: 'failed', queryId: 1, code: 'unauthenticated', errorMessage: 'you must be signed in to call this function' });
  assert.equal(ann.value(2).value, null);
  const refused = await ann.mutate('mine:add', { body: 'x' });
  assert.equal(refused.code, 'unauthenticated');

  ann.authenticate(token('ann'));
  await ann.until(() => ann.identity() === 1, 'the transition to identity 1');
  const t = ann.transitions().at(-1);
  assert.deepEqual(t.modifications.map((m) => [m.queryId, m.type, m.value]).sort(),
    [[1, 'updated', []], [2, 'updated', 'ann']]);
  bob.authenticate(token('bob'));
  bob.modify([{ type: 'add', queryId: 7, path: 'mine:list', args: {} }]);
  await bob.until(() => bob.value(7)?.type === 'updated', 'bob\'s list');
  const bobSeen = bob.transitions().length;

  const r = await ann.mutate('mine:add', { body: 'ann\'s note' });
  assert.equal(r.success, true);
  await ann.until(() => ann.value(1).value?.length === 1, 'ann\'s note in ann\'s list');
  assert.equal(ann.value(1).value[0].body, 'ann\'s note');
  await bob.mutate('mine:add', { body: 'bob\'s note' });
  await bob.until(() => bob.value(7).value?.length === 1, 'bob\'s note');
  assert.equal(bob.value(7).value[0].body, 'bob\'s note');
  assert.ok(bob.transitions().slice(bobSeen).every((x) => x.modifications.every((m) => m.value?.[0]?.body !== 'ann\'s note')));
  assert.equal(ann.value(1).value.length, 1, 'ann never sees bob\'s');

  // a bad token: authError, and the session stays ann
  ann.authenticate(token('ann', -3600));
  await ann.until(() => ann.got.some((m) => m.type === 'authError'), 'the authError');
  assert.deepEqual(ann.got.find((m) => m.type === 'authError'), { type: 'authError', error: 'the token is not valid', baseVersion: 2 });
  assert.equal((await ann.mutate('mine:add', { body: 'still ann' })).success, true);
  await ann.until(() => ann.value(1).value?.length === 2, 'still ann\'s list');

  // a refreshed token of the same claims changes the version, re-runs nothing
  const before = await runs();
  ann.authenticate(token('ann', 900));
  await ann.until(() => ann.identity() === 2, 'identity 2');
  assert.deepEqual(await runs(), before);

  // sign out: refused again
  ann.authenticate(null);
  await ann.until(() => ann.identity() === 3 && ann.value(1).type === 'failed', 'signed out');
  assert.equal(ann.value(2).value, null);
  await Promise.all([ann.close(), bob.close()]);
});

test('token expiry mid-session: authError, then the session is anonymous and its protected queries fail', async () => {
  const s = new Session();
  await s.opened;
  s.authenticate(token('cy', 2));
  s.modify([{ type: 'add', queryId: 1, path: 'mine:list', args: {} }, { type: 'add', queryId: 2, path: 'mine:whoami', args: {} }]);
  await s.until(() => s.value(1)?.type === 'updated' && s.value(2)?.value === 'cy', 'cy\'s results');
  await s.until(() => s.got.some((m) => m.type === 'authError'), 'the expiry', 8000);
  assert.equal(s.got.find((m) => m.type === 'authError').error, 'the token has expired');
  await s.until(() => s.value(1).type === 'failed' && s.value(2).value === null, 'anonymous results');
  assert.equal(s.value(1).code, 'unauthenticated');
  assert.equal((await s.mutate('mine:add', { body: 'late' })).code, 'unauthenticated');
  await s.close();
});

test('the upgrade request\'s session cookie is the session\'s first identity', async () => {
  const s = new Session({ cookie: `theme=dark; session=${token('dee')}` });
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'mine:whoami', args: {} }]);
  await s.until(() => s.value(1), 'whoami');
  assert.equal(s.value(1).value, 'dee');
  await s.close();
  const bad = new Session({ cookie: `session=${token('dee', -100)}` });
  await bad.opened;
  bad.modify([{ type: 'add', queryId: 1, path: 'mine:whoami', args: {} }]);
  await bad.until(() => bad.value(1), 'whoami');
  assert.equal(bad.value(1).value, null, 'an expired cookie: anonymous');
  await bad.close();
});

test('a live region in Chromium: first paint has the data; a change made in one tab shows in the other without reload', async () => {
  await call('mutation', 'notes:add', { body: 'painted first' });
  browser ??= await launch();
  const a = await openPage(browser), b = await openPage(browser);
  try {
    // what the server sent, before any script ran
    const html = await (await fetch(`${base()}/notes`)).text();
    assert.match(html, /<cairn-live data-region="app\/notes#list" data-query="notes:list" data-args="\{\}" data-h="[0-9a-f]{8}"><ul class="notes">.*painted first/s);
    await a.goto(`${base()}/notes`);
    await b.goto(`${base()}/notes`);
    assert.ok((await b.textContent('ul.notes')).includes('painted first'));
    await b.evaluate(() => { window.stayed = 'same document'; });
    const body = `added in tab A ${Date.now()}`;
    const id = await a.evaluate((t) => cairnLive.regions().mutation('notes:add', { body: t }), body);
    await b.waitForFunction((t) => document.querySelector('ul.notes').textContent.includes(t), body, { timeout: 10000 });
    assert.equal(await b.evaluate(() => window.stayed), 'same document', 'updated in place, not reloaded');
    assert.equal(await b.getAttribute(`li[data-id="${id}"]`, 'data-id'), String(id));
    // the mutation's promise settles once its own tab shows the write
    assert.ok((await a.textContent('ul.notes')).includes(body));
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally { await a.closeAll(); await b.closeAll(); }
});

test('islands inside a live region: mounted with the page, and on each row the region gains', async () => {
  browser ??= await launch();
  const page = await openPage(browser);
  try {
    await call('mutation', 'notes:add', { body: 'with a badge' });
    await page.goto(`${base()}/badges`);
    await page.waitForSelector('ul.badges b.badge');
    const n = await page.$$eval('ul.badges li', (ls) => ls.length);
    assert.equal(await page.$$eval('ul.badges b.badge', (bs) => bs.length), n);
    await page.waitForFunction(() => document.querySelector('cairn-live[data-live]'));
    // The first push after connecting is the HTML the page came with
    // (data-h): the region is not swapped, its islands not mounted again.
    await page.$$eval('ul.badges b.badge', (bs) => bs.forEach((b) => { b.dataset.mark = 'first mount'; }));
    await page.evaluate(() => new Promise((res) => { cairnLive.regions().subscribe('notes:list', {}, () => res()); }));
    assert.equal(await page.$$eval('ul.badges b.badge[data-mark]', (bs) => bs.length), n, 'no swap for the same HTML');
    await call('mutation', 'notes:add', { body: 'one more badge' });
    await page.waitForFunction((k) => document.querySelectorAll('ul.badges b.badge').length === k, n + 1);
    assert.deepEqual(page.errors, []);
  } finally { await page.closeAll(); }
});

test('a region the page does not declare, or with another query, is refused', async () => {
  for (const region of ['app/notes#nothing', 'app/elsewhere#list']) {
    const s = new Session();
    await s.opened;
    s.modify([{ type: 'add', queryId: 1, path: 'notes:list', args: {}, region }]);
    assert.equal((await s.closed).code, 4400, region);
  }
  const s = new Session();
  await s.opened;
  s.modify([{ type: 'add', queryId: 1, path: 'notes:count_other', args: {}, region: 'app/notes#list' }]);
  assert.equal((await s.closed).code, 4400, 'another query');
});
});
