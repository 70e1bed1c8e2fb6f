// Response helpers through the real server: status, set/add/remove header,
// header values with CR/LF refused by the API and never sent, json, send,
// text, redirect (307 by default, any 3xx on request), cookies with every
// attribute and deletion, send_file, streamed chunks, and the response-size
// warning (4 MiB unless the route turns it off).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Conn, request } from '../lib/http.mjs';
import { assertDate, assertJsonError } from '../lib/expect.mjs';
import { APP, ask, assertServing, ctx, eventually, okJson, parseSetCookie, reqBytes, startApp, stopAll, killAll } from './harness.mjs';

let srv;
before(async () => { srv = await startApp(); });
after(() => killAll(srv));

const EHEADER = -9;
const EINVAL = -2;
const ENOENT = -4;

// ---------------------------------------------------------------- status

for (const code of [200, 201, 299, 418, 451, 500, 599, 999]) {
  test(`cn_res_status(${code})`, async () => {
    const r = await ask(srv, 'GET', `/res/status?code=${code}`);
    assert.equal(r.status, code, ctx(r));
    assert.equal(r.text(), `status ${code}\n`, ctx(r));
    assertDate(r);
  });
}

for (const code of [0, 99, 1000, 20000]) {
  test(`cn_res_status(${code}) is refused with CN_EINVAL`, async () => {
    const r = await ask(srv, 'GET', `/res/status?code=${code}`);
    assert.deepEqual(okJson(r), { status_rc: EINVAL, name: 'CN_EINVAL' }, ctx(r));
  });
}

// --------------------------------------------------------------- headers

test('set replaces, add appends in order, remove removes; refused headers never reach the wire', async () => {
  const r = await ask(srv, 'GET', '/res/headers');
  const codes = okJson(r);
  assert.equal(codes.EHEADER, EHEADER);
  const ok = ['set_one_a', 'set_one_b', 'add_multi_1', 'add_multi_2', 'add_multi_3', 'set_gone', 'add_gone',
    'remove_gone', 'remove_absent', 'set_empty'];
  for (const k of ok) assert.equal(codes[k], 0, `${k}${ctx(r)}`);
  const refusedHeader = ['crlf_value', 'lf_value', 'cr_value', 'crlf_add', 'crlf_name', 'colon_name', 'space_name',
    'empty_name', 'content_length', 'transfer_encoding', 'connection', 'date', 'cookie_crlf', 'cookie_semicolon',
    'cookie_bad_name'];
  for (const k of refusedHeader) assert.equal(codes[k], EHEADER, `${k} is CN_EHEADER${ctx(r)}`);
  // refused, with whichever code the helper documents
  for (const k of ['redirect_crlf', 'cookie_path_crlf']) assert.ok(codes[k] < 0, `${k} is refused${ctx(r)}`);
  assert.equal(codes.redirect_200, EINVAL, `a redirect with a non-3xx status${ctx(r)}`);

  assert.equal(r.get('x-one'), 'b', ctx(r));
  assert.equal(r.count('x-one'), 1, ctx(r));
  assert.deepEqual(r.headers.filter(([k]) => k.toLowerCase() === 'x-multi').map(([, v]) => v), ['1', '2', '3'], ctx(r));
  assert.equal(r.count('x-gone'), 0, ctx(r));
  assert.equal(r.get('x-empty'), '', ctx(r));
  const raw = r.raw.toString('latin1');
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  assert.ok(!/injected/i.test(head), `no injected header line${ctx(r)}`);
  assert.ok(!/x-bad/i.test(head), ctx(r));
  assert.ok(!/<html>/i.test(raw), ctx(r));
  for (const h of ['location', 'set-cookie', 'transfer-encoding', 'connection']) assert.equal(r.count(h), 0, `${h}${ctx(r)}`);
  assert.equal(r.count('content-length'), 1, ctx(r));
  assert.equal(Number(r.get('content-length')), r.body.length, ctx(r));
  assertDate(r);
});

// ------------------------------------------------------------- json/send

