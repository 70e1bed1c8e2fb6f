// Every limit with its safe answer: sizes at their defaults and configured
// through the config file, timeouts (configured small: tests never wait for
// the 10 s/30 s defaults), keep-alive request caps, the connection cap.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Conn, counter, exchange, req, request, show, sleep } from './lib/http.mjs';
import { assertCleanStop, assertJsonError, assertRejected } from './lib/expect.mjs';

const KiB = 1024;
const servers = [];
after(() => servers.forEach((s) => s.kill()));
async function serve(config) {
  const s = await startServer(config ? { config } : {});
  servers.push(s);
  return s;
}

function headerLines(n, valueLen = 10) {
  return Array.from({ length: n }, (_, i) => [`X-Pad-${i}`, 'v'.repeat(valueLen)]);
}
const chunkedHead = (path) => req('POST', path, { Host: 't', 'Transfer-Encoding': 'chunked' });

describe('size limits at their defaults', () => {
  let srv;
  before(async () => { srv = await serve(); });

  test('request line over 8 KiB: 414 and close', async () => {
    await assertRejected(srv.port, req('GET', '/api/' + 'a'.repeat(9000)), 414);
  });

  test('request line under 8 KiB is served (404 for an unknown path, not 414)', async () => {
    const r = await request(srv.port, req('GET', '/' + 'a'.repeat(8000)));
    assert.equal(r.status, 404, show(r.raw, 300));
  });

  test('a long query string counts toward the request line', async () => {
    await assertRejected(srv.port, req('GET', '/api/hello?q=' + 'b'.repeat(9000)), 414);
  });

  test('headers over 16 KiB in total: 431 and close', async () => {
    await assertRejected(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(20, 1000)]), 431);
  });

  test('one header line over 16 KiB: 431', async () => {
    await assertRejected(srv.port, req('GET', '/api/hello', [['Host', 't'], ['X-Big', 'x'.repeat(17 * KiB)]]), 431);
  });

  test('headers just under 16 KiB are served', async () => {
    const r = await request(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(15, 1000)]));
    assert.equal(r.status, 200);
  });

  test('100 header lines are served; 101 get 431', async () => {
    let r = await request(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(99)]));
    assert.equal(r.status, 200, '100 lines including Host');
    await assertRejected(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(100)]), 431);
  });

  test('many tiny headers (1000 lines) are 431, never silently dropped', async () => {
    await assertRejected(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(1000, 1)]), 431);
  });

  test('Content-Length over the 1 MiB default: 413 before the body is sent', async () => {
    // No body bytes are ever written: the answer must not wait for them.
    const r = await assertRejected(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': KiB * KiB + 1 }), 413);
    assert.ok(r.body.length > 0);
  });

  test('Content-Length over a route limit (1 KiB on /api/small): 413 JSON before the body', async () => {
    const r = await assertRejected(srv.port, req('POST', '/api/small', { Host: 't', 'Content-Length': 1025 }), 413);
    assertJsonError(r, 413);
  });

  test('exactly the route limit is accepted', async () => {
    const r = await request(srv.port, req('POST', '/api/small', { Host: 't', 'Content-Length': 1024 }, { body: 'z'.repeat(1024) }));
    assert.equal(r.status, 200, show(r.raw));
    assert.deepEqual(r.json(), { length: 1024 });
  });

  test('a chunked body growing past the route limit: 413 and close', async () => {
    const body = '258\r\n' + 'a'.repeat(600) + '\r\n' + '258\r\n' + 'b'.repeat(600) + '\r\n0\r\n\r\n';
    const r = await assertRejected(srv.port, chunkedHead('/api/small') + body, 413);
    assertJsonError(r, 413);
  });

  test('a chunked body growing past 1 MiB: 413 and close', async () => {
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(65536, 'c'), Buffer.from('\r\n')]);
    const parts = [Buffer.from(chunkedHead('/echo'))];
    for (let i = 0; i < 17; i++) parts.push(chunk); // 17 * 64 KiB > 1 MiB
    parts.push(Buffer.from('0\r\n\r\n'));
    await assertRejected(srv.port, Buffer.concat(parts), 413, { timeout: 10000 });
  });

  test('chunk extensions over 16 KiB in one request: 413', async () => {
    let body = '';
    for (let i = 0; i < 40; i++) body += `1;ext${i}=${'e'.repeat(500)}\r\nx\r\n`;
    body += '0\r\n\r\n';
    await assertRejected(srv.port, chunkedHead('/echo') + body, 413);
  });

  test('one chunk extension over 16 KiB: 413', async () => {
    await assertRejected(srv.port, chunkedHead('/echo') + `1;e=${'e'.repeat(17 * KiB)}\r\nx\r\n0\r\n\r\n`, 413);
  });

  test('chunk extensions on the last chunk count too', async () => {
    await assertRejected(srv.port, chunkedHead('/echo') + `0;e=${'e'.repeat(17 * KiB)}\r\n\r\n`, 413);
  });

  test('chunk extensions under 16 KiB are fine', async () => {
    let body = '';
    for (let i = 0; i < 10; i++) body += `1;ext=${'e'.repeat(500)}\r\n${i}\r\n`;
    const r = await request(srv.port, chunkedHead('/echo') + body + '0\r\n\r\n');
    assert.equal(r.text(), '0123456789', show(r.raw, 300));
  });

  test('limit answers under /api are JSON', async () => {
    const cases = [
      ['414', req('GET', '/api/' + 'a'.repeat(9000)), 414],
      ['431 by bytes', req('GET', '/api/hello', [['Host', 't'], ...headerLines(20, 1000)]), 431],
      ['431 by count', req('GET', '/api/hello', [['Host', 't'], ...headerLines(100)]), 431],
      ['413 by Content-Length', req('POST', '/api/small', { Host: 't', 'Content-Length': 1025 }), 413],
      ['413 chunked', chunkedHead('/api/small') + '258\r\n' + 'a'.repeat(600) + '\r\n258\r\n' + 'b'.repeat(600) + '\r\n0\r\n\r\n', 413],
      ['413 chunk extensions', chunkedHead('/api/small') + `1;e=${'e'.repeat(17 * KiB)}\r\nx\r\n0\r\n\r\n`, 413],
    ];
    const wrong = [];
    for (const [name, bytes, status] of cases) {
      const x = await exchange(srv.port, bytes);
      try { assertJsonError(x.responses[0], status); } catch (e) {
        const r = x.responses[0];
        wrong.push(`${name}: ${show(bytes, 120)} -> ${r ? `${r.status} ${r.get('content-type')}` : 'no response'}`);
      }
    }
    if (wrong.length) assert.fail(`${wrong.length} of ${cases.length} are not JSON:\n  ${wrong.join('\n  ')}`);
  });

  test('1,000 requests per connection by default, then close', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('GET', '/api/hello').repeat(1001));
      for (let i = 1; i <= 1000; i++) {
        const r = await c.final({ timeout: 10000 });
        assert.equal(r.status, 200);
        if (i < 1000) assert.notEqual((r.get('connection') || '').toLowerCase(), 'close', `response ${i}`);
        else assert.match(r.get('connection') || '', /^close$/i, 'the 1000th says close');
      }
      assert.equal(await c.waitEnd(), true, 'closed after 1000');
      assert.equal(c.unread().length, 0, 'the 1001st was not answered');
    } finally { c.close(); }
  });

  test('the server stops cleanly', async () => { await assertCleanStop(srv); });
});

