// Static files from public/: types, validators, conditional and range
// requests, HEAD, large files intact, and a traversal table that must never
// reach the secret file beside public/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { Conn, exchange, req, request, show, sleep } from './lib/http.mjs';
import { assertCleanStop } from './lib/expect.mjs';

let srv, fx;
before(async () => { srv = await startServer(); fx = srv.fixture; });
after(() => srv && srv.kill());

const sha = (b) => createHash('sha256').update(b).digest('hex');
const GET = (path, extra = {}) => req('GET', path, { Host: 'test', ...extra });
const BIG = 3 * 1024 * 1024;
const get = (path, extra) => request(srv.port, GET(path, extra), { timeout: 20000 });

describe('files and their types', () => {
  const TYPES = [
    ['/index.html', 'index.html', /^text\/html(; ?charset=utf-8)?$/i],
    ['/style.css', 'style.css', /^text\/css(; ?charset=utf-8)?$/i],
    ['/app.js', 'app.js', /^(text|application)\/javascript(; ?charset=utf-8)?$/i],
    ['/data.json', 'data.json', /^application\/json(; ?charset=utf-8)?$/i],
    ['/pixel.png', 'pixel.png', /^image\/png$/],
    ['/icon.svg', 'icon.svg', /^image\/svg\+xml(; ?charset=utf-8)?$/i],
    ['/notes.txt', 'notes.txt', /^text\/plain(; ?charset=utf-8)?$/i],
    ['/blob.unknownext', 'blob.unknownext', /^application\/octet-stream$/],
    ['/nested/dir/file.txt', 'nested/dir/file.txt', /^text\/plain/],
    ['/with%20space.txt', 'with space.txt', /^text\/plain/],
  ];
  for (const [path, file, type] of TYPES) {
    test(`${path}: bytes, length, type, validators`, async () => {
      const r = await get(path);
      assert.equal(r.status, 200, show(r.raw, 400));
      assert.deepEqual(r.body, fx.files[file]);
      assert.equal(r.get('content-length'), String(fx.files[file].length));
      assert.match(r.get('content-type') || '', type);
      assert.match(r.get('etag') || '', /^(W\/)?"[^"]+"$/, 'ETag is a quoted entity tag');
      const lm = r.get('last-modified');
      assert.equal(lm, statSync(join(fx.pub, file)).mtime.toUTCString(), 'Last-Modified is the file mtime');
    });
  }

  test('the ETag is stable and differs between files', async () => {
    const a1 = (await get('/style.css')).get('etag');
    const a2 = (await get('/style.css')).get('etag');
    const b = (await get('/app.js')).get('etag');
    assert.equal(a1, a2);
    assert.notEqual(a1, b);
  });

  test('a query string does not change the file', async () => {
    const r = await get('/style.css?v=123&x');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, fx.files['style.css']);
  });

  test('a missing file is 404', async () => {
    assert.equal((await get('/missing.css')).status, 404);
    assert.equal((await get('/nested/dir/missing.txt')).status, 404);
    assert.equal((await get('/index.html/extra')).status, 404);
  });

  test('directories are 404 (no listing)', async () => {
    for (const p of ['/nested', '/nested/dir', '/emptydir']) {
      const r = await get(p);
      assert.equal(r.status, 404, `${p}: ${show(r.raw, 300)}`);
      assert.ok(!r.text().includes('file.txt'), `${p} lists nothing`);
    }
    for (const p of ['/nested/', '/nested/dir/', '/emptydir/']) {
      const r = await get(p);
      // a trailing-slash redirect (308, to the path without it) is allowed; a listing never
      assert.ok(r.status === 404 || r.status === 308, `${p}: ${show(r.raw, 300)}`);
      if (r.status === 308) assert.equal(r.get('location'), p.slice(0, -1));
      assert.ok(!r.text().includes('file.txt'), `${p} lists nothing`);
    }
  });

  test('dotfiles are not served', async () => {
    for (const p of ['/.hidden', '/nested/.env', '/%2ehidden']) {
      const r = await get(p);
      assert.ok([400, 404].includes(r.status), `${p}: ${show(r.raw, 300)}`);
      assert.ok(!r.body.includes(fx.secret), `${p} leaked the secret`);
    }
  });
});

