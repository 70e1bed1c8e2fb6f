// A real client: curl against the server (plain GET, chunked upload from
// stdin, HTTP/1.0, ranges, conditional requests, connection reuse).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { assertCleanStop } from './lib/expect.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv && srv.kill());

const sha = (b) => createHash('sha256').update(b).digest('hex');

// Run curl; resolves {code, stdout (Buffer), stderr (string)}.
function curl(args, stdin) {
  return new Promise((res, rej) => {
    const p = spawn('curl', ['-sS', '--max-time', '20', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code, stdout: Buffer.concat(out), stderr: err }));
    p.stdin.end(stdin);
  });
}

describe('curl', () => {
  test('curl -s /api/hello', async () => {
    const r = await curl([`${srv.url}/api/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), '{"message":"Hello"}');
  });

  test('curl -i shows the status line and headers', async () => {
    const r = await curl(['-i', `${srv.url}/api/hello`]);
    const s = r.stdout.toString();
    assert.match(s, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(s, /\r\ncontent-length: 19\r\n/i);
    assert.match(s, /\r\ndate: /i);
    assert.ok(s.endsWith('\r\n\r\n{"message":"Hello"}'));
  });

  test('curl -T - uploads a chunked body to /echo', async () => {
    const body = randomBytes(300 * 1024);
    const r = await curl(['-v', '-T', '-', `${srv.url}/echo`], body);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /> Transfer-Encoding: chunked/i, 'curl really sent chunked');
    assert.match(r.stderr, /< x-body-length: 307200/i);
    assert.equal(sha(r.stdout), sha(body));
  });

  test('curl -T file uploads with Content-Length (PUT)', async () => {
    const body = randomBytes(200 * 1024);
    const file = join(srv.fixture.root, 'upload.bin');
    writeFileSync(file, body);
    const r = await curl(['-T', file, `${srv.url}/echo`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(r.stdout), sha(body));
  });

  test('curl --data-binary over the limit is refused with 413 (curl waits for 100-continue)', async () => {
    const file = join(srv.fixture.root, 'too-big.bin');
    writeFileSync(file, randomBytes(2 * 1024 * 1024));
    const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '--data-binary', `@${file}`, `${srv.url}/echo`]);
    assert.equal(r.stdout.toString(), '413', r.stderr);
  });

  test('curl --http1.0', async () => {
    const r = await curl(['--http1.0', '-i', `${srv.url}/api/hello`]);
    assert.equal(r.code, 0, r.stderr);
    const s = r.stdout.toString();
    assert.match(s, /^HTTP\/1\.[01] 200 /);
    assert.ok(s.endsWith('{"message":"Hello"}'));
  });

  test('curl --http1.0 of a streamed route gets the whole body', async () => {
    const r = await curl(['--http1.0', `${srv.url}/stream`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'one\ntwo\nthree\n');
  });

  test('curl of a streamed route (chunked)', async () => {
    const r = await curl([`${srv.url}/stream`]);
    assert.equal(r.stdout.toString(), 'one\ntwo\nthree\n');
  });

  test('curl downloads the large file intact', async () => {
    const r = await curl([`${srv.url}/big.bin`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(r.stdout), srv.fixture.sha256('big.bin'));
  });

  test('curl -r 0-99 gets a 206 of 100 bytes', async () => {
    const r = await curl(['-r', '0-99', '-w', '\n%{http_code}', `${srv.url}/big.bin`]);
    const code = r.stdout.subarray(r.stdout.lastIndexOf('\n') + 1).toString();
    assert.equal(code, '206');
    assert.deepEqual(r.stdout.subarray(0, 100), srv.fixture.files['big.bin'].subarray(0, 100));
  });

  test('curl -z (If-Modified-Since) of an unchanged file: 304', async () => {
    const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-z', join(srv.fixture.pub, 'style.css'), `${srv.url}/style.css`]);
    assert.equal(r.stdout.toString(), '304');
  });

  test('curl reuses one connection for several URLs', async () => {
    const r = await curl(['-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{num_connects}\n',
      `${srv.url}/api/hello`, `${srv.url}/fast`, `${srv.url}/index.html`]);
    assert.deepEqual(r.stdout.toString().trim().split('\n'), ['1', '0', '0'], r.stderr);
  });

  test('curl sees JSON errors under /api', async () => {
    const r = await curl(['-w', '\n%{http_code} %{content_type}', `${srv.url}/api/crash`]);
    const out = r.stdout.toString();
    const body = out.slice(0, out.lastIndexOf('\n'));
    const status = out.slice(out.lastIndexOf('\n') + 1);
    assert.equal(status.split(' ')[0], '500');
    assert.match(status, /application\/json/);
    assert.equal(JSON.parse(body).status, 500);
  });
});

test('the server stops cleanly', async () => { await assertCleanStop(srv); });
