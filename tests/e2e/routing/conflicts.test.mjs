// Route conflicts are build errors: `cairn build` of each tiny broken app
// under tests/apps/routing-conflicts/<case>/ exits non-zero, names every
// file involved, says it in Next.js's words, and leaves no server binary.
// Each app is built from a scratch copy, so nothing is written into the
// tree. A control case shows the same app builds once the conflict goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFLICTS, runCairn } from './harness.mjs';

// [case, the sentence, the files it must name]
const CASES = [
  ['different-slug-names', "You cannot use different slug names for the same dynamic path ('id' !== 'slug').",
    ['app/shop/[id]/route.c', 'app/shop/[slug]/route.c']],
  ['different-slug-names-pages', "You cannot use different slug names for the same dynamic path ('id' !== 'uid').",
    ['pages/api/u/[uid].c', 'pages/api/u/[id]/posts.c']],
  ['catch-all-not-last', 'Catch-all must be the last part of the URL.', ['app/docs/[...slug]/edit/route.c']],
  ['app-and-pages',
    'Conflicting app and page file found: "app/api/hello/route.c" and "pages/api/hello.c". Please remove one to continue.',
    ['app/api/hello/route.c', 'pages/api/hello.c']],
  ['route-beside-page', 'Conflicting route and page at /about: route at app/about/route.c and page at app/about/page.html',
    ['app/about/route.c', 'app/about/page.html']],
  ['same-slug-twice', 'You cannot have the same slug name "id" repeat within a single dynamic path',
    ['app/[id]/posts/[id]/route.c']],
  ['non-word-difference', 'You cannot have the slug names "a-b" and "ab" differ only by non-word symbols within a single dynamic path',
    ['app/[a-b]/x/[ab]/route.c']],
  ['optional-not-catch-all', 'Optional route parameters are not yet supported ("[[id]]").', ['app/[[id]]/route.c']],
  ['required-and-optional-catch-all', 'You cannot use both a required and optional catch-all route at the same level',
    ['app/docs/[...a]/route.c', 'app/docs/[[...a]]/route.c']],
  ['index-beside-optional-catch-all',
    'You cannot define a route with the same specificity as an optional catch-all route ("/blog" and "/blog/[[...slug]]").',
    ['app/blog/route.c', 'app/blog/[[...slug]]/route.c']],
  ['extra-brackets', "Segment names may not start or end with extra brackets ('[x').", ['app/[[x]/route.c']],
  ['erroneous-periods', "Segment names may not start with erroneous periods ('..x').", ['app/[..x]/route.c']],
  ['empty-param', 'Parameter names cannot be empty in route "/[]".', ['app/[]/route.c']],
  ['same-url-two-groups', 'You cannot have two parallel pages that resolve to the same path. Please check app/(a)/x/route.c and app/(b)/x/route.c.',
    ['app/(a)/x/route.c', 'app/(b)/x/route.c']],
  ['pages-file-and-index', 'Duplicate page detected. pages/api/x.c and pages/api/x/index.c both resolve to /api/x.',
    ['pages/api/x.c', 'pages/api/x/index.c']],
];

function scratch(name) {
  const dir = mkdtempSync(join(tmpdir(), `cairn-conflict-${name}-`));
  cpSync(join(CONFLICTS, name), dir, { recursive: true });
  return dir;
}

for (const [name, sentence, files] of CASES) {
  test(`cairn build refuses ${name}`, async () => {
    const dir = scratch(name);
    try {
      const r = await runCairn(['build', dir]);
      const out = `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
      assert.notEqual(r.code, 0, `the build fails\n${out}`);
      assert.equal(r.signal, null, `an exit, not a crash\n${out}`);
      assert.ok(r.stderr.includes(sentence), `Next.js's sentence on stderr: ${sentence}\n${out}`);
      for (const f of files) assert.ok(r.stderr.includes(f), `the message names ${f}\n${out}`);
      assert.ok(!existsSync(join(dir, '.cairn', 'server')), `no server binary\n${out}`);
      const routes = await runCairn(['routes', dir]);
      assert.notEqual(routes.code, 0, `cairn routes fails too\n${routes.stderr}`);
      assert.ok(routes.stderr.includes(sentence), `cairn routes says the same\n${routes.stderr}`);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
}

// The same apps without their conflicting file build: the refusal above was
// the conflict's, not something else about the app.
for (const [name, remove] of [['different-slug-names', 'app/shop/[slug]'], ['app-and-pages', 'pages']]) {
  test(`control: ${name} without ${remove} builds`, async () => {
    const dir = scratch(name);
    try {
      rmSync(join(dir, remove), { recursive: true, force: true });
      const r = await runCairn(['build', dir]);
      assert.equal(r.code, 0, `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
      assert.ok(existsSync(join(dir, '.cairn', 'server')), 'a server binary');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
}
