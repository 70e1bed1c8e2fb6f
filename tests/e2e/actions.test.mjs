// Server Actions over HTTP (issue 8), against tests/apps/actions: every
// refusal path answers its status with nothing executed (the app's
// counter, read at /api/count, proves it), the allowed-origin wildcards of
// its cairn.json, the answers' Cache-Control, and instances that share
// CAIRN_ACTIONS_KEY accepting each other's forms while another key does
// not. The suite runs on one instance (its SQLite counter) and through
// HAProxy in front of three sharing the key and a PostgreSQL.
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, copyApp, raw, start, stop } from './lib/app.mjs';
import { runCairn } from './routing/harness.mjs';
import { cluster, stopAny } from './lib/cluster.mjs';
import { startPostgres } from '../lib/services.mjs';

const KEY = 'ab'.repeat(32);

// The hidden fields of the page's two forms: {bump: {id}, add_bound: {id, args}}.
async function forms(srv) {
  const html = await (await fetch(`${srv.url}/counter`)).text();
  const out = {};
  for (const f of html.match(/<form[\s\S]*?<\/form>/g) || []) {
    const id = f.match(/name="\$ACTION_ID" value="([^"]+)"/)?.[1];
    const args = f.match(/name="\$ACTION_ARGS" value="([^"]+)"/)?.[1];
    const name = f.includes('Add 5') ? 'add_bound' : 'bump';
    out[name] = { id, args };
  }
  assert.ok(out.bump?.id && out.add_bound?.id && out.add_bound.args, html);
  return out;
}

// A raw request to the app, POST /counter unless said otherwise.
const request = (srv, { method = 'POST', path = '/counter', headers = {}, body = '' } = {}) =>
  raw(srv, method, path, { headers, body });

const form = (fields) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';
const count = async (srv) => (await (await fetch(`${srv.url}/api/count`)).json()).count;

