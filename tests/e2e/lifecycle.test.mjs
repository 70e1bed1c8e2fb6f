// The server's life: graceful shutdown on SIGTERM/SIGINT, the access log,
// and config files that are wrong (the server refuses to start and names the
// key).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixture, serverBinary, startServer } from './lib/server.mjs';
import { Conn, req, request, sleep } from './lib/http.mjs';
import { assertCleanStop } from './lib/expect.mjs';

const servers = [];
after(() => servers.forEach((s) => s.kill()));
async function serve(opts) {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

// Try a new connection and a request: 'refused', 'closed' (accepted, no
// answer), or the status of the answer.
async function probe(port) {
  let c;
  try { c = await Conn.open(port); } catch (e) { return e.code === 'ECONNREFUSED' ? 'refused' : e.code; }
  try {
    await c.write(req('GET', '/fast'));
    try { return (await c.final({ timeout: 3000 })).status; } catch { return 'closed'; }
  } finally { c.close(); }
}

describe('graceful shutdown', () => {
  test('SIGTERM: the in-flight request completes, new connections are refused, exit 0', async () => {
    const srv = await serve();
    const inflight = await Conn.open(srv.port);
    try {
      await inflight.write(req('GET', '/sleep?ms=1000'));
      await sleep(200);
      srv.proc.kill('SIGTERM');
      await sleep(200);
      const late = await probe(srv.port);
      assert.ok(late === 'refused' || late === 'closed' || late === 503, `a new connection after SIGTERM got ${late}`);
      const r = await inflight.final({ timeout: 15000 });
      assert.equal(r.status, 200);
      assert.equal(r.text(), 'slept 1000');
      const exit = await srv.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, srv.describe());
      assert.deepEqual(srv.sanitizerReports(), [], srv.describe());
      assert.equal(await inflight.waitEnd(), true, 'the connection is closed after its answer');
    } finally { inflight.close(); }
  });

  test('SIGTERM closes idle keep-alive connections and exits 0 without waiting for their timeout', async () => {
    const srv = await serve({ config: { limits: { keepalive_timeout_ms: 60000 } } });
    const idle = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = await Conn.open(srv.port);
        await c.write(req('GET', '/api/hello'));
        assert.equal((await c.final()).status, 200);
        idle.push(c);
      }
      const fresh = await Conn.open(srv.port); // connected, never sent a byte
      idle.push(fresh);
      await sleep(100);
      srv.proc.kill('SIGTERM');
      for (const c of idle) assert.equal(await c.waitEnd(8000), true, 'idle connection closed on shutdown');
      for (const c of idle.slice(0, 3)) assert.equal(c.unread().length, 0, `no bytes on an idle close\n${c.transcript()}`);
      const exit = await Promise.race([srv.exited, sleep(8000).then(() => 'still running')]);
      assert.deepEqual(exit, { code: 0, signal: null }, srv.describe());
    } finally { idle.forEach((c) => c.close()); }
  });

  test('SIGINT works like SIGTERM', async () => {
    const srv = await serve();
    const inflight = await Conn.open(srv.port);
    try {
      await inflight.write(req('GET', '/sleep?ms=500'));
      await sleep(150);
      srv.proc.kill('SIGINT');
      assert.equal((await inflight.final({ timeout: 15000 })).text(), 'slept 500');
      assert.deepEqual(await srv.exited, { code: 0, signal: null }, srv.describe());
      assert.deepEqual(srv.sanitizerReports(), [], srv.describe());
    } finally { inflight.close(); }
  });

  test('a half-sent request does not hold the exit past shutdown_timeout_ms', async () => {
    const srv = await serve({ config: { limits: { shutdown_timeout_ms: 500 } } });
    const c = await Conn.open(srv.port);
    try {
      await c.write('GET /api/hello HTTP/1.1\r\nHost: t\r\n');
      await sleep(100);
      srv.proc.kill('SIGTERM');
      assert.equal(await c.waitEnd(5000), true, 'closed');
      const exit = await Promise.race([srv.exited, sleep(5000).then(() => 'still running')]);
      assert.deepEqual(exit, { code: 0, signal: null }, srv.describe());
    } finally { c.close(); }
  });

  test('shutdown_timeout_ms bounds the wait for a handler that takes too long', async () => {
    const srv = await serve({ config: { limits: { shutdown_timeout_ms: 300 } } });
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('GET', '/sleep?ms=4000'));
      await sleep(150);
      const t0 = Date.now();
      srv.proc.kill('SIGTERM');
      const exit = await Promise.race([srv.exited, sleep(3500).then(() => 'still running')]);
      assert.notEqual(exit, 'still running', `the server waited for the slow handler past its shutdown timeout\n${srv.describe()}`);
      assert.deepEqual(exit, { code: 0, signal: null }, srv.describe());
      assert.deepEqual(srv.sanitizerReports(), [], srv.describe());
      assert.ok(Date.now() - t0 < 3500);
      assert.equal(await c.waitEnd(2000), true, 'the slow connection is closed');
    } finally { c.close(); }
  });
});

