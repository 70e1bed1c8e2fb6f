// The full-route cache, ISR and on-demand revalidation (issue 7) against
// tests/apps/cache built with `cairn build`. Time is the server's own
// cache clock, frozen and moved by the test (CAIRN_TEST_CLOCK=1 enables
// POST /_cairn/test/clock?ms=N); nothing here sleeps to let time pass.
// Background work (a regeneration) is awaited by polling a counter with a
// deadline, never by sleeping a fixed time. The suite runs on one
// instance (memory and .cairn/cache) and through HAProxy in front of three
// instances sharing a Redis (CACHE_URL) and their render counters
// (COUNTERS_DIR): each instance's clock is moved alike, and after a
// revalidation through one of them the test waits until every instance
// has heard it (GET /_cairn/test/tag) before reading.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REPO, Server } from './lib/server.mjs';
import { runCairn } from './routing/harness.mjs';
import { cluster } from './lib/cluster.mjs';
import { startRedis } from '../lib/services.mjs';

for (const where of ['one instance', 'three instances behind HAProxy on one Redis']) describe(`the cache on ${where}`, () => {
const many = where.startsWith('three');
let srv, dir, now, origin, hits = 0, redis, counters;
const url = (p) => `http://127.0.0.1:${srv.port}${p}`;
const post = (p, init = {}) => fetch(url(p), { method: 'POST', ...init });
const renders = async () => (await fetch(url('/api/renders'))).json();
const instances = () => srv.nodes || [srv];

// Every instance's cache clock at ms.
async function setClock(ms) {
  for (const n of instances()) {
    const r = await fetch(`${n.url}/_cairn/test/clock?ms=${ms}`, { method: 'POST' });
    assert.equal(r.status, 200);
  }
  now = ms;
}

// Revalidate through the app's route (or the webhook: path and init
// given), then, behind the balancer, wait until every instance heard the
// tag, and let a millisecond pass: with frozen clocks a value written in
// the revalidation's millisecond by another instance cannot be ordered
// against it (cairn treats it as stale, the safe side), which a real
// clock makes rare.
async function revalidate(query, path = '/api/revalidate', init = {}) {
  const r = await post(`${path}?${query}`, init);
  if (r.status !== 200 || !many) return r;
  const q = new URLSearchParams(query);
  const tag = q.get('tag') ?? `_N_T_${q.get('path')}${q.get('type') ? `${q.get('path').endsWith('/') ? '' : '/'}${q.get('type')}` : ''}`;
  for (const n of instances()) {
    const deadline = Date.now() + 10000;
    for (;;) {
      const t = await (await fetch(`${n.url}/_cairn/test/tag?name=${encodeURIComponent(tag)}`)).json();
      if (t.ms >= now) break;
      if (Date.now() > deadline) throw new Error(`instance ${n.url} never heard ${tag}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  }
  await setClock(now + 1);
  return r;
}

// Poll until pred(renders) holds (bounded); returns the last counters.
async function until(pred, what) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await renders();
    if (pred(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

before(async () => {
  // The server the app's fetches go to: it counts them.
  origin = createServer((req, res) => { hits++; res.end(`hit${hits}`); });
  await new Promise((res) => origin.listen(0, '127.0.0.1', res));
  dir = mkdtempSync(join(tmpdir(), 'cairn-cache-'));
  cpSync(join(REPO, 'tests', 'apps', 'cache'), dir, { recursive: true, filter: (s) => !s.includes('/.cairn') });
  const b = await runCairn(['build', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  if (many) {
    redis = await startRedis();
    counters = mkdtempSync(join(tmpdir(), 'cairn-counters-'));
  }
  srv = await serve();
  await setClock(Date.now());
});

// The built app's server, or its three instances behind the balancer.
async function serve() {
  if (many) return cluster(dir, clusterEnv());
  const proc = spawn(join(dir, '.cairn', 'server'), [], {
    cwd: dir,
    env: serverEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = new Server(proc, { root: dir, cleanup: () => {} }, true);
  await s.ready(20000);
  return s;
}

const testEnv = () => ({
  CAIRN_TEST_CLOCK: '1', CAIRN_REVALIDATE_SECRET: 's3cret',
  FETCH_URL: `http://127.0.0.1:${origin.address().port}/data`,
});
const serverEnv = () => ({ ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', ...testEnv() });
const clusterEnv = () => ({ ...testEnv(), CACHE_URL: redis.url, COUNTERS_DIR: counters });

after(async () => {
  if (srv) await srv.stop();
  if (redis) await redis.stop();
  if (origin) origin.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (counters) rmSync(counters, { recursive: true, force: true });
});

test('a static page comes from the build: HIT, s-maxage=31536000, its loader never runs in the server', async () => {
  const r = await fetch(url('/static'));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-cairn-cache'), 'HIT');
  assert.equal(r.headers.get('cache-control'), 's-maxage=31536000');
  assert.match(await r.text(), /<p>static render 1<\/p>/);
  assert.equal((await renders()).static, undefined);
});

test('ISR: stale after revalidate seconds; 100 requests at once get the stale page and start exactly one regeneration', async () => {
  const first = await fetch(url('/isr'));
  assert.equal(first.headers.get('x-cairn-cache'), 'HIT');
  assert.equal(first.headers.get('cache-control'), 's-maxage=60, stale-while-revalidate=31535940');
  const before = await first.text();
  await setClock(now + 59000);
  assert.equal((await fetch(url('/isr'))).headers.get('x-cairn-cache'), 'HIT', 'still fresh at 59 s');
  await setClock(now + 2000);
  const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(url('/isr')).then(async (r) => ({
    status: r.status, cache: r.headers.get('x-cairn-cache'), body: await r.text(),
  }))));
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.ok(a.cache === 'STALE' || a.cache === 'HIT', `answered from the cache, not rendered: ${a.cache}`);
    if (a.cache === 'STALE') assert.equal(a.body, before);
  }
  assert.ok(answers.some((a) => a.cache === 'STALE'));
  const r = await until((x) => x.isr >= 1, 'the regeneration');
  assert.equal(r.isr, 1, 'one regeneration');
  // every render the burst set off had started before this one ended
  assert.equal(r['isr-start'], 1, 'one regeneration started');
  // Fresh again, and nothing else regenerates it.
  const after1 = await fetch(url('/isr'));
  assert.equal(after1.headers.get('x-cairn-cache'), 'HIT');
  assert.match(await after1.text(), /isr render 1/);
  assert.equal((await renders()).isr, 1);
  // The next period: the server's own second render.
  await setClock(now + 61000);
  assert.equal((await fetch(url('/isr'))).headers.get('x-cairn-cache'), 'STALE');
  await until((x) => x.isr === 2, 'the second regeneration');
  assert.match(await (await fetch(url('/isr'))).text(), /isr render 2/);
});

test('a regeneration that fails keeps the stale page and logs why', async () => {
  assert.equal((await post('/api/revalidate?fail=1')).status, 200);
  await setClock(now + 61000);
  const r = await fetch(url('/isr'));
  assert.equal(r.headers.get('x-cairn-cache'), 'STALE');
  assert.match(await r.text(), /isr render 2/);
  await srv.waitFor(() => /regenerating \/isr failed: the regeneration was told to fail: the stale page is kept/.test(srv.stderr), 10000, 'the failure in the log');
  const again = await fetch(url('/isr'));
  assert.equal(again.status, 200);
  assert.match(await again.text(), /isr render 2/, 'still the stale page');
  // Back to working: the next stale hit regenerates it for good.
  assert.equal((await post('/api/revalidate?fail=1')).status, 200);
  const deadline = Date.now() + 10000;
  let page = '';
  while (!/isr render 3/.test(page) && Date.now() < deadline)
    page = await (await fetch(url('/isr'))).text();
  assert.match(page, /isr render 3/);
  assert.equal((await fetch(url('/isr'))).headers.get('x-cairn-cache'), 'HIT');
});

test('cached functions: HIT until their tag is revalidated (then run again), or stale once past their time', async () => {
  const value = async (q) => (await (await fetch(url(`/api/cached?${q}`))).json()).value;
  const base = (await renders()).cached || 0;
  assert.equal(await value('key=a&tag=posts'), base + 1);
  assert.equal(await value('key=a&tag=posts'), base + 1, 'HIT: the function did not run');
  assert.equal(await value('key=b&tag=other'), base + 2);
  assert.equal((await revalidate('tag=posts')).status, 200);
  assert.equal(await value('key=a&tag=posts'), base + 3, 'revalidated by tag: runs again before use');
  assert.equal(await value('key=a&tag=posts'), base + 3, 'and is kept again');
  assert.equal(await value('key=b&tag=other'), base + 2, 'another tag is untouched');
  // By age: ttl 10 s.
  assert.equal(await value('key=c&ttl=10'), base + 4);
  await setClock(now + 9999);
  assert.equal(await value('key=c&ttl=10'), base + 4);
  await setClock(now + 1);
  assert.equal(await value('key=c&ttl=10'), base + 4, 'stale, served once');
  await until((x) => x.cached === base + 5, 'the refresh by age');
});

test('a tag shared by a fetch, a cached function and a page refreshes all three', async () => {
  // The build rendered /tagged with the "posts" tag, which the test before
  // revalidated: as Next.js purges on demand, the next request renders it
  // again (REVALIDATED), with the function's fresh value.
  const r0 = await renders();
  const first = await fetch(url('/tagged'));
  assert.equal(first.headers.get('x-cairn-cache'), 'REVALIDATED');
  assert.equal(hits, 1, 'the fetch went out once');
  assert.match(await first.text(), /fetched hit1/);
  const r1 = await renders();
  assert.equal(r1.tagged, (r0.tagged || 0) + 1);
  assert.equal((await fetch(url('/tagged'))).headers.get('x-cairn-cache'), 'HIT');
  assert.equal((await revalidate('tag=posts')).status, 200);
  const again = await fetch(url('/tagged'));
  assert.equal(again.headers.get('x-cairn-cache'), 'REVALIDATED');
  const r2 = await renders();
  assert.equal(r2.tagged, r1.tagged + 1, 'the page rendered once more');
  assert.equal(r2.fn, (r1.fn || 0) + 1, 'the cached function ran again inside it');
  assert.equal(hits, 2, 'the fetch went out again: its tag was revalidated');
  assert.match(await again.text(), new RegExp(`tagged render ${r2.tagged} fn ${r2.fn} fetched hit2`));
  assert.equal((await fetch(url('/tagged'))).headers.get('x-cairn-cache'), 'HIT');
  // The static page carries no "posts" tag; another tag leaves all alone.
  assert.equal((await fetch(url('/static'))).headers.get('x-cairn-cache'), 'HIT');
  assert.equal((await revalidate('tag=unrelated')).status, 200);
  assert.equal((await fetch(url('/tagged'))).headers.get('x-cairn-cache'), 'HIT');
  assert.equal(hits, 2);
});

test('revalidating a path: the page itself, or a layout and everything under it', async () => {
  const s0 = (await renders()).static || 0;
  assert.equal((await revalidate('path=/static')).status, 200);
  assert.equal((await fetch(url('/static'))).headers.get('x-cairn-cache'), 'REVALIDATED');
  assert.equal((await renders()).static, s0 + 1);
  assert.equal((await fetch(url('/static'))).headers.get('x-cairn-cache'), 'HIT');
  assert.equal((await fetch(url('/tagged'))).headers.get('x-cairn-cache'), 'HIT', 'another path untouched');
  assert.equal((await revalidate('path=/&type=layout')).status, 200);
  for (const p of ['/static', '/tagged'])
    assert.equal((await fetch(url(p))).headers.get('x-cairn-cache'), 'REVALIDATED', p);
  assert.equal((await post('/api/revalidate?path=/x&type=bogus')).status, 400);
});

test('the revalidation webhook: 401 without the secret or with a wrong one, 200 with it', async () => {
  for (const h of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Bearer s3cret!' }, { authorization: 'Bearer ' }, { authorization: 's3cret' }]) {
    const r = await post('/_cairn/revalidate?path=/static', { headers: h });
    assert.equal(r.status, 401, JSON.stringify(h));
  }
  assert.equal((await post('/_cairn/revalidate?path=/static&secret=nope')).status, 401);
  assert.equal((await fetch(url('/static'))).headers.get('x-cairn-cache'), 'HIT', 'nothing was revalidated');
  const ok = await revalidate('path=/static', '/_cairn/revalidate', { headers: { authorization: 'Bearer s3cret' } });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).path, '/static');
  assert.equal((await fetch(url('/static'))).headers.get('x-cairn-cache'), 'REVALIDATED');
  const bad = await post('/_cairn/revalidate?secret=s3cret');
  assert.equal(bad.status, 400);
  assert.equal((await fetch(url('/_cairn/revalidate'))).status, 405);
});

// Restart the server on the same app directory (same .cairn/cache), or
// every instance (the same Redis).
async function restart() {
  await srv.stop();
  srv = await serve();
  await setClock(now);
}

if (!many) test('a restart keeps the disk cache; corrupt cache files are ignored and rebuilt, never served', async () => {
  const { readdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const first = await (await fetch(url('/api/cached?key=persist&tag=keep'))).json();
  const page = await (await fetch(url('/static'))).text();
  await restart();
  assert.equal((await renders()).cached, undefined, 'a new process: nothing ran yet');
  const again = await (await fetch(url('/api/cached?key=persist&tag=keep'))).json();
  assert.equal(again.value, first.value, 'the value came from .cairn/cache');
  assert.equal((await renders()).cached, undefined, 'the function did not run');
  // Flip a byte in the middle of every cache file.
  const cdir = join(dir, '.cairn', 'cache');
  const files = readdirSync(cdir).filter((f) => !f.startsWith('.'));
  assert.ok(files.length >= 2, files.join());
  await srv.stop();
  for (const f of files) {
    const b = readFileSync(join(cdir, f));
    b[b.length >> 1] ^= 0x5a;
    writeFileSync(join(cdir, f), b);
  }
  await restart();
  const rebuilt = await (await fetch(url('/api/cached?key=persist&tag=keep'))).json();
  assert.equal((await renders()).cached, 1, 'the corrupt entry was not served: the function ran');
  assert.equal(rebuilt.value, 1);
  const p = await fetch(url('/static'));
  assert.equal(p.status, 200);
  assert.match(await p.text(), /<p>static render \d+<\/p>/, 'the page is whole');
  assert.ok(page.includes('static render'));
  assert.equal((await (await fetch(url('/api/cached?key=persist&tag=keep'))).json()).value, 1, 'kept again');
});

if (many) test('restarting every instance keeps the cache in Redis; a value that fails its checksum is removed and computed again, never served', async () => {
  const first = await (await fetch(url('/api/cached?key=persist&tag=keep'))).json();
  const ran = (await renders()).cached;
  await restart();
  const again = await (await fetch(url('/api/cached?key=persist&tag=keep'))).json();
  assert.equal(again.value, first.value, 'the value came from Redis');
  assert.equal((await renders()).cached, ran, 'the function did not run');
  // Change one byte in the middle of every value in Redis, then start
  // instances with empty memories.
  const r = await redis.connect();
  try {
    const keys = await r.command('KEYS', 'cairn:v:*');
    assert.ok(keys.length >= 2, keys.join());
    for (const k of keys) {
      const mid = Math.floor((await r.command('STRLEN', k)) / 2);
      const was = await r.command('GETRANGE', k, mid, mid);
      await r.command('SETRANGE', k, mid, was === 'Z' ? 'Y' : 'Z');
    }
  } finally { r.close(); }
  await restart();
  const rebuilt = await (await fetch(url('/api/cached?key=persist&tag=keep'))).json();
  assert.equal((await renders()).cached, ran + 1, 'the changed value was not served: the function ran');
  assert.equal(rebuilt.value, ran + 1);
  assert.match(srv.stderr, /the value of .* in Redis fails its checksum: removed/);
  const p = await fetch(url('/static'));
  assert.equal(p.status, 200);
  assert.match(await p.text(), /<p>static render \d+<\/p>/, 'the page is whole');
  assert.equal((await (await fetch(url('/api/cached?key=persist&tag=keep'))).json()).value, ran + 1, 'kept again');
});
});
