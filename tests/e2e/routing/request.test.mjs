// Request helpers through the real server: query strings (single, repeated,
// '+' and %20, params winning over query keys), headers, cookies, the
// client address with and without trust_proxy, and bodies by Content-Type
// (JSON, urlencoded, multipart with files streamed to temporary files that
// are gone after the response, text, raw, a raw_body webhook with an HMAC
// check), and the per-route body limit, counted while a body arrives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Conn } from '../lib/http.mjs';
import { assertJsonError } from '../lib/expect.mjs';
import {
  ask, assertServing, ctx, eventually, fnv, okJson, reqBytes, startApp, tmpFiles, stopAll, killAll } from './harness.mjs';

let srv, proxied;
before(async () => {
  srv = await startApp();
  proxied = await startApp({ config: { trust_proxy: true } });
});
after(() => killAll(proxied, srv));

const Q = (all) => ({ first: all.length ? all[0] : null, all });

async function echo(target, headers = {}, server = srv) {
  const r = await ask(server, 'GET', target, { headers });
  return { r, body: okJson(r) };
}

// ---------------------------------------------------------------- query

// [query string, {key: expected values}]
const QUERIES = [
  ['tag=a&tag=b&q=x', { tag: ['a', 'b'], q: ['x'], missing: [] }],
  ['name=John+Smith&alt=John%20Smith&both=a+b%20c', { name: ['John Smith'], alt: ['John Smith'], both: ['a b c'] }],
  ['plus=%2B&amp=a%26b&eq=a%3Db&hash=%23', { plus: ['+'], amp: ['a&b'], eq: ['a=b'], hash: ['#'] }],
  ['empty=&bare&x=1', { empty: [''], bare: [''], x: ['1'] }],
  ['u=caf%C3%A9&e=%E2%82%AC', { u: ['café'], e: ['€'] }],
  ['a%20b=1&a+b=2', { 'a b': ['1', '2'] }],
  ['&&k=1&&k=2&', { k: ['1', '2'] }],
  ['k=1&K=2', { k: ['1'], K: ['2'] }],
  ['list=1,2,3', { list: ['1,2,3'] }],
];
for (const [qs, want] of QUERIES) {
  test(`query ?${qs}`, async () => {
    const { r, body } = await echo(`/api/echo?${qs}`, { 'x-q': Object.keys(want).join(',') });
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, body.echo.query[k]]));
    assert.deepEqual(got, Object.fromEntries(Object.entries(want).map(([k, v]) => [k, Q(v)])), ctx(r));
    assert.equal(body.echo.query_raw, qs, `the raw query is kept${ctx(r)}`);
  });
}

test('no query string: raw query absent, lookups empty', async () => {
  const { r, body } = await echo('/api/echo', { 'x-q': 'a' });
  assert.equal(body.echo.query_raw, null, ctx(r));
  assert.deepEqual(body.echo.query.a, Q([]), ctx(r));
});

test('a dynamic param wins over a query key of the same name', async () => {
  const { r, body } = await echo('/api/post/abc?pid=123&other=1', { 'x-q': 'pid,other' });
  assert.equal(body.route, 'pages/api/post/[pid]', ctx(r));
  assert.deepEqual(body.echo.query.pid, Q(['abc']), ctx(r));
  assert.deepEqual(body.echo.query.other, Q(['1']), ctx(r));
  assert.deepEqual(body.params.pid.all, ['abc'], ctx(r));
  const c = await echo('/api/post/a/b?slug=z&slug=y', { 'x-q': 'slug' });
  assert.deepEqual(c.body.echo.query.slug, Q(['a', 'b']), `a catch-all param wins with all its values${ctx(c.r)}`);
  const a = await echo('/prec/x?id=1&id=2', { 'x-q': 'id' });
  assert.deepEqual(a.body.echo.query.id, Q(['x']), ctx(a.r));
  // an optional catch-all that matched nothing is absent: the query key shows
  const o = await echo('/opt?parts=q', { 'x-q': 'parts' });
  assert.deepEqual(o.body.echo.query.parts, Q(['q']), ctx(o.r));
});

