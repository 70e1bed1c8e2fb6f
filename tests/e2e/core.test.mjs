// The HTTP/1.1 engine as a client sees it: keep-alive, pipelining in order,
// HTTP/1.0, HEAD, Date, Connection: close both ways, streaming, handler
// failures, error formats.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Conn, SMUGGLED, counter, exchange, req, request, show, sleep } from './lib/http.mjs';
import { assertCleanStop, assertDate, assertHtmlError, assertJsonError } from './lib/expect.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv && srv.kill());

const GET = (path, extra = {}) => req('GET', path, { Host: 'test', ...extra });

describe('basics', () => {
  test('GET /api/hello is byte-exact JSON with Date and Content-Length', async () => {
    const r = await request(srv.port, GET('/api/hello'));
    assert.equal(r.version, '1.1');
    assert.equal(r.status, 200);
    assert.equal(r.reason, 'OK');
    assert.equal(r.get('content-type'), 'application/json');
    assert.equal(r.get('content-length'), '19');
    assert.equal(r.count('content-length'), 1);
    assert.equal(r.get('transfer-encoding'), undefined);
    assert.equal(r.text(), '{"message":"Hello"}');
    assertDate(r);
  });

  test('every response is framed by Content-Length or chunked, never by the close', async () => {
    for (const path of ['/api/hello', '/fast', '/', '/index.html', '/big.bin', '/nope', '/api/nope', '/api/crash', '/stream', '/sleep?ms=1']) {
      const c = await Conn.open(srv.port);
      try {
        await c.write(GET(path));
        const r = await c.final({ timeout: 10000 });
        const cl = r.get('content-length'), te = r.get('transfer-encoding');
        assert.ok((cl !== undefined) !== (te !== undefined), `${path}: exactly one of Content-Length, Transfer-Encoding\n${show(r.raw, 400)}`);
        if (te !== undefined) assert.equal(te, 'chunked');
        assert.equal(c.ended, false, `${path}: the connection stays open`);
      } finally { c.close(); }
    }
  });

  test('GET / serves the HTML page', async () => {
    const r = await request(srv.port, GET('/'));
    assert.equal(r.status, 200);
    assert.match(r.get('content-type'), /^text\/html/);
    assert.match(r.text(), /cairn test server/);
    assert.equal(Number(r.get('content-length')), r.body.length);
  });

  test('Date is the same format on every kind of response', async () => {
    for (const path of ['/api/hello', '/fast', '/index.html', '/nope', '/api/nope', '/stream']) {
      const r = await request(srv.port, GET(path));
      assertDate(r);
    }
  });

  test('/api/inspect reports method, path, query, host, headers in order, body length', async () => {
    const r = await request(srv.port, req('GET', '/api/inspect?x=1&y=two', [
      ['Host', 'example.test:8080'], ['X-First', 'a'], ['x-second', 'b c'], ['X-First', 'again'],
    ]));
    assert.equal(r.status, 200, show(r.raw));
    const j = r.json();
    assert.equal(j.method, 'GET');
    assert.equal(j.path, '/api/inspect');
    assert.equal(j.query, 'x=1&y=two');
    assert.equal(j.host, 'example.test:8080');
    assert.equal(j.body_length, 0);
    const names = j.headers.map(([n]) => n.toLowerCase());
    assert.deepEqual(names.filter((n) => n !== 'host'), ['x-first', 'x-second', 'x-first']);
    const vals = j.headers.filter(([n]) => n.toLowerCase() !== 'host').map(([, v]) => v);
    assert.deepEqual(vals, ['a', 'b c', 'again']);
  });

  test('header values are trimmed of surrounding whitespace; empty values are allowed', async () => {
    const r = await request(srv.port, 'GET /api/inspect HTTP/1.1\r\nHost: t\r\nX-Spaced: \t  b c \t \r\nX-Empty:\r\nX-Empty-Sp:   \r\n\r\n');
    assert.equal(r.status, 200, show(r.raw));
    const h = Object.fromEntries(r.json().headers.map(([n, v]) => [n.toLowerCase(), v]));
    assert.equal(h['x-spaced'], 'b c');
    assert.equal(h['x-empty'], '');
    assert.equal(h['x-empty-sp'], '');
  });

  test('the cached Date moves on', async () => {
    const d1 = (await request(srv.port, GET('/api/hello'))).get('date');
    await sleep(1100);
    const d2 = (await request(srv.port, GET('/api/hello'))).get('date');
    assert.notEqual(d1, d2);
    assert.ok(Date.parse(d2) > Date.parse(d1));
  });

  test('500 concurrent connections are all served', async () => {
    const rs = await Promise.all(Array.from({ length: 500 }, (_, i) =>
      request(srv.port, GET(i % 3 === 0 ? '/fast' : '/api/hello'), { timeout: 20000 })));
    assert.equal(rs.filter((r) => r.status === 200).length, 500);
  });

  test('/api/inspect without a query says null', async () => {
    const j = (await request(srv.port, GET('/api/inspect'))).json();
    assert.equal(j.query, null);
    assert.equal(j.path, '/api/inspect');
  });

  test('POST /api/inspect counts the body', async () => {
    const r = await request(srv.port, req('POST', '/api/inspect', { Host: 't', 'Content-Length': 7 }, { body: 'abcdefg' }));
    assert.equal(r.json().body_length, 7);
    assert.equal(r.json().method, 'POST');
  });
});

