// `cairn new` and an installed cairn: the newcomer's path. new -> dev serves
// at once; new -> build -> start -> curl; and the same with a cairn
// installed (DESTDIR and a prefix) outside this tree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  REPO, buildDir, eventually, killAll, removeTemps, request, run, serve, tempDir, unexpectedReports,
} from './lib/cli.mjs';

after(() => { killAll(); removeTemps(); });

const NEW_FILES = ['.gitignore', 'README.md', 'app/api/hello/route.c', 'app/layout.c', 'app/layout.html', 'app/page.html',
  'public/cairn.svg'];

function listFiles(dir, base = '') {
  return readdirSync(join(dir, base), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, join(base, e.name)) : [join(base, e.name)]).sort();
}

describe('cairn new', () => {
  test('writes the starter app and says what to do next', async () => {
    const parent = tempDir();
    const r = await run(['new', 'my-app'], { cwd: parent });
    assert.equal(r.code, 0, r.stderr);
    const dir = join(parent, 'my-app');
    assert.deepEqual(listFiles(dir), NEW_FILES);
    assert.match(r.stdout, /Created my-app in /);
    assert.match(r.stdout, /cd my-app\n {2}cairn dev/);
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /^# my-app\n/);
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /cairn dev/);
    assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^\/\.cairn\/$/m);
    assert.match(readFileSync(join(dir, 'app/layout.html'), 'utf8'), /\{\{\{children\}\}\}/);
    const routes = await run(['routes', dir]);
    assert.match(routes.stdout, /\/api\/hello +API \(route handler\)/);
    assert.match(routes.stdout, /○ \/ +page +app\/page.html/);
  });

  test('creates missing parent directories', async () => {
    const parent = tempDir();
    const r = await run(['new', 'a/b/c'], { cwd: parent });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(join(parent, 'a/b/c')), NEW_FILES);
  });

  test('refuses a directory that is not empty, and touches nothing in it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mine.txt'), 'keep me');
    const r = await run(['new', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not empty/);
    assert.deepEqual(listFiles(dir), ['mine.txt']);
    const ok = await run(['new', tempDir()]); // an existing empty one is fine
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('new -> dev serves at once, and an edit shows up', async () => {
    const dir = join(tempDir(), 'hello');
    assert.equal((await run(['new', dir])).code, 0);
    const srv = await serve('dev', dir);
    try {
      const r = await request(`${srv.url}/api/hello?name=cairn`);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { message: 'Hello, cairn!' });
      assert.match((await request(`${srv.url}/cairn.svg`)).headers['content-type'], /^image\/svg\+xml/);
      const file = join(dir, 'app/api/hello/route.c');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"Hello, %.*s!"', '"Hi, %.*s!"'));
      await eventually(async () => JSON.parse((await request(`${srv.url}/api/hello`)).body).message === 'Hi, world!',
        5000, 'the edit');
    } finally { await srv.stop(); }
  });

  test('new -> build -> start -> curl', async () => {
    const dir = join(tempDir(), 'hello');
    assert.equal((await run(['new', dir])).code, 0);
    const b = await run(['build'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const srv = await serve('start', dir);
    try {
      const out = execFileSync('curl', ['-s', '-i', `${srv.url}/api/hello?name=curl`], { encoding: 'utf8' });
      assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(out, /\r\n\r\n\{"message":"Hello, curl!"\}$/);
    } finally {
      await srv.stop();
      assert.deepEqual(unexpectedReports(srv.stderr), []);
    }
  });
});

describe('an installed cairn', () => {
  test('make install semantics (DESTDIR + PREFIX): files in place, relocatable, builds an app outside this tree', async () => {
    const stage = tempDir('cairn-install-');
    const prefix = '/opt/cairn-test';
    execFileSync('cmake', ['--install', buildDir(), '--prefix', prefix], {
      env: { ...process.env, DESTDIR: stage }, stdio: 'pipe',
    });
    const root = join(stage, prefix);
    const libs = readdirSync(join(root, 'lib'));
    for (const f of ['bin/cairn', 'include/cairn.h', 'lib/libcairn.a', 'lib/pkgconfig/cairn.pc', 'share/man/man1/cairn.1']) {
      assert.ok(existsSync(join(root, f)), f);
    }
    assert.ok(libs.some((f) => /^libcairn\.so\.0(\.|$)/.test(f)), libs.join(' '));
    assert.ok(libs.includes('libcairn.so'), libs.join(' '));
    assert.match(readFileSync(join(root, 'lib/pkgconfig/cairn.pc'), 'utf8'), /^prefix=\/opt\/cairn-test$/m);
    assert.match(readFileSync(join(root, 'share/man/man1/cairn.1'), 'utf8'), /^\.TH CAIRN 1 /m);
    // The staged copy works where it is: it finds include/ and lib/ next to
    // its own bin/, not in this source tree.
    const bin = join(root, 'bin/cairn');
    const v = await run(['--version'], { bin });
    assert.match(v.stdout, /^cairn \d/);
    const dir = join(tempDir(), 'outside');
    assert.equal((await run(['new', dir], { bin })).code, 0);
    const b = await run(['build', dir], { bin });
    assert.equal(b.code, 0, b.stderr);
    const main = readFileSync(join(dir, '.cairn/obj/main.d'), 'utf8');
    assert.ok(main.includes(join(root, 'include/cairn.h')), main);
    assert.ok(!main.includes(join(REPO, 'include')), 'not this tree\'s header');
    const { startProc } = await import('./lib/cli.mjs');
    const srv = startProc(['start', dir], { bin, env: { PORT: '0' } });
    try {
      const url = await srv.listening();
      const out = execFileSync('curl', ['-s', `${url}/api/hello`], { encoding: 'utf8' });
      assert.equal(out, '{"message":"Hello, world!"}');
    } finally { await srv.stop(); }
    // And dev, with route objects bound to the installed executable.
    const dev = await serve('dev', dir, { bin });
    try {
      assert.equal((await request(`${dev.url}/api/hello`)).status, 200);
    } finally { await dev.stop(); }
  });

  test('make install passes PREFIX and DESTDIR to cmake --install', () => {
    const out = execFileSync('make', ['-n', '-C', REPO, 'install', 'PREFIX=/some/prefix', 'DESTDIR=/some/stage'],
      { encoding: 'utf8' });
    assert.match(out, /DESTDIR=\/some\/stage cmake --install build --prefix \/some\/prefix/);
  });
});