describe('access log', () => {
  const LINE = (method, path, status, bytes) =>
    new RegExp(`^${method} ${path.replace(/[?.]/g, '\\$&')} ${status} ${bytes ?? '\\d+'} \\d+(\\.\\d+)?ms$`);

  test('one line per request: method, path, status, bytes, duration', async () => {
    const srv = await serve();
    await request(srv.port, req('GET', '/api/hello'));
    await request(srv.port, req('GET', '/api/nope'));
    await request(srv.port, req('POST', '/echo', { Host: 't', 'Content-Length': 5 }, { body: 'abcde' }));
    await request(srv.port, req('GET', '/style.css'));
    await request(srv.port, req('GET', '/api/crash'));
    await srv.waitFor(() => srv.accessLines().length >= 5, 5000, 'five access-log lines');
    const lines = srv.accessLines();
    assert.equal(lines.length, 5, lines.join('\n'));
    assert.match(lines[0], LINE('GET', '/api/hello', 200, 19));
    assert.match(lines[1], LINE('GET', '/api/nope', 404));
    assert.match(lines[2], LINE('POST', '/echo', 200, 5));
    assert.match(lines[3], LINE('GET', '/style.css', 200, srv.fixture.files['style.css'].length));
    assert.match(lines[4], LINE('GET', '/api/crash', 500));
    await assertCleanStop(srv);
  });

  test('pipelined requests each get their line', async () => {
    const srv = await serve();
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('GET', '/fast').repeat(7));
      for (let i = 0; i < 7; i++) await c.final();
    } finally { c.close(); }
    await srv.waitFor(() => srv.accessLines().length >= 7, 5000, 'seven lines');
    assert.equal(srv.accessLines().filter((l) => LINE('GET', '/fast', 200, 4).test(l)).length, 7, srv.accessLines().join('\n'));
    await assertCleanStop(srv);
  });

  test('"access_log": false silences it', async () => {
    const srv = await serve({ config: { access_log: false } });
    await request(srv.port, req('GET', '/api/hello'));
    await request(srv.port, req('GET', '/fast'));
    await request(srv.port, req('GET', '/nope'));
    await sleep(300);
    await assertCleanStop(srv);
    assert.deepEqual(srv.accessLines(), []);
  });
});