test('well-formed escapes decode to their exact bytes, even NUL or non-UTF-8', async () => {
  const { r, body } = await echo('/api/echo?nul=a%00b&bad=%C3%28&hi=%FF', { 'x-q': 'nul,bad,hi' });
  assert.deepEqual(body.echo.query, {
    nul: Q(['a\u0000b']), bad: Q([{ hex: 'c328' }]), hi: Q([{ hex: 'ff' }]),
  }, ctx(r));
});

for (const qs of ['a=%zz', 'a=%', 'a=%4', '%G1=1', 'a=1&b=%2', 'a=%%41']) {
  test(`query ?${qs}: a bad escape -> 400 JSON, and the server goes on`, async () => {
    const r = await ask(srv, 'GET', `/api/echo?${qs}`);
    assertJsonError(r, 400, qs);
    await assertServing(srv);
  });
}

// -------------------------------------------------------------- headers

test('headers are found whatever the case of the name; the first value wins', async () => {
  const r = await ask(srv, 'GET', '/api/echo', {
    headers: [['x-CuStOm', 'v1'], ['X-Custom', 'v2'], ['X-Pad', '   padded value \t '],
      ['x-h', 'X-Custom,x-custom,X-CUSTOM,x-pad,x-absent,HOST']],
  });
  const h = okJson(r).echo.headers;
  assert.deepEqual(h, {
    'X-Custom': 'v1', 'x-custom': 'v1', 'X-CUSTOM': 'v1', 'x-pad': 'padded value', 'x-absent': null, HOST: 'test',
  }, ctx(r));
});

// -------------------------------------------------------------- cookies

// [Cookie header lines, {name: expected value or null}]
const COOKIES = [
  [['a=1; b=2'], { a: '1', b: '2' }],
  [['q="quoted"; r=""'], { q: 'quoted', r: '' }],
  [['c=first; c=second; C=upper'], { c: 'first', C: 'upper' }],
  [['bad; =novalue; d=4; ;; e'], { d: '4', bad: null, e: null }],
  [['tok=abc==; enc=a%20b'], { tok: 'abc==', enc: 'a%20b' }],
  [['x=1', 'y=2'], { x: '1', y: '2' }],
  [['x=1', 'x=2'], { x: '1' }],
  [[''], { a: null }],
  [['only'], { only: null }],
];
for (const [lines, want] of COOKIES) {
  test(`cookies ${JSON.stringify(lines)}`, async () => {
    const headers = lines.map((l) => ['Cookie', l]);
    headers.push(['x-c', Object.keys(want).join(',')]);
    const r = await ask(srv, 'GET', '/api/echo', { headers });
    assert.deepEqual(okJson(r).echo.cookies, want, ctx(r));
  });
}

// ------------------------------------------------------------- client IP

test('client IP: the peer address; X-Forwarded-For is ignored without trust_proxy', async () => {
  const { r, body } = await echo('/api/echo', { 'X-Forwarded-For': '203.0.113.7' });
  assert.equal(body.echo.ip, '127.0.0.1', ctx(r));
  const b = await echo('/api/echo');
  assert.equal(b.body.echo.ip, '127.0.0.1', ctx(b.r));
});

test('client IP with trust_proxy: the first X-Forwarded-For entry', async () => {
  const rows = [
    [{ 'X-Forwarded-For': '203.0.113.7, 10.0.0.1, 10.0.0.2' }, '203.0.113.7'],
    [{ 'x-forwarded-for': '  198.51.100.2  ' }, '198.51.100.2'],
    [{ 'X-Forwarded-For': '2001:db8::1' }, '2001:db8::1'],
    [{}, '127.0.0.1'],
  ];
  for (const [headers, ip] of rows) {
    const { r, body } = await echo('/api/echo', headers, proxied);
    assert.equal(body.echo.ip, ip, `${JSON.stringify(headers)}${ctx(r)}`);
  }
});

// --------------------------------------------------------------- bodies

async function post(target, body, contentType, extra = {}) {
  const headers = { ...extra };
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  const r = await ask(srv, 'POST', target, { headers, body });
  return { r, body: okJson(r).body };
}

test('JSON body parsed', async () => {
  const v = { a: 1, b: [true, null, 2.5], s: 'é "q"', o: { n: {} } };
  const { r, body } = await post('/api/body', JSON.stringify(v), 'application/json');
  assert.equal(body.kind, 'json', ctx(r));
  assert.deepEqual(body.json, v, ctx(r));
});