test('cn_res_json: status, type and compact bytes', async () => {
  const r = await ask(srv, 'GET', '/res/json');
  assert.equal(r.status, 201, ctx(r));
  assert.equal(r.get('content-type'), 'application/json', ctx(r));
  assert.equal(r.body.toString('utf8'),
    '{"id":42,"text":"café \\"quoted\\" </script>","list":[1,true,null,2.5],"nested":{"k":"v"}}', ctx(r));
});

test('cn_res_send: bytes as given (NUL and high bytes), the handler\'s type', async () => {
  const r = await ask(srv, 'GET', '/res/send');
  assert.equal(r.status, 200, ctx(r));
  assert.equal(r.get('content-type'), 'application/octet-stream', ctx(r));
  assert.deepEqual(r.body, Buffer.from([0x62, 0x69, 0x6e, 0, 1, 0xff, 0xfe, 13, 10, 0x65, 0x6e, 0x64]), ctx(r));
});

test('cn_res_text and a JSON text through cn_res_send', async () => {
  const t = await ask(srv, 'GET', '/res/send?as=text');
  assert.equal(t.status, 202, ctx(t));
  assert.equal(t.get('content-type'), 'text/plain; charset=utf-8', ctx(t));
  assert.equal(t.text(), 'plain text\n', ctx(t));
  const j = await ask(srv, 'GET', '/res/send?as=json-string');
  assert.equal(j.get('content-type'), 'application/json', ctx(j));
  assert.deepEqual(j.json(), { sent: true }, ctx(j));
  const e = await ask(srv, 'GET', '/res/send?as=empty');
  assert.equal(e.status, 200, ctx(e));
  assert.equal(e.get('content-length'), '0', ctx(e));
  assert.equal(e.body.length, 0, ctx(e));
});

// -------------------------------------------------------------- redirect

// [query, status, Location]
const REDIRECTS = [
  ['', 307, '/res/landing'],
  ['to=/next&code=0', 307, '/next'],
  ['to=/next&code=308', 308, '/next'],
  ['to=/next&code=301', 301, '/next'],
  ['to=/next&code=302', 302, '/next'],
  ['to=/next&code=303', 303, '/next'],
  ['to=/next&code=399', 399, '/next'],
  ['to=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1%26c%3D2', 307, 'https://example.com/a?b=1&c=2'],
];
for (const [qs, status, location] of REDIRECTS) {
  test(`cn_res_redirect ?${qs} -> ${status} ${location}`, async () => {
    const r = await ask(srv, 'GET', `/res/redirect?${qs}`);
    assert.equal(r.status, status, ctx(r));
    assert.equal(r.get('location'), location, ctx(r));
    assert.equal(r.count('location'), 1, ctx(r));
  });
}

for (const qs of ['code=200', 'code=400', 'code=299', 'code=1', 'to=/x%0D%0AX-Injected:%201', 'to=/x%0AX-Injected:%201']) {
  test(`cn_res_redirect ?${qs} is refused by the API`, async () => {
    const r = await ask(srv, 'GET', `/res/redirect?${qs}`);
    const body = okJson(r, 400);
    assert.ok(body.redirect_rc < 0, ctx(r));
    if (qs.startsWith('code')) assert.equal(body.redirect_rc, EINVAL, ctx(r));
    assert.equal(r.count('location'), 0, ctx(r));
    assert.ok(!/injected/i.test(r.raw.toString('latin1').split('\r\n\r\n')[0]), ctx(r));
  });
}

// --------------------------------------------------------------- cookies

