// Request bodies: Content-Length and chunked (extensions, trailers, odd but
// legal spellings), Expect: 100-continue and other expectations.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { Conn, exchange, req, request, show, sleep } from './lib/http.mjs';
import { assertCleanStop, assertJsonError } from './lib/expect.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv && srv.kill());

const sha = (b) => createHash('sha256').update(b).digest('hex');
const chunked = (path, body, extra = {}) =>
  req('POST', path, { Host: 't', 'Transfer-Encoding': 'chunked', ...extra }, { body });

function toChunks(buf, size, ext = '') {
  const parts = [];
  for (let i = 0; i < buf.length; i += size) {
    const c = buf.subarray(i, i + size);
    parts.push(Buffer.from(c.length.toString(16) + ext + '\r\n'), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('Content-Length bodies', () => {
  test('POST and PUT /echo return the body and its length', async () => {
    for (const m of ['POST', 'PUT']) {
      const r = await request(srv.port, req(m, '/echo', { Host: 't', 'Content-Length': 11 }, { body: 'hello world' }));
      assert.equal(r.status, 200, show(r.raw));
      assert.equal(r.text(), 'hello world');
      assert.equal(r.get('x-body-length'), '11');
      assert.equal(r.get('content-type'), 'application/octet-stream');
    }
  });

  test('an empty body (Content-Length: 0) and no body at all', async () => {
    let r = await request(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 0 }));
    assert.equal(r.get('x-body-length'), '0');
    assert.equal(r.body.length, 0);
    // POST without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3).
    r = await request(srv.port, req('POST', '/echo', { Host: 't' }));
    assert.equal(r.status, 200, show(r.raw));
    assert.equal(r.get('x-body-length'), '0');
  });

  test('header names are case-insensitive; Content-Length may have leading zeros', async () => {
    for (const [name, value] of [['content-length', '3'], ['CONTENT-LENGTH', '3'], ['Content-Length', '0003']]) {
      const r = await request(srv.port, `POST /echo HTTP/1.1\r\nHost: t\r\n${name}: ${value}\r\n\r\nxyz`);
      assert.equal(r.text(), 'xyz', `${name}: ${value}\n${show(r.raw)}`);
    }
    const r = await request(srv.port, 'POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: CHUNKED\r\n\r\n1\r\nq\r\n0\r\n\r\n');
    assert.equal(r.text(), 'q', show(r.raw));
  });

  test('binary bytes (NUL, CR, LF, 0xff) survive', async () => {
    const body = Buffer.from([0, 13, 10, 13, 10, 255, 0, 48, 13, 10, 13, 10]);
    const c = await Conn.open(srv.port);
    try {
      await c.write(Buffer.concat([Buffer.from(req('POST', '/echo', { Host: 't', 'Content-Length': body.length })), body]));
      const r = await c.final();
      assert.deepEqual(r.body, body);
    } finally { c.close(); }
  });

  test('a 900 KiB body (under the 1 MiB default) arrives intact', async () => {
    const body = randomBytes(900 * 1024);
    const c = await Conn.open(srv.port);
    try {
      await c.write(Buffer.concat([Buffer.from(req('POST', '/echo', { Host: 't', 'Content-Length': body.length })), body]));
      const r = await c.final({ timeout: 20000 });
      assert.equal(r.status, 200);
      assert.equal(sha(r.body), sha(body));
    } finally { c.close(); }
  });

  test('exactly 1 MiB is accepted; one byte more is 413', async () => {
    const ok = randomBytes(1024 * 1024);
    const c = await Conn.open(srv.port);
    try {
      await c.write(Buffer.concat([Buffer.from(req('POST', '/echo', { Host: 't', 'Content-Length': ok.length })), ok]));
      const r = await c.final({ timeout: 20000 });
      assert.equal(r.status, 200);
      assert.equal(r.get('x-body-length'), String(ok.length));
    } finally { c.close(); }
    const r = await request(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 1024 * 1024 + 1 }));
    assert.equal(r.status, 413);
  });
});