test('JSON with a charset parameter and odd case is still JSON', async () => {
  const { r, body } = await post('/api/body', '[1,2]', 'Application/JSON; charset=utf-8');
  assert.equal(body.kind, 'json', ctx(r));
  assert.deepEqual(body.json, [1, 2], ctx(r));
});

test('an empty JSON body is {}', async () => {
  const { r, body } = await post('/api/body', '', 'application/json');
  assert.equal(body.kind, 'json', ctx(r));
  assert.deepEqual(body.json, {}, ctx(r));
});

test('urlencoded body: repeated keys, + and %20', async () => {
  const { r, body } = await post('/api/body', 'a=1&a=2&b=x+y%20z&c=%26&d=', 'application/x-www-form-urlencoded', { 'x-keys': 'a,b,c,d,e' });
  assert.equal(body.kind, 'form', ctx(r));
  assert.deepEqual(body.form, {
    a: Q(['1', '2']), b: Q(['x y z']), c: Q(['&']), d: Q(['']), e: Q([]),
  }, ctx(r));
});

test('text/plain body kept as sent', async () => {
  const text = 'hello\r\nworld\n\ttabbed é';
  const { r, body } = await post('/api/body', text, 'text/plain; charset=utf-8');
  assert.equal(body.kind, 'text', ctx(r));
  assert.equal(body.body, text, ctx(r));
  assert.equal(body.json_null, true, ctx(r));
});

test('any other type is raw, byte for byte', async () => {
  const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 0x7b, 0x22]);
  const { r, body } = await post('/api/body', bytes, 'application/octet-stream');
  assert.equal(body.kind, 'raw', ctx(r));
  assert.equal(body.body_len, bytes.length, ctx(r));
  assert.equal(body.body_fnv, fnv(bytes), ctx(r));
  const x = await post('/api/body', '<a/>', 'application/xml');
  assert.equal(x.body.kind, 'raw', ctx(x.r));
  assert.equal(x.body.body, '<a/>', ctx(x.r));
});

test('no body: kind none', async () => {
  const r = await ask(srv, 'GET', '/api/body');
  const body = okJson(r).body;
  assert.equal(body.kind, 'none', ctx(r));
  assert.equal(body.body_len, 0, ctx(r));
});

// ------------------------------------------------------------ multipart

// parts: {name, value} or {name, filename, type, data}
export function multipart(boundary, parts, { close = true } = {}) {
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(head + '\r\n', 'utf8'));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.value ?? p.data ?? '', 'utf8'));
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

test('multipart: fields in memory, files intact, temporary files gone after the response', async () => {
  const boundary = '----cairnBoundary7MA4YWxkTrZu0gW';
  // binary content that contains near-misses of the delimiter
  const bin = Buffer.concat([randomBytes(100000), Buffer.from(`\r\n--${boundary.slice(0, -1)}X\r\n--`), randomBytes(150000)]);
  const txt = Buffer.from('line one\r\nline two\r\n');
  const parts = [
    { name: 'title', value: 'Hello, multipart' },
    { name: 'tag', value: 'a' },
    { name: 'tag', value: 'b' },
    { name: 'multiline', value: 'x\r\ny\r\n' },
    { name: 'doc', filename: 'notes.txt', type: 'text/plain', data: txt },
    { name: 'blob', filename: 'résumé.bin', type: 'application/octet-stream', data: bin },
    { name: 'blob', filename: 'empty.dat', type: 'application/x-empty', data: Buffer.alloc(0) },
  ];
  const { r, body } = await post('/api/body', multipart(boundary, parts), `multipart/form-data; boundary=${boundary}`,
    { 'x-keys': 'title,tag,multiline,doc', 'x-file': 'blob' });
  assert.equal(body.kind, 'multipart', ctx(r));
  assert.deepEqual(body.form, {
    title: Q(['Hello, multipart']), tag: Q(['a', 'b']), multiline: Q(['x\r\ny\r\n']), doc: Q([]),
  }, `file parts are not fields${ctx(r)}`);
  const files = body.files.map(({ path, ...f }) => f);
  assert.deepEqual(files, [
    { field: 'doc', filename: 'notes.txt', content_type: 'text/plain', size: txt.length, read: txt.length, fnv: fnv(txt), opened: true, content: txt.toString() },
    { field: 'blob', filename: 'résumé.bin', content_type: 'application/octet-stream', size: bin.length, read: bin.length, fnv: fnv(bin), opened: true, content: null },
    { field: 'blob', filename: 'empty.dat', content_type: 'application/x-empty', size: 0, read: 0, fnv: fnv(Buffer.alloc(0)), opened: true, content: '' },
  ], ctx(r));
  assert.equal(body.file.filename, 'résumé.bin', `cn_req_file gives the field's first file${ctx(r)}`);
  for (const f of body.files) assert.ok(f.path.startsWith(srv.tmp + '/'), `${f.path} is under TMPDIR ${srv.tmp}`);
  await eventually(() => body.files.every((f) => !existsSync(f.path)), 3000, 'the temporary files to be removed');
  assert.deepEqual(tmpFiles(srv), [], 'nothing left in TMPDIR');
});

