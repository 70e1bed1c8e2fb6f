// Auth over HTTP (issue 9): tests/apps/data with a cairn.json naming three
// issuers (HS256 whose secret comes from .env, RS256 from a PEM file,
// ES256 from a JWKS), tokens minted here by Node's crypto, never by
// cairn. The matrix: every rule kind x no token, expired, wrong audience,
// wrong issuer, bad signature, alg none, HS256 MACed with the RS256
// public key, too large, valid; a bad token is refused even where no rule
// applies, and the reason is logged, never sent. Then: two clients with
// different tokens hammering one function concurrently, the session
// cookie from a sign-in route, cn_req_identity in a route handler, and
// configurations that stop the start.
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, call, copyApp, spawnServer, start, stop, value } from './lib/app.mjs';

const SECRET = 'a-secret-for-the-auth-tests-of-at-least-32-bytes';
const rs = generateKeyPairSync('rsa', { modulusLength: 2048 });
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsPub = rs.publicKey.export({ type: 'spki', format: 'pem' });
const now = () => Math.floor(Date.now() / 1000);
const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

// A token: header and claims as given, signed as alg says with key.
function mint(header, claims, alg = header.alg, key) {
  const input = `${b64(header)}.${b64(claims)}`;
  let sig = Buffer.alloc(0);
  if (alg === 'HS256') sig = createHmac('sha256', key ?? SECRET).update(input).digest();
  else if (alg === 'RS256') sig = sign('sha256', Buffer.from(input), key ?? rs.privateKey);
  else if (alg === 'ES256') sig = sign('sha256', Buffer.from(input), { key: key ?? es.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
const hs = (claims) => mint({ alg: 'HS256', typ: 'JWT' }, { iss: 'cairn-test', aud: 'data-app', exp: now() + 600, ...claims });
const bearer = (t) => (t ? { authorization: `Bearer ${t}` } : {});

function configure(dir) {
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'rs.pub'), rsPub);
  const jwk = es.publicKey.export({ format: 'jwk' });
  writeFileSync(join(dir, 'keys', 'jwks.json'), JSON.stringify({ keys: [{ ...jwk, kid: 'es-1', alg: 'ES256', use: 'sig' }] }));
  writeFileSync(join(dir, '.env'), `AUTH_SECRET=${SECRET}\n`);
  writeFileSync(join(dir, 'cairn.json'), JSON.stringify({
    auth: {
      cookie: 'session',
      issuers: [
        { issuer: 'cairn-test', algorithm: 'HS256', secret_env: 'AUTH_SECRET', audience: 'data-app' },
        { issuer: 'rs-idp', algorithm: 'RS256', public_key: 'keys/rs.pub' },
        { issuer: 'es-idp', algorithm: 'ES256', jwks: 'keys/jwks.json' },
      ],
    },
  }));
}

describe('auth', () => {
  let srv, dir, annTask, bobTask;

  before(async () => {
    dir = copyApp('data');
    configure(dir);
    await build(dir);
    srv = await start(dir);
    annTask = (await value(srv, 'mutation', 'tasks:add', { title: 'ann\'s' }, bearer(hs({ sub: 'ann' })))).id;
    bobTask = (await value(srv, 'mutation', 'tasks:add', { title: 'bob\'s' }, bearer(hs({ sub: 'bob' })))).id;
  });

  after(async () => { if (srv) await stop(srv); });

  test('the matrix: every rule kind x every kind of token', async () => {
    const exp = now() + 600;
    const bad = {
      'expired': hs({ sub: 'ann', exp: now() - 3600 }),
      'wrong audience': hs({ sub: 'ann', aud: 'another-app' }),
      'wrong issuer': mint({ alg: 'HS256' }, { iss: 'evil', sub: 'ann', aud: 'data-app', exp }),
      'bad signature': hs({ sub: 'ann' }).slice(0, -4) + 'AAAA',
      'signed with another secret': mint({ alg: 'HS256' }, { iss: 'cairn-test', sub: 'ann', aud: 'data-app', exp }, 'HS256', 'x'.repeat(40)),
      'alg none': mint({ alg: 'none' }, { iss: 'cairn-test', sub: 'ann', aud: 'data-app', exp }),
      'alg none, issuer of RS256': mint({ alg: 'none' }, { iss: 'rs-idp', sub: 'ann', exp }),
      'HS256 MACed with the RS256 public key': mint({ alg: 'HS256' }, { iss: 'rs-idp', sub: 'ann', exp }, 'HS256', rsPub),
      'HS512 for an HS256 issuer': (() => {
        const input = `${b64({ alg: 'HS512' })}.${b64({ iss: 'cairn-test', sub: 'ann', aud: 'data-app', exp })}`;
        return `${input}.${createHmac('sha512', SECRET).update(input).digest('base64url')}`;
      })(),
      'too large': hs({ sub: 'ann', pad: 'x'.repeat(9000) }),
      'not a JWT': 'hello',
    };
    // [function, args, no token, ann (HS256, no roles), root (RS256,
    // roles admin, subject staff-root), cy (ES256 from the JWKS)]
    const ann = hs({ sub: 'ann' });
    const root = mint({ alg: 'RS256' }, { iss: 'rs-idp', sub: 'staff-root', roles: ['admin'], exp });
    const cy = mint({ alg: 'ES256', kid: 'es-1' }, { iss: 'es-idp', sub: 'cy', roles: 'admin', exp });
    const rows = [
      ['who:public', {}, 200, 200, 200, 200],
      ['who:user', {}, 401, 200, 200, 200],
      ['who:admins', {}, 401, 403, 200, 200],
      ['who:staff', {}, 401, 403, 200, 403],
      ['who:own', { id: annTask }, 401, 200, 403, 403],
      ['who:own', { id: bobTask }, 401, 403, 403, 403],
      ['who:own', { id: 999999 }, 401, 404, 404, 404],
    ];
    const kindOf = (p) => (p === 'who:mutate' ? 'mutation' : 'query');
    for (const [fn, args, none, a, r, c] of rows) {
      for (const [who, token, want, sub] of [['no token', null, none, null], ['ann', ann, a, 'ann'],
        ['root', root, r, 'staff-root'], ['cy', cy, c, 'cy']]) {
        const res = await call(srv, kindOf(fn), fn, args, bearer(token));
        assert.equal(res.status, want, `${fn} ${JSON.stringify(args)} as ${who}: ${res.text}`);
        if (want === 200) assert.equal(res.body.value, sub, `${fn} as ${who}`);
        if (want === 401) assert.equal(res.body.code, 'unauthenticated');
        if (want === 403) assert.equal(res.body.code, 'forbidden');
      }
      for (const [name, token] of Object.entries(bad)) {
        const res = await call(srv, kindOf(fn), fn, args, bearer(token));
        assert.equal(res.status, 401, `${fn} with a token ${name}: ${res.text}`);
        assert.equal(res.body.code, 'unauthenticated');
        // the reason is for the log, not for the caller
        assert.doesNotMatch(res.text, /expired|audience|issuer|signature|algorithm|larger/i, name);
      }
    }
    await srv.waitFor(() => /a token was refused: it has expired/.test(srv.stderr), 5000, 'the reason in the log');
  });

  test('a refused mutation or action writes nothing and never runs', async () => {
    const calls = async () => (await value(srv, 'query', 'tasks:calls')).length;
    const before_ = await calls();
    for (const t of [null, hs({ sub: 'ann', exp: now() - 100 })]) {
      assert.equal((await call(srv, 'mutation', 'tasks:rename', { id: annTask, title: 'x' }, bearer(t))).status, 401);
      assert.equal((await call(srv, 'action', 'who:act', {}, bearer(t))).status, 401);
    }
    assert.equal((await call(srv, 'mutation', 'tasks:rename', { id: annTask, title: 'x' }, bearer(hs({ sub: 'bob' })))).status, 403);
    assert.equal(await calls(), before_);
    assert.equal(await value(srv, 'action', 'who:act', {}, bearer(hs({ sub: 'ann' }))), 'ann');
    assert.equal(await value(srv, 'mutation', 'who:mutate', {}, bearer(hs({ sub: 'bob' }))), 'bob');
  });

  test('two clients with different tokens, concurrently, never see each other\'s identity', async () => {
    const tokens = { ann: hs({ sub: 'ann' }), bob: hs({ sub: 'bob' }) };
    const seen = { ann: new Set(), bob: new Set() };
    await Promise.all(Object.entries(tokens).map(async ([who, t]) => {
      for (let i = 0; i < 25; i++) {
        const batch = await Promise.all(Array.from({ length: 16 }, () => call(srv, 'query', 'who:interleave', {}, bearer(t))));
        for (const r of batch) { assert.equal(r.status, 200, r.text); seen[who].add(r.body.value); }
      }
    }));
    assert.deepEqual([...seen.ann], ['ann']);
    assert.deepEqual([...seen.bob], ['bob']);
  });

  test('a sign-in route signs with cn_auth_sign; the session cookie then identifies the caller', async () => {
    const r = await fetch(`${srv.url}/api/signin`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'dee', roles: ['admin'] }),
    });
    assert.equal(r.status, 200);
    const { token } = await r.json();
    const cookie = r.headers.get('set-cookie');
    assert.match(cookie, /^session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const [h, p] = token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url')));
    assert.equal(h.alg, 'HS256');
    assert.equal(p.iss, 'cairn-test');
    assert.equal(p.aud, 'data-app');
    assert.equal(p.exp - p.iat, 3600);
    const jar = cookie.split(';')[0];
    const me = await (await fetch(`${srv.url}/api/me`, { headers: { cookie: `a=b; ${jar}; c=d` } })).json();
    assert.equal(me.sub, 'dee');
    assert.deepEqual(me.claims.roles, ['admin']);
    assert.equal(await value(srv, 'query', 'who:admins', {}, { cookie: jar }), 'dee');
    // Authorization wins over the cookie
    assert.equal(await value(srv, 'query', 'who:user', {}, { cookie: jar, ...bearer(hs({ sub: 'eve' })) }), 'eve');
    // an issuer without a signing key, and one not configured
    assert.equal((await fetch(`${srv.url}/api/signin?iss=rs-idp`, { method: 'POST', body: '{"user":"x"}', headers: { 'content-type': 'application/json' } })).status, 404);
    assert.equal((await fetch(`${srv.url}/api/signin?iss=nobody`, { method: 'POST', body: '{"user":"x"}', headers: { 'content-type': 'application/json' } })).status, 404);
  });

  test('cn_req_identity in a route handler: anonymous, verified, refused', async () => {
    const get = async (h) => { const r = await fetch(`${srv.url}/api/me`, { headers: h }); return { status: r.status, body: await r.json() }; };
    assert.deepEqual((await get({})).body, { sub: null });
    const ok = await get(bearer(mint({ alg: 'ES256', kid: 'es-1' }, { iss: 'es-idp', sub: 'cy', exp: now() + 60 })));
    assert.equal(ok.body.sub, 'cy');
    assert.equal(ok.body.iss, 'es-idp');
    assert.equal((await get(bearer(hs({ sub: 'x', exp: now() - 999 })))).status, 401);
    // a scheme that is not Bearer is not a token of ours
    assert.deepEqual((await get({ authorization: 'Basic dXNlcjpwdw==' })).body, { sub: null });
  });
});

