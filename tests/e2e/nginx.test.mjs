// The nginx configuration docs/deploy.md gives users, as written there
// (tests/lib/services.mjs startNginx reads it from the file), in front of
// two instances of a built app: requests reach both; a server action's form
// rendered through it is accepted through it (the Host it passes is the one
// the browser's Origin names); the sync WebSocket upgrades through it and
// a mutation sent over it is pushed to its subscription.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';

import { build, copyApp, start, stop } from './lib/app.mjs';
import { startNginx } from '../lib/services.mjs';

const KEY = 'ef'.repeat(32);
let nodes = [], lb, dir;

before(async () => {
  dir = copyApp('actions');
  await build(dir);
  // one database for both (SQLite shared by two processes: not exclusive)
  const { writeFileSync, readFileSync } = await import('node:fs');
  const cfg = JSON.parse(readFileSync(join(dir, 'cairn.json'), 'utf8'));
  writeFileSync(join(dir, 'cairn.json'), JSON.stringify({ ...cfg, data: { exclusive: false } }));
  const env = { CAIRN_ACTIONS_KEY: KEY };
  nodes = [await start(dir, { env }), await start(dir, { env })];
  lb = await startNginx(nodes.map((n) => n.port));
});

after(async () => {
  if (lb) await lb.stop();
  for (const n of nodes) await stop(n);
});

test('requests through nginx reach both instances', async () => {
  const seen = new Set();
  for (let i = 0; i < 6; i++) {
    const r = await fetch(`${lb.url}/api/count`);
    assert.equal(r.status, 200);
    await r.json();
  }
  // each instance logs the requests it answered
  for (const n of nodes) if (/GET \/api\/count 200/.test(n.stdoutLines?.join('\n') ?? n.stderr)) seen.add(n.port);
  assert.equal(seen.size, 2, 'both instances answered');
});

test('a form rendered through nginx is accepted through nginx, with the browser\'s Origin', async () => {
  const html = await (await fetch(`${lb.url}/counter`)).text();
  const id = html.match(/name="\$ACTION_ID" value="([0-9a-f]{40})"/)?.[1];
  assert.ok(id, html);
  const before = (await (await fetch(`${lb.url}/api/count`)).json()).count;
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${lb.url}/counter`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: lb.url },
      body: new URLSearchParams({ $ACTION_ID: id, by: '1' }).toString(),
    });
    assert.equal(r.status, 200, await r.text());
  }
  assert.equal((await (await fetch(`${lb.url}/api/count`)).json()).count, before + 2);
});

test('the sync WebSocket upgrades through nginx: a subscription, a mutation over it, the push', async () => {
  const ws = new WebSocket(`${lb.url.replace('http', 'ws')}/_cairn/sync`, 'cairn.sync.1');
  const got = [];
  let wake = () => {};
  ws.on('message', (d) => { got.push(JSON.parse(d.toString())); wake(); });
  await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
  const until = (pred, what) => new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`timed out: ${what}: ${JSON.stringify(got)}`)), 10000);
    const check = () => { const v = pred(); if (v) { clearTimeout(t); res(v); } else wake = check; };
    check();
  });
  ws.send(JSON.stringify({ type: 'modify', baseVersion: 0, newVersion: 1, modifications: [{ type: 'add', queryId: 1, path: 'count:get', args: {} }] }));
  const last = () => got.filter((m) => m.type === 'transition').flatMap((m) => m.modifications).filter((m) => m.queryId === 1).at(-1)?.value;
  const n0 = await until(() => last() !== undefined && { v: last() }, 'the first result');
  // over the socket: its instance commits and pushes (instances on one
  // SQLite file do not hear each other's commits; PostgreSQL is for that)
  ws.send(JSON.stringify({ type: 'mutation', requestId: 1, path: 'count:add', args: { n: 5 } }));
  const ans = await until(() => got.find((m) => m.type === 'mutationResponse'), 'the answer');
  assert.equal(ans.success, true);
  assert.equal(ans.result, n0.v + 5);
  await until(() => last() === n0.v + 5, 'the pushed change');
  ws.close();
});