test('multipart: a quoted boundary and a chunked body', async () => {
  const boundary = 'simple boundary';
  const data = multipart(boundary, [{ name: 'f', filename: 'a.txt', type: 'text/plain', data: Buffer.from('abc') }, { name: 'k', value: 'v' }]);
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('POST', '/api/body', {
      headers: { 'Content-Type': `multipart/form-data; boundary="${boundary}"`, 'Transfer-Encoding': 'chunked', 'x-keys': 'k' },
    }));
    // in small pieces, so the delimiter is split across chunks
    for (let i = 0; i < data.length; i += 7) {
      const piece = data.subarray(i, i + 7);
      await c.write(Buffer.concat([Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n')]));
    }
    await c.write('0\r\n\r\n');
    const r = await c.final();
    const body = okJson(r).body;
    assert.equal(body.kind, 'multipart', ctx(r));
    assert.deepEqual(body.form.k, Q(['v']), ctx(r));
    assert.equal(body.files.length, 1, ctx(r));
    assert.equal(body.files[0].content, 'abc', ctx(r));
  } finally { c.close(); }
  await eventually(() => tmpFiles(srv).length === 0, 3000, 'TMPDIR to be empty');
});

// -------------------------------------------------------- raw_body route

const SECRET = 'cairn-webhook-secret';
const sign = (buf) => 'sha256=' + createHmac('sha256', SECRET).update(buf).digest('hex');

test('raw_body: a webhook checks an HMAC over the exact bytes, even a malformed JSON body', async () => {
  const payloads = [
    Buffer.from('{"action":"opened","number":1}'),
    Buffer.from('{"truncated": '), // not JSON: must not be refused, the route parses nothing
    Buffer.concat([Buffer.from('bin\0ary\r\n'), randomBytes(3000)]),
    Buffer.alloc(0),
  ];
  for (const p of payloads) {
    const r = await ask(srv, 'POST', '/api/webhook', { headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sign(p) }, body: p });
    const body = okJson(r);
    assert.equal(body.verified, true, ctx(r));
    assert.equal(body.body.json_null, true, `raw_body: no JSON parse${ctx(r)}`);
    assert.equal(body.body.kind, p.length ? 'raw' : 'none', ctx(r));
    assert.equal(body.body.body_len, p.length, ctx(r));
    assert.equal(body.body.body_fnv, fnv(p), ctx(r));
  }
});

test('raw_body: a multipart body is not parsed either', async () => {
  const b = 'XyZ';
  const p = multipart(b, [{ name: 'f', filename: 'x.txt', data: Buffer.from('file') }]);
  const r = await ask(srv, 'POST', '/api/webhook', { headers: { 'Content-Type': `multipart/form-data; boundary=${b}`, 'X-Hub-Signature-256': sign(p) }, body: p });
  const body = okJson(r);
  assert.equal(body.body.kind, 'raw', ctx(r));
  assert.deepEqual(body.body.files, [], ctx(r));
  assert.equal(body.body.body_fnv, fnv(p), ctx(r));
});

test('raw_body: a wrong signature is refused by the route (401 JSON)', async () => {
  const p = Buffer.from('{"action":"opened"}');
  for (const sig of [sign(Buffer.from('other')), 'sha256=' + '0'.repeat(64), '', sign(p).toUpperCase(), sign(p).slice(0, -1)]) {
    const r = await ask(srv, 'POST', '/api/webhook', { headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig }, body: p });
    assertJsonError(r, 401, `signature ${sig}`);
  }
});