describe('conditional requests', () => {
  let etag, lm;
  before(async () => {
    const r = await get('/style.css');
    etag = r.get('etag');
    lm = r.get('last-modified');
  });

  test('If-None-Match with the ETag: 304, no body, validators repeated', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(GET('/style.css', { 'If-None-Match': etag }) + GET('/fast'));
      const r = await c.final();
      assert.equal(r.status, 304, show(r.raw));
      assert.equal(r.get('etag'), etag);
      assert.equal(r.body.length, 0);
      assert.equal((await c.final()).text(), 'fast', `no body after the 304\n${c.transcript()}`);
    } finally { c.close(); }
  });

  test('If-None-Match: a list containing the ETag, *, and the weak form all match', async () => {
    for (const v of [`"nope", ${etag}`, '*', etag.startsWith('W/') ? etag : `W/${etag}`]) {
      const r = await get('/style.css', { 'If-None-Match': v });
      assert.equal(r.status, 304, `If-None-Match: ${v}\n${show(r.raw)}`);
    }
  });

  test('If-None-Match with another tag: 200', async () => {
    const r = await get('/style.css', { 'If-None-Match': '"something-else"' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, fx.files['style.css']);
  });

  test('If-Modified-Since at Last-Modified: 304', async () => {
    const r = await get('/style.css', { 'If-Modified-Since': lm });
    assert.equal(r.status, 304, show(r.raw));
    assert.equal(r.body.length, 0);
  });

  test('If-Modified-Since long ago, or not a date: 200', async () => {
    for (const v of ['Sat, 01 Jan 2000 00:00:00 GMT', 'not a date']) {
      const r = await get('/style.css', { 'If-Modified-Since': v });
      assert.equal(r.status, 200, `If-Modified-Since: ${v}`);
    }
  });

  test('If-None-Match wins over If-Modified-Since', async () => {
    const r = await get('/style.css', { 'If-None-Match': '"other"', 'If-Modified-Since': lm });
    assert.equal(r.status, 200, show(r.raw));
  });

  test('HEAD with If-None-Match: 304', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('HEAD', '/style.css', { Host: 't', 'If-None-Match': etag }) + GET('/fast'));
      assert.equal((await c.final({ head: true })).status, 304);
      assert.equal((await c.final()).text(), 'fast');
    } finally { c.close(); }
  });
});

