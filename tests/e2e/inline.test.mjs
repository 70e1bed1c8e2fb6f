// Short queries skip the hop to a handler thread (issue 9's query figure):
// a query function whose recent runs averaged under "data.inline_query_us"
// runs on the I/O thread that read the request; one whose runs grew slow
// goes back to the pool after one slow run, and comes back once short
// again; a loop holding many connections hands every query to the pool;
// 0 turns it off; mutations and actions never run there.
// tests/apps/data's where:q answers the name of the thread that ran it
// (cairn-io-N or cairn-handler). The limit here is 20 ms, so that a short
// run stays short under ASan and a loaded machine; the default is 60 us.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, copyApp, spawnServer, start, stop, value } from './lib/app.mjs';

let srv, dir;
before(async () => {
  dir = copyApp('data');
  writeFileSync(join(dir, 'cairn.json'), JSON.stringify({ data: { inline_query_us: 20000 } }));
  await build(dir);
  srv = await start(dir);
});
after(async () => { if (srv) await stop(srv); });

const where = (ms = 0, s = srv) => value(s, 'query', 'where:q', { ms });
const IO = /^cairn-io-\d+$/;

test('a query runs on the pool until its runs are known to be short, then on the I/O thread', async () => {
  assert.equal(await where(), 'cairn-handler', 'the first run: nothing known yet');
  for (let i = 0; i < 5; i++) assert.match(await where(), IO);
});

test('a query that grew slow goes back to the pool after one slow run, and returns once short again', async () => {
  assert.match(await where(), IO);
  // one slow run on the I/O thread: the one it takes to learn
  assert.match(await where(200), IO);
  assert.equal(await where(), 'cairn-handler', 'the next run goes to the pool');
  assert.equal(await where(200), 'cairn-handler');
  const seen = [];
  for (let i = 0; i < 60 && !IO.test(seen.at(-1) ?? ''); i++) seen.push(await where());
  assert.match(seen.at(-1), IO, `short runs bring it back: ${seen.join(' ')}`);
  assert.ok(seen.length > 1, 'not at once: the average comes down run by run');
});

test('a loop holding many connections hands even short queries to the pool', async () => {
  assert.match(await where(), IO);
  // 40 idle connections: each I/O loop gets more than 8 of them
  // (each makes one request, so it is surely accepted, and stays open)
  const idle = await Promise.all(Array.from({ length: 40 }, () => new Promise((res, rej) => {
    const c = net.connect(srv.port, '127.0.0.1', () => c.write('GET /_cairn/health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
    c.once('data', () => res(c));
    c.on('error', rej);
  })));
  try {
    for (let i = 0; i < 5; i++) assert.equal(await where(), 'cairn-handler');
  } finally { idle.forEach((c) => c.destroy()); }
  const seen = [];
  for (let i = 0; i < 50 && !IO.test(seen.at(-1) ?? ''); i++) {
    await new Promise((res) => setTimeout(res, 20));
    seen.push(await where());
  }
  assert.match(seen.at(-1), IO, 'once they are gone, inline again');
});

test('mutations and actions never run on the I/O thread', async () => {
  for (let i = 0; i < 5; i++) {
    assert.doesNotMatch(await value(srv, 'mutation', 'where:m', {}), /^cairn-io/);
    assert.equal(await value(srv, 'action', 'where:a', {}), 'cairn-handler');
  }
});

test('"inline_query_us": 0 never runs a query inline; a bad value stops the start naming it', async () => {
  const d = copyApp('data');
  writeFileSync(join(d, 'cairn.json'), JSON.stringify({ data: { inline_query_us: 0 } }));
  await build(d);
  const s = await start(d);
  try {
    for (let i = 0; i < 10; i++) assert.equal(await where(0, s), 'cairn-handler');
  } finally { await stop(s); }
  for (const bad of [-1, 1.5, '60', 2000000]) {
    writeFileSync(join(d, 'cairn.json'), JSON.stringify({ data: { inline_query_us: bad } }));
    const p = spawnServer(d);
    const code = await new Promise((res) => p.proc.on('exit', res));
    assert.notEqual(code, 0);
    assert.match(p.stderr, /"data\.inline_query_us" must be a whole number of microseconds from 0 to 1000000/, String(bad));
  }
});
