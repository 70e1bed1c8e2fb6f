// The Data Cache and the full-route cache on Redis (issue 11): two
// instances of tests/apps/cache with CACHE_URL on one real Redis started
// here. What one caches the other finds (its memory is only a first
// level); a tag revalidated through one is stale on the other at once (the
// time it took is printed, not asserted); revalidatePath through one makes
// the other regenerate the page; a CACHE_URL that cannot be reached stops
// the start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, copyApp, spawnServer, start, stop } from './lib/app.mjs';
import { freePort, redisConnect, startRedis } from '../lib/services.mjs';

let redis, dir, a, b;

before(async () => {
  redis = await startRedis();
  dir = copyApp('cache');
  await build(dir);
  const env = { CACHE_URL: redis.url };
  [a, b] = await Promise.all([start(dir, { env }), start(dir, { env })]);
});

after(async () => {
  for (const s of [a, b]) if (s) await stop(s);
  if (redis) await redis.stop();
});

const cached = async (srv, key, tag) =>
  (await (await fetch(`${srv.url}/api/cached?key=${key}&tag=${tag}&ttl=3600`)).json()).value;
const revalidate = (srv, q) => fetch(`${srv.url}/api/revalidate?${q}`, { method: 'POST' });

describe('the cache on Redis, shared by two instances', () => {
  test("what one instance caches, the other finds", async () => {
    const v = await cached(a, 'shared', 'fruit');
    assert.equal(await cached(b, 'shared', 'fruit'), v, 'B did not run the function: it read A\'s value');
    assert.equal(await cached(a, 'shared', 'fruit'), v);
    // and it is in Redis, under cairn:v:
    const r = await redisConnect(redis.url);
    try {
      const keys = await r.command('KEYS', 'cairn:v:*');
      assert.ok(keys.length >= 1, JSON.stringify(keys));
    } finally { r.close(); }
  });

  test('a tag revalidated through one instance is stale on the other', async () => {
    const first = await cached(a, 'tagged', 'veg');
    assert.equal(await cached(b, 'tagged', 'veg'), first);
    const t0 = Date.now();
    assert.equal((await revalidate(b, 'tag=veg')).status, 200);
    let v = first;
    while (v === first && Date.now() - t0 < 5000) v = await cached(a, 'tagged', 'veg');
    const ms = Date.now() - t0;
    assert.notEqual(v, first, 'A ran the function again');
    console.log(`tag revalidated through B, fresh on A after ${ms} ms (loopback)`);
    // its value is now the shared one
    assert.equal(await cached(b, 'tagged', 'veg'), v);
  });

  test('revalidatePath through one instance regenerates the page on the other', async () => {
    const renders = async (srv) => (await (await fetch(`${srv.url}/api/renders`)).json()).isr || 0;
    assert.match(await (await fetch(`${b.url}/isr`)).text(), /isr render \d+/);
    const [ra, rb] = [await renders(a), await renders(b)];
    assert.equal((await revalidate(a, 'path=/isr')).status, 200);
    let r;
    const t0 = Date.now();
    do r = await fetch(`${b.url}/isr`); while (r.headers.get('x-cairn-cache') === 'HIT' && Date.now() - t0 < 5000);
    assert.equal(r.headers.get('x-cairn-cache'), 'REVALIDATED', 'rendered again, as on the instance it was revalidated on');
    assert.equal(await renders(b), rb + 1, 'B rendered it');
    assert.equal(await renders(a), ra, 'A did not');
    assert.equal((await fetch(`${b.url}/isr`)).headers.get('x-cairn-cache'), 'HIT');
  });

  test('a CACHE_URL that cannot be reached stops the start', async () => {
    const port = await freePort();
    const bad = spawnServer(dir, { env: { CACHE_URL: `redis://127.0.0.1:${port}` } });
    const code = await new Promise((res) => bad.proc.on('exit', res));
    assert.equal(code, 1);
    assert.match(bad.stderr, new RegExp(`cannot connect to Redis at 127\\.0\\.0\\.1:${port}`));
    const worse = spawnServer(dir, { env: { CACHE_URL: 'memcached://x' } });
    assert.equal(await new Promise((res) => worse.proc.on('exit', res)), 1);
    assert.match(worse.stderr, /CACHE_URL: not a redis:\/\/\[:password@\]host\[:port\]\[\/db\] URL/);
  });
});
