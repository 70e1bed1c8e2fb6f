// The data layer's functions (issue 9) over HTTP and in-process, against
// tests/apps/data built with `cairn build` in a temporary copy: kinds and
// answers, argument errors (the function never ran: tasks:calls counts the
// runs that wrote), unknown and wrong-kind functions, the HTTP surface,
// atomicity, read-only queries, 8 clients x 1,000 increments, SQL injection
// through every argument type, migrations across restarts and failures,
// durability across kill -9, and calls from a route handler and a page;
// the functions' part on SQLite and on PostgreSQL.
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, call, copyApp as copyDataApp, raw, spawnServer, start, stop, value } from './lib/app.mjs';
import { startPostgres } from '../lib/services.mjs';
import { cluster, stopAny } from './lib/cluster.mjs';

const copyApp = (opts) => copyDataApp('data', opts);

// The same suite on each engine: SQLite (the embedded default),
// PostgreSQL (a real server started here; the app's 001_init.postgres.sql
// stands for its 001_init.sql there), and three instances on it behind a
// load balancer.
for (const engine of ['sqlite', 'postgres', 'three instances behind HAProxy']) describe(`the data test app on ${engine}`, () => {
  let srv, dir, buildOut, pg, env = {};
  const noSuchTable = engine === 'sqlite' ? /no such table: no_such_table/
    : /relation "no_such_table" does not exist/;

  before(async () => {
    dir = copyApp();
    buildOut = (await build(dir)).stdout;
    if (engine !== 'sqlite') {
      pg = await startPostgres();
      env = { DATABASE_URL: pg.url };
    }
    srv = engine.startsWith('three') ? await cluster(dir, env) : await start(dir, { env });
  });

  after(async () => {
    if (srv) await stopAny(srv);
    if (pg) await pg.stop();
  });

  test('cairn build lists the functions with their kinds and the migrations', () => {
    for (const [path, kind] of [['counter:get', 'query'], ['counter:inc', 'mutation'],
      ['counter:bump_twice', 'action'], ['tasks:add', 'mutation'], ['who:act', 'action']])
      assert.match(buildOut, new RegExp(`λ ${path}\\s+${kind}\\s+data/${path.split(':')[0]}\\.c`), buildOut);
    assert.match(buildOut, /2 migrations in data\/migrations \(and engine-specific versions\)/);
    // the page that reads data was found dynamic at build; its scratch
    // database is gone
    assert.match(buildOut, /ƒ \/counter\s+page: dynamic/);
    assert.ok(!existsSync(join(dir, '.cairn', 'prerender-data.db')));
    assert.equal(existsSync(join(dir, '.cairn', 'data.db')), engine === 'sqlite', 'the server made its database');
  });

  test('a query, a mutation and an action answer in Convex\'s shape; a mutation says when it committed', async () => {
    const before = await value(srv, 'query', 'counter:get');
    const r = await call(srv, 'mutation', 'counter:inc', { by: 3 });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(r.body).sort(), ['status', 'ts', 'value']);
    assert.equal(r.body.value, before + 3);
    assert.match(r.body.ts, /^[1-9][0-9]*$/);
    const r2 = await call(srv, 'mutation', 'counter:inc', {});
    // Commit timestamps are each instance's own (a live session talks to
    // one instance): behind a balancer two answers may come from two.
    if (!engine.startsWith('three')) assert.ok(BigInt(r2.body.ts) > BigInt(r.body.ts));
    else assert.match(r2.body.ts, /^[1-9][0-9]*$/);
    const q = await call(srv, 'query', 'counter:get', {});
    assert.deepEqual(q.body, { status: 'success', value: before + 4 });
    assert.equal(q.headers.get('cache-control'), 'no-store');
    // an action runs the mutation twice and the query, each its own
    // transaction; args null is {}
    const a = await call(srv, 'action', 'counter:bump_twice', null);
    assert.deepEqual(a.body, { status: 'success', value: { after_inc: before + 6, now: before + 6 } });
    assert.equal(a.body.ts, undefined);
  });

  test('arguments that do not fit: 400 with every field error, and the function never ran', async () => {
    const calls = await value(srv, 'query', 'tasks:calls');
    const tasks = await value(srv, 'query', 'tasks:list');
    const r = await call(srv, 'mutation', 'tasks:add', {
      done: 'yes', priority: 6, tags: [1, 2, 3, 4], extra: 1, "title'--": 'x',
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.status, 'error');
    assert.equal(r.body.code, 'invalid_args');
    assert.deepEqual(r.body.errors, {
      title: 'is required',
      done: 'must be a boolean',
      priority: 'must be at most 5',
      tags: 'must be at most 3 items',
      extra: 'is not an argument of this function',
      "title'--": 'is not an argument of this function',
    });
    assert.match(r.body.errorMessage, /^invalid arguments for tasks:add: /);
    for (const [args, errors] of [
      [{ title: '' }, { title: 'must be at least 1 characters long' }],
      [{ title: 'x'.repeat(101) }, { title: 'must be at most 100 characters long' }],
      [{ title: 7 }, { title: 'must be a string' }],
      [{ title: 'ok', priority: 2.5 }, { priority: 'must be an integer' }],
      [{ title: 'ok', priority: -1 }, { priority: 'must be at least 0' }],
      [{ title: null }, { title: 'must be a string' }],
    ]) {
      const e = await call(srv, 'mutation', 'tasks:add', args);
      assert.equal(e.status, 400, JSON.stringify(args));
      assert.deepEqual(e.body.errors, errors, JSON.stringify(args));
    }
    // not an object
    for (const args of [[1], 'title', 5, true]) {
      const e = await call(srv, 'mutation', 'tasks:add', args);
      assert.equal(e.status, 400);
      assert.equal(e.body.code, 'invalid_args');
      assert.match(e.body.errorMessage, /the arguments must be a JSON object/);
      assert.deepEqual(e.body.errors, {});
    }
    // nested too deep: 16 levels in all is the most
    let deep = 1;
    for (let i = 0; i < 16; i++) deep = [deep];
    assert.equal((await call(srv, 'mutation', 'tasks:add', { title: 'x', tags: deep })).body.errors.tags,
      'is nested deeper than 16 levels');
    assert.equal(await value(srv, 'query', 'tasks:calls'), calls, 'no refused call ran');
    assert.deepEqual(await value(srv, 'query', 'tasks:list'), tasks);
    // and one that fits runs once
    const ok = await call(srv, 'mutation', 'tasks:add', { title: 'fits', done: true, priority: 5, tags: [] });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await value(srv, 'query', 'tasks:calls'), calls + 1);
  });

  test('a function\'s own CN_EINVAL is a 400 with its words; other failures are 500s without their detail', async () => {
    const t = await call(srv, 'query', 'tasks:taken');
    assert.equal(t.status, 400);
    assert.deepEqual(t.body, { status: 'error', code: 'invalid_args', errorMessage: 'that title is taken' });
    const l = await call(srv, 'query', 'tasks:latin1');
    assert.equal(l.status, 400);
    assert.deepEqual(l.body, { status: 'error', code: 'invalid_args', errorMessage: '(the message is not valid UTF-8)' });
    for (const path of ['tasks:broken', 'tasks:bad_sql']) {
      const e = await call(srv, 'query', path);
      assert.equal(e.status, 500);
      assert.deepEqual(e.body, { status: 'error', code: 'internal', errorMessage: 'Server Error' });
    }
    await srv.waitFor(() => srv.stderr.includes('tasks:broken failed: secret detail 1234') &&
      noSuchTable.test(srv.stderr), 5000, 'the details in the log');
  });

  test('unknown functions are 404, malformed paths 400, a function of another kind 400 naming its kind', async () => {
    for (const path of ['tasks:nope', 'nope:list', 'Tasks:list']) {
      const r = await call(srv, 'query', path);
      assert.equal(r.status, 404, path);
      assert.deepEqual(r.body, { status: 'error', code: 'not_found', errorMessage: `Could not find function for '${path}'` });
    }
    for (const path of ['tasks', 'tasks:list:x', ':list', 'tasks:', 'tasks list', "tasks:list'; DROP TABLE tasks;--", '../x:y', 'é:x', '']) {
      const r = await call(srv, 'query', path);
      assert.equal(r.status, 400, path);
      assert.equal(r.body.code, 'invalid_request');
    }
    const wrong = [
      ['query', 'tasks:add', 'tasks:add is a mutation, not a query'],
      ['action', 'tasks:add', 'tasks:add is a mutation, not an action'],
      ['mutation', 'tasks:list', 'tasks:list is a query, not a mutation'],
      ['action', 'tasks:list', 'tasks:list is a query, not an action'],
      ['query', 'counter:bump_twice', 'counter:bump_twice is an action, not a query'],
      ['mutation', 'counter:bump_twice', 'counter:bump_twice is an action, not a mutation'],
    ];
    const calls = await value(srv, 'query', 'tasks:calls');
    for (const [kind, path, msg] of wrong) {
      const r = await call(srv, kind, path, { title: 'x' });
      assert.equal(r.status, 400, `${kind} ${path}`);
      assert.deepEqual(r.body, { status: 'error', code: 'invalid_request', errorMessage: msg });
    }
    assert.equal(await value(srv, 'query', 'tasks:calls'), calls);
  });

  test('the endpoints: POST only, JSON only, a body of {path, args}', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await raw(srv, method, '/_cairn/query');
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'POST');
      assert.equal(JSON.parse(r.text).code, 'method_not_allowed');
    }
    const head = await raw(srv, 'HEAD', '/_cairn/mutation');
    assert.equal(head.status, 405);
    assert.equal(head.headers.allow, 'POST');
    const body = JSON.stringify({ path: 'counter:get' });
    for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
      'application/jsonx', 'json', 'application/ld+json']) {
      const headers = ct ? { 'content-type': ct } : {};
      const r = await raw(srv, 'POST', '/_cairn/query', { headers, body });
      assert.equal(r.status, 415, String(ct));
      assert.equal(JSON.parse(r.text).code, 'unsupported_media_type');
    }
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON', ' application/json ;charset=UTF-8']) {
      const r = await raw(srv, 'POST', '/_cairn/query', { headers: { 'content-type': ct }, body });
      assert.equal(r.status, 200, ct);
    }
    const bad = [
      '', '{', 'null', '[]', '"counter:get"', '{"args":{}}', '{"path":5}', '{"path":null}',
      '{"path":"counter:get","path":"tasks:add"}', '{"path":"counter:get"} x',
    ];
    for (const b of bad) {
      const r = await raw(srv, 'POST', '/_cairn/query', { headers: { 'content-type': 'application/json' }, body: b });
      assert.equal(r.status, 400, b);
      const j = JSON.parse(r.text);
      assert.equal(j.status, 'error');
      assert.equal(j.code, 'invalid_request', b);
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    // unknown envelope keys are left for later versions; args null is {}
    const ok = await raw(srv, 'POST', '/_cairn/query', {
      headers: { 'content-type': 'application/json' }, body: '{"path":"counter:get","args":null,"format":"json"}',
    });
    assert.equal(ok.status, 200, ok.text);
    // over the body limit: 413 before any function runs
    const huge = JSON.stringify({ path: 'tasks:add', args: { title: 'x'.repeat(1100 * 1024) } });
    const r = await raw(srv, 'POST', '/_cairn/mutation', { headers: { 'content-type': 'application/json' }, body: huge });
    assert.equal(r.status, 413);
    // just under it, the args are over their own 1 MiB cap
    const big = JSON.stringify({ path: 'tasks:add', args: { title: 'x'.repeat(1024 * 1024) } });
    const r2 = await raw(srv, 'POST', '/_cairn/mutation', { headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(r2.status, 400);
    assert.match(JSON.parse(r2.text).errorMessage, /larger than 1 MiB/);
  });

  test('atomicity: a mutation failing half-way leaves no trace', async () => {
    const tasks = await value(srv, 'query', 'tasks:list');
    const calls = await value(srv, 'query', 'tasks:calls');
    const n = await value(srv, 'query', 'counter:get');
    const r = await call(srv, 'mutation', 'tasks:add_then_fail', { title: 'ghost' });
    assert.equal(r.status, 409);
    assert.deepEqual(r.body, { status: 'error', code: 'conflict', errorMessage: 'failed half-way' });
    assert.deepEqual(await value(srv, 'query', 'tasks:list'), tasks);
    assert.equal(await value(srv, 'query', 'tasks:calls'), calls);
    assert.equal(await value(srv, 'query', 'counter:get'), n);
  });

  test('a write inside a query is refused by the database', async () => {
    const calls = await value(srv, 'query', 'tasks:calls');
    const r = await call(srv, 'query', 'tasks:sneaky');
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { status: 'error', code: 'internal', errorMessage: 'Server Error' });
    assert.doesNotMatch(r.text, /INSERT|calls/);
    assert.equal(await value(srv, 'query', 'tasks:calls'), calls);
    await srv.waitFor(() => /query tasks:sneaky failed: .*INSERT INTO calls/.test(srv.stderr), 5000, 'the refusal in the log');
  });

  test('8 concurrent clients x 1,000 increments of one counter: exactly 8,000', async () => {
    const start = await value(srv, 'query', 'counter:get');
    const agents = Array.from({ length: 8 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const body = JSON.stringify({ path: 'counter:inc', args: {} });
    const post = (agent) => new Promise((res, rej) => {
      const req = http.request(`${srv.url}/_cairn/mutation`, {
        method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (r) => {
        let t = '';
        r.setEncoding('utf8');
        r.on('data', (s) => { t += s; });
        r.on('end', () => res({ status: r.statusCode, t }));
      });
      req.on('error', rej);
      req.end(body);
    });
    const seen = await Promise.all(agents.map(async (agent) => {
      const values = [];
      for (let i = 0; i < 1000; i++) {
        const r = await post(agent);
        assert.equal(r.status, 200, r.t);
        values.push(JSON.parse(r.t).value);
      }
      return values;
    }));
    agents.forEach((a) => a.destroy());
    assert.equal(await value(srv, 'query', 'counter:get'), start + 8000);
    // every increment saw its own value: 8,000 distinct results
    const all = new Set(seen.flat());
    assert.equal(all.size, 8000);
    assert.equal(Math.min(...all), start + 1);
    assert.equal(Math.max(...all), start + 8000);
  });

  test('SQL injection through every argument type changes nothing', async () => {
    const hostile = [
      "'; DROP TABLE items; --", "' OR '1'='1", '" OR ""="', "x'); DELETE FROM counter; --",
      '1; UPDATE counter SET n = 0', "\\'; DROP TABLE tasks; --", '%', '_', "';ATTACH DATABASE '/tmp/x' AS x;--",
      'Robert\'); DROP TABLE seeds;--', '\u0027 UNION SELECT * FROM tasks --', "''''''''", 'é😀\u2028',
    ];
    const census = await value(srv, 'query', 'items:census');
    const counter = await value(srv, 'query', 'counter:get');
    const ids = [];
    for (const [k, h] of hostile.entries()) {
      const args = {
        s: h,
        i: [0, -1, 9007199254740991, -9007199254740991][k % 4],
        n: [0.5, -1e300, 1e-300, 3][k % 4],
        b: k % 2 === 0,
        a: [h, 1, null, { [h]: h }],
        o: { [h]: h, nested: { list: [h] } },
        x: k % 3 === 0 ? h : k % 3 === 1 ? [h] : { h },
      };
      const r = await call(srv, 'mutation', 'items:put', args);
      assert.equal(r.status, 200, r.text);
      const id = r.body.value.id;
      ids.push(id);
      const row = await value(srv, 'query', 'items:get', { id });
      assert.equal(row.s, h);
      assert.equal(row.i, args.i);
      assert.equal(row.n, args.n);
      assert.equal(row.b, args.b ? 1 : 0);
      assert.deepEqual(JSON.parse(row.a), args.a);
      assert.deepEqual(JSON.parse(row.o), args.o);
      assert.deepEqual(typeof args.x === 'string' ? row.x : JSON.parse(row.x), args.x);
      // a lookup by the hostile string finds exactly its own row(s)
      const found = await value(srv, 'query', 'items:find', { s: h });
      assert.ok(found.some((f) => f.id === id), h);
      for (const f of found) assert.equal((await value(srv, 'query', 'items:get', { id: f.id })).s === h ||
        (await value(srv, 'query', 'items:get', { id: f.id })).x === h, true);
    }
    assert.deepEqual(await value(srv, 'query', 'items:find', { s: "' OR 1=1 --" }), []);
    // hostile keys, paths and types are refused before any SQL
    for (const args of [{ "s'; DROP TABLE items;--": 1 }, { s: 1, i: "1 OR 1=1", n: '1', b: 'true', a: '[]', o: '{}' }]) {
      const r = await call(srv, 'mutation', 'items:put', args);
      assert.equal(r.status, 400);
    }
    assert.equal((await call(srv, 'query', 'items:get', { id: '1 OR 1=1' })).status, 400);
    assert.equal((await call(srv, 'query', "items:get; DROP TABLE items", { id: 1 })).status, 400);
    const after = await value(srv, 'query', 'items:census');
    assert.deepEqual(Object.keys(after).sort(), Object.keys(census).sort(), 'the same tables');
    for (const [t, n] of Object.entries(census))
      assert.equal(after[t], t === 'items' ? n + hostile.length : n, t);
    assert.equal(await value(srv, 'query', 'counter:get'), counter);
  });

  test('in-process calls from a route handler and a page loader, with the caller\'s errors', async () => {
    const n = await value(srv, 'query', 'counter:get');
    const c = await (await fetch(`${srv.url}/api/count`)).json();
    assert.deepEqual(c, { count: n, who: null });
    const b = await (await fetch(`${srv.url}/api/bump`, { method: 'POST' })).json();
    assert.deepEqual(b, { rc: 0, value: n + 2 });
    const a = await (await fetch(`${srv.url}/api/bump?how=action`, { method: 'POST' })).json();
    assert.deepEqual(a, { rc: 0, value: { after_inc: n + 4, now: n + 4 } });
    const bad = await (await fetch(`${srv.url}/api/bump?how=bad`, { method: 'POST' })).json();
    assert.deepEqual(bad, { rc: -2, error: 'invalid arguments for counter:inc: by must be an integer' });
    const kind = await (await fetch(`${srv.url}/api/bump?how=kind`, { method: 'POST' })).json();
    assert.deepEqual(kind, { rc: -4, error: 'counter:inc is a mutation, not a query' });
    // the page renders per request: a mutation shows on the next render
    const p1 = await (await fetch(`${srv.url}/counter`)).text();
    assert.match(p1, new RegExp(`<p id="n">${n + 4}</p>`));
    assert.match(p1, /\[fits\]/);
    await value(srv, 'mutation', 'counter:inc', { by: 10 });
    const p2 = await fetch(`${srv.url}/counter`);
    assert.equal(p2.status, 200);
    assert.equal(p2.headers.get('x-cairn-cache'), null, 'a dynamic page is never kept');
    assert.match(await p2.text(), new RegExp(`<p id="n">${n + 14}</p>`));
  });

  test('in --dev a 500 carries its detail', async () => {
    // A database of its own: the suite's server holds .cairn/data.db.
    const url = engine === 'sqlite' ? 'sqlite:.cairn/dev.db' : await pg.createDatabase('dev');
    const dev = await start(dir, { args: ['--dev'], env: { DATABASE_URL: url } });
    try {
      const r = await call(dev, 'query', 'tasks:broken');
      assert.equal(r.status, 500);
      assert.deepEqual(r.body, { status: 'error', code: 'internal', errorMessage: 'secret detail 1234' });
      const s = await call(dev, 'query', 'tasks:bad_sql');
      assert.match(s.body.errorMessage, noSuchTable);
    } finally {
      await stop(dev);
    }
  });
});

// Migrations on each engine: in order, once, across restarts; a failing
// one stops the start and leaves nothing of itself.
for (const engine of ['sqlite', 'postgres']) describe(`migrations on ${engine}`, () => {
  let dir, pg, env = {};
  const noSuchTable = engine === 'sqlite' ? /no such table: no_such_table/
    : /relation "no_such_table" does not exist/;
  before(async () => {
    dir = copyApp({ pages: false });
    await build(dir);
    if (engine === 'postgres') {
      pg = await startPostgres();
      env = { DATABASE_URL: pg.url };
    }
  });
  after(async () => { if (pg) await pg.stop(); });

  test('applied in order, once, across restarts', async () => {
    let srv = await start(dir, { env });
    let census = await value(srv, 'query', 'items:census');
    assert.equal(census.seeds, 1);
    await value(srv, 'mutation', 'tasks:add', { title: 'kept' });
    await stop(srv);
    srv = await start(dir, { env });
    census = await value(srv, 'query', 'items:census');
    assert.equal(census.seeds, 1, 'the seed migration ran once');
    assert.equal(census.tasks, 1);
    await stop(srv);
    // a new migration that depends on the ones before is applied after them
    writeFileSync(join(dir, 'data', 'migrations', '003_copy.sql'),
      'CREATE TABLE copies AS SELECT note FROM seeds;\nINSERT INTO copies SELECT title FROM tasks;\n');
    writeFileSync(join(dir, 'data', 'migrations', '010_after.sql'), 'INSERT INTO copies SELECT note FROM copies;\n');
    await build(dir);
    for (let i = 0; i < 2; i++) {
      srv = await start(dir, { env });
      census = await value(srv, 'query', 'items:census');
      assert.equal(census.copies, 4, 'copies: 2 rows, doubled once by 010');
      await stop(srv);
    }
  });

  test('a failing migration stops the start with its file and error and leaves the database as it was', async () => {
    let srv = await start(dir, { env });
    const before = await value(srv, 'query', 'items:census');
    await stop(srv);
    writeFileSync(join(dir, 'data', 'migrations', '011_bad.sql'),
      'CREATE TABLE half (x INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n');
    await build(dir);
    srv = spawnServer(dir, { env });
    const r = await srv.exited;
    assert.notEqual(r.code, 0);
    assert.equal(srv.stdoutLines.find((l) => l.startsWith('cairn listening')), undefined);
    assert.match(srv.stderr, new RegExp(`data/migrations/011_bad\\.sql: ${noSuchTable.source}`));
    assert.deepEqual(srv.sanitizerReports(), []);
    unlinkSync(join(dir, 'data', 'migrations', '011_bad.sql'));
    await build(dir);
    srv = await start(dir, { env });
    const now = await value(srv, 'query', 'items:census');
    assert.deepEqual(now, before, 'nothing of 011 stayed');
    await stop(srv);
  });
});

describe('migrations', () => {
  let dir;
  before(async () => {
    dir = copyApp({ pages: false });
    await build(dir);
  });

  test('cairn.json\'s data.durability: "full" serves, a bad value stops the start', async () => {
    writeFileSync(join(dir, 'cairn.json'), JSON.stringify({ data: { durability: 'full' } }));
    let srv = await start(dir);
    const n = await value(srv, 'mutation', 'counter:inc', {});
    assert.equal(await value(srv, 'query', 'counter:get'), n);
    await stop(srv);
    for (const [cfg, msg] of [[{ data: { durability: 'fsync' } }, /"data.durability" must be "normal" or "full"/],
      [{ data: { wal: true } }, /unknown key "data.wal"/], [{ data: 1 }, /"data" must be an object/]]) {
      writeFileSync(join(dir, 'cairn.json'), JSON.stringify(cfg));
      srv = spawnServer(dir);
      const r = await srv.exited;
      assert.notEqual(r.code, 0);
      assert.match(srv.stderr, msg);
    }
    unlinkSync(join(dir, 'cairn.json'));
  });

  test('the database file is held by one server; data.exclusive: false shares it', async () => {
    const a = await start(dir);
    const second = spawnServer(dir, { env: { PORT: '0' } });
    const r = await second.exited;
    assert.notEqual(r.code, 0);
    assert.match(second.stderr, /the database \.cairn\/data\.db is held by another process .*"data": \{"exclusive": false\}/);
    assert.deepEqual(second.sanitizerReports(), []);
    const n = await value(a, 'mutation', 'counter:inc', {});
    assert.equal(await value(a, 'query', 'counter:get'), n, 'the first one serves on');
    await stop(a);
    writeFileSync(join(dir, 'cairn.json'), JSON.stringify({ data: { exclusive: false } }));
    const b = await start(dir), c = await start(dir);
    const m = await value(b, 'mutation', 'counter:inc', {});
    assert.equal(m, n + 1);
    assert.equal(await value(c, 'query', 'counter:get'), m, 'a write of one is read by the other');
    await stop(b);
    await stop(c);
    writeFileSync(join(dir, 'cairn.json'), JSON.stringify({ data: { exclusive: 'no' } }));
    const bad = spawnServer(dir);
    assert.notEqual((await bad.exited).code, 0);
    assert.match(bad.stderr, /"data.exclusive" must be true or false/);
    unlinkSync(join(dir, 'cairn.json'));
  });

  test('DATABASE_URL picks the database', async () => {
    const other = join(dir, 'elsewhere.db');
    const srv = await start(dir, { env: { DATABASE_URL: `sqlite:${other}` } });
    assert.equal((await value(srv, 'query', 'items:census')).tasks, 0, 'a new database');
    await stop(srv);
    assert.ok(existsSync(other));
    const bad = spawnServer(dir, { env: { DATABASE_URL: 'mysql://x' } });
    assert.notEqual((await bad.exited).code, 0);
    assert.match(bad.stderr, /mysql/);
  });
});

for (const engine of ['sqlite', 'postgres']) test(`durability on ${engine}: every acknowledged mutation survives kill -9 in the middle of a stream`, async () => {
  const pg = engine === 'postgres' ? await startPostgres() : null;
  const env = pg ? { DATABASE_URL: pg.url } : {};
  const dir = copyApp({ pages: false });
  await build(dir);
  let srv = await start(dir, { env });
  const acked = [];
  let killed = false;
  const client = async (name) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let seq = 0; !killed; seq++) {
      const body = JSON.stringify({ path: 'log:append', args: { client: name, seq } });
      const ok = await new Promise((res) => {
        const req = http.request(`${srv.url}/_cairn/mutation`, {
          method: 'POST', agent, headers: { 'content-type': 'application/json' },
        }, (r) => {
          let t = '';
          r.on('data', (s) => { t += s; });
          r.on('end', () => res(r.statusCode === 200 && JSON.parse(t).status === 'success'));
          r.on('error', () => res(false));
        });
        req.on('error', () => res(false));
        req.end(body);
      });
      if (ok) acked.push(`${name}/${seq}`);
      else break;
    }
    agent.destroy();
  };
  const clients = ['a', 'b', 'c', 'd', 'e', 'f'].map(client);
  while (acked.length < 600) await new Promise((r) => setTimeout(r, 5));
  killed = true;
  srv.proc.kill('SIGKILL');
  await srv.exited;
  await Promise.all(clients);
  srv = await start(dir, { env });
  const rows = await value(srv, 'query', 'log:all');
  const stored = new Set(rows.map((r) => `${r.client}/${r.seq}`));
  const lost = acked.filter((k) => !stored.has(k));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged mutations lost`);
  // each client's rows run from 0 without a hole
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
    const seqs = rows.filter((r) => r.client === name).map((r) => r.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), name);
  }
  await stop(srv);
  if (pg) await pg.stop();
});