describe('auth configurations that stop the start, naming the problem', () => {
  let dir;
  before(async () => { dir = copyApp('data', { pages: false }); await build(dir); });

  for (const [name, auth, want] of [
    ['a secret shorter than 32 bytes', { issuers: [{ issuer: 'a', algorithm: 'HS256', secret: 'short' }] }, /at least 32 bytes/],
    ['a secret variable that is not set', { issuers: [{ issuer: 'a', algorithm: 'HS256', secret_env: 'CAIRN_NO_SUCH_SECRET' }] }, /CAIRN_NO_SUCH_SECRET .* is not set/],
    ['a key file that is not there', { issuers: [{ issuer: 'a', algorithm: 'RS256', public_key: 'nope.pem' }] }, /cannot read nope\.pem/],
    ['alg none', { issuers: [{ issuer: 'a', algorithm: 'none', secret: SECRET }] }, /must be "HS256", "RS256" or "ES256"/],
    ['an unknown key', { issuer: 'a' }, /unknown key "auth\.issuer"/],
  ]) {
    test(name, async () => {
      writeFileSync(join(dir, 'cairn.json'), JSON.stringify({ auth }));
      const s = spawnServer(dir);
      try {
        await s.waitFor(() => s.exit, 20000, 'the exit');
      } finally {
        s.kill();
      }
      assert.notEqual(s.exit.code, 0, s.describe());
      assert.match(s.stderr, want, s.describe());
      assert.deepEqual(s.sanitizerReports(), [], s.describe());
    });
  }
});