for (const where of ['one instance', 'three instances behind HAProxy']) describe(`server actions on ${where}`, () => {
  let srv, dir, f, origin, pg;

  before(async () => {
    dir = copyApp('actions');
    await build(dir);
    if (where === 'one instance') {
      srv = await start(dir);
    } else {
      pg = await startPostgres();
      srv = await cluster(dir, { DATABASE_URL: pg.url, CAIRN_ACTIONS_KEY: KEY });
    }
    f = await forms(srv);
    origin = srv.url;
  });

  after(async () => {
    if (srv) await stopAny(srv);
    if (pg) await pg.stop();
  });

  const post = (fields, headers = {}) => request(srv, {
    headers: { 'content-type': FORM, origin, ...headers }, body: form(fields),
  });

  test('a form post runs the action once and renders its state, never cached', async () => {
    const before_ = await count(srv);
    const r = await post({ $ACTION_ID: f.bump.id, by: '2' });
    assert.equal(r.status, 200);
    assert.match(r.text, new RegExp(`<p class="count">${before_ + 2}</p>`));
    assert.equal(r.headers['cache-control'], 'no-cache, no-store, max-age=0, must-revalidate');
    assert.equal(await count(srv), before_ + 2);
    // the bound value travels sealed and reaches the action
    const b = await post({ $ACTION_ID: f.add_bound.id, $ACTION_ARGS: f.add_bound.args });
    assert.equal(b.status, 200);
    assert.equal(await count(srv), before_ + 7);
    // the client script's way: the ID in a header
    const h = await post({ by: '1' }, { 'cairn-action': f.bump.id });
    assert.equal(h.status, 200);
    assert.equal(await count(srv), before_ + 8);
  });

  test('every refusal: its status, and nothing ran', async () => {
    const n = await count(srv);
    const cases = [
      ['GET is not an action', { method: 'GET' }, 200],
      ['PUT', { method: 'PUT', headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.bump.id }) }, 405],
      ['DELETE', { method: 'DELETE', headers: { origin } }, 405],
      ['an unknown ID', { headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: 'f'.repeat(40) }) }, 404],
      ['no ID at all', { headers: { 'content-type': FORM, origin }, body: form({ by: '1' }) }, 404],
      ['an ID of the right length, one digit off', { headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.bump.id.slice(0, -1) + (f.bump.id.endsWith('0') ? '1' : '0') }) }, 404],
      ['another site', { headers: { 'content-type': FORM, origin: 'https://evil.test' }, body: form({ $ACTION_ID: f.bump.id }) }, 403],
      ['Origin: null', { headers: { 'content-type': FORM, origin: 'null' }, body: form({ $ACTION_ID: f.bump.id }) }, 403],
      ['the same host on another port', { headers: { 'content-type': FORM, origin: `http://127.0.0.1:${srv.port + 1}` }, body: form({ $ACTION_ID: f.bump.id }) }, 403],
      ['a wildcard one label too deep', { headers: { 'content-type': FORM, origin: 'https://a.b.trusted.test' }, body: form({ $ACTION_ID: f.bump.id }) }, 403],
      ['tampered bound arguments', { headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.add_bound.id, $ACTION_ARGS: f.add_bound.args.slice(0, 10) + (f.add_bound.args[10] === 'A' ? 'B' : 'A') + f.add_bound.args.slice(11) }) }, 400],
      ['truncated bound arguments', { headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.add_bound.id, $ACTION_ARGS: f.add_bound.args.slice(0, -6) }) }, 400],
      ['another action\'s bound arguments', { headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.bump.id, $ACTION_ARGS: f.add_bound.args }) }, 400],
      ['a JSON body', { headers: { 'content-type': 'application/json', origin, 'cairn-action': f.bump.id }, body: '{"by":1}' }, 400],
      ['a body over actions.body_limit (2kb)', { headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.bump.id, pad: 'x'.repeat(4000) }) }, 413],
    ];
    for (const [what, opts, status] of cases) {
      const r = await request(srv, opts);
      assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
      if (status === 405) assert.match(r.headers.allow ?? '', /GET/, what);
    }
    assert.equal(await count(srv), n, 'no refused request ran an action');
    await srv.waitFor(() => /the page may come from an older or newer deployment/.test(srv.stderr), 5000, 'the 404 log line');
    await srv.waitFor(() => /tampered with or sealed with another key/.test(srv.stderr), 5000, 'the 400 log line');
  });

  test('app/actions.c: its actions serve every page, even one without a page.c, under their own IDs', async () => {
    const page = await fetch(`${srv.url}/other`);
    const html = await page.text();
    if (where === 'one instance') {
      assert.equal(page.headers.get('x-cairn-cache'), 'HIT', 'the static page comes from the build');
    } else {
      // built without the instances' CAIRN_ACTIONS_KEY: the page's forms
      // carry IDs the instances refuse, so it is rendered by them instead
      assert.notEqual(page.headers.get('x-cairn-cache'), 'HIT');
      assert.match(srv.stderr, /\/other: prerendered with another Server Actions key \(give `cairn build` the instances' CAIRN_ACTIONS_KEY\): rendered on demand instead/);
    }
    const id = html.match(/name="\$ACTION_ID" value="([0-9a-f]{40})"/)?.[1];
    assert.ok(id, html);
    assert.notEqual(id, f.bump.id);
    const n = await count(srv);
    const r = await request(srv, { path: '/other', headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: id }) });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, new RegExp(`<p class="count">${n + 100}</p>`));
    // a page's own action is not reachable from a page that does not render it
    assert.equal((await request(srv, { path: '/other', headers: { 'content-type': FORM, origin }, body: form({ $ACTION_ID: f.bump.id }) })).status, 404);
    assert.equal(await count(srv), n + 100);
  });

  test('a multipart form runs the action as a urlencoded one does', async () => {
    const n = await count(srv);
    const fd = new FormData();
    fd.append('$ACTION_ID', f.bump.id);
    fd.append('by', '3');
    fd.append('upload', new Blob(['hello']), 'a.txt');
    const r = await fetch(`${srv.url}/counter`, { method: 'POST', body: fd, headers: { origin } });
    assert.equal(r.status, 200);
    assert.equal(await count(srv), n + 3);
  });

  test('the validation rules from a route handler, over a form and over JSON', async () => {
    const cases = [
      [{ name: 'Al', code: '7' }, {}],
      [{}, { name: 'is required', code: 'needs a code' }],
      [{ name: 'A', code: 'x' }, { name: 'must be 2 to 5 characters long', code: 'needs a code' }],
      [{ name: 'Alice', code: '1', age: '12', score: '1.5', email: 'a@', site: 'ftp://x', plan: 'gold' },
        { age: 'must be a whole number from 13 to 130', score: 'must be a number from 0 to 1',
          email: 'must be an email address', site: 'must be an http or https URL', plan: 'must be one of free,pro' }],
      [{ name: 'Bo', code: '2', age: '13.5' }, { age: 'must be a whole number from 13 to 130' }],
      [{ name: 'Bo', code: '2', age: '130', score: '0.25', email: 'bo@example.com', site: 'https://example.com/x', plan: 'pro' }, {}],
      [{ name: 'Bo', code: '2', bad: 'anything' }, { bad: 'has an unknown rule "frobnicate"' }],
    ];
    for (const [fields, want] of cases) {
      for (const how of ['form', 'json']) {
        const r = await fetch(`${srv.url}/api/validate`, how === 'form'
          ? { method: 'POST', headers: { 'content-type': FORM }, body: form(fields) }
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
        assert.equal(r.status, Object.keys(want).length ? 422 : 200, `${how} ${JSON.stringify(fields)}`);
        assert.deepEqual(await r.json(), want, `${how} ${JSON.stringify(fields)}`);
      }
    }
  });

  test('allowed_origins: * is one label, ** one or more; no Origin is accepted with a warning', async () => {
    const n = await count(srv);
    for (const o of ['https://a.trusted.test', 'https://A.Trusted.Test', 'https://x.corp.test', 'https://x.y.corp.test'])
      assert.equal((await post({ $ACTION_ID: f.bump.id }, { origin: o })).status, 200, o);
    for (const o of ['https://trusted.test', 'https://corp.test', 'https://a.trusted.test.evil.test'])
      assert.equal((await post({ $ACTION_ID: f.bump.id }, { origin: o })).status, 403, o);
    const r = await request(srv, { headers: { 'content-type': FORM }, body: form({ $ACTION_ID: f.bump.id }) });
    assert.equal(r.status, 200);
    await srv.waitFor(() => /without an Origin header was accepted/.test(srv.stderr), 5000, 'the warning');
    assert.equal(await count(srv), n + 5);
  });
});

