// The data layer on PostgreSQL (issue 11, first step): a real server
// started here (tests/lib/services.mjs), the test app tests/apps/pg built
// once and run as two instances on one database. Migrations applied once
// when both start together; values of every type; an insert's new id; a
// nested mutation as a savepoint; a mutation failing half-way leaves
// nothing; a query cannot write; 8 clients incrementing one counter with
// read-then-write transactions over both instances lose nothing
// (serializable, retried); a live subscription follows commits made
// through its instance and through the other one (NOTIFY); readiness
// turns 503 when the database goes away; a URL that cannot connect stops
// the start naming it without its password; the example app runs on it
// with a migration written for PostgreSQL beside its SQLite one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REPO } from './lib/server.mjs';
import { build, call, copyApp, spawnServer, start, stop, value } from './lib/app.mjs';
import { freePort, startPostgres } from '../lib/services.mjs';

let pg, dir, a, b;

// A sync socket on srv: send(), latest(queryId), until(pred, what).
async function socket(srv) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/_cairn/sync`, 'cairn.sync.1');
  const got = [];
  ws.on('message', (d) => got.push(JSON.parse(d.toString())));
  await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
  return {
    send: (m) => ws.send(JSON.stringify(m)),
    latest(qid) {
      let v;
      for (const t of got.filter((m) => m.type === 'transition')) for (const m of t.modifications) if (m.queryId === qid) v = m;
      return v;
    },
    async until(pred, what) {
      for (let i = 0; i < 500; i++) { if (pred()) return; await new Promise((r) => setTimeout(r, 20)); }
      throw new Error(`timed out: ${what}: ${JSON.stringify(got).slice(-1500)}`);
    },
    close: () => ws.close(),
  };
}

before(async () => {
  pg = await startPostgres();
  dir = copyApp('pg');
  await build(dir);
  // both at once: the migrations' lock makes them take turns
  [a, b] = await Promise.all([
    start(dir, { env: { DATABASE_URL: pg.url } }),
    start(dir, { env: { DATABASE_URL: pg.url } }),
  ]);
});

after(async () => {
  for (const s of [a, b]) if (s && s.proc.exitCode === null) await stop(s);
  if (pg) await pg.stop();
});

describe('the data layer on PostgreSQL', () => {
  test('two instances starting together apply each migration once', async () => {
    assert.equal(await value(a, 'query', 'counter:seeds'), 1);
    assert.equal(await value(b, 'query', 'counter:seeds'), 1);
    for (const s of [a, b]) assert.equal((await fetch(`${s.url}/_cairn/health/ready`)).status, 200);
  });

  test('values of every type come back as JSON; ? placeholders outside quotes and comments', async () => {
    assert.deepEqual(await value(a, 'query', 'notes:types'), {
      i: 42, big: 9007199254740993, f: 1.5, n: 2.5, b: true, s: "it's ?", z: null,
      j: { a: [1] }, echoed: 'é ? "q"', sum: 42,
    });
  });

  test('inserts answer their new id; a nested mutation is part of its caller; a failure half-way leaves nothing', async () => {
    const before_ = await value(a, 'query', 'notes:list');
    const id = await value(a, 'mutation', 'notes:add', { body: 'first' });
    assert.ok(Number.isInteger(id) && id > 0);
    const [x, y] = await value(b, 'mutation', 'notes:add_twice', { body: 'twice' });
    assert.equal(y, x + 1);
    const r = await call(a, 'mutation', 'notes:add_then_fail', { body: 'gone' });
    assert.equal(r.status, 409);
    const after_ = await value(b, 'query', 'notes:list');
    assert.deepEqual(after_.slice(before_.length).map((n) => n.body), ['first', 'twice', 'twice']);
  });

  test('a write inside a query is refused by the database', async () => {
    const n = (await value(a, 'query', 'notes:list')).length;
    const r = await call(a, 'query', 'notes:sneaky');
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { status: 'error', code: 'internal', errorMessage: 'Server Error' });
    assert.equal((await value(a, 'query', 'notes:list')).length, n);
    await a.waitFor(() => /query notes:sneaky failed: cannot execute INSERT in a read-only transaction/.test(a.stderr), 5000, 'the refusal in the log');
  });

  test('8 clients x 250 read-then-write increments over two instances: exactly 2,000', async () => {
    const start_ = await value(a, 'query', 'counter:get');
    const agents = Array.from({ length: 8 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const post = (srv, agent) => new Promise((res, rej) => {
      const q = http.request(`${srv.url}/_cairn/mutation`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (r) => {
        let t = '';
        r.on('data', (d) => { t += d; });
        r.on('end', () => res({ status: r.statusCode, text: t }));
      });
      q.on('error', rej);
      q.end(JSON.stringify({ path: 'counter:inc' }));
    });
    const failures = [];
    await Promise.all(agents.map(async (agent, k) => {
      for (let i = 0; i < 250; i++) {
        const r = await post(k % 2 ? b : a, agent);
        if (r.status !== 200) failures.push(r.text);
      }
    }));
    agents.forEach((g) => g.destroy());
    assert.deepEqual(failures, []);
    assert.equal(await value(b, 'query', 'counter:get'), start_ + 2000);
  });

  for (const [via, label] of [['a', 'through its own instance'], ['b', 'through another instance (LISTEN/NOTIFY)']]) test(`a live subscription gets each change committed ${label}`, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${a.port}/_cairn/sync`, 'cairn.sync.1');
    const got = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    const latest = () => {
      let v;
      for (const t of got.filter((m) => m.type === 'transition')) for (const m of t.modifications) if (m.queryId === 1) v = m;
      return v;
    };
    const until = async (pred, what) => {
      for (let i = 0; i < 500; i++) { if (pred()) return; await new Promise((r) => setTimeout(r, 20)); }
      throw new Error(`timed out: ${what}: ${JSON.stringify(got).slice(-1000)}`);
    };
    try {
      ws.send(JSON.stringify({ type: 'modify', baseVersion: 0, newVersion: 1, modifications: [{ type: 'add', queryId: 1, path: 'notes:list', args: {} }] }));
      await until(() => latest()?.type === 'updated', 'the first result');
      const n = latest().value.length;
      await value(via === 'a' ? a : b, 'mutation', 'notes:add', { body: `seen live via ${via}` });
      await until(() => latest().value.length === n + 1, 'the push');
      assert.equal(latest().value.at(-1).body, `seen live via ${via}`);
    } finally { ws.close(); }
  });

  test('re-runs follow tables: a write re-runs the subscriptions that read what it wrote, cascades included, from either instance', async () => {
    const s = await socket(a);
    try {
      s.send({ type: 'modify', baseVersion: 0, newVersion: 1, modifications: [
        { type: 'add', queryId: 1, path: 'counter:get', args: {} },
        { type: 'add', queryId: 2, path: 'notes:list', args: {} },
        { type: 'add', queryId: 3, path: 'family:kids', args: {} }] });
      await s.until(() => s.latest(1) && s.latest(2) && s.latest(3), 'the first results');
      const runs = await value(a, 'query', 'counter:runs');
      const n = s.latest(2).value.length;
      await value(a, 'mutation', 'notes:add', { body: 'not the counter (a)' });
      await value(b, 'mutation', 'notes:add', { body: 'not the counter (b)' });
      await s.until(() => s.latest(2).value.length === n + 2, 'both notes');
      assert.equal(await value(a, 'query', 'counter:runs'), runs, 'notes do not re-run counter:get');
      const c = s.latest(1).value;
      await value(b, 'mutation', 'counter:inc');
      await s.until(() => s.latest(1).value === c + 1, 'the counter, from the other instance');
      // a parent's DELETE removes its kid by the foreign key's cascade
      await value(a, 'mutation', 'family:add', { id: 7 });
      await s.until(() => s.latest(3).value.some((k) => k.id === 70), 'the kid');
      await value(b, 'mutation', 'family:remove', { id: 7 });
      await s.until(() => !s.latest(3).value.some((k) => k.id === 70), 'the kid gone with its parent');
    } finally { s.close(); }
  });

  test('the example app runs on PostgreSQL with its 001_tasks.postgres.sql, nothing else changed', async () => {
    const ex = mkdtempSync(join(tmpdir(), 'cairn-example-pg-'));
    cpSync(join(REPO, 'examples', 'app'), ex, { recursive: true, filter: (f) => !f.includes('/.cairn') });
    const b_ = await build(ex);
    assert.match(b_.stdout, /1 migration in data\/migrations \(and engine-specific versions\)/);
    const url = await pg.createDatabase('example');
    const srv = await start(ex, { env: { DATABASE_URL: url } });
    try {
      const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ iss: 'cairn-example', aud: 'cairn-example', sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 })}`;
      const secret = 'example-only-secret-replace-me-in-env-local-0123456789'; // examples/app/.env
      const auth = { authorization: `Bearer ${input}.${createHmac('sha256', secret).update(input).digest('base64url')}` };
      const id = await value(srv, 'mutation', 'tasks:add', { title: 'on PostgreSQL' }, auth);
      await value(srv, 'mutation', 'tasks:toggle', { id }, auth);
      assert.deepEqual(await value(srv, 'query', 'tasks:list', {}, auth), {
        items: [{ id, title: 'on PostgreSQL', done: 1 }], chart: { done: 1, open: 0, total: 1 },
      });
      assert.equal((await call(srv, 'query', 'tasks:list', {})).status, 401);
    } finally {
      await stop(srv);
      rmSync(ex, { recursive: true, force: true });
    }
  });

  test('readiness fails while the database is away; a URL that cannot connect stops the start', async () => {
    const port = await freePort();
    const bad = spawnServer(dir, { env: { DATABASE_URL: `postgres://cairn:s3cret@127.0.0.1:${port}/nothing` } });
    const exit = await new Promise((res) => bad.proc.on('exit', (code) => res(code)));
    assert.equal(exit, 1);
    assert.match(bad.stderr, new RegExp(`DATABASE_URL postgres://cairn:\\*\\*\\*@127\\.0\\.0\\.1:${port}/nothing: cannot connect`));
    assert.doesNotMatch(bad.stderr, /s3cret/);
    await pg.stop();
    pg = null;
    const r = await fetch(`${a.url}/_cairn/health/ready`);
    assert.equal(r.status, 503);
    assert.match((await r.json()).reason, /^the database does not answer/);
    assert.equal((await fetch(`${a.url}/_cairn/health/live`)).status, 200);
  });
});