describe('chunked request bodies', () => {
  test('chunks with extensions and trailers are echoed exactly', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(chunked('/echo',
        '5\r\nhello\r\n' +
        '1;name=value\r\n \r\n' +
        '5;quoted="a b;c";flag\r\nworld\r\n' +
        'A\r\n0123456789\r\n' +
        '0;last=1\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n'));
      const r = await c.final();
      assert.equal(r.status, 200, c.transcript());
      assert.equal(r.text(), 'hello world0123456789');
      assert.equal(r.get('x-body-length'), '21');
      // the connection goes on after the trailers
      await c.write(req('GET', '/fast'));
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
  });

  // RFC 9110 6.5.1: framing fields in trailers are ignored or treated as an
  // error; they are never obeyed.
  test('framing headers in trailers are ignored or refused, never obeyed', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(chunked('/echo', '3\r\nabc\r\n0\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n') + req('GET', '/fast'));
      const r = await c.final();
      if (r.status === 400) {
        assert.equal(await c.waitEnd(), true, 'closed after refusing');
        assert.equal(c.unread().length, 0, c.transcript());
      } else {
        assert.equal(r.text(), 'abc', c.transcript());
        assert.equal(r.get('x-body-length'), '3');
        assert.equal((await c.final()).text(), 'fast', c.transcript());
      }
    } finally { c.close(); }
  });

  test('upper- and lower-case hex sizes and leading zeros', async () => {
    const r = await request(srv.port, chunked('/echo', '0000A\r\nabcdefghij\r\nb\r\nklmnopqrstu\r\n00\r\n\r\n'));
    assert.equal(r.text(), 'abcdefghijklmnopqrstu', show(r.raw));
  });

  test('chunked is recognised case-insensitively', async () => {
    const r = await request(srv.port, req('POST', '/echo', { Host: 't', 'Transfer-Encoding': 'Chunked' }, { body: '2\r\nok\r\n0\r\n\r\n' }));
    assert.equal(r.text(), 'ok', show(r.raw));
  });

  test('an empty chunked body', async () => {
    const r = await request(srv.port, chunked('/echo', '0\r\n\r\n'));
    assert.equal(r.status, 200);
    assert.equal(r.get('x-body-length'), '0');
  });

  test('a 600 KiB chunked body in uneven chunks, written in small pieces', async () => {
    const body = randomBytes(600 * 1024);
    const wire = Buffer.concat([Buffer.from(req('POST', '/echo', { Host: 't', 'Transfer-Encoding': 'chunked' })), toChunks(body, 7777)]);
    const c = await Conn.open(srv.port);
    try {
      for (let i = 0; i < wire.length; i += 65536 + 13) await c.write(wire.subarray(i, i + 65536 + 13));
      const r = await c.final({ timeout: 20000 });
      assert.equal(r.status, 200);
      assert.equal(r.get('x-body-length'), String(body.length));
      assert.equal(sha(r.body), sha(body));
    } finally { c.close(); }
  });

  test('a chunked body trickled byte by byte', async () => {
    const wire = chunked('/echo', '3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n');
    const c = await Conn.open(srv.port);
    try {
      for (const ch of wire) await c.write(ch);
      const r = await c.final();
      assert.equal(r.text(), 'abcde', c.transcript());
    } finally { c.close(); }
  });

  test('pipelined chunked bodies keep their boundaries', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(chunked('/echo', '1\r\na\r\n0\r\n\r\n') + chunked('/echo', '2\r\nbb\r\n0\r\nX: 1\r\n\r\n') +
        req('POST', '/echo', { Host: 't', 'Content-Length': 3 }, { body: 'ccc' }));
      assert.equal((await c.final()).text(), 'a');
      assert.equal((await c.final()).text(), 'bb');
      assert.equal((await c.final()).text(), 'ccc');
    } finally { c.close(); }
  });

  test('a chunked body under the route limit is accepted by /api/small', async () => {
    const r = await request(srv.port, chunked('/api/small', toChunks(Buffer.alloc(1000, 'x'), 100).toString('latin1')));
    assert.equal(r.status, 200, show(r.raw));
    assert.deepEqual(r.json(), { length: 1000 });
  });
});

