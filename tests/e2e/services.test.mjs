// The services the multi-instance tests stand on (tests/lib/services.mjs),
// started for real from Debian's packages on loopback: PostgreSQL (a table
// written and read through psql with the URL), Redis (SET/GET and
// PUBLISH/SUBSCRIBE in raw RESP), and HAProxy in front of two small Node
// servers (round-robin, a WebSocket through it, a backend killed with
// SIGKILL costing no request). Each test stops what it started and checks
// that nothing is left: port closed, folder gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { psql, redisConnect, startHaproxy, startPostgres, startRedis } from '../lib/services.mjs';

const TESTS = join(dirname(fileURLToPath(import.meta.url)), '..');

const portOpen = (port) => new Promise((res) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); res(true); });
  s.once('error', () => res(false));
});

async function assertGone(svc) {
  assert.equal(await portOpen(svc.port), false, `port ${svc.port} still open`);
  assert.equal(existsSync(svc.dir), false, `${svc.dir} still there`);
}

describe('PostgreSQL', () => {
  test('starts, answers SQL through its URL, stops leaving nothing', async (t) => {
    const pg = await startPostgres();
    try {
      t.diagnostic(`postgres started in ${pg.startMs} ms ${JSON.stringify(pg.timings)}`);
      assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/cairn$/);
      if (process.getuid() === 0) {
        // root: the server runs as the postgres system user, in its folder
        const { uid } = statSync(join(pg.dir, 'data'));
        assert.notEqual(uid, 0);
        assert.equal(statSync(`/proc/${pg.pid}`).uid, uid);
      }
      await pg.psql('CREATE TABLE counters (name text PRIMARY KEY, n integer NOT NULL)');
      await pg.psql("INSERT INTO counters VALUES ('a', 1), ('b', 2)");
      await pg.psql("UPDATE counters SET n = n + 40 WHERE name = 'b'");
      assert.equal(await pg.psql('SELECT name, n FROM counters ORDER BY name'), 'a\t1\nb\t42\n');
      assert.equal(await pg.psql('SELECT current_database()'), 'cairn\n');
      // a second database on the same server, from the first as template
      const other = await pg.createDatabase('cairn_b', { template: 'cairn' });
      assert.match(other, /\/cairn_b$/);
      assert.equal(await psql(other, 'SELECT sum(n) FROM counters'), '43\n');
      // an SQL error rejects, with the server's message
      await assert.rejects(pg.psql('SELECT 1/0'), /division by zero/);
    } finally {
      await pg.stop();
    }
    await assertGone(pg);
  });
});

describe('Redis', () => {
  test('SET/GET in raw RESP, PUBLISH reaches a SUBSCRIBEr, stops leaving nothing', async (t) => {
    const rd = await startRedis();
    try {
      t.diagnostic(`redis started in ${rd.startMs} ms`);
      assert.match(rd.url, /^redis:\/\/127\.0\.0\.1:\d+$/);

      // raw bytes on a socket: SET then GET, the replies as they come
      const raw = await new Promise((res, rej) => {
        const s = net.connect(rd.port, '127.0.0.1');
        let got = '';
        s.setEncoding('utf8');
        s.on('error', rej);
        s.on('data', (d) => {
          got += d;
          if (got.endsWith('$5\r\nhello\r\n')) { s.destroy(); res(got); }
        });
        s.write('*3\r\n$3\r\nSET\r\n$5\r\ncairn\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$5\r\ncairn\r\n');
      });
      assert.equal(raw, '+OK\r\n$5\r\nhello\r\n');

      const a = await redisConnect(rd.url);
      const b = await redisConnect(rd.url);
      try {
        assert.equal(await a.command('GET', 'cairn'), 'hello');
        assert.equal(await a.command('GET', 'missing'), null);
        assert.equal(await a.command('INCR', 'n'), 1);
        assert.deepEqual(await b.command('SUBSCRIBE', 'cairn:invalidate'), ['subscribe', 'cairn:invalidate', 1]);
        const got = new Promise((res) => { b.onMessage = (ch, msg) => res([ch, msg]); });
        const t0 = performance.now();
        assert.equal(await a.command('PUBLISH', 'cairn:invalidate', 'tag:posts'), 1);
        assert.deepEqual(await got, ['cairn:invalidate', 'tag:posts']);
        t.diagnostic(`publish to message: ${(performance.now() - t0).toFixed(2)} ms`);
        await assert.rejects(a.command('NOSUCHCOMMAND'), /unknown command/);
        // no persistence: nothing to save, nowhere
        assert.deepEqual(await a.command('CONFIG', 'GET', 'save'), ['save', '']);
        assert.deepEqual(await a.command('CONFIG', 'GET', 'appendonly'), ['appendonly', 'no']);
      } finally {
        a.close();
        b.close();
      }
    } finally {
      await rd.stop();
    }
    await assertGone(rd);
  });
});

