// Malformed bodies: bad JSON (with the parser's line and column), truncated
// multipart, a boundary that never ends, wrong or malformed Content-Type,
// oversize bodies, too many parts. Each is answered 400/413/415 with a JSON
// error before the handler runs; no temporary file survives; and the server
// answers the next request, on the same connection when it kept it open and
// on a new one in every case.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conn } from '../lib/http.mjs';
import { assertJsonError } from '../lib/expect.mjs';
import { assertServing, ctx, eventually, okJson, reqBytes, startApp, tmpFiles, stopAll, killAll } from './harness.mjs';

let srv;
before(async () => { srv = await startApp(); });
after(() => killAll(srv));

const B = 'MalformedBoundary42';
const MP = `multipart/form-data; boundary=${B}`;
const part = (name, data, filename) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n${data}\r\n`;

// Send one bad request, check the answer, then the next request: on the same
// connection unless the answer closed it, and on a new one.
async function refused(target, contentType, body, status, message, extraHeaders = {}) {
  const c = await Conn.open(srv.port);
  try {
    const headers = { ...extraHeaders };
    if (contentType !== null) headers['Content-Type'] = contentType;
    await c.write(reqBytes('POST', target, { headers, body }));
    const r = await c.final();
    assertJsonError(r, status, `${target} ${contentType}`);
    if (message) assert.match(r.json().error, message, ctx(r));
    if (!/close/i.test(r.get('connection') || '')) {
      await c.write(reqBytes('GET', '/api/echo?same=1', { headers: { 'x-q': 'same' } }));
      const n = await c.final();
      assert.equal(okJson(n).echo.query.same.first, '1', `the same connection goes on\n${c.transcript()}`);
    }
  } finally { c.close(); }
  await assertServing(srv);
  await eventually(() => tmpFiles(srv).length === 0, 3000, `TMPDIR empty (left: ${tmpFiles(srv)})`);
}

// ------------------------------------------------------------------ JSON

// [body, line, column] as jansson counts them
const BAD_JSON = [
  ['{"a": 1,\n "b": }', 2, 7],
  ['{"a":1', 1, 6],
  ['[1,2,]', 1, 6],
  ['nul', 1, 3],
  ['{} x', 1, 4],
  ['{"a":"\x01"}', 1, 6],
  ['\n\n  [1,\n  2 3]', 4, 5],
  ['{"k":1e999}', 1, 10],
  [' ', 1, 1],
];
for (const [body, line, column] of BAD_JSON) {
  test(`bad JSON ${JSON.stringify(body)} -> 400 at line ${line}, column ${column}`, async () => {
    await refused('/api/body', 'application/json', body, 400,
      new RegExp(`^Invalid JSON at line ${line}, column ${column}\\b`));
  });
}

test('bad JSON: invalid UTF-8 inside a string -> 400 with line and column', async () => {
  await refused('/api/body', 'application/json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 400,
    /^Invalid JSON at line 1, column 6\b/);
});

test('bad JSON under application/ld+json and with a charset -> 400 too', async () => {
  await refused('/api/body', 'application/ld+json', '{', 400, /^Invalid JSON at line 1, column \d+/);
  await refused('/api/body', 'application/json; charset=utf-8', '[', 400, /^Invalid JSON at line 1, column \d+/);
});

// ------------------------------------------------------------- multipart

const CLOSE = `--${B}--\r\n`;
const BAD_MULTIPART = [
  ['cut inside a part header', `--${B}\r\nContent-Disposition: form-da`],
  ['cut inside a field value', `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nhalf a val`],
  ['cut inside a file', part('ok', 'v') + `--${B}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n` + 'x'.repeat(5000)],
  ['no closing delimiter', part('a', '1') + part('b', '2')],
  ['a delimiter line but no closing "--"', part('a', '1') + `--${B}\r\n`],
  ['the boundary never appears', 'just some bytes\r\nwith lines\r\n'],
  ['a boundary that never ends', `--${B}${'X'.repeat(3000)}`],
  ['the boundary line runs on without CRLF', `--${B}` + ' '.repeat(200) + 'tail'],
  ['a delimiter followed by junk', part('a', '1') + `--${B}junk\r\n` + CLOSE],
  ['a part without Content-Disposition', `--${B}\r\nContent-Type: text/plain\r\n\r\nv\r\n` + CLOSE],
  ['a part that is not form-data', `--${B}\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n` + CLOSE],
  ['a part without a name', `--${B}\r\nContent-Disposition: form-data\r\n\r\nv\r\n` + CLOSE],
  ['a header line without a colon', `--${B}\r\nContent-Disposition: form-data; name="a"\r\nnot a header\r\n\r\nv\r\n` + CLOSE],
  ['a folded part header', `--${B}\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\nv\r\n` + CLOSE],
  ['bare LF line ends', `--${B}\nContent-Disposition: form-data; name="a"\n\nv\n--${B}--\n`],
  ['an empty body', ''],
];
for (const [what, body] of BAD_MULTIPART) {
  test(`multipart: ${what} -> 400`, async () => {
    await refused('/api/body', MP, body, 400, null);
  });
}

test('multipart: a Content-Type without a boundary is refused (400 or 415)', async () => {
  // RFC 7578 makes the parameter mandatory; either reading (a malformed body,
  // an unusable media type) is defensible, a handler running is not.
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('POST', '/api/body', { headers: { 'Content-Type': 'multipart/form-data' }, body: part('a', '1') + CLOSE }));
    const r = await c.final();
    assert.ok([400, 415].includes(r.status), ctx(r));
    assertJsonError(r, r.status);
  } finally { c.close(); }
  await assertServing(srv);
});

for (const boundary of ['', 'x'.repeat(71), 'has"quote', 'ends-in-space ']) {
  test(`multipart: an invalid boundary ${JSON.stringify(boundary)} is refused (400 or 415)`, async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(reqBytes('POST', '/api/body', {
        headers: { 'Content-Type': `multipart/form-data; boundary="${boundary.replace(/"/g, '\\"')}"` }, body: `--${boundary}--\r\n`,
      }));
      const r = await c.final();
      assert.ok([400, 415].includes(r.status), ctx(r));
      assertJsonError(r, r.status);
    } finally { c.close(); }
    await assertServing(srv);
  });
}