describe('keep-alive and pipelining', () => {
  test('keep-alive: several requests one after another on one connection', async () => {
    const c = await Conn.open(srv.port);
    try {
      for (let i = 0; i < 5; i++) {
        await c.write(GET(i % 2 ? '/fast' : '/api/hello'));
        const r = await c.final();
        assert.equal(r.status, 200);
        assert.equal(r.text(), i % 2 ? 'fast' : '{"message":"Hello"}');
        assert.notEqual((r.get('connection') || '').toLowerCase(), 'close');
      }
      assert.equal(c.ended, false, 'connection still open');
      assert.equal(c.unread().length, 0, 'no stray bytes');
    } finally { c.close(); }
  });

  test('pipelining: 10 requests in one write, answered in order, a slow one in the middle', async () => {
    const paths = ['/api/hello', '/fast', '/api/inspect?n=2', '/sleep?ms=300', '/fast',
      '/api/hello', '/api/inspect?n=6', '/fast', '/sleep?ms=10', '/api/hello'];
    const c = await Conn.open(srv.port);
    try {
      await c.write(paths.map((p) => GET(p)).join(''));
      for (const [i, p] of paths.entries()) {
        const r = await c.final();
        assert.equal(r.status, 200, `response ${i} for ${p}: ${show(r.raw)}`);
        if (p === '/api/hello') assert.equal(r.text(), '{"message":"Hello"}');
        else if (p === '/fast') assert.equal(r.text(), 'fast');
        else if (p.startsWith('/sleep')) assert.equal(r.text(), `slept ${p.split('=')[1]}`);
        else assert.equal(r.json().query, p.split('?')[1], `response ${i} is for ${p}`);
      }
      assert.equal(c.unread().length, 0);
      assert.equal(c.ended, false);
    } finally { c.close(); }
  });

  test('pipelining with bodies, HEAD and a chunked body in the same write', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(
        req('POST', '/echo', { Host: 't', 'Content-Length': 5 }, { body: 'first' }) +
        req('HEAD', '/api/hello') +
        req('POST', '/echo', { Host: 't', 'Transfer-Encoding': 'chunked' }, { body: '3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n' }) +
        GET('/fast'));
      let r = await c.final();
      assert.equal(r.text(), 'first');
      r = await c.final({ head: true });
      assert.equal(r.status, 200);
      assert.equal(r.get('content-length'), '19');
      r = await c.final();
      assert.equal(r.text(), 'second');
      assert.equal(r.get('x-body-length'), '6');
      r = await c.final();
      assert.equal(r.text(), 'fast', show(c.buf));
      assert.equal(c.unread().length, 0, 'HEAD sent no body bytes');
    } finally { c.close(); }
  });

  test('a client that does not read: 300 pipelined requests are all answered once it does', async () => {
    const c = await Conn.open(srv.port);
    try {
      c.sock.pause();
      await c.write(GET('/index.html').repeat(300));
      await sleep(300);
      c.sock.resume();
      for (let i = 0; i < 300; i++) {
        const r = await c.final({ timeout: 20000 });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, srv.fixture.files['index.html'], `response ${i}`);
      }
    } finally { c.close(); }
  });

  test('a request split into single bytes is still one request', async () => {
    const c = await Conn.open(srv.port);
    try {
      const bytes = req('POST', '/echo', { Host: 't', 'Content-Length': 3 }, { body: 'abc' });
      for (const ch of bytes) { await c.write(ch); }
      const r = await c.final();
      assert.equal(r.text(), 'abc');
    } finally { c.close(); }
  });
});