// A backend: a Node process answering every path with its name (the health
// path too, counted), and a WebSocket echo that prefixes its name.
const BACKEND = `
import http from 'node:http';
import { WebSocketServer } from 'ws';
const name = process.env.NAME;
let health = 0;
const srv = http.createServer((req, res) => {
  if (req.url === '/_cairn/health/ready') health++;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name, url: req.url, health }));
});
const wss = new WebSocketServer({ server: srv });
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(name + ':' + m)));
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

function startBackend(name) {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', BACKEND], {
    cwd: TESTS, env: { ...process.env, NAME: name }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((res) => proc.on('exit', res));
  return new Promise((res, rej) => {
    proc.on('error', rej);
    proc.on('exit', (code) => rej(new Error(`backend ${name} exited (${code})`)));
    proc.stdout.setEncoding('utf8');
    proc.stdout.once('data', (s) => res({
      name, proc, port: Number(s.trim()),
      kill: async () => { if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGKILL'); await exited; },
    }));
  });
}

// GET on a fresh connection: the backend's JSON.
function get(url, agent = false) {
  return new Promise((res, rej) => {
    http.get(url, { agent }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (s) => { body += s; });
      r.on('end', () => {
        if (r.statusCode !== 200) rej(new Error(`${url}: ${r.statusCode} ${body}`));
        else res(JSON.parse(body));
      });
    }).on('error', rej);
  });
}

function wsOpen(url) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url);
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
}

function wsEcho(ws, text) {
  return new Promise((res, rej) => {
    ws.once('message', (m) => res(String(m)));
    ws.once('error', rej);
    ws.send(text);
  });
}

async function until(pred, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('HAProxy', () => {
  test('round-robin over two backends, WebSocket through it, a killed backend costs no request', async (t) => {
    const backends = [await startBackend('A'), await startBackend('B')];
    let lb;
    try {
      lb = await startHaproxy(backends.map((b) => b.port), { ws: true });
      t.diagnostic(`haproxy started in ${lb.startMs} ms`);
      assert.match(lb.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(await lb.allUp(), { s0: 'UP', s1: 'UP' });

      // alternates, on fresh connections and on one kept alive
      const names = [];
      for (let i = 0; i < 6; i++) names.push((await get(`${lb.url}/page?i=${i}`)).name);
      assert.ok(names.join('') === 'ABABAB' || names.join('') === 'BABABA', names.join(''));
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const kept = [];
      for (let i = 0; i < 4; i++) kept.push((await get(`${lb.url}/kept`, agent)).name);
      agent.destroy();
      assert.equal(new Set(kept).size, 2, kept.join(''));

      // the health path is checked
      await until(async () => (await get(`http://127.0.0.1:${backends[0].port}/x`)).health > 0, 5000, 'a health check');

      // a WebSocket upgrade passes through, both ways; two land on both
      const wsUrl = lb.url.replace('http:', 'ws:') + '/ws';
      const sockets = [await wsOpen(wsUrl), await wsOpen(wsUrl)];
      const echoes = await Promise.all(sockets.map((ws, i) => wsEcho(ws, `hi${i}`)));
      assert.deepEqual(echoes.map((e) => e.slice(1)).sort(), [':hi0', ':hi1']);
      assert.equal(new Set(echoes.map((e) => e[0])).size, 2, echoes.join(' '));

      // SIGKILL A: its WebSocket closes, every request still succeeds (on B),
      // a new WebSocket reaches B, and A is marked down
      const onA = sockets[echoes.findIndex((e) => e[0] === 'A')];
      const closed = new Promise((res) => onA.once('close', res));
      await backends[0].kill();
      await closed;
      const t0 = performance.now();
      const after = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`${lb.url}/after?i=${i}`)));
      t.diagnostic(`10 requests right after the kill: ${(performance.now() - t0).toFixed(0)} ms`);
      assert.deepEqual(new Set(after.map((r) => r.name)), new Set(['B']));
      const again = await wsOpen(wsUrl);
      assert.equal(await wsEcho(again, 'back'), 'B:back');
      again.close();
      for (const ws of sockets) ws.close();
      await until(async () => (await lb.serverStates()).s0.startsWith('DOWN'), 5000, 's0 down');
      for (let i = 0; i < 4; i++) assert.equal((await get(`${lb.url}/down?i=${i}`)).name, 'B');
    } finally {
      if (lb) await lb.stop();
      for (const b of backends) await b.kill();
    }
    await assertGone(lb);
  });

  test('a missing backend list is an error, not a balancer of nothing', async () => {
    await assert.rejects(startHaproxy([]), /no backends/);
  });
});