describe('instances that share CAIRN_ACTIONS_KEY', () => {
  let dir, a, b, c;

  before(async () => {
    dir = copyApp('actions');
    await build(dir);
    // each its own database: the counts say which instance ran what
    const own = (name, key) => start(dir, { env: { CAIRN_ACTIONS_KEY: key, DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}` } });
    a = await own('a', KEY);
    b = await own('b', KEY);
    c = await own('c', 'cd'.repeat(32));
  });

  after(async () => { for (const s of [a, b, c]) if (s) await stop(s); });

  test('a form rendered by one instance is accepted by another with the same key, refused with another key', async () => {
    const f = await forms(a);
    const send = (srv, fields) => request(srv, { headers: { 'content-type': FORM, origin: srv.url }, body: form(fields) });
    assert.equal((await send(b, { $ACTION_ID: f.bump.id })).status, 200);
    assert.equal((await send(b, { $ACTION_ID: f.add_bound.id, $ACTION_ARGS: f.add_bound.args })).status, 200);
    assert.equal(await count(b), 6);
    assert.equal((await send(c, { $ACTION_ID: f.bump.id })).status, 404);
    // the sealed arguments alone, under an ID the other key does know
    const fc = await forms(c);
    assert.equal((await send(c, { $ACTION_ID: fc.add_bound.id, $ACTION_ARGS: f.add_bound.args })).status, 400);
    assert.equal(await count(c), 0);
    assert.equal(await count(a), 0);
  });
});

test('built with the instances\' CAIRN_ACTIONS_KEY, a static page\'s form comes from the build and works on every instance with the key', async () => {
  const dir = copyApp('actions');
  const b = await runCairn(['build', dir], { env: { CAIRN_ACTIONS_KEY: KEY } });
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const own = (name) => start(dir, { env: { CAIRN_ACTIONS_KEY: KEY, DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}` } });
  const a = await own('a'), b2 = await own('b');
  try {
    const page = await fetch(`${a.url}/other`);
    assert.equal(page.headers.get('x-cairn-cache'), 'HIT');
    const id = (await page.text()).match(/name="\$ACTION_ID" value="([0-9a-f]{40})"/)?.[1];
    const r = await request(b2, { path: '/other', headers: { 'content-type': FORM, origin: b2.url }, body: form({ $ACTION_ID: id }) });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<p class="count">100<\/p>/);
    assert.doesNotMatch(a.stderr + b2.stderr, /another Server Actions key/);
  } finally {
    await stop(a);
    await stop(b2);
  }
});