describe('HTTP/1.0', () => {
  test('without keep-alive: answered, then closed', async () => {
    const x = await exchange(srv.port, 'GET /api/hello HTTP/1.0\r\n\r\n');
    assert.equal(x.ended, true, `server closed\n${x.transcript}`);
    assert.equal(x.responses.length, 1, x.transcript);
    const r = x.responses[0];
    assert.equal(r.status, 200);
    assert.equal(r.text(), '{"message":"Hello"}');
    assert.notEqual((r.get('connection') || '').toLowerCase(), 'keep-alive');
    assert.equal(x.rest.length, 0);
  });

  test('with Connection: keep-alive: stays open for a second request', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write('GET /api/hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      let r = await c.final();
      assert.equal(r.status, 200);
      assert.match(r.get('connection') || '', /^keep-alive$/i, show(r.raw));
      assert.ok(r.get('content-length'), 'a kept-alive 1.0 response is length-delimited');
      await c.write('GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      r = await c.final();
      assert.equal(r.text(), 'fast');
      await c.write('GET /fast HTTP/1.0\r\n\r\n');
      r = await c.final();
      assert.equal(r.text(), 'fast');
      assert.equal(await c.waitEnd(), true, 'closed after the request without keep-alive');
    } finally { c.close(); }
  });

  test('a streamed response to HTTP/1.0 is not chunked: it ends with the close', async () => {
    const x = await exchange(srv.port, 'GET /stream HTTP/1.0\r\n\r\n');
    assert.equal(x.ended, true);
    assert.equal(x.responses.length, 1, x.transcript);
    const r = x.responses[0];
    assert.equal(r.get('transfer-encoding'), undefined, x.transcript);
    assert.equal(r.text(), 'one\ntwo\nthree\n', x.transcript);
  });

  test('a streamed response to HTTP/1.0 keep-alive cannot be chunked, so it closes', async () => {
    const x = await exchange(srv.port, 'GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(x.responses.length, 1, x.transcript);
    assert.equal(x.responses[0].get('transfer-encoding'), undefined, x.transcript);
    assert.equal(x.responses[0].text(), 'one\ntwo\nthree\n', x.transcript);
    assert.equal(x.ended, true);
  });

  test('HTTP/1.0 needs no Host', async () => {
    const x = await exchange(srv.port, 'GET /api/inspect HTTP/1.0\r\n\r\n');
    assert.equal(x.responses[0].status, 200, x.transcript);
  });
});

describe('HEAD', () => {
  test('HEAD has the same headers as GET and no body', async () => {
    for (const path of ['/api/hello', '/fast', '/', '/index.html']) {
      const c = await Conn.open(srv.port);
      try {
        await c.write(GET(path) + req('HEAD', path) + GET('/api/hello'));
        const g = await c.final();
        const h = await c.final({ head: true });
        const after = await c.final();
        assert.equal(h.status, g.status, path);
        assert.equal(h.get('content-length'), g.get('content-length'), path);
        assert.equal(h.get('content-type'), g.get('content-type'), path);
        assert.equal(h.get('etag'), g.get('etag'), path);
        assert.equal(after.text(), '{"message":"Hello"}', `no body bytes after HEAD ${path}\n${c.transcript()}`);
      } finally { c.close(); }
    }
  });

  test('HEAD of a 404 has no body', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('HEAD', '/api/nope') + GET('/fast'));
      const h = await c.final({ head: true });
      assert.equal(h.status, 404);
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
  });

  test('HEAD of a streamed route sends no chunks', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('HEAD', '/stream') + GET('/fast'));
      const h = await c.final({ head: true });
      assert.equal(h.status, 200);
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
  });
});