describe('ranges', () => {
  const big = () => fx.files['big.bin'];

  test('bytes=0-99: 206 with Content-Range', async () => {
    const r = await get('/big.bin', { Range: 'bytes=0-99' });
    assert.equal(r.status, 206, show(r.raw, 300));
    assert.equal(r.get('content-range'), `bytes 0-99/${BIG}`);
    assert.equal(r.get('content-length'), '100');
    assert.deepEqual(r.body, big().subarray(0, 100));
  });

  test('a range in the middle', async () => {
    const r = await get('/big.bin', { Range: 'bytes=1000000-1000999' });
    assert.equal(r.status, 206);
    assert.equal(r.get('content-range'), `bytes 1000000-1000999/${BIG}`);
    assert.deepEqual(r.body, big().subarray(1000000, 1001000));
  });

  test('suffix range bytes=-100', async () => {
    const r = await get('/big.bin', { Range: 'bytes=-100' });
    assert.equal(r.status, 206);
    assert.equal(r.get('content-range'), `bytes ${BIG - 100}-${BIG - 1}/${BIG}`);
    assert.deepEqual(r.body, big().subarray(BIG - 100));
  });

  test('open range bytes=N-', async () => {
    const r = await get('/big.bin', { Range: `bytes=${BIG - 728}-` });
    assert.equal(r.status, 206);
    assert.equal(r.get('content-range'), `bytes ${BIG - 728}-${BIG - 1}/${BIG}`);
    assert.deepEqual(r.body, big().subarray(BIG - 728));
  });

  test('an end past the file is clamped', async () => {
    const r = await get('/big.bin', { Range: `bytes=${BIG - 10}-${BIG + 5000}` });
    assert.equal(r.status, 206);
    assert.equal(r.get('content-range'), `bytes ${BIG - 10}-${BIG - 1}/${BIG}`);
    assert.equal(r.body.length, 10);
  });

  test('a single byte of a small file', async () => {
    const r = await get('/index.html', { Range: 'bytes=0-0' });
    assert.equal(r.status, 206);
    assert.equal(r.get('content-range'), `bytes 0-0/${fx.files['index.html'].length}`);
    assert.equal(r.text(), '<');
  });

  test('unsatisfiable: 416 with Content-Range bytes */size', async () => {
    for (const v of [`bytes=${BIG}-`, `bytes=${BIG + 100}-${BIG + 200}`]) {
      const c = await Conn.open(srv.port);
      try {
        await c.write(GET('/big.bin', { Range: v }) + GET('/fast'));
        const r = await c.final();
        assert.equal(r.status, 416, `${v}: ${show(r.raw, 300)}`);
        assert.equal(r.get('content-range'), `bytes */${BIG}`);
        // the connection stays in step
        if (!c.ended || c.unread().length) assert.equal((await c.final()).text(), 'fast', c.transcript());
      } finally { c.close(); }
    }
  });

  test('multiple ranges: the whole file with 200', async () => {
    const r = await get('/big.bin', { Range: 'bytes=0-1,5-6' });
    assert.equal(r.status, 200, show(r.raw, 300));
    assert.equal(r.body.length, BIG);
    assert.equal(sha(r.body), fx.sha256('big.bin'));
  });

  test('a malformed or foreign range is ignored: 200', async () => {
    for (const v of ['bytes=abc', 'items=0-5', 'bytes=5-1', 'bytes=--1']) {
      const r = await get('/index.html', { Range: v });
      assert.equal(r.status, 200, `Range: ${v}: ${show(r.raw, 200)}`);
      assert.deepEqual(r.body, fx.files['index.html']);
    }
  });

  // RFC 9110 14.2 defines ranges for GET only, so a HEAD may ignore them (200)
  // or mirror the GET (206); either way its length is right and no body follows.
  test('HEAD with a range: consistent headers, no body', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('HEAD', '/big.bin', { Host: 't', Range: 'bytes=0-9' }) + GET('/fast'));
      const h = await c.final({ head: true });
      assert.ok([200, 206].includes(h.status), show(h.raw));
      assert.equal(h.get('content-length'), h.status === 206 ? '10' : String(BIG));
      assert.equal((await c.final()).text(), 'fast', c.transcript());
    } finally { c.close(); }
  });
});

describe('large files', () => {
  test('3 MiB file arrives intact (sha256)', async () => {
    const r = await get('/big.bin');
    assert.equal(r.status, 200);
    assert.equal(r.get('content-length'), String(BIG));
    assert.equal(sha(r.body), fx.sha256('big.bin'));
  });

  test('HEAD of the large file: its length, no body', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(req('HEAD', '/big.bin') + GET('/fast'));
      const h = await c.final({ head: true });
      assert.equal(h.get('content-length'), String(BIG));
      assert.equal((await c.final()).text(), 'fast', c.transcript().slice(0, 500));
    } finally { c.close(); }
  });

  test('pipelined large files and a route answer in order', async () => {
    const c = await Conn.open(srv.port);
    try {
      await c.write(GET('/big.bin') + GET('/fast') + GET('/big.bin') + GET('/api/hello'));
      assert.equal(sha((await c.final({ timeout: 20000 })).body), fx.sha256('big.bin'));
      assert.equal((await c.final()).text(), 'fast');
      assert.equal(sha((await c.final({ timeout: 20000 })).body), fx.sha256('big.bin'));
      assert.equal((await c.final()).text(), '{"message":"Hello"}');
    } finally { c.close(); }
  });

  test('a slow reader (paused socket) still gets every byte', async () => {
    const c = await Conn.open(srv.port);
    try {
      c.sock.pause();
      await c.write(GET('/big.bin') + GET('/fast'));
      await sleep(500);
      c.sock.resume();
      assert.equal(sha((await c.final({ timeout: 20000 })).body), fx.sha256('big.bin'));
      assert.equal((await c.final()).text(), 'fast');
    } finally { c.close(); }
  });

  test('a client that goes away mid-file does not hurt the server', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await Conn.open(srv.port);
      await c.write(GET('/big.bin'));
      await c.waitBytes(1000);
      c.close();
    }
    assert.equal((await get('/api/hello')).status, 200);
  });

  test('fetch reads the large file intact too', async () => {
    const r = await fetch(`${srv.url}/big.bin`);
    assert.equal(r.status, 200);
    assert.equal(sha(Buffer.from(await r.arrayBuffer())), fx.sha256('big.bin'));
  });
});