describe('size limits set through the config', () => {
  let srv;
  before(async () => {
    srv = await serve({ limits: { request_line: 1024, header_bytes: '2kb', header_count: 10, body: '2kb', chunk_ext_bytes: 256, keepalive_requests: 3 } });
  });

  test('request_line 1024', async () => {
    await assertRejected(srv.port, req('GET', '/api/' + 'a'.repeat(1100)), 414);
    assert.equal((await request(srv.port, req('GET', '/' + 'a'.repeat(900)))).status, 404);
  });

  test('header_bytes "2kb"', async () => {
    await assertRejected(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(3, 1000)]), 431);
    assert.equal((await request(srv.port, req('GET', '/api/hello', [['Host', 't'], ['X-A', 'a'.repeat(1500)]]))).status, 200);
  });

  test('header_count 10', async () => {
    await assertRejected(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(10)]), 431);
    assert.equal((await request(srv.port, req('GET', '/api/hello', [['Host', 't'], ...headerLines(9)]))).status, 200);
  });

  test('body "2kb" is 2048 bytes', async () => {
    await assertRejected(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 2049 }), 413);
    const r = await request(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 2048 }, { body: 'q'.repeat(2048) }));
    assert.equal(r.get('x-body-length'), '2048');
  });

  test('a route limit below the server limit still applies', async () => {
    await assertRejected(srv.port, req('POST', '/api/small', { Host: 't', 'Content-Length': 1025 }), 413);
  });

  test('chunk_ext_bytes 256', async () => {
    await assertRejected(srv.port, chunkedHead('/echo') + `1;e=${'e'.repeat(300)}\r\nx\r\n0\r\n\r\n`, 413);
    const r = await request(srv.port, chunkedHead('/echo') + `1;e=${'e'.repeat(200)}\r\nx\r\n0\r\n\r\n`);
    assert.equal(r.text(), 'x');
  });

  test('keepalive_requests 3: three answers, the third says close, the rest never run', async () => {
    const before = await counter(srv.port);
    const x = await exchange(srv.port, req('POST', '/api/counter', { Host: 't', 'Content-Length': 0 }).repeat(5));
    assert.equal(x.responses.length, 3, x.transcript);
    assert.deepEqual(x.responses.map((r) => r.json().count), [before + 1, before + 2, before + 3]);
    assert.match(x.responses[2].get('connection') || '', /^close$/i, x.transcript);
    assert.equal(x.ended, true);
    await sleep(20);
    assert.equal(await counter(srv.port), before + 3);
  });

  test('keepalive_requests 3 one at a time', async () => {
    const c = await Conn.open(srv.port);
    try {
      for (let i = 1; i <= 3; i++) {
        await c.write(req('GET', '/fast'));
        const r = await c.final();
        assert.equal(r.text(), 'fast');
        assert.equal(/close/i.test(r.get('connection') || ''), i === 3, `response ${i}`);
      }
      assert.equal(await c.waitEnd(), true);
    } finally { c.close(); }
  });

  test('the server stops cleanly', async () => { await assertCleanStop(srv); });
});

