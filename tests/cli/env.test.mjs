// .env files through the real commands: Next.js's precedence table under
// `cairn start` (production), `cairn dev` (development) and the test mode
// (NODE_ENV=test or CAIRN_ENV=test, which skips .env.local), read in C with
// cn_env(). The process environment wins over every file.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { fixture, killAll, removeTemps, request, run, serve, writeFiles } from './lib/cli.mjs';

after(() => { killAll(); removeTemps(); });

// Every file sets ALL (so the winner shows) and a key of its own; a few
// keys are set by two files of different rank.
const FILES = {
  '.env': 'ALL=env\nONLY_ENV=env\nENV_AND_LOCAL=env\nREF=${ALL}-ref\n# a comment\nexport EXPORTED="quoted value"\n',
  '.env.local': 'ALL=local\nONLY_LOCAL=local\nENV_AND_LOCAL=local\n',
  '.env.development': 'ALL=development\nONLY_DEV=development\nMODE_AND_LOCAL=development\n',
  '.env.development.local': 'ALL=development.local\nMODE_AND_LOCAL=development.local\n',
  '.env.production': 'ALL=production\nONLY_PROD=production\nMODE_AND_LOCAL=production\n',
  '.env.production.local': 'ALL=production.local\nMODE_AND_LOCAL=production.local\n',
  '.env.test': 'ALL=test\nONLY_TEST=test\nMODE_AND_LOCAL=test\n',
  '.env.test.local': 'ALL=test.local\nMODE_AND_LOCAL=test.local\n',
};

const KEYS = ['ALL', 'ONLY_ENV', 'ONLY_LOCAL', 'ONLY_DEV', 'ONLY_PROD', 'ONLY_TEST', 'ENV_AND_LOCAL',
  'MODE_AND_LOCAL', 'REF', 'EXPORTED', 'FROM_PROCESS', 'NODE_ENV'];

// What each mode must see: the table from Next.js's documentation, plus
// the process environment (FROM_PROCESS and ALL set by the caller in the
// "process" rows).
const TABLE = [
  {
    mode: 'production', cmd: 'start', env: {},
    want: {
      ALL: 'production.local', ONLY_ENV: 'env', ONLY_LOCAL: 'local', ONLY_DEV: null, ONLY_PROD: 'production',
      ONLY_TEST: null, ENV_AND_LOCAL: 'local', MODE_AND_LOCAL: 'production.local', REF: 'production.local-ref',
      EXPORTED: 'quoted value', FROM_PROCESS: null, NODE_ENV: 'production',
    },
  },
  {
    mode: 'development', cmd: 'dev', env: {},
    want: {
      ALL: 'development.local', ONLY_ENV: 'env', ONLY_LOCAL: 'local', ONLY_DEV: 'development', ONLY_PROD: null,
      ONLY_TEST: null, ENV_AND_LOCAL: 'local', MODE_AND_LOCAL: 'development.local', REF: 'development.local-ref',
      EXPORTED: 'quoted value', FROM_PROCESS: null, NODE_ENV: 'development',
    },
  },
  {
    mode: 'test (NODE_ENV)', cmd: 'start', env: { NODE_ENV: 'test' },
    want: {
      ALL: 'test.local', ONLY_ENV: 'env', ONLY_LOCAL: null, ONLY_DEV: null, ONLY_PROD: null, ONLY_TEST: 'test',
      ENV_AND_LOCAL: 'env', MODE_AND_LOCAL: 'test.local', REF: 'test.local-ref', EXPORTED: 'quoted value',
      FROM_PROCESS: null, NODE_ENV: 'test',
    },
  },
  {
    mode: 'test (CAIRN_ENV, under dev)', cmd: 'dev', env: { CAIRN_ENV: 'test' },
    want: {
      ALL: 'test.local', ONLY_ENV: 'env', ONLY_LOCAL: null, ONLY_DEV: null, ONLY_PROD: null, ONLY_TEST: 'test',
      ENV_AND_LOCAL: 'env', MODE_AND_LOCAL: 'test.local', REF: 'test.local-ref', EXPORTED: 'quoted value',
      FROM_PROCESS: null, NODE_ENV: 'development',
    },
  },
  {
    mode: 'process wins (production)', cmd: 'start', env: { ALL: 'process', FROM_PROCESS: 'yes', ONLY_ENV: '' },
    want: {
      ALL: 'process', ONLY_ENV: '', ONLY_LOCAL: 'local', ONLY_DEV: null, ONLY_PROD: 'production', ONLY_TEST: null,
      ENV_AND_LOCAL: 'local', MODE_AND_LOCAL: 'production.local', REF: 'process-ref', EXPORTED: 'quoted value',
      FROM_PROCESS: 'yes', NODE_ENV: 'production',
    },
  },
  {
    mode: 'process wins (development)', cmd: 'dev', env: { ALL: 'process', NODE_ENV: 'development' },
    want: {
      ALL: 'process', ONLY_ENV: 'env', ONLY_LOCAL: 'local', ONLY_DEV: 'development', ONLY_PROD: null, ONLY_TEST: null,
      ENV_AND_LOCAL: 'local', MODE_AND_LOCAL: 'development.local', REF: 'process-ref', EXPORTED: 'quoted value',
      FROM_PROCESS: null, NODE_ENV: 'development',
    },
  },
];

describe('.env precedence', () => {
  let dir;
  before(async () => {
    dir = writeFiles(fixture('cli-env'), FILES);
    const b = await run(['build', dir]);
    assert.equal(b.code, 0, b.stderr);
  });

  for (const row of TABLE) {
    test(`${row.mode} under cairn ${row.cmd}`, async () => {
      const srv = await serve(row.cmd, dir, { env: row.env });
      try {
        const q = KEYS.map((k) => `k=${k}`).join('&');
        const r = await request(`${srv.url}/api/env?${q}`);
        assert.equal(r.status, 200, r.body);
        assert.deepEqual(JSON.parse(r.body), row.want);
      } finally { await srv.stop(); }
    });
  }

  test('the server names the files it loaded, highest precedence first', async () => {
    const srv = await serve('start', dir);
    try {
      assert.match(srv.stdout, /^ {2}- Environments: \.env\.production\.local, \.env\.local, \.env\.production, \.env$/m);
    } finally { await srv.stop(); }
    const dev = await serve('dev', dir);
    try {
      assert.match(dev.stdout, /^ {2}- Environments: \.env\.development\.local, \.env\.local, \.env\.development, \.env$/m);
    } finally { await dev.stop(); }
  });

  test('an unreadable .env file stops the server with its name', async () => {
    const d = fixture('cli-env');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(d, '.env.local')); // a directory cannot be read as a file
    assert.equal((await run(['build', d])).code, 0);
    const r = await run(['start', d], { env: { PORT: '0' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\.env\.local: cannot read: Is a directory/);
  });

  test('PORT in a .env file does not move the server (as in Next.js)', async () => {
    const d = writeFiles(fixture('cli-env'), { '.env': 'PORT=1\n' });
    assert.equal((await run(['build', d])).code, 0);
    const srv = await serve('start', d);
    try {
      assert.notEqual(srv.port, 1);
      assert.deepEqual(JSON.parse((await request(`${srv.url}/api/env?k=PORT`)).body), { PORT: '0' });
    } finally { await srv.stop(); }
  });
});