// ------------------------------------------------------------ body limit

test('body limit "1kb": 1024 bytes pass, 1025 -> 413 "Body exceeded 1kb limit"', async () => {
  const ok = await post('/api/small', Buffer.alloc(1024, 'a'), 'application/octet-stream');
  assert.equal(ok.body.body_len, 1024, ctx(ok.r));
  const r = await ask(srv, 'POST', '/api/small', { headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(1025, 'a') });
  assertJsonError(r, 413, '1025 bytes');
  assert.equal(r.json().error, 'Body exceeded 1kb limit', ctx(r));
  await assertServing(srv);
});

test('body limit: a Content-Length over the limit is refused before the body is sent', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('POST', '/api/small', { headers: { 'Content-Type': 'text/plain', 'Content-Length': String(10 << 20) } }));
    const r = await c.final({ timeout: 5000 });
    assertJsonError(r, 413, 'Content-Length 10 MiB');
    assert.equal(r.json().error, 'Body exceeded 1kb limit', ctx(r));
  } finally { c.close(); }
  await assertServing(srv);
});

function chunk(buf) {
  return Buffer.concat([Buffer.from(buf.length.toString(16) + '\r\n'), buf, Buffer.from('\r\n')]);
}

test('body limit counted for chunked bodies: 1024 in chunks pass, 1025 -> 413', async () => {
  for (const [total, status] of [[1024, 200], [1025, 413]]) {
    const c = await Conn.open(srv.port);
    try {
      await c.write(reqBytes('POST', '/api/small', { headers: { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' } }));
      let left = total;
      while (left > 0) {
        const n = Math.min(left, 100);
        await c.write(chunk(Buffer.alloc(n, 'b')));
        left -= n;
      }
      await c.write('0\r\n\r\n');
      const r = await c.final();
      if (status === 200) assert.equal(okJson(r).body.body_len, 1024, ctx(r));
      else {
        assertJsonError(r, 413, `${total} chunked`);
        assert.equal(r.json().error, 'Body exceeded 1kb limit', ctx(r));
      }
    } finally { c.close(); }
  }
});

test('body limit counted while reading: a chunked body over the limit is refused before it ends', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('POST', '/api/small', { headers: { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' } }));
    await c.write(chunk(Buffer.alloc(2000, 'c')));
    // no last chunk: the answer must not wait for the end of the body
    const r = await c.final({ timeout: 5000 });
    assertJsonError(r, 413, 'an unfinished chunked body');
  } finally { c.close(); }
  await assertServing(srv);
});

test('the default body limit is 1 MiB: 1 MiB passes, one byte more -> 413 "Body exceeded 1mb limit"', async () => {
  const ok = await post('/api/body', Buffer.alloc(1 << 20, 'd'), 'application/octet-stream');
  assert.equal(ok.body.body_len, 1 << 20, ctx(ok.r));
  const r = await ask(srv, 'POST', '/api/body', { headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc((1 << 20) + 1, 'd') });
  assertJsonError(r, 413, '1 MiB + 1');
  assert.equal(r.json().error, 'Body exceeded 1mb limit', ctx(r));
  await assertServing(srv);
});

test('a multipart upload over the body limit -> 413, and its temporary file is removed', async () => {
  const b = 'LimitBoundary';
  const data = multipart(b, [{ name: 'f', filename: 'big.bin', data: Buffer.alloc(2000, 'e') }]);
  const c = await Conn.open(srv.port);
  try {
    // chunked: the limit can only be found while the file streams in
    await c.write(reqBytes('POST', '/api/small', { headers: { 'Content-Type': `multipart/form-data; boundary=${b}`, 'Transfer-Encoding': 'chunked' } }));
    await c.write(chunk(data));
    await c.write('0\r\n\r\n');
    const r = await c.final();
    assertJsonError(r, 413, 'a 2000-byte file under a 1kb limit');
  } finally { c.close(); }
  await eventually(() => tmpFiles(srv).length === 0, 3000, 'TMPDIR to be empty');
  await assertServing(srv);
});

// The last test: SIGTERM ends every server of this file with exit 0 and no
// sanitizer report (leaks included, under the ASan build).
test('SIGTERM: the servers exit 0 with no sanitizer report', () => stopAll(proxied, srv));