describe('config files', () => {
  const fx = makeFixture();
  after(() => fx.cleanup());

  // Run the server with a config that must be refused: non-zero exit, no
  // listening line, a message naming `key`.
  async function refused(text, key) {
    const file = join(fx.root, 'bad.json');
    writeFileSync(file, text);
    const p = spawn(serverBinary(), ['--public', fx.pub, '--config', file], {
      env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const code = await Promise.race([
      new Promise((res) => p.on('exit', (c) => res(c))),
      sleep(10000).then(() => { p.kill('SIGKILL'); return 'still running'; }),
    ]);
    const ctx = `config ${text}\noutput: ${out}`;
    assert.notEqual(code, 'still running', `the server started anyway\n${ctx}`);
    assert.notEqual(code, 0, ctx);
    assert.ok(!out.includes('cairn listening on'), ctx);
    if (key) assert.ok(out.includes(key), `the message names "${key}"\n${ctx}`);
  }

  const BAD = [
    ['unknown top-level key', '{"bogus_key": 1}', 'bogus_key'],
    ['unknown limits key', '{"limits": {"bogus_limit": 1}}', 'bogus_limit'],
    ['port as a string', '{"port": "abc"}', 'port'],
    ['port out of range', '{"port": 70000}', 'port'],
    ['hostname as a number', '{"hostname": 12}', 'hostname'],
    ['io_threads as a string', '{"io_threads": "two"}', 'io_threads'],
    ['handler_threads negative', '{"handler_threads": -3}', 'handler_threads'],
    ['access_log as a string', '{"access_log": "yes"}', 'access_log'],
    ['dev as a number', '{"dev": 1}', 'dev'],
    ['limits as an array', '{"limits": []}', 'limits'],
    ['body size with an unknown unit', '{"limits": {"body": "12qb"}}', 'body'],
    ['body size negative', '{"limits": {"body": -1}}', 'body'],
    ['header_bytes as a boolean', '{"limits": {"header_bytes": true}}', 'header_bytes'],
    ['a timeout as a string of words', '{"limits": {"header_timeout_ms": "soon"}}', 'header_timeout_ms'],
    ['max_connections as an object', '{"limits": {"max_connections": {}}}', 'max_connections'],
    ['chunk_ext_bytes fractional', '{"limits": {"chunk_ext_bytes": 1.5}}', 'chunk_ext_bytes'],
  ];
  for (const [name, text, key] of BAD) test(`refused: ${name}`, () => refused(text, key));

  test('refused: not JSON', () => refused('{"port": ', null));
  test('refused: not an object', () => refused('[1, 2]', null));
  test('refused: a missing file', async () => {
    const p = spawn(serverBinary(), ['--public', fx.pub, '--config', join(fx.root, 'nope.json')], {
      env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1' }, stdio: 'ignore',
    });
    const code = await new Promise((res) => p.on('exit', res));
    assert.notEqual(code, 0);
  });

  test('every documented key is accepted', async () => {
    const srv = await serve({
      fixture: fx,
      config: {
        port: 0, hostname: '127.0.0.1', io_threads: 2, handler_threads: 4, access_log: true, dev: false,
        limits: {
          request_line: '8kb', header_bytes: 16384, header_count: 100, body: '1mb', chunk_ext_bytes: '16kb',
          header_timeout_ms: 10000, request_timeout_ms: 30000, keepalive_timeout_ms: 5000, keepalive_requests: 1000,
          max_connections: 10000, shutdown_timeout_ms: 10000, linger_ms: 2000,
        },
      },
    });
    assert.equal((await request(srv.port, req('GET', '/api/hello'))).status, 200);
    await assertCleanStop(srv);
  });

  test('an empty object is the defaults', async () => {
    const srv = await serve({ fixture: fx, config: {} });
    assert.equal((await request(srv.port, req('GET', '/api/hello'))).status, 200);
    await assertCleanStop(srv);
  });
});

describe('address', () => {
  test('PORT and HOSTNAME from the environment are used', async () => {
    // find a free port, then ask for it explicitly
    const port = await new Promise((res) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    });
    const srv = await serve({ env: { PORT: String(port) } });
    assert.equal(srv.port, port);
    assert.equal((await request(port, req('GET', '/api/hello'))).status, 200);
    await assertCleanStop(srv);
  });
});
