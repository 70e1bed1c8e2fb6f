// bench/scale.mjs BUILD: issue 11's figure, requests/s of a data-backed
// page from one instance to two. PostgreSQL and HAProxy started here
// (tests/lib/services.mjs), tests/apps/pg built with BUILD/cairn, its
// /notes page (a live region rendered from notes:list, 20 rows) loaded by
// wrk through HAProxy in front of one instance, then two; each instance
// pinned to a core of its own (taskset) with one I/O thread. Prints
// markdown table rows (figure | one | two | ratio | target | result) on
// stdout; ROUNDS (3), DURATION (10 s), CONNS (64) as bench/run.sh's.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startHaproxy, startPostgres } from '../tests/lib/services.mjs';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const BUILD = resolve(REPO, process.argv[2] || 'build');
const ROUNDS = +(process.env.ROUNDS || 3);
const DURATION = +(process.env.DURATION || 10);
const CONNS = +(process.env.CONNS || 64);
const say = (m) => process.stderr.write(`bench: ${m}\n`);

const dir = mkdtempSync(join(tmpdir(), 'cairn-scale-'));
const procs = [];
let pg;
let lbs = [];
const cleanup = async () => {
  for (const p of procs) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  for (const l of lbs) await l.stop();
  if (pg) await pg.stop();
  rmSync(dir, { recursive: true, force: true });
};

try {
  pg = await startPostgres();
  cpSync(join(REPO, 'tests', 'apps', 'pg'), join(dir, 'app'), { recursive: true, filter: (f) => !f.includes('/.cairn') });
  writeFileSync(join(dir, 'app', 'cairn.json'), '{"access_log": false, "io_threads": 1}\n');
  execFileSync(join(BUILD, 'cairn'), ['build', join(dir, 'app')], { stdio: 'ignore' });
  const ncpu = cpus().length;
  const start = async (core) => {
    const port = await freePort();
    const p = spawn('taskset', ['-c', String(core % ncpu), join(dir, 'app', '.cairn', 'server')], {
      cwd: join(dir, 'app'), stdio: 'ignore',
      env: { ...process.env, DATABASE_URL: pg.url, PORT: String(port), HOSTNAME: '127.0.0.1' },
    });
    procs.push(p);
    for (let i = 0; i < 200; i++) {
      try { if ((await fetch(`http://127.0.0.1:${port}/_cairn/health/ready`)).ok) return port; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('an instance did not start');
  };
  const a = await start(0);
  for (let i = 0; i < 20; i++) {
    await fetch(`http://127.0.0.1:${a}/_cairn/mutation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: 'notes:add', args: { body: `note ${i}` } }) });
  }
  const b = await start(1);
  const one = await startHaproxy([a]);
  const two = await startHaproxy([a, b]);
  lbs = [one, two];
  await one.allUp();
  await two.allUp();
  const wrk = (url) => {
    const out = execFileSync('wrk', ['-t2', `-c${CONNS}`, `-d${DURATION}s`, url], { encoding: 'utf8' });
    return +out.match(/Requests\/sec:\s+([\d.]+)/)[1];
  };
  // Where the CPU goes during a two-instance run: the instances, PostgreSQL
  // (its postmaster and every backend), HAProxy, and the rest (wrk, node).
  const ticks = (pid) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return +f[11] + +f[12]; // utime + stime
    } catch { return 0; }
  };
  const pgPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try { return readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith('postgres'); } catch { return false; }
  });
  const total = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1, 8).reduce((x, y) => x + +y, 0);
  const split = () => ({
    cairn: procs.reduce((x, p) => x + ticks(p.pid), 0), pg: pgPids().reduce((x, p) => x + ticks(p), 0),
    haproxy: ticks(two.pid), all: total(),
  });
  wrk(`${one.url}/notes`); // warm-up
  const r1 = [], r2 = [];
  let share = '';
  for (let i = 0; i < ROUNDS; i++) {
    r1.push(wrk(`${one.url}/notes`));
    const t0 = split();
    r2.push(wrk(`${two.url}/notes`));
    const t1 = split();
    const busy = t1.all - t0.all;
    const pct = (k) => Math.round((100 * (t1[k] - t0[k])) / busy);
    share = `cairn ${pct('cairn')}%, PostgreSQL ${pct('pg')}%, HAProxy ${pct('haproxy')}%, wrk and the rest ${100 - pct('cairn') - pct('pg') - pct('haproxy')}% of both cores`;
    say(`round ${i + 1}: one ${r1.at(-1).toFixed(0)}, two ${r2.at(-1).toFixed(0)} req/s; with two: ${share}`);
  }
  const med = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  const ratio = med(r2) / med(r1);
  console.log(`| data-backed page (/notes, 20 rows from PostgreSQL) through HAProxy, req/s: one instance vs two (${ncpu} cores shared by the instances, PostgreSQL, HAProxy and wrk; with two: ${share}) | ${med(r1).toFixed(0)} | ${med(r2).toFixed(0)} | ${ratio.toFixed(2)}x | >= 1.7x with a core per instance | ${ratio >= 1.7 ? 'met' : 'MISS'} |`);
} finally {
  await cleanup();
}
