// /_cairn/health/live and /_cairn/health/ready (issue 11's readiness and
// liveness for a load balancer): both 200 while serving, never cached,
// HEAD too; ready turns 503 "shutting down" for a request that arrives
// while the server drains after SIGTERM; an app without a data layer is
// ready as soon as it listens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { build, copyApp, raw, start, stop } from './lib/app.mjs';

const accepts = (port) => new Promise((res) => {
  const c = net.connect(port, '127.0.0.1');
  c.on('connect', () => { c.destroy(); res(true); });
  c.on('error', () => res(false));
});

let srv;
before(async () => {
  const dir = copyApp('data');
  await build(dir);
  srv = await start(dir);
});
after(async () => { if (srv && srv.proc.exitCode === null) await stop(srv); });

test('live and ready answer 200 {"status":"ok"}, no-store, and HEAD', async () => {
  for (const path of ['/_cairn/health/live', '/_cairn/health/ready']) {
    const r = await raw(srv, 'GET', path);
    assert.equal(r.status, 200, path);
    assert.deepEqual(JSON.parse(r.text), { status: 'ok' });
    assert.equal(r.headers['cache-control'], 'no-store');
    const h = await raw(srv, 'HEAD', path);
    assert.equal(h.status, 200);
    assert.equal(h.text, '');
  }
  assert.equal((await raw(srv, 'POST', '/_cairn/health/ready')).status, 405);
});

test('an app without data is ready', async () => {
  const dir = copyApp('islands');
  await build(dir);
  const other = await start(dir);
  try {
    const r = await raw(other, 'GET', '/_cairn/health/ready');
    assert.equal(r.status, 200);
  } finally { await stop(other); }
});

test('while draining after SIGTERM, ready is 503 "shutting down"', async () => {
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((res, rej) => { sock.on('connect', res); sock.on('error', rej); });
  let got = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => { got += d; });
  const ended = new Promise((res) => sock.on('close', res));
  // the request's head, all but its end, then the signal, then the end
  sock.write('GET /_cairn/health/ready HTTP/1.1\r\nHost: t\r\n');
  await new Promise((r) => setTimeout(r, 100));
  srv.proc.kill('SIGTERM');
  // the server has taken the signal once it no longer accepts connections
  for (let i = 0; i < 200 && await accepts(srv.port); i++) await new Promise((r) => setTimeout(r, 25));
  sock.write('\r\n');
  await ended;
  assert.match(got, /^HTTP\/1\.1 503 /);
  assert.match(got, /\{"status":"unavailable","reason":"shutting down"\}/);
  await stop(srv);
});