describe('timeouts', () => {
  let srv;
  before(async () => {
    srv = await serve({ limits: { header_timeout_ms: 400, request_timeout_ms: 800, keepalive_timeout_ms: 1000, linger_ms: 300 } });
  });

  test('headers not complete in time: 408 and close', async () => {
    const x = await exchange(srv.port, 'GET /api/hello HTTP/1.1\r\nHost: t\r\n', { timeout: 8000 });
    assert.equal(x.responses.length, 1, x.transcript);
    assert.equal(x.responses[0].status, 408, x.transcript);
    assert.match(x.responses[0].get('connection') || '', /^close$/i);
    assert.equal(x.ended, true);
  });

  test('the header timeout runs from the first byte: trickling does not reset it', async () => {
    const c = await Conn.open(srv.port);
    let stop = false;
    try {
      const head = 'GET /api/hello HTTP/1.1\r\nHost: t\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
      (async () => {
        for (const ch of head) {
          if (stop || c.ended) return;
          await c.write(ch);
          await sleep(50); // the whole head would take 10 s
        }
      })();
      const r = await c.final({ timeout: 8000 });
      assert.equal(r.status, 408, c.transcript());
      assert.equal(await c.waitEnd(), true);
    } finally { stop = true; c.close(); }
  });

  test('a body not received in time: 408 and close', async () => {
    const x = await exchange(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 100 }, { body: 'only ten..' }), { timeout: 8000 });
    assert.equal(x.responses.length, 1, x.transcript);
    assert.equal(x.responses[0].status, 408, x.transcript);
    assert.equal(x.ended, true);
  });

  test('a trickled body does not reset the request timeout', async () => {
    const c = await Conn.open(srv.port);
    let stop = false;
    try {
      await c.write(req('POST', '/echo', { Host: 't', 'Content-Length': 200 }));
      (async () => {
        for (let i = 0; i < 200; i++) {
          if (stop || c.ended) return;
          await c.write('b');
          await sleep(50);
        }
      })();
      const r = await c.final({ timeout: 8000 });
      assert.equal(r.status, 408, c.transcript());
    } finally { stop = true; c.close(); }
  });

  test('an idle keep-alive connection is closed without a word', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('GET', '/fast'));
      assert.equal((await c.final()).text(), 'fast');
      assert.equal(await c.waitEnd(8000), true, 'closed when idle');
      assert.equal(c.unread().length, 0, `nothing sent on an idle close\n${c.transcript()}`);
    } finally { c.close(); }
  });

  test('a connection that never sends a byte is closed', async () => {
    const c = await Conn.open(srv.port);
    try {
      assert.equal(await c.waitEnd(8000), true);
      const rest = c.unread().toString('latin1');
      assert.ok(rest === '' || rest.startsWith('HTTP/1.1 408 '), c.transcript());
    } finally { c.close(); }
  });

  test('a busy keep-alive connection is not closed by the idle timer', async () => {
    const c = await Conn.open(srv.port);
    try {
      for (let i = 0; i < 8; i++) {
        await c.write(req('GET', '/fast'));
        assert.equal((await c.final()).text(), 'fast', `request ${i}\n${c.transcript()}`);
        await sleep(250); // well under the 1000 ms idle timeout, 2 s in total
      }
      assert.equal(c.ended, false);
    } finally { c.close(); }
  });

  test('the lingering drain after an error ends: a client that keeps sending is cut off', async () => {
    const c = await Conn.open(srv.port, { allowHalfOpen: true });
    let stop = false;
    try {
      await c.write('GET /api/hello HTTP/1.1\r\nHost : bad\r\n\r\n');
      const r = await c.final();
      assert.equal(r.status, 400);
      (async () => {
        while (!stop && !c.closed && !c.error) { await c.write('x'.repeat(1024)); await sleep(50); }
      })();
      assert.equal(await c.waitClosed(8000), true, 'the server stopped draining and closed');
    } finally { stop = true; c.close(); }
  });

  test('neither the request nor the idle timer cuts a slow handler', async () => {
    const r = await request(srv.port, req('GET', '/sleep?ms=1500'), { timeout: 8000 });
    assert.equal(r.text(), 'slept 1500');
  });

  test('the server stops cleanly', async () => { await assertCleanStop(srv); });
});