test('cookies with Path, Domain, Max-Age, Expires, HttpOnly, Secure, SameSite, and a deletion', async () => {
  const r = await ask(srv, 'GET', '/res/cookies');
  assert.equal(r.status, 200, ctx(r));
  const lines = r.headers.filter(([k]) => k.toLowerCase() === 'set-cookie').map(([, v]) => v);
  assert.equal(lines.length, 6, `one Set-Cookie line per cookie${ctx(r)}`);
  const cookies = lines.map(parseSetCookie);
  assert.deepEqual(cookies.slice(0, 5), [
    { name: 'plain', value: 'v1', attrs: {} },
    {
      name: 'full', value: 'abc123',
      attrs: {
        path: '/app', domain: 'example.com', 'max-age': '3600', expires: 'Thu, 01 Jan 2026 00:00:00 GMT',
        httponly: true, secure: true, samesite: 'Strict',
      },
    },
    { name: 'lax', value: 'x', attrs: { path: '/', samesite: 'Lax' } },
    { name: 'none', value: 'y', attrs: { secure: true, samesite: 'None' } },
    { name: 'zero', value: 'z', attrs: { 'max-age': '0' } },
  ], ctx(r));
  // attribute names as RFC 6265 writes them
  assert.match(lines[1], /; Path=\/app(;|$)/);
  assert.match(lines[1], /; HttpOnly(;|$)/);
  assert.match(lines[1], /; SameSite=Strict(;|$)/);
  const del = cookies[5];
  assert.equal(del.name, 'session', ctx(r));
  assert.equal(del.value, '', ctx(r));
  assert.equal(del.attrs.path, '/', ctx(r));
  const expired = del.attrs['max-age'] === '0' || Date.parse(del.attrs.expires) < Date.now();
  assert.ok(expired, `a deleted cookie has expired${ctx(r)}`);
  if (del.attrs.expires) assert.ok(Date.parse(del.attrs.expires) <= 1000, `delete expires in 1970${ctx(r)}`);
});

// ------------------------------------------------------------- send_file

test('cn_res_send_file: the file\'s bytes, a type from its extension', async () => {
  for (const [name, type] of [['report.csv', /^text\/csv/], ['bytes.bin', /^application\/octet-stream$/]]) {
    const r = await ask(srv, 'GET', `/res/file?name=${name}`);
    assert.equal(r.status, 200, ctx(r));
    assert.match(r.get('content-type') || '', type, ctx(r));
    assert.deepEqual(r.body, readFileSync(join(APP, 'assets', name)), ctx(r));
    assert.equal(r.get('x-sent-file'), `assets/${name}`, `headers set before send_file are kept${ctx(r)}`);
  }
  const own = await ask(srv, 'GET', '/res/file?name=report.csv&type=own');
  assert.equal(own.get('content-type'), 'application/x-own', `the handler's type wins${ctx(own)}`);
});

test('cn_res_send_file: a missing file is CN_ENOENT for the handler', async () => {
  const r = await ask(srv, 'GET', '/res/file?name=nope.txt');
  assert.deepEqual(okJson(r, 404), { send_file_rc: ENOENT, name: 'CN_ENOENT' }, ctx(r));
});

test('cn_res_send_file under HEAD: headers and length, no body', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(Buffer.concat([reqBytes('HEAD', '/res/file?name=bytes.bin'), reqBytes('GET', '/res/json')]));
    const h = await c.final({ head: true });
    const j = await c.final();
    assert.equal(h.status, 200, c.transcript());
    assert.equal(h.get('content-length'), '16384', c.transcript());
    assert.equal(j.status, 201, `the next answer parses: HEAD sent no body\n${c.transcript()}`);
  } finally { c.close(); }
});

// ------------------------------------------------------------- streaming

test('streamed response: the first chunk arrives while the handler still runs', async () => {
  const a = await Conn.open(srv.port);
  try {
    await a.write(reqBytes('GET', '/res/stream'));
    await a.waitBytes(1);
    const deadline = Date.now() + 10000;
    while (!a.buf.includes('6\r\nfirst\n\r\n') && Date.now() < deadline) await a.waitBytes(a.buf.length + 1, 200);
    const sofar = a.buf.toString('latin1');
    assert.ok(sofar.includes('6\r\nfirst\n\r\n'), `the first chunk came by itself\n${a.transcript()}`);
    assert.ok(/\r\ntransfer-encoding: chunked\r\n/i.test(sofar), a.transcript());
    assert.ok(/\r\nx-streamed: yes\r\n/i.test(sofar), a.transcript());
    assert.ok(!sofar.includes('second'), `nothing more before the release\n${a.transcript()}`);
    assert.ok(!sofar.includes('\r\n0\r\n\r\n'), `the stream has not ended\n${a.transcript()}`);
    const rel = await ask(srv, 'POST', '/res/stream', { body: '' });
    assert.equal(rel.text(), 'released\n', ctx(rel));
    const r = await a.final({ timeout: 10000 });
    assert.equal(r.status, 200, a.transcript());
    assert.deepEqual(r.chunks.map(String), ['first\n', 'second\n', 'third\n'], `one chunk per write\n${a.transcript()}`);
    assert.equal(r.get('content-length'), undefined, a.transcript());
    assert.equal(a.unread().length, 0, a.transcript());
  } finally { a.close(); }
});

