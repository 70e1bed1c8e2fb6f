// The cairn command and the data layer (issue 9): data/<module>.c and
// data/migrations/NNN_name.sql in `cairn build` (what fails it, naming the
// file; the table of functions) and `cairn routes`, a data-only app under
// `cairn start`, and `cairn dev` restarting its server when a module or a
// migration changes, keeping the last good one when a migration fails.
import assert from 'node:assert/strict';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  eventually, killAll, removeTemps, request, run, serve, tempDir, unexpectedReports, writeFiles,
} from './lib/cli.mjs';

after(() => { killAll(); removeTemps(); });

// A module: name -> [kind, SQL of a query/mutation or a constant].
function module(fns) {
  let src = '#include <cairn.h>\n\n';
  const defs = [];
  for (const [name, [kind, body]] of Object.entries(fns)) {
    src += `static int f_${name}(cn_ctx *ctx, const json_t *args, json_t **out) {\n  (void)args;\n`;
    if (kind === 'CN_QUERY')
      src += `  return cn_db_value(cn_ctx_db(ctx), out, ${JSON.stringify(body)}, CN_NOARGS);\n}\n`;
    else if (kind === 'CN_MUTATION')
      src += `  return cn_db_exec(cn_ctx_db(ctx), NULL, ${JSON.stringify(body)}, CN_NOARGS);\n}\n`;
    else
      src += `  (void)ctx;\n  *out = json_string(${JSON.stringify(body)});\n  return 0;\n}\n`;
    defs.push(`{.name = ${JSON.stringify(name)}, .kind = ${kind}, .fn = f_${name}}`);
  }
  return `${src}\nCN_DATA(${defs.join(',\n        ')});\n`;
}

const BASE = {
  'data/notes.c': module({ count: ['CN_QUERY', 'SELECT count(*) FROM notes'], add: ['CN_MUTATION', "INSERT INTO notes VALUES ('n')"] }),
  'data/migrations/001_init.sql': 'CREATE TABLE notes (body TEXT);\n',
  'app/api/hello/route.c': '#include <cairn.h>\nstatic int get(cn_req *req, cn_res *res) {\n  (void)req;\n  return cn_res_text(res, 200, "hi");\n}\nCN_ROUTE(.GET = get);\n',
};

function app(extra = {}) {
  return writeFiles(tempDir(), { ...BASE, ...extra }, { aged: true });
}

