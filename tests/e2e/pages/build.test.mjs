// Pages (issue 5): what fails `cairn build`, with a message that names the
// file: static_params entries that do not give the pattern's params, a
// loader failing while its page is prerendered, a template syntax error
// (file:line:col), a layout without {{{children}}} or with it inside a
// section. Each case is a throw-away app built in a temporary directory;
// a good app beside them builds, so the failures are the files' doing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFiles } from './harness.mjs';

const BASE = {
  'app/layout.html': '<html><head></head><body>{{{children}}}</body></html>',
  'app/page.html': '<p>home</p>',
};

function paramsApp(pattern, entries) {
  const dir = `app/${pattern.slice(1)}`;
  return {
    ...BASE,
    [`${dir}/page.html`]: '<p>x</p>',
    [`${dir}/page.c`]: '#include <cairn.h>\n' +
      `static int params(json_t **out) { *out = json_loads(${JSON.stringify(entries)}, 0, NULL); return *out ? 0 : CN_ENOMEM; }\n` +
      'CN_PAGE(.static_params = params);\n',
  };
}

test('the control: a good app with listed params builds', async () => {
  const r = await buildFiles(paramsApp('/p/[id]', '[{"id": "1"}]'));
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /● \/p\/\[id\] +page: prerendered/, r.output);
});

// [pattern, static_params JSON, the entry's index and text in the message]
const BAD_PARAMS = [
  ['/p/[id]', '[{"id": "1"}, {"other": "2"}]', 1, '{"other":"2"}', 'a missing param'],
  ['/p/[id]', '[{"id": 3}]', 0, '{"id":3}', 'a number for a param'],
  ['/p/[id]', '[{"id": ""}]', 0, '{"id":""}', 'an empty param'],
  ['/p/[id]', '["1"]', 0, '"1"', 'a string instead of an object'],
  ['/f/[...path]', '[{"path": "a/b"}]', 0, '{"path":"a/b"}', 'a string for a catch-all'],
  ['/f/[...path]', '[{"path": ["a", 1]}]', 0, '{"path":["a",1]}', 'a number inside a catch-all'],
];
for (const [pattern, entries, index, shown, what] of BAD_PARAMS) {
  test(`static_params with ${what} fails the build, naming the file, the entry and the pattern`, async () => {
    const r = await buildFiles(paramsApp(pattern, entries));
    assert.notEqual(r.code, 0, `the build must fail\n${r.output}`);
    const file = `app/${pattern.slice(1)}/page.c`;
    assert.ok(r.output.includes(`${file}: static_params entry ${index} (${shown}) does not give the params of ${pattern}`), r.output);
    assert.doesNotMatch(r.output, /Build finished/, r.output);
  });
}

test('static_params that is not an array fails the build', async () => {
  const r = await buildFiles(paramsApp('/p/[id]', '{"id": "1"}'));
  assert.notEqual(r.code, 0, r.output);
  assert.ok(r.output.includes('app/p/[id]/page.c: static_params must give an array of objects'), r.output);
});

test('a loader failing while its page is prerendered fails the build: "Error occurred prerendering page"', async () => {
  const r = await buildFiles({
    ...BASE,
    'app/bad/page.html': '<p>x</p>',
    'app/bad/page.c': '#include <cairn.h>\n' +
      'static int load(cn_req *req, json_t **props) {\n' +
      '  (void)props;\n' +
      '  return cn_fail(req, "database unreachable at build");\n' +
      '}\n' +
      'CN_PAGE(.loader = load);\n',
  });
  assert.notEqual(r.code, 0, r.output);
  assert.ok(r.output.includes('Error occurred prerendering page "/bad": database unreachable at build (at app/bad/page.c:4)'), r.output);
});

test('a listed param whose loader fails fails the build too, naming that path', async () => {
  const r = await buildFiles({
    ...BASE,
    'app/p/[id]/page.html': '<p>{{params.id}}</p>',
    'app/p/[id]/page.c': '#include <string.h>\n#include <cairn.h>\n' +
      'static int load(cn_req *req, json_t **props) {\n' +
      '  cn_str id = cn_req_param(req, "id");\n' +
      '  if (id.len == 3 && !memcmp(id.ptr, "bad", 3)) return cn_fail(req, "no row %s", "bad");\n' +
      '  *props = json_object();\n  return 0;\n}\n' +
      'static int params(json_t **out) { *out = json_pack("[{s:s},{s:s}]", "id", "ok", "id", "bad"); return 0; }\n' +
      'CN_PAGE(.loader = load, .static_params = params);\n',
  });
  assert.notEqual(r.code, 0, r.output);
  assert.ok(r.output.includes('Error occurred prerendering page "/p/bad": no row bad (at app/p/[id]/page.c:5)'), r.output);
});

// [file, text, the message]
const BAD_TEMPLATES = [
  ['app/s/page.html', '<p>ok</p>\n<p>{{#items}}x{{/item}}</p>', 'app/s/page.html:2:15: ', 'a section closed by the wrong name'],
  ['app/s/page.html', '<p>\n  {{#items}}never closed', 'app/s/page.html:2:3: ', 'a section never closed'],
  ['app/s/page.html', 'line one\nline two {{ unterminated', 'app/s/page.html:2:10: ', 'an unterminated tag'],
  ['app/layout.html', '<html><body>\n\n<main>{{/x}}{{{children}}}</main></body></html>', 'app/layout.html:3:7: ', 'a stray closing tag in the root layout'],
  ['components/card.html', '<div>{{#a}}</div>', 'components/card.html:1:6: ', 'a component (partial) that does not compile'],
];
for (const [file, text, message, what] of BAD_TEMPLATES) {
  test(`a template with ${what} fails the build with file:line:col`, async () => {
    const r = await buildFiles({ ...BASE, 'app/s/page.html': '<p>s</p>', [file]: text });
    assert.notEqual(r.code, 0, r.output);
    assert.ok(r.output.includes(message), `wanted "${message}" in\n${r.output}`);
  });
}

test('a layout without {{{children}}} fails the build, naming it', async () => {
  const r = await buildFiles({ ...BASE, 'app/n/layout.html': '<div>no children here</div>', 'app/n/page.html': '<p>n</p>' });
  assert.notEqual(r.code, 0, r.output);
  assert.ok(r.output.includes('app/n/layout.html: a layout needs {{{children}}} where the page goes'), r.output);
});

test('a layout with {{{children}}} only inside a section fails the build with file:line:col', async () => {
  const r = await buildFiles({ ...BASE, 'app/n/layout.html': '<div>\n{{#show}}{{{children}}}{{/show}}</div>', 'app/n/page.html': '<p>n</p>' });
  assert.notEqual(r.code, 0, r.output);
  assert.ok(r.output.includes('app/n/layout.html:2:10: {{{children}}} cannot be inside a section'), r.output);
});