describe('Connection: close', () => {
  test('client close: answered with Connection: close, then closed; nothing after it runs', async () => {
    const before = await counter(srv.port);
    const x = await exchange(srv.port, req('GET', '/api/hello', { Host: 't', Connection: 'close' }) + SMUGGLED);
    assert.equal(x.ended, true, x.transcript);
    assert.equal(x.responses.length, 1, x.transcript);
    assert.equal(x.responses[0].text(), '{"message":"Hello"}');
    assert.match(x.responses[0].get('connection') || '', /^close$/i);
    assert.equal(x.rest.length, 0);
    await sleep(100);
    assert.equal(await counter(srv.port), before, 'the request after Connection: close never ran');
  });

  test('client close on a POST: the POST runs exactly once', async () => {
    const before = await counter(srv.port);
    const x = await exchange(srv.port, req('POST', '/api/counter', { Host: 't', 'Content-Length': 0, Connection: 'close' }) + SMUGGLED + SMUGGLED);
    assert.equal(x.responses.length, 1, x.transcript);
    assert.equal(x.responses[0].json().count, before + 1);
    await sleep(100);
    assert.equal(await counter(srv.port), before + 1);
  });

  test('Connection header tokens are case-insensitive and lists work', async () => {
    const x = await exchange(srv.port, req('GET', '/fast', { Host: 't', Connection: 'Keep-Alive, CLOSE' }) + GET('/fast'));
    assert.equal(x.ended, true, x.transcript);
    assert.equal(x.responses.length, 1, x.transcript);
  });

  test('server close: a response that says Connection: close is followed by the close', async () => {
    // An error answer (400) closes; the response says so.
    const x = await exchange(srv.port, 'GET /api/hello HTTP/1.1\r\n\r\n');
    assert.equal(x.responses.length, 1, x.transcript);
    assert.equal(x.responses[0].status, 400);
    assert.match(x.responses[0].get('connection') || '', /^close$/i, x.transcript);
    assert.equal(x.ended, true);
  });
});

describe('streaming', () => {
  test('GET /stream is chunked, one chunk per write, no Content-Length', async () => {
    const r = await request(srv.port, GET('/stream'));
    assert.equal(r.status, 200);
    assert.equal(r.get('transfer-encoding'), 'chunked');
    assert.equal(r.get('content-length'), undefined);
    assert.deepEqual(r.chunks.map((b) => b.toString()), ['one\n', 'two\n', 'three\n'], show(r.raw));
    assertDate(r);
  });

  test('a streamed response keeps the connection usable', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(GET('/stream') + GET('/stream') + GET('/api/hello'));
      assert.equal((await c.final()).text(), 'one\ntwo\nthree\n');
      assert.equal((await c.final()).text(), 'one\ntwo\nthree\n');
      assert.equal((await c.final()).text(), '{"message":"Hello"}');
    } finally { c.close(); }
  });
});

describe('handler failures and error formats', () => {
  test('a handler that fails answers 500 JSON, and the next request works', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(GET('/api/crash') + GET('/api/hello'));
      assertJsonError(await c.final(), 500);
      assert.equal((await c.final()).text(), '{"message":"Hello"}', c.transcript());
    } finally { c.close(); }
  });

  test('a handler that returns without answering gets 500 JSON', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(GET('/api/noreply') + GET('/fast'));
      assertJsonError(await c.final(), 500);
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
  });

  test('many failures in a row do not wear the server down', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write((GET('/api/crash') + GET('/api/noreply')).repeat(20) + GET('/api/hello'));
      for (let i = 0; i < 40; i++) assert.equal((await c.final()).status, 500);
      assert.equal((await c.final()).status, 200);
    } finally { c.close(); }
  });

  test('404: JSON under /api, HTML for a browser, JSON when Accept asks', async () => {
    assertJsonError(await request(srv.port, GET('/api/nope')), 404);
    assertJsonError(await request(srv.port, GET('/api/nope', { Accept: 'text/html' })), 404);
    assertHtmlError(await request(srv.port, GET('/nope', { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })), 404);
    assertHtmlError(await request(srv.port, GET('/nope')), 404);
    assertJsonError(await request(srv.port, GET('/nope', { Accept: 'application/json' })), 404);
  });

  test('a 404 keeps the connection (it is not a protocol error)', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(GET('/nope') + GET('/fast'));
      assert.equal((await c.final()).status, 404);
      assert.equal((await c.final()).text(), 'fast');
    } finally { c.close(); }
  });

  test('fetch agrees with the raw view', async () => {
    const r = await fetch(`${srv.url}/api/hello`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { message: 'Hello' });
  });
});

test('the server stops cleanly', async () => { await assertCleanStop(srv); });