test('multipart: too many parts -> 413 naming the limit', async () => {
  let body = '';
  for (let i = 0; i < 1001; i++) body += part(`f${i}`, 'v');
  body += CLOSE;
  await refused('/api/body', MP, body, 413, /part/i);
});

test('multipart: 1000 parts are accepted', async () => {
  let body = '';
  for (let i = 0; i < 1000; i++) body += part('f', String(i));
  body += CLOSE;
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('POST', '/api/body', { headers: { 'Content-Type': MP, 'x-keys': 'f' }, body }));
    const r = await c.final();
    const all = okJson(r).body.form.f.all;
    assert.equal(all.length, 1000, ctx(r));
    assert.equal(all[999], '999');
  } finally { c.close(); }
});

test('multipart: a part header block over 8 KiB -> 413', async () => {
  const body = `--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${'p'.repeat(9000)}\r\n\r\nv\r\n` + CLOSE;
  await refused('/api/body', MP, body, 413, null);
});

test('multipart: a truncated upload of several files leaves no temporary file', async () => {
  let body = '';
  for (let i = 0; i < 5; i++) body += part(`f${i}`, 'y'.repeat(10000), `f${i}.bin`);
  await refused('/api/body', MP, body, 400, /truncated/);
});

test('multipart: a client that disconnects mid-upload leaves no temporary file, and the server goes on', async () => {
  const head = `--${B}\r\nContent-Disposition: form-data; name="f"; filename="partial.bin"\r\n\r\n`;
  const c = await Conn.open(srv.port);
  await c.write(reqBytes('POST', '/api/body', { headers: { 'Content-Type': MP, 'Content-Length': String(1 << 20) } }));
  await c.write(head + 'p'.repeat(200000));
  // the upload is being written to a temporary file by now
  await eventually(() => tmpFiles(srv).length > 0, 3000, 'the upload to reach a temporary file');
  c.close();
  await eventually(() => tmpFiles(srv).length === 0, 3000, `TMPDIR empty after the disconnect (left: ${tmpFiles(srv)})`);
  await assertServing(srv);
});

// --------------------------------------------------------- Content-Type

const BAD_TYPES = [
  'application/json; charset', 'application/json; =utf-8', '/json', 'text/', 'application json', ';',
  'application/json;charset="utf-8', 'text/plain; a=b; a', '\u00e9/x', 'multipart/form-data; boundary="unterminated',
];
for (const type of BAD_TYPES) {
  test(`malformed Content-Type ${JSON.stringify(type)} -> 415`, async () => {
    await refused('/api/body', type, '{"a":1}', 415, null);
  });
}

// -------------------------------------------------------------- oversize

test('oversize: over the route\'s "1kb" -> 413, JSON and the server goes on', async () => {
  await refused('/api/small', 'application/json', JSON.stringify({ pad: 'z'.repeat(5000) }), 413, /^Body exceeded 1kb limit$/);
});

test('oversize: over the default 1 MiB -> 413', async () => {
  await refused('/api/body', 'application/json', Buffer.alloc(2 << 20, 0x20), 413, /^Body exceeded 1mb limit$/);
});

test('oversize: a multipart upload over the default limit -> 413', async () => {
  const body = Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f"; filename="big"\r\n\r\n`),
    Buffer.alloc((1 << 20) + 10, 1), Buffer.from('\r\n' + CLOSE)]);
  await refused('/api/body', MP, body, 413, null);
});

// --------------------------------------------------------- urlencoded

for (const body of ['a=%zz', 'a=%', '%G1=1', 'a=1&b=%2']) {
  test(`urlencoded body ${JSON.stringify(body)} -> 400`, async () => {
    await refused('/api/body', 'application/x-www-form-urlencoded', body, 400, null);
  });
}

test('the whole table ran against one server process', async () => {
  assert.equal(srv.exit, null, `the server is still running\n${srv.describe()}`);
  assert.deepEqual(srv.sanitizerReports(), [], srv.describe());
});

// The last test: SIGTERM ends every server of this file with exit 0 and no
// sanitizer report (leaks included, under the ASan build).
test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
