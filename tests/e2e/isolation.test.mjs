// Handlers may block: a handler sleeping 2 s must not hold up requests on
// other connections. The only timing assertions of the suite live here, with
// bounds (500 ms) far above what a working server needs and far below the
// sleep they are measured against.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Conn, req, request } from './lib/http.mjs';
import { assertCleanStop } from './lib/expect.mjs';

const servers = [];
after(() => servers.forEach((s) => s.kill()));

async function timed(port, path) {
  const t0 = performance.now();
  const r = await request(port, req('GET', path), { timeout: 10000 });
  return { r, ms: performance.now() - t0 };
}

async function startSleep(port, ms) {
  const c = await Conn.open(port);
  await c.write(req('GET', `/sleep?ms=${ms}`));
  return c;
}

for (const [label, config] of [
  ['default threads', undefined],
  ['one I/O thread, two handler threads', { io_threads: 1, handler_threads: 2 }],
]) {
  describe(`handler isolation (${label})`, () => {
    let srv;
    before(async () => {
      srv = await startServer(config ? { config } : {});
      servers.push(srv);
    });

    test('/api/hello and /fast answer quickly while /sleep?ms=2000 is in flight', async () => {
      const sleeper = await startSleep(srv.port, 2000);
      try {
        await new Promise((r) => setTimeout(r, 150)); // the sleep is running now
        for (let i = 0; i < 3; i++) {
          for (const path of ['/api/hello', '/fast']) {
            const { r, ms } = await timed(srv.port, path);
            assert.equal(r.status, 200);
            assert.ok(ms < 500, `${path} took ${ms.toFixed(0)} ms while a handler slept`);
          }
        }
        assert.equal(sleeper.ended, false);
        assert.equal(sleeper.unread().length, 0, 'the sleeper has not answered yet');
        const s = await sleeper.final({ timeout: 10000 });
        assert.equal(s.text(), 'slept 2000');
      } finally { sleeper.close(); }
    });

    test('concurrent requests to other routes all answer quickly', async () => {
      const sleeper = await startSleep(srv.port, 2000);
      try {
        await new Promise((r) => setTimeout(r, 150));
        const t0 = performance.now();
        const rs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
          request(srv.port, req('GET', i % 2 ? '/fast' : '/api/hello'))));
        const ms = performance.now() - t0;
        assert.ok(rs.every((r) => r.status === 200));
        assert.ok(ms < 500, `20 concurrent requests took ${ms.toFixed(0)} ms`);
        assert.equal((await sleeper.final({ timeout: 10000 })).text(), 'slept 2000');
      } finally { sleeper.close(); }
    });

    test('an I/O-thread route stays fast even with every handler thread asleep', async () => {
      const sleepers = await Promise.all(Array.from({ length: 6 }, () => startSleep(srv.port, 1000)));
      try {
        await new Promise((r) => setTimeout(r, 150));
        const { r, ms } = await timed(srv.port, '/api/hello');
        assert.equal(r.status, 200);
        assert.ok(ms < 500, `/api/hello took ${ms.toFixed(0)} ms`);
        for (const s of sleepers) assert.equal((await s.final({ timeout: 20000 })).text(), 'slept 1000');
      } finally { sleepers.forEach((s) => s.close()); }
    });

    test('the server stops cleanly', async () => { await assertCleanStop(srv); });
  });
}