describe('descriptor limit', () => {
  let srv;
  before(async () => { srv = await startServer({ nofile: 64 }); servers.push(srv); });

  test('out of descriptors: extra connections are shed, the server neither spins nor stops serving', async () => {
    const held = await Conn.open(srv.port);
    const extra = [];
    try {
      await held.write(req('GET', '/fast'));
      assert.equal((await held.final()).text(), 'fast');
      // far more connections than descriptors, all kept open by us
      for (let i = 0; i < 120; i++) {
        try { extra.push(await Conn.open(srv.port)); } catch (e) { extra.push(null); }
      }
      await sleep(300);
      const cpu0 = srv.cpuSeconds();
      await sleep(1000);
      const cpu = srv.cpuSeconds() - cpu0;
      assert.ok(cpu < 0.5, `the server used ${cpu.toFixed(2)} s of CPU in 1 s while out of descriptors (accept spinning?)`);
      // the connection it already had still works
      await held.write(req('GET', '/fast'));
      assert.equal((await held.final()).text(), 'fast', held.transcript());
      // every extra connection is either served or told/closed: none is left hanging
      let hanging = 0;
      await Promise.all(extra.filter(Boolean).map(async (c) => {
        await c.write(req('GET', '/fast', { Host: 't', Connection: 'close' }));
        if (!(await c.waitEnd(5000))) hanging++;
      }));
      assert.equal(hanging, 0, `${hanging} connections were neither served nor closed`);
    } finally {
      held.close();
      extra.forEach((c) => c && c.close());
    }
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      await sleep(100);
      const x = await exchange(srv.port, req('GET', '/fast', { Host: 't', Connection: 'close' }));
      ok = x.responses.length === 1 && x.responses[0].status === 200;
    }
    assert.ok(ok, 'served again once descriptors are free');
  });

  test('the server stops cleanly', async () => { await assertCleanStop(srv); });
});

describe('connection limit', () => {
  let srv;
  before(async () => { srv = await serve({ limits: { max_connections: 3 } }); });

  test('over max_connections: 503 and close; a freed slot is usable again', async () => {
    const held = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = await Conn.open(srv.port);
        held.push(c);
        await c.write(req('GET', '/fast'));
        assert.equal((await c.final()).text(), 'fast', `connection ${i}`);
      }
      const extra = await Conn.open(srv.port);
      try {
        await extra.write(req('GET', '/fast'));
        assert.equal(await extra.waitEnd(5000), true, `the extra connection is closed\n${extra.transcript()}`);
        const { parseAll } = await import('./lib/http.mjs');
        const { responses } = parseAll(extra.buf);
        assert.equal(responses.length, 1, extra.transcript());
        assert.equal(responses[0].status, 503, extra.transcript());
      } finally { extra.close(); }
      // the held connections still work
      for (const c of held) {
        await c.write(req('GET', '/fast'));
        assert.equal((await c.final()).text(), 'fast');
      }
      held.shift().close();
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        await sleep(100);
        const x = await exchange(srv.port, req('GET', '/fast', { Host: 't', Connection: 'close' }));
        ok = x.responses.length === 1 && x.responses[0].status === 200;
      }
      assert.ok(ok, 'a new connection is served once one is closed');
    } finally { held.forEach((c) => c.close()); }
  });

  test('the server stops cleanly', async () => { await assertCleanStop(srv); });
});