async function call(url, kind, path, args = {}) {
  const r = await request(`${url}/_cairn/${kind}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path, args }),
  });
  return { status: r.status, body: JSON.parse(r.body) };
}

describe('cairn build and routes with data/', () => {
  test('the build lists every function with its kind; routes lists the modules', async () => {
    const dir = app({ 'data/other.c': module({ ping: ['CN_ACTION', 'pong'] }) });
    const b = await run(['build', dir]);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /^┌ λ notes:add +mutation +data\/notes\.c$/m);
    assert.match(b.stdout, /^├ λ notes:count +query +data\/notes\.c$/m);
    assert.match(b.stdout, /^└ λ other:ping +action +data\/other\.c$/m);
    assert.match(b.stdout, /1 migration in data\/migrations/);
    assert.match(b.stdout, /Compiled 3 files/, 'the route and the two modules');
    const r = await run(['routes', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /λ notes:\* +module +data\/notes\.c/);
    assert.match(r.stdout, /λ other:\* +module +data\/other\.c/);
    // an unchanged app rebuilds from the cache; a changed migration is
    // embedded again
    const again = await run(['build', dir]);
    assert.match(again.stdout, /Compiled 0 files .*\(3 unchanged\)/);
    writeFileSync(join(dir, 'data/migrations/001_init.sql'), 'CREATE TABLE notes (body TEXT, more TEXT);\n');
    const third = await run(['build', dir]);
    assert.equal(third.code, 0);
    assert.match(third.stdout, /Linked \.cairn\/server/);
  });

  test('a migration may come in versions for one engine: counted once', async () => {
    const dir = app({
      'data/migrations/001_init.postgres.sql': 'CREATE TABLE notes (body TEXT);\n',
      'data/migrations/002_more.sqlite.sql': 'SELECT 1;\n',
    });
    const b = await run(['build', dir]);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /2 migrations in data\/migrations \(and engine-specific versions\)/);
  });

  const failing = [
    ['a module name that is not an identifier', { 'data/my-notes.c': module({ x: ['CN_ACTION', 'x'] }) },
      /data\/my-notes\.c: a data module's name must be an identifier/],
    ['a module name starting with a digit', { 'data/1notes.c': module({ x: ['CN_ACTION', 'x'] }) },
      /data\/1notes\.c: a data module's name must be an identifier/],
    ['a migration without a number', { 'data/migrations/init.sql': 'SELECT 1;' },
      /data\/migrations\/init\.sql: a migration's name must be NNN_name\.sql/],
    ['a migration without a name', { 'data/migrations/002_.sql': 'SELECT 1;' },
      /data\/migrations\/002_\.sql: a migration's name must be NNN_name\.sql/],
    ['a migration with a dash after its number', { 'data/migrations/002-more.sql': 'SELECT 1;' },
      /data\/migrations\/002-more\.sql: a migration's name must be NNN_name\.sql/],
    ['a migration with a space in its name', { 'data/migrations/002_more notes.sql': 'SELECT 1;' },
      /data\/migrations\/002_more notes\.sql: a migration's name must be NNN_name\.sql/],
    ['two migrations with one number', { 'data/migrations/01_again.sql': 'SELECT 1;' },
      /data\/migrations\/01_again\.sql: its number is the number of data\/migrations\/001_init\.sql/],
    ['an engine\'s version of another migration\'s number', { 'data/migrations/001_other.postgres.sql': 'SELECT 1;' },
      /data\/migrations\/001_other\.postgres\.sql: its number is the number of data\/migrations\/001_init\.sql/],
    ['a migration for an engine cairn does not know', { 'data/migrations/002_more.mysql.sql': 'SELECT 1;' },
      /data\/migrations\/002_more\.mysql\.sql: a migration's name must be NNN_name\.sql/],
    ['a migration that is not text', { 'data/migrations/002_bin.sql': 'SELECT 1;\0' },
      /data\/migrations\/002_bin\.sql: cannot be read as text/],
    ['a function name declared twice', {
      'data/notes.c': module({ count: ['CN_QUERY', 'SELECT 1'] }).replace('CN_DATA(', 'CN_DATA({.name = "count", .kind = CN_ACTION, .fn = f_count},\n        '),
    }, /data\/notes\.c: notes:count: the name is declared twice/],
    ['an owner rule without its key', {
      'data/notes.c': '#include <cairn.h>\nstatic int f(cn_ctx *c, const json_t *a, json_t **o) { (void)c; (void)a; (void)o; return 0; }\n' +
        'CN_DATA({.name = "get", .kind = CN_QUERY, .fn = f, .auth = {.kind = CN_AUTH_OWNER, .table = "notes", .column = "owner", .key = "id"}});\n',
    }, /data\/notes\.c: notes:get: the owner rule's key "id" must be a required string or integer argument/],
    ['a module that declares nothing', { 'data/empty.c': '#include <cairn.h>\nint cn_nothing_here;\n' },
      /data\/empty\.c: the file declares no functions \(CN_DATA\(\.\.\.\) is missing\)/],
    ['a compile error', { 'data/notes.c': '#include <cairn.h>\nCN_DATA({.name = "x", .kind = CN_QUERY, .fn = missing});\n' },
      /data\/notes\.c:2:\d+: error: .missing. undeclared/],
  ];
  for (const [what, files, err] of failing) {
    test(`fails the build: ${what}`, async () => {
      const dir = app(files);
      const b = await run(['build', dir]);
      assert.equal(b.code, 1, b.stdout + b.stderr);
      assert.match(b.stderr, /Failed to compile/);
      assert.match(b.stderr, err);
      assert.deepEqual(unexpectedReports(b.stderr), []);
    });
  }

  test('other files under data/ are the app\'s own', async () => {
    const dir = app({
      'data/util.h': '#define NOTE "n"\n',
      'data/helpers/x.c': 'this is not C and nobody compiles it\n',
      'data/migrations/README.md': 'not a migration\n',
      'data/migrations/old/000_x.sql': 'not one either\n',
    });
    const b = await run(['build', dir]);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /1 migration in data\/migrations/);
  });

  test('cairn start serves a data-only app and migrates it once', async () => {
    const dir = writeFiles(tempDir(), {
      'data/notes.c': BASE['data/notes.c'], 'data/migrations/001_init.sql': BASE['data/migrations/001_init.sql'],
    });
    const b = await run(['build', dir]);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /No routes/);
    for (let i = 1; i <= 2; i++) {
      const srv = await serve('start', dir);
      assert.equal((await call(srv.url, 'mutation', 'notes:add')).status, 200);
      assert.deepEqual((await call(srv.url, 'query', 'notes:count')).body, { status: 'success', value: i });
      await srv.stop();
      assert.deepEqual(unexpectedReports(srv.stderr), []);
    }
    assert.ok(existsSync(join(dir, '.cairn', 'data.db')));
  });
});

describe('cairn dev with data/', () => {
  test('a changed module, a new migration, a new module: the server restarts with them', async () => {
    const dir = app();
    const srv = await serve('dev', dir);
    try {
      const url = srv.url;
      assert.equal((await call(url, 'mutation', 'notes:add')).status, 200);
      assert.equal((await call(url, 'query', 'notes:count')).body.value, 1);
      // the module changes: its new code answers after a restart
      writeFiles(dir, { 'data/notes.c': BASE['data/notes.c'].replace('SELECT count(*) FROM notes', 'SELECT 100 + count(*) FROM notes') });
      await eventually(async () => (await call(url, 'query', 'notes:count')).body.value === 101, 15000, 'the new module');
      assert.match(srv.stdout, /Restarted the server/);
      // a migration and a module that needs it, together
      writeFiles(dir, {
        'data/migrations/002_tags.sql': "CREATE TABLE tags (t TEXT);\nINSERT INTO tags VALUES ('a'), ('b');\n",
        'data/tags.c': module({ count: ['CN_QUERY', 'SELECT count(*) FROM tags'] }),
      });
      await eventually(async () => (await call(url, 'query', 'tags:count')).body.value === 2, 15000, 'the migration and the module');
      // a module removed: its functions are gone
      unlinkSync(join(dir, 'data/tags.c'));
      await eventually(async () => (await call(url, 'query', 'tags:count')).status === 404, 15000, 'the module gone');
      // the data survived every restart; the routes kept answering
      assert.equal((await call(url, 'query', 'notes:count')).body.value, 101);
      assert.equal((await request(`${url}/api/hello`)).body, 'hi');
    } finally { await srv.stop(); }
    assert.deepEqual(unexpectedReports(srv.stderr), []);
  });

  test('a failing migration is shown and the last good server keeps answering until it is fixed', async () => {
    const dir = app();
    const srv = await serve('dev', dir);
    try {
      const url = srv.url;
      assert.equal((await call(url, 'mutation', 'notes:add')).status, 200);
      writeFiles(dir, { 'data/migrations/002_bad.sql': 'CREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);\n' });
      await eventually(() => /data\/migrations\/002_bad\.sql: no such table: nowhere/.test(srv.stderr), 15000, 'the migration error');
      await eventually(() => /the development server did not start/.test(srv.stderr), 15000, 'the failed start');
      assert.equal((await call(url, 'query', 'notes:count')).body.value, 1, 'the old server answers');
      // a bad module name is an error too, shown like a compile error
      writeFiles(dir, { 'data/bad-name.c': module({ x: ['CN_ACTION', 'x'] }) });
      await eventually(() => /data\/bad-name\.c: a data module's name must be an identifier/.test(srv.stderr), 15000, 'the name error');
      unlinkSync(join(dir, 'data/bad-name.c'));
      writeFiles(dir, { 'data/migrations/002_bad.sql': 'CREATE TABLE half (x);\n', 'data/half.c': module({ n: ['CN_QUERY', 'SELECT count(*) FROM half'] }) });
      await eventually(async () => (await call(url, 'query', 'half:n')).status === 200, 15000, 'the fixed migration');
      assert.equal((await call(url, 'query', 'notes:count')).body.value, 1);
    } finally { await srv.stop(); }
    assert.deepEqual(unexpectedReports(srv.stderr), []);
  });
});