test('streamed response over HTTP/1.0: close-delimited, no chunk framing', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(reqBytes('GET', '/res/stream?hold=0', { version: '1.0' }));
    assert.ok(await c.waitEnd(10000), `the server closes to end the body\n${c.transcript()}`);
    const r = await c.final();
    assert.equal(r.status, 200, c.transcript());
    assert.equal(r.get('transfer-encoding'), undefined, c.transcript());
    assert.equal(r.text(), 'first\nsecond\nthird\n', c.transcript());
  } finally { c.close(); }
});

test('streamed response under HEAD: no body bytes at all', async () => {
  const c = await Conn.open(srv.port);
  try {
    await c.write(Buffer.concat([reqBytes('HEAD', '/res/stream?hold=0'), reqBytes('GET', '/res/json')]));
    const h = await c.final({ head: true });
    const j = await c.final({ timeout: 10000 });
    assert.equal(h.status, 200, c.transcript());
    assert.equal(j.status, 201, `the next answer parses: HEAD sent no chunks\n${c.transcript()}`);
    assert.equal(c.unread().length, 0, c.transcript());
  } finally { c.close(); }
});

// ------------------------------------------------------- response limit

const warnings = () => srv.stderr.split('\n').filter((l) => /warn/i.test(l) && l.includes('/res/big'));

async function fetchBig(target, bytes) {
  const r = await request(srv.port, reqBytes('GET', target), { timeout: 30000 });
  assert.equal(r.status, 200, `${target}: ${r.status}`);
  assert.equal(r.body.length, bytes, target);
  assert.ok(r.body.every((b) => b === 0x78), `${target}: the body is intact`);
}

test('a response over 4 MiB logs a warning naming the route, unless the route says "off"', async () => {
  const M = 1 << 20;
  assert.deepEqual(warnings(), [], 'no warning before');
  // none of these may warn: "off", and exactly the limit
  await fetchBig('/res/big-unlimited', 5 * M);
  await fetchBig('/res/big-unlimited?stream=1', 5 * M);
  await fetchBig(`/res/big-unlimited?bytes=${9 * M}`, 9 * M);
  await fetchBig(`/res/big?bytes=${4 * M}`, 4 * M);
  await fetchBig(`/res/big?bytes=${4 * M}&stream=1`, 4 * M);
  // this one must
  await fetchBig('/res/big', 5 * M);
  await eventually(() => warnings().length >= 1, 5000, `a warning on stderr\n${srv.describe()}`);
  await fetchBig('/res/big?stream=1', 5 * M);
  await eventually(() => warnings().length >= 2, 5000, `a warning for the stream on stderr\n${srv.describe()}`);
  const w = warnings();
  assert.equal(w.length, 2, `exactly one warning per oversize response, none for "off" or at the limit:\n${w.join('\n')}`);
  for (const line of w) {
    assert.ok(!line.includes('/res/big-unlimited'), line);
    assert.match(line, /\/res\/big\b/, `the warning names the route: ${line}`);
  }
  assert.match(w[0], /5242880/, `the size: ${w[0]}`);
  await assertServing(srv);
});

test('the response helpers left the server serving', async () => {
  await assertServing(srv);
  const r = await ask(srv, 'GET', '/api/nothing', {});
  assertJsonError(r, 404);
});

// The last test: SIGTERM ends every server of this file with exit 0 and no
// sanitizer report (leaks included, under the ASan build).
test('SIGTERM: the server exits 0 with no sanitizer report', () => stopAll(srv));
