// The command itself: help on every command, the version, exit codes for
// every kind of misuse, colours only on a terminal (or when forced).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { fixture, killAll, removeTemps, run, tempDir } from './lib/cli.mjs';

after(() => { killAll(); removeTemps(); });

const COMMANDS = ['new', 'dev', 'build', 'start', 'routes'];
const ESC = '\u001b[';

describe('help and version', () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    test(`cairn ${args.join(' ')} lists every command and exits 0`, async () => {
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
      assert.equal(r.stderr, '');
    });
  }

  for (const c of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      test(`cairn ${c} ${flag} prints its usage and exits 0`, async () => {
        const r = await run([c, flag], { cwd: tempDir() });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Usage: cairn ${c}`));
        assert.equal(r.stderr, '');
      });
    }
    test(`cairn help ${c} is cairn ${c} --help`, async () => {
      const a = await run(['help', c]);
      const b = await run([c, '--help']);
      assert.equal(a.stdout, b.stdout);
    });
  }

  test('dev and start document -p/--port and -H/--hostname', async () => {
    for (const c of ['dev', 'start']) {
      const r = await run([c, '--help']);
      assert.match(r.stdout, /-p, --port PORT/);
      assert.match(r.stdout, /-H, --hostname HOSTNAME/);
    }
  });

  for (const flag of ['--version', '-v', 'version']) {
    test(`cairn ${flag} prints the version`, async () => {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^cairn \d+\.\d+\.\d+\n$/);
    });
  }
});

describe('exit codes', () => {
  const cases = [
    { args: [], code: 2, err: /Usage: cairn/ },
    { args: ['frobnicate'], code: 2, err: /unknown command 'frobnicate'/ },
    { args: ['build', '--nope'], code: 2, err: /unexpected argument '--nope'/ },
    { args: ['build', 'a', 'b'], code: 2, err: /unexpected argument 'b'/ },
    { args: ['routes', '--verbose'], code: 2, err: /unexpected argument/ },
    { args: ['start', '--port'], code: 2, err: /--port needs a value/ },
    { args: ['start', '-H'], code: 2, err: /--hostname needs a value/ },
    { args: ['dev', '-p'], code: 2, err: /--port needs a value/ },
    { args: ['dev', 'x', 'y'], code: 2, err: /unexpected argument 'y'/ },
    { args: ['new'], code: 2, err: /which directory/ },
    { args: ['new', 'a', 'b'], code: 2, err: /unexpected argument 'b'/ },
    { args: ['build', '/nonexistent/cairn-app'], code: 1, err: /No such file or directory/ },
    { args: ['routes', '/etc/hostname'], code: 1, err: /not a directory/ },
    { args: ['start', '/nonexistent/cairn-app'], code: 1, err: /No such file or directory/ },
    { args: ['dev', '/nonexistent/cairn-app'], code: 1, err: /No such file or directory/ },
  ];
  for (const c of cases) {
    test(`cairn ${c.args.join(' ') || '(nothing)'} exits ${c.code}`, async () => {
      const r = await run(c.args, { cwd: tempDir() });
      assert.equal(r.code, c.code, r.stderr);
      assert.match(r.stderr, c.err);
    });
  }

  test('start without a build says how to make one, exit 1', async () => {
    const dir = fixture('cli-basic');
    const r = await run(['start', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Could not find a production build in the '.*\/\.cairn' directory\. Try building your app with 'cairn build'/);
  });

  test('start rejects a port that is not a number (the server says so), exit 1', async () => {
    const dir = fixture('cli-basic');
    assert.equal((await run(['build', dir])).code, 0);
    for (const args of [['-p', 'http'], ['--port=70000'], ['--port', '-1']]) {
      const r = await run(['start', dir, ...args]);
      assert.equal(r.code, 1, JSON.stringify(args));
      assert.match(r.stderr, /--port must be a number from 0 to 65535/);
    }
    const r = await run(['start', dir], { env: { PORT: 'eighty' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PORT must be a number/);
  });
});

describe('colours', () => {
  test('none when the output is not a terminal', async () => {
    const dir = fixture('cli-basic');
    for (const args of [['routes', dir], ['build', dir], ['build', '--nope']]) {
      const r = await run(args);
      assert.ok(!r.stdout.includes(ESC) && !r.stderr.includes(ESC), args.join(' '));
    }
  });

  test('FORCE_COLOR turns them on, NO_COLOR does not beat FORCE_COLOR, FORCE_COLOR=0 is off', async () => {
    const dir = fixture('cli-basic');
    const on = await run(['routes', dir], { env: { FORCE_COLOR: '1' } });
    assert.ok(on.stdout.includes(ESC), on.stdout);
    const err = await run(['build', '--nope'], { env: { FORCE_COLOR: '1' } });
    assert.ok(err.stderr.includes(`${ESC}31m`), err.stderr);
    const off = await run(['routes', dir], { env: { FORCE_COLOR: '0' } });
    assert.ok(!off.stdout.includes(ESC));
    const no = await run(['routes', dir], { env: { NO_COLOR: '1' } });
    assert.ok(!no.stdout.includes(ESC));
  });

  test('compiler messages are coloured only when stderr is', async () => {
    const dir = fixture('cli-basic');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/app/api/hello/route.c`, 'int x = ;\n');
    const plain = await run(['build', dir]);
    assert.equal(plain.code, 1);
    assert.ok(!plain.stderr.includes(ESC), plain.stderr);
    const forced = await run(['build', dir], { env: { FORCE_COLOR: '1' } });
    assert.equal(forced.code, 1);
    assert.ok(forced.stderr.includes(ESC), forced.stderr);
  });
});
