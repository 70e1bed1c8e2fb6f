// Request smuggling and malformed input: every row is raw bytes followed by a
// smuggled POST /api/counter. The server must answer the first request with
// the expected status, close, and never run the smuggled one (the counter
// does not move). Where the request line is sound and the path is under /api
// the error body must be JSON (checked in its own test, over every row).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Conn, SMUGGLED, counter, exchange, request, show, sleep } from './lib/http.mjs';
import { assertCleanStop, assertJsonError } from './lib/expect.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv && srv.kill());

const H = 'Host: test\r\n';
const P = 'POST /api/echo-never HTTP/1.1\r\n'; // unknown route: framing is judged before routing

// [name, raw bytes, allowed statuses]
// Statuses: 400 unless the issue allows another; 501 for a well-formed but
// unimplemented method or an unknown transfer coding.
const ROWS = [
  ['lowercase method', `get /api/hello HTTP/1.1\r\n${H}\r\n`, [400]],
  ['mixed-case method', `Get /api/hello HTTP/1.1\r\n${H}\r\n`, [400, 501]],
  ['HTTP/0.9 request line', `GET /api/hello\r\n`, [400]],
  ['unknown method FOO', `FOO /api/hello HTTP/1.1\r\n${H}\r\n`, [501]],
  ['unknown long method', `PROPFINDX /api/hello HTTP/1.1\r\n${H}\r\n`, [501]],
  ['space before colon: Host : x', `GET /api/hello HTTP/1.1\r\nHost : test\r\n\r\n`, [400]],
  ['space before colon in Transfer-Encoding', `POST /api/hello HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc`, [400]],
  ['bare CR ends the request line', `GET /api/hello HTTP/1.1\r${H}\r\n`, [400]],
  ['bare CR ends a header line', `GET /api/hello HTTP/1.1\r\nHost: test\rX-A: b\r\n\r\n`, [400]],
  ['bare CR inside a header value', `GET /api/hello HTTP/1.1\r\n${H}X-A: b\rc\r\n\r\n`, [400]],
  ['bare LF line endings throughout', `GET /api/hello HTTP/1.1\nHost: test\n\n`, [400]],
  ['bare LF ends one header line', `GET /api/hello HTTP/1.1\r\nHost: test\nX-A: b\r\n\r\n`, [400]],
  ['bare LF ends the head', `GET /api/hello HTTP/1.1\r\nHost: test\r\n\n`, [400]],
  ['obs-fold continuation line', `GET /api/hello HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, [400]],
  ['obs-fold with a tab', `GET /api/hello HTTP/1.1\r\n${H}X-A: a\r\n\tb\r\n\r\n`, [400]],
  ['Transfer-Encoding folded onto chunked', `POST /api/hello HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`, [400]],
  ['folded line right after the request line', `GET /api/hello HTTP/1.1\r\n Host: test\r\n\r\n`, [400]],
  ['empty field name', `GET /api/hello HTTP/1.1\r\n${H}: x\r\n\r\n`, [400]],
  ['header line without a colon', `GET /api/hello HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`, [400]],
  ['invalid character in a field name', `GET /api/hello HTTP/1.1\r\n${H}X(y): z\r\n\r\n`, [400]],
  ['NUL in a header value', `GET /api/hello HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, [400]],
  ['NUL in the request target', `GET /api/hel\0lo HTTP/1.1\r\n${H}\r\n`, [400]],
  ['NUL in a field name', `GET /api/hello HTTP/1.1\r\n${H}X-\0A: b\r\n\r\n`, [400]],
  ['Content-Length and Transfer-Encoding', `${P}${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ['Transfer-Encoding and Content-Length (other order)', `${P}${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, [400]],
  ['two different Content-Lengths', `${P}${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, [400]],
  ['repeated identical Content-Lengths', `${P}${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, [400]],
  ['Content-Length list 5, 5', `${P}${H}Content-Length: 5, 5\r\n\r\nhello`, [400]],
  ['Content-Length with a plus sign', `${P}${H}Content-Length: +5\r\n\r\nhello`, [400]],
  ['negative Content-Length', `${P}${H}Content-Length: -1\r\n\r\n`, [400]],
  ['Content-Length with an inner space', `${P}${H}Content-Length: 1 0\r\n\r\n0123456789`, [400]],
  ['hex Content-Length', `${P}${H}Content-Length: 0x5\r\n\r\nhello`, [400]],
  ['empty Content-Length', `${P}${H}Content-Length: \r\n\r\n`, [400]],
  ['overflowing Content-Length', `${P}${H}Content-Length: 99999999999999999999999999\r\n\r\n`, [400, 413]],
  ['Transfer-Encoding chunked, gzip (last is not chunked)', `${P}${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['Transfer-Encoding gzip alone', `${P}${H}Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['two Transfer-Encoding lines, the last gzip', `${P}${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['Transfer-Encoding chunked twice', `${P}${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['Transfer-Encoding xchunked', `${P}${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['Transfer-Encoding identity', `${P}${H}Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello`, [400, 501]],
  ['lower-case transfer-encoding beside Content-Length', `${P}${H}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ['vertical tab before chunked', `${P}${H}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['tab between field name and colon', `${P}${H}Content-Length\t: 5\r\n\r\nhello`, [400]],
  ['Transfer-Encoding on HTTP/1.0', `POST /api/echo-never HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ['empty Transfer-Encoding beside Content-Length', `${P}${H}Transfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello`, [400]],
  ['empty Transfer-Encoding alone', `${P}${H}Transfer-Encoding: \r\n\r\n`, [400, 501]],
  ['invalid chunk size zz', `${P}${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, [400]],
  ['overflowing chunk size', `${P}${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n`, [400, 413]],
  ['negative chunk size', `${P}${H}Transfer-Encoding: chunked\r\n\r\n-1\r\nhello\r\n0\r\n\r\n`, [400]],
  ['chunk size with a space before CRLF', `${P}${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`, [400]],
  ['chunk data longer than its size', `${P}${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`, [400]],
  ['chunk lines ended by bare LF', `${P}${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n`, [400]],
  ['missing Host on HTTP/1.1', `GET /api/hello HTTP/1.1\r\n\r\n`, [400]],
  ['two Host headers', `GET /api/hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, [400]],
  ['two identical Host headers', `GET /api/hello HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n`, [400]],
  ['Host with a space', `GET /api/hello HTTP/1.1\r\nHost: a b\r\n\r\n`, [400]],
  ['Host with a slash', `GET /api/hello HTTP/1.1\r\nHost: a/b\r\n\r\n`, [400]],
  ['Host with a userinfo @', `GET /api/hello HTTP/1.1\r\nHost: user@a\r\n\r\n`, [400]],
  ['absolute-form without Host on HTTP/1.1', `GET http://a.example/api/hello HTTP/1.1\r\n\r\n`, [400]],
  ['two spaces after the method', `GET  /api/hello HTTP/1.1\r\n${H}\r\n`, [400]],
  ['tab instead of a space in the request line', `GET\t/api/hello HTTP/1.1\r\n${H}\r\n`, [400]],
  ['space after the version', `GET /api/hello HTTP/1.1 \r\n${H}\r\n`, [400]],
  ['chunk size with a leading space', `${P}${H}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n`, [400]],
  ['space inside the request target', `GET /api/hel lo HTTP/1.1\r\n${H}\r\n`, [400]],
  ['unknown HTTP version', `GET /api/hello HTTP/1.2\r\n${H}\r\n`, [400, 505]],
  ['HTTP/2.0 in an HTTP/1 request line', `GET /api/hello HTTP/2.0\r\n${H}\r\n`, [400, 505]],
  ['garbage instead of a request', `\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n`, [400]],
];

async function runRow(bytes) {
  return exchange(srv.port, bytes + SMUGGLED);
}

describe('malformed and ambiguous requests: answered, closed, nothing smuggled', () => {
  for (const [name, bytes, statuses] of ROWS) {
    test(name, async () => {
      const before = await counter(srv.port);
      const x = await runRow(bytes);
      const ctx = `\nrequest: ${show(bytes + SMUGGLED)}\n${x.transcript}`;
      assert.equal(x.error, null, `server bytes are HTTP: ${x.error && x.error.message}${ctx}`);
      assert.equal(x.responses.length, 1, `exactly one response${ctx}`);
      const r = x.responses[0];
      assert.ok(statuses.includes(r.status), `status ${r.status}, wanted one of ${statuses}${ctx}`);
      assert.equal(x.rest.length, 0, `nothing after the response${ctx}`);
      assert.equal(x.ended, true, `the server closed the connection${ctx}`);
      assert.match(r.get('connection') || '', /^close$/i, `the answer says Connection: close${ctx}`);
      assert.equal(Number(r.get('content-length')), r.body.length, `a whole error body${ctx}`);
      await sleep(20);
      assert.equal(await counter(srv.port), before, `the smuggled POST never ran${ctx}`);
    });
  }

  test('the table has at least 30 rows', () => { assert.ok(ROWS.length >= 30); });
});

// A request line that is itself sound names its path, so the error format can
// follow it even when the header block is what is wrong.
const SOUND_API_LINE = /^[A-Z]+ \/api\/[^ \0\r\n]* HTTP\/1\.[01]\r\n/;

describe('error format', () => {
  test('every rejected request with a sound /api request line is answered in JSON', async () => {
    const wrong = [];
    let checked = 0;
    for (const [name, bytes] of ROWS) {
      if (!SOUND_API_LINE.test(bytes)) continue;
      checked++;
      const x = await runRow(bytes);
      const r = x.responses[0];
      try {
        assertJsonError(r, r.status);
      } catch {
        wrong.push(`${name}: ${show(bytes)} -> ${r ? `${r.status} ${r.get('content-type')}` : 'no response'}`);
      }
    }
    assert.ok(checked >= 30, `rows checked: ${checked}`);
    if (wrong.length) assert.fail(`${wrong.length} of ${checked} API errors are not JSON:\n  ${wrong.join('\n  ')}`);
  });

  test('Accept: application/json gets a JSON error outside /api too', async () => {
    const x = await exchange(srv.port, 'POST /page HTTP/1.1\r\nHost: test\r\nAccept: application/json\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    assertJsonError(x.responses[0], 400, x.transcript);
  });

  test('a browser gets an HTML error page', async () => {
    const x = await exchange(srv.port, 'GET /page HTTP/1.1\r\nHost: test\r\nAccept: text/html\r\nX: a\r\n b\r\n\r\n');
    assert.equal(x.responses[0].status, 400, x.transcript);
    assert.match(x.responses[0].get('content-type'), /^text\/html/, x.transcript);
  });
});

describe('bodies are never requests', () => {
  test('a Content-Length body that looks like a request is echoed, not run', async () => {
    const before = await counter(srv.port);
    const c = await Conn.open(srv.port);
    try {
      await c.write(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
      assert.equal((await c.final()).text(), SMUGGLED);
      await c.write('GET /fast HTTP/1.1\r\nHost: t\r\n\r\n');
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
    assert.equal(await counter(srv.port), before);
  });

  test('a chunk that holds a request is echoed, not run', async () => {
    const before = await counter(srv.port);
    const r = await request(srv.port, `POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`);
    assert.equal(r.text(), SMUGGLED);
    await sleep(20);
    assert.equal(await counter(srv.port), before);
  });

  test('a GET with a body: the body is consumed, not parsed as the next request', async () => {
    const before = await counter(srv.port);
    const c = await Conn.open(srv.port);
    try {
      await c.write(`GET /api/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}GET /fast HTTP/1.1\r\nHost: t\r\n\r\n`);
      const r = await c.final();
      assert.equal(r.status, 200, c.transcript());
      assert.equal(r.json().body_length, SMUGGLED.length);
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
    assert.equal(await counter(srv.port), before);
  });

  test('a response-splitting attempt in a header value stays inside the value', async () => {
    const r = await request(srv.port, 'GET /api/inspect HTTP/1.1\r\nHost: t\r\nX-A: a%0d%0aSet-Cookie: x=1\r\n\r\n');
    assert.equal(r.get('set-cookie'), undefined);
    assert.equal(r.json().headers.find(([n]) => n.toLowerCase() === 'x-a')[1], 'a%0d%0aSet-Cookie: x=1');
  });
});

describe('requests that are not tunnelled', () => {
  test('Upgrade: websocket is answered (not 101) and closed; nothing after it runs', async () => {
    const before = await counter(srv.port);
    const bytes = 'GET /api/hello HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const x = await exchange(srv.port, bytes + SMUGGLED);
    const ctx = `\n${x.transcript}`;
    assert.equal(x.responses.length, 1, ctx);
    assert.notEqual(x.responses[0].status, 101, ctx);
    assert.ok(x.responses[0].status >= 200, ctx);
    assert.equal(x.ended, true, ctx);
    assert.equal(x.rest.length, 0, ctx);
    await sleep(20);
    assert.equal(await counter(srv.port), before, ctx);
  });

  test('Upgrade: h2c is not honoured either', async () => {
    const before = await counter(srv.port);
    const bytes = 'GET /api/hello HTTP/1.1\r\nHost: test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n';
    const x = await exchange(srv.port, bytes + 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SMUGGLED);
    assert.notEqual(x.responses[0].status, 101, x.transcript);
    assert.equal(x.ended, true, x.transcript);
    await sleep(20);
    assert.equal(await counter(srv.port), before, x.transcript);
  });

  test('CONNECT is answered with an error and closed', async () => {
    const before = await counter(srv.port);
    const x = await exchange(srv.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n' + SMUGGLED);
    const ctx = `\n${x.transcript}`;
    assert.equal(x.responses.length, 1, ctx);
    assert.ok(x.responses[0].status >= 400, ctx);
    assert.equal(x.ended, true, ctx);
    await sleep(20);
    assert.equal(await counter(srv.port), before, ctx);
  });
});

describe('request targets', () => {
  test('absolute-form: the authority wins over Host', async () => {
    const r = await request(srv.port, 'GET http://authority.example:8081/api/inspect?q=1 HTTP/1.1\r\nHost: host-header.example\r\n\r\n');
    assert.equal(r.status, 200, show(r.raw));
    const j = r.json();
    assert.equal(j.host, 'authority.example:8081');
    assert.equal(j.path, '/api/inspect');
    assert.equal(j.query, 'q=1');
  });

  test('absolute-form routes by its path', async () => {
    const r = await request(srv.port, 'GET http://x.example/api/hello HTTP/1.1\r\nHost: x.example\r\n\r\n');
    assert.equal(r.text(), '{"message":"Hello"}', show(r.raw));
  });

  test('asterisk-form is only for OPTIONS', async () => {
    const x = await exchange(srv.port, 'GET * HTTP/1.1\r\nHost: test\r\n\r\n' + SMUGGLED);
    assert.equal(x.responses.length, 1, x.transcript);
    assert.ok(x.responses[0].status >= 400 && x.responses[0].status < 500, x.transcript);
  });

  test('a valid request after all those errors still works', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write('GET /api/hello HTTP/1.1\r\nHost: test\r\n\r\n');
      assert.equal((await c.final()).text(), '{"message":"Hello"}');
    } finally { c.close(); }
  });
});

describe('errors close with a lingering drain', () => {
  test('a 400 with many bytes still in flight is received whole (no reset eats it)', async () => {
    const junk = Buffer.alloc(256 * 1024, 'A');
    const c = await Conn.open(srv.port);
    try {
      await c.write(Buffer.concat([Buffer.from('GET /api/hello HTTP/1.1\r\nHost : bad\r\n\r\n'), junk]));
      const r = await c.final();
      assert.equal(r.status, 400, c.transcript());
      assert.equal(await c.waitEnd(10000), true, 'closed');
    } finally { c.close(); }
  });
});

test('the server stops cleanly', async () => { await assertCleanStop(srv); });