describe('no way out of public/', () => {
  // Raw targets (fetch would normalise the dot segments away).
  const ATTEMPTS = [
    '/../secret.txt',
    '/../../secret.txt',
    '/nested/../../secret.txt',
    '/nested/dir/../../../secret.txt',
    '/./../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/%2e./secret.txt',
    '/nested/%2e%2e/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%2fsecret.txt',
    '/..%2Fsecret.txt',
    '/nested%2f..%2f..%2fsecret.txt',
    '/..\\secret.txt',
    '/nested\\..\\..\\secret.txt',
    '/..%5csecret.txt',
    '/..%5Csecret.txt',
    '/%2e%2e%5csecret.txt',
    '/secret.txt%00.html',
    '/index.html%00',
    '/..%00/secret.txt',
    '/%c0%ae%c0%ae/secret.txt',
    '/%c0%ae%c0%ae%c0%afsecret.txt',
    '/..%c0%afsecret.txt',
    '/%e0%80%ae%e0%80%ae/secret.txt',
    '/%252e%252e/secret.txt',
    '/%252e%252e%252fsecret.txt',
    '/..%252fsecret.txt',
    '/public/../secret.txt',
    '//secret.txt',
    '//../secret.txt',
    '/....//secret.txt',
    '/..;/secret.txt',
    '/%u002e%u002e/secret.txt',
    '/nested%2fdir%2ffile.txt',
    '/.hidden',
    '/nested/.env',
    '/../secret.txt.html',
    '/.%2e/.%2e/secret.txt',
  ];

  for (const target of ATTEMPTS) {
    test(`GET ${target}`, async () => {
      const x = await exchange(srv.port, `GET ${target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
      assert.equal(x.responses.length, 1, x.transcript);
      const r = x.responses[0];
      assert.ok([400, 404].includes(r.status), `status ${r.status}\n${x.transcript}`);
      assert.ok(!x.raw.includes(fx.secret.trim()), `the secret leaked\n${x.transcript}`);
    });
  }

  test('the table has at least 20 attempts', () => { assert.ok(ATTEMPTS.length >= 20); });

  test('HEAD and Range do not open a way out either', async () => {
    for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const h = await exchange(srv.port, `HEAD ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`, { heads: [true] });
      assert.ok([400, 404].includes(h.responses[0].status), h.transcript);
      const g = await exchange(srv.port, `GET ${target} HTTP/1.1\r\nHost: t\r\nRange: bytes=0-5\r\nConnection: close\r\n\r\n`);
      assert.ok([400, 404].includes(g.responses[0].status), g.transcript);
      assert.ok(!g.raw.includes('TOP-SE'), g.transcript);
    }
  });

  test('a symlink in public/ pointing outside is not followed out', async () => {
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(fx.root, 'secret.txt'), join(fx.pub, 'link-out.txt'));
    const r = await get('/link-out.txt');
    assert.ok([403, 404].includes(r.status), show(r.raw, 300));
    assert.ok(!r.body.includes(fx.secret.trim()));
  });
});

test('the server stops cleanly', async () => { await assertCleanStop(srv); });
