// `cairn routes`, `cairn build` and `cairn start`: the route table, conflicts
// and compile errors with file and line, the build cache, the built server
// answering, and start's options in next's order of precedence.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  age, fixture, killAll, removeTemps, request, run, serve, textRoute, unexpectedReports, writeFiles,
} from './lib/cli.mjs';

after(() => { killAll(); removeTemps(); });

// The fixture's files, aged again after the fixture's copy touched them.
const BASIC_FILES = ['app/api/hello/route.c', 'app/api/users/[id]/route.c', 'app/api/files/[...path]/route.c',
  'pages/api/post/[pid].c', 'middleware.c', 'lib/util.h'];

describe('cairn routes', () => {
  test('lists app and pages routes in Next.js order with kind and file', async () => {
    const dir = fixture('cli-basic');
    const r = await run(['routes', dir]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const app = lines.indexOf(lines.find((l) => l.startsWith('Route (app)')));
    const pages = lines.indexOf(lines.find((l) => l.startsWith('Route (pages)')));
    assert.ok(app >= 0 && pages > app, r.stdout);
    const rows = lines.slice(app + 1, pages - 1).map((l) => l.split(/\s{2,}/).map((s) => s.trim()));
    assert.deepEqual(rows.map((c) => c[0].replace(/^\S+ \S+ /, '')),
      ['/', '/api/files/[...path]', '/api/hello', '/api/users/[id]']);
    assert.match(lines[app + 1], /^┌ ○ \/ +page +app\/page\.html$/);
    assert.match(lines[app + 2], /^├ ƒ \/api\/files\/\[\.\.\.path\] +API \(route handler\) +app\/api\/files\/\[\.\.\.path\]\/route\.c$/);
    assert.match(lines[app + 4], /^└ ƒ \/api\/users\/\[id\] +API \(route handler\) +app\/api\/users\/\[id\]\/route\.c$/);
    assert.match(lines[pages + 1], /^─ ƒ \/api\/post\/\[pid\] +API \(pages\/api\) +pages\/api\/post\/\[pid\]\.c$/);
    assert.match(r.stdout, /^ƒ Middleware +middleware\.c$/m);
    assert.ok(!r.stdout.includes('_private'), 'private folders are not routes');
    assert.ok(!existsSync(join(dir, '.cairn')), 'routes builds nothing');
  });

  test('an app with no routes says how to add one', async () => {
    const dir = writeFiles(fixture('cli-env'), {});
    rmSync(join(dir, 'app'), { recursive: true });
    const r = await run(['routes', dir]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /No routes: add app\/page\.html, app\/api\/hello\/route\.c/);
  });

  const conflicts = [
    {
      name: 'different slug names',
      files: { 'app/api/users/[slug]/route.c': textRoute('x') },
      err: /app\/api\/users\/\[slug\]\/route\.c: You cannot use different slug names for the same dynamic path \('id' !== 'slug'\)\. \(conflicts with app\/api\/users\/\[id\]\/route\.c\)/,
    },
    {
      name: 'the same URL from app/ and pages/',
      files: { 'pages/api/hello.c': textRoute('x') },
      err: /Conflicting app and page file/,
    },
    {
      name: 'a route beside a page',
      files: { 'app/route.c': textRoute('x') },
      err: /Conflicting route and page at \//,
    },
    {
      name: 'a catch-all that is not last',
      files: { 'app/api/[...a]/b/route.c': textRoute('x') },
      err: /app\/api\/\[\.\.\.a\]\/b\/route\.c: Catch-all must be the last part of the URL/,
    },
    {
      name: 'an optional non-catch-all',
      files: { 'app/api/opt/[[id]]/route.c': textRoute('x') },
      err: /app\/api\/opt\/\[\[id\]\]\/route\.c: .*Optional route parameters are not yet supported/,
    },
  ];
  for (const c of conflicts) {
    test(`a conflict fails routes and build, naming the files: ${c.name}`, async () => {
      const dir = writeFiles(fixture('cli-basic'), c.files);
      for (const cmd of ['routes', 'build']) {
        const r = await run([cmd, dir]);
        assert.equal(r.code, 1, `${cmd}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, c.err);
      }
      assert.ok(!existsSync(join(dir, '.cairn', 'server')));
    });
  }
});

describe('cairn build', () => {
  test('builds a server, prints the table with sizes and the time it took', async () => {
    const dir = fixture('cli-basic');
    const r = await run(['build', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(join(dir, '.cairn', 'server')).mode & 0o111);
    assert.match(r.stdout, /Compiled 5 files in \d/);
    assert.match(r.stdout, /Linked \.cairn\/server/);
    assert.match(r.stdout, /^├ ƒ \/api\/hello +API \(route handler\) +\d+(\.\d)? k?B$/m);
    assert.match(r.stdout, /^┌ ○ \/ +page: static +\d+ B$/m);
    assert.match(r.stdout, /Generated static pages in \d/);
    assert.match(r.stdout, /^ƒ Middleware +\d+(\.\d)? k?B$/m);
    assert.match(r.stdout, /Build finished in \d+(ms|\.\ds)\n$/);
    // The manifest lists every route with its source file.
    const main = readFileSync(join(dir, '.cairn', 'main.c'), 'utf8');
    for (const f of ['app/api/hello/route.c', 'pages/api/post/[pid].c']) assert.ok(main.includes(`"${f}"`), f);
    assert.match(main, /&cn_middleware/);
  });

  test('a compile error fails with file:line and the compiler\'s message', async () => {
    const dir = fixture('cli-basic');
    writeFileSync(join(dir, 'app/api/hello/route.c'),
      '#include <cairn.h>\nstatic int get(cn_req *req, cn_res *res) {\n  return cn_res_text(res, 200, "x")\n}\nCN_ROUTE(.GET = get);\n');
    const r = await run(['build', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Failed to compile\./);
    assert.match(r.stderr, /^app\/api\/hello\/route\.c:3:\d+: error: expected [‘']?;/m);
    assert.ok(!existsSync(join(dir, '.cairn', 'server')));
  });

  test('a link error fails the build and names the symbol', async () => {
    const dir = writeFiles(fixture('cli-basic'), {
      'app/api/hello/route.c': textRoute('x', 'int nowhere(void);\nstatic int use(void) { return nowhere(); }\nint (*keep)(void) = use;'),
    });
    const r = await run(['build', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Failed to link\./);
    assert.match(r.stderr, /undefined reference to `nowhere'/);
  });

  test('two route files may define functions of the same name', async () => {
    // users/[id] and files/[...path] both define a non-static helper().
    const dir = fixture('cli-basic');
    assert.equal((await run(['build', dir])).code, 0);
    const srv = await serve('start', dir);
    try {
      assert.equal(JSON.parse((await request(`${srv.url}/api/users/1`)).body).from, 'users');
      assert.equal(JSON.parse((await request(`${srv.url}/api/files/a`)).body).from, 'files');
    } finally { await srv.stop(); }
  });

  test('unchanged files are not compiled again; a changed header recompiles its includers', async () => {
    const dir = fixture('cli-basic');
    age(dir, BASIC_FILES);
    const first = await run(['build', dir]);
    assert.match(first.stdout, /Compiled 5 files/);
    const again = await run(['build', dir]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Compiled 0 files in .*\(5 unchanged\)/);
    assert.match(again.stdout, /Up to date: \.cairn\/server/);
    const serverBefore = statSync(join(dir, '.cairn', 'server')).mtimeMs;
    writeFileSync(join(dir, 'lib/util.h'), '#ifndef UTIL_H\n#define UTIL_H\n#define UTIL_TAG "v2"\n#endif\n');
    age(dir, ['lib/util.h']);
    const header = await run(['build', dir]);
    assert.match(header.stdout, /Compiled 1 file in .*\(4 unchanged\)/);
    assert.match(header.stdout, /Linked \.cairn\/server/);
    assert.notEqual(statSync(join(dir, '.cairn', 'server')).mtimeMs, serverBefore);
    const srv = await serve('start', dir);
    try {
      assert.equal(JSON.parse((await request(`${srv.url}/api/users/1`)).body).tag, 'v2');
    } finally { await srv.stop(); }
  });

  test('progress lines name what is slow (a compile over a second)', async () => {
    const dir = writeFiles(fixture('cli-basic'), {
      // A file the optimiser needs over a second for: a few hundred
      // functions with loops (about 5 ms each at -O2 here).
      'app/api/slow/route.c': textRoute('slow', Array.from({ length: 300 }, (_, i) =>
        `int f${i}(int x);\nint f${i}(int x) { int s = 0; for (int i = 0; i < x; i++) ` +
        `{ s += i * ${i} ^ (s >> 3); if (s % ${i + 7} == 1) s -= x; } return s; }`).join('\n')),
    });
    const r = await run(['build', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {3}Compiling\.\.\. \d+ of 6 done \([\d.]+m?s; still compiling app\/api\/slow\/route\.c\)$/m);
  });
});

describe('cairn start', () => {
  test('serves the built app: route handlers, params, catch-all, pages/api, middleware, public/', async () => {
    const dir = fixture('cli-basic');
    assert.equal((await run(['build', dir])).code, 0);
    const srv = await serve('start', dir);
    try {
      const hello = await request(`${srv.url}/api/hello`);
      assert.equal(hello.status, 200);
      assert.deepEqual(JSON.parse(hello.body), { message: 'hello' });
      assert.equal(hello.headers['x-mw'], 'yes');
      const post = await request(`${srv.url}/api/hello`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}',
      });
      assert.equal(post.status, 201);
      assert.deepEqual(JSON.parse(post.body), { a: [1, 2] });
      assert.equal(JSON.parse((await request(`${srv.url}/api/users/42`)).body).id, '42');
      assert.deepEqual(JSON.parse((await request(`${srv.url}/api/files/a/b/c`)).body).path, ['a', 'b', 'c']);
      assert.deepEqual(JSON.parse((await request(`${srv.url}/api/post/7`, { method: 'DELETE' })).body),
        { pid: '7', method: 'DELETE' });
      assert.equal((await request(`${srv.url}/hello.txt`)).body, 'hello from public\n');
      assert.equal((await request(`${srv.url}/api/nothing`)).status, 404);
      assert.equal((await request(`${srv.url}/api/hello`, { method: 'PUT' })).status, 405);
      assert.match(srv.stdout, /GET \/api\/hello 200/);
    } finally {
      const exit = await srv.stop();
      assert.deepEqual(unexpectedReports(srv.stderr), []);
      assert.equal(exit.code, 0, srv.describe());
    }
  });

  test('is the server itself (exec): the pid that listens is the pid started', async () => {
    const dir = fixture('cli-basic');
    assert.equal((await run(['build', dir])).code, 0);
    const srv = await serve('start', dir);
    try {
      const exe = readFileSync(`/proc/${srv.p.pid}/cmdline`, 'utf8');
      assert.ok(exe.startsWith('cairn\0'), exe);
      const cwd = (await import('node:fs')).readlinkSync(`/proc/${srv.p.pid}/exe`);
      assert.ok(cwd.endsWith('/.cairn/server'), cwd);
    } finally { await srv.stop(); }
  });

  // Precedence as in next start: -p beats PORT beats cairn.json; the same
  // for -H, HOSTNAME and "hostname".
  const portCases = [
    { name: 'PORT', env: { PORT: '0' }, args: [], host: '127.0.0.1' },
    { name: '-p over PORT', env: { PORT: '1' }, args: ['-p', '0'], host: '127.0.0.1' },
    { name: '--port= over cairn.json', config: { port: 1 }, env: {}, args: ['--port=0'], host: '127.0.0.1' },
    { name: 'PORT over cairn.json', config: { port: 1 }, env: { PORT: '0' }, args: [], host: '127.0.0.1' },
    { name: 'HOSTNAME', env: { PORT: '0', HOSTNAME: '::1' }, args: [], host: '[::1]' },
    { name: '-H over HOSTNAME', env: { PORT: '0', HOSTNAME: '0.0.0.0' }, args: ['-H', '127.0.0.1'], host: '127.0.0.1' },
    { name: '--hostname over cairn.json', config: { hostname: '0.0.0.0', port: 0 }, env: {}, args: ['--hostname', '::1'], host: '[::1]' },
  ];
  for (const c of portCases) {
    test(`listens where asked: ${c.name}`, async () => {
      const dir = fixture('cli-basic');
      if (c.config) writeFileSync(join(dir, 'cairn.json'), JSON.stringify(c.config));
      assert.equal((await run(['build', dir])).code, 0);
      const { startProc } = await import('./lib/cli.mjs');
      const srv = startProc(['start', dir, ...c.args], { env: c.env });
      try {
        const url = await srv.listening();
        assert.ok(url.startsWith(`http://${c.host}:`), url);
        assert.notEqual(srv.port, 1);
        assert.equal((await request(`${url}/api/hello`)).status, 200);
      } finally { await srv.stop(); }
    });
  }
});