describe('Expect', () => {
  test('100-continue: the interim 100 comes first, then the final answer', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('POST', '/echo', { Host: 't', 'Content-Length': 5, Expect: '100-continue' }));
      await c.waitBytes(25);
      assert.equal(c.unread().toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n', c.transcript());
      const interim = await c.next();
      assert.equal(interim.status, 100);
      await c.write('hello');
      const r = await c.final();
      assert.equal(r.status, 200);
      assert.equal(r.text(), 'hello');
      // and the connection goes on
      await c.write(req('GET', '/fast'));
      assert.equal((await c.final()).text(), 'fast');
    } finally { c.close(); }
  });

  test('100-continue with a chunked body', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('POST', '/echo', { Host: 't', 'Transfer-Encoding': 'chunked', Expect: '100-Continue' }));
      const interim = await c.next();
      assert.equal(interim.status, 100, c.transcript());
      await c.write('4\r\nbody\r\n0\r\n\r\n');
      assert.equal((await c.final()).text(), 'body');
    } finally { c.close(); }
  });

  test('100-continue with the body sent at once (client did not wait)', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('POST', '/echo', { Host: 't', 'Content-Length': 4, Expect: '100-continue' }, { body: 'data' }) + req('GET', '/fast'));
      const r = await c.final();
      assert.ok(r.interim.every((i) => i.status === 100), c.transcript());
      assert.equal(r.text(), 'data');
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
  });

  test('100-continue over the route limit: 413 without a 100, then close', async () => {
    const x = await exchange(srv.port, req('POST', '/api/small', { Host: 't', 'Content-Length': 2000, Expect: '100-continue' }));
    assert.ok(x.raw.toString('latin1').startsWith('HTTP/1.1 413 '), x.transcript);
    assert.equal(x.responses.length, 1, x.transcript);
    assertJsonError(x.responses[0], 413);
    assert.equal(x.ended, true);
  });

  test('100-continue over the default limit on /echo: 413 without a 100', async () => {
    const x = await exchange(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 5 * 1024 * 1024, Expect: '100-continue' }));
    assert.ok(x.raw.toString('latin1').startsWith('HTTP/1.1 413 '), x.transcript);
    assert.equal(x.ended, true);
  });

  test('100-continue on a request without a body sends no 100', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('GET', '/api/hello', { Host: 't', Expect: '100-continue' }));
      const r = await c.next();
      assert.equal(r.status, 200, c.transcript());
    } finally { c.close(); }
  });

  test('HTTP/1.0 with 100-continue: no 100 is sent (RFC 9110 10.1.1)', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write('POST /echo HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
      await sleep(300);
      assert.equal(c.unread().length, 0, `nothing before the body\n${c.transcript()}`);
      await c.write('hello');
      const r = await c.next();
      assert.equal(r.status, 200, c.transcript());
      assert.equal(r.text(), 'hello');
    } finally { c.close(); }
  });

  test('any other expectation: 417 (JSON under /api)', async () => {
    for (const e of ['200-ok', 'something', '100-continue-please']) {
      const r = await request(srv.port, req('POST', '/api/small', { Host: 't', 'Content-Length': 2, Expect: e }, { body: 'hi' }));
      assertJsonError(r, 417, `Expect: ${e}`);
    }
  });

  test('100-continue with a slow body: nothing but the 100 until the body comes', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('POST', '/echo', { Host: 't', 'Content-Length': 3, Expect: '100-continue' }));
      assert.equal((await c.next()).status, 100);
      await sleep(200);
      assert.equal(c.unread().length, 0, `nothing but the 100 yet\n${c.transcript()}`);
      await c.write('abc');
      assert.equal((await c.final()).text(), 'abc');
    } finally { c.close(); }
  });
});

test('the server stops cleanly', async () => { await assertCleanStop(srv); });
