// The routing suite's harness: build tests/apps/routing with the `cairn`
// command once per test process, then run the built server.
//
//   ${CAIRN_BUILD:-build}/cairn build tests/apps/routing
//
// CAIRN_BUILD may be relative to the repository root or absolute (build-asan
// for the sanitizer run; its `cairn` compiles the app with the same
// sanitizers). Test files run in separate processes, possibly at the same
// time and against different builds, so the build runs under a lock and the
// server binary it produced is copied to a private directory before the
// lock is released: a later build by another process cannot swap the binary
// under this one. The copy runs with the app as its working directory,
// exactly as `cairn start` runs .cairn/server (cn_main reads cairn.json and
// public/ from there); variants with their own cairn.json run in a scratch
// directory holding that file and links to the app's public/ and assets/.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync,
  readdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { REPO, Server } from '../lib/server.mjs';
import { request, show, sleep } from '../lib/http.mjs';

export { REPO };
export const APP = join(REPO, 'tests', 'apps', 'routing');
export const CONFLICTS = join(REPO, 'tests', 'apps', 'routing-conflicts');

export function buildDir() {
  const b = process.env.CAIRN_BUILD || 'build';
  return isAbsolute(b) ? b : join(REPO, b);
}

export function cairnBin() {
  return join(buildDir(), 'cairn');
}

// Run the cairn command; resolves with {code, signal, stdout, stderr}.
export function runCairn(args, { cwd = REPO, env = {}, timeout = 300000 } = {}) {
  const bin = cairnBin();
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: build the cairn command first`);
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    p.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('error', reject);
    p.on('close', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
  });
}

// A lock between test processes: a directory made atomically, holding the
// owner's pid; a lock whose owner is gone is broken.
async function withLock(name, fn) {
  const dir = join(tmpdir(), `${name}.lock`);
  const deadline = Date.now() + 600000;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let pid = 0;
      try { pid = Number(readFileSync(join(dir, 'pid'), 'utf8')); } catch { /* being written */ }
      let alive = true;
      if (pid) { try { process.kill(pid, 0); } catch { alive = false; } }
      if (!alive) { rmSync(dir, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`lock ${dir} held by ${pid} for too long`);
      await sleep(100);
    }
  }
  try { return await fn(); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const lockName = 'cairn-routing-e2e-' + createHash('sha1').update(APP).digest('hex').slice(0, 12);

// Run fn while no other test process builds the app: for a test that runs
// the in-tree .cairn/server itself (`cairn start`), after making sure it is
// this build's.
export function withAppBuilt(fn) {
  return withLock(lockName, async () => {
    const r = await runCairn(['build', APP]);
    if (r.code !== 0) throw new Error(`cairn build failed (exit ${r.code})\n${r.stdout}\n${r.stderr}`);
    return fn();
  });
}

let built = null;

// Build the app (once per process) and return {bin, output}: the private
// copy of the server binary and what `cairn build` printed.
export function buildApp() {
  if (!built) {
    built = withLock(lockName, async () => {
      const r = await runCairn(['build', APP]);
      if (r.code !== 0)
        throw new Error(`cairn build ${APP} failed (exit ${r.code})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
      const dir = mkdtempSync(join(tmpdir(), 'cairn-routing-bin-'));
      const bin = join(dir, 'server');
      copyFileSync(join(APP, '.cairn', 'server'), bin);
      chmodSync(bin, 0o755);
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
      return { bin, output: r.stdout + r.stderr };
    });
  }
  return built;
}

// Start the built server. opts.config: an object written as cairn.json in a
// scratch working directory (else the app's own directory is used);
// opts.args: extra arguments (--dev); opts.env: extra environment.
// Uploads go to srv.tmp (TMPDIR), a fresh directory per server, so a test
// can check that temporary files are gone.
export async function startApp(opts = {}) {
  const { bin } = await buildApp();
  const root = mkdtempSync(join(tmpdir(), 'cairn-routing-run-'));
  const tmp = join(root, 'tmp');
  mkdirSync(tmp);
  let cwd = APP;
  if (opts.config !== undefined) {
    cwd = join(root, 'app');
    mkdirSync(cwd);
    symlinkSync(join(APP, 'public'), join(cwd, 'public'));
    symlinkSync(join(APP, 'assets'), join(cwd, 'assets'));
    writeFileSync(join(cwd, 'cairn.json'), JSON.stringify(opts.config));
  }
  const env = { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', TMPDIR: tmp, ...(opts.env || {}) };
  const proc = spawn(bin, opts.args || [], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = new Server(proc, { root, cleanup: () => rmSync(root, { recursive: true, force: true }) }, true);
  srv.tmp = tmp;
  srv.cwd = cwd;
  await srv.ready(opts.readyTimeout || 20000);
  return srv;
}

// The files left in a server's TMPDIR (uploads not cleaned up).
export function tmpFiles(srv) {
  return readdirSync(srv.tmp);
}

// Build a request. headers: an object or [name, value] pairs (repeats
// allowed); Host is added unless given; Content-Length is added for a body
// unless a Content-Length or Transfer-Encoding header is given.
export function reqBytes(method, target, { headers = [], body, version = '1.1' } = {}) {
  const hs = Array.isArray(headers) ? [...headers] : Object.entries(headers);
  const has = (n) => hs.some(([k]) => k.toLowerCase() === n);
  if (!has('host')) hs.unshift(['Host', 'test']);
  const b = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  if (b && !has('content-length') && !has('transfer-encoding')) hs.push(['Content-Length', String(b.length)]);
  const head = `${method} ${target} HTTP/${version}\r\n` + hs.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : Buffer.from(head, 'latin1');
}

// One request on a fresh connection; the final response.
export function ask(srv, method, target, opts = {}) {
  return request(srv.port, reqBytes(method, target, opts), { head: method === 'HEAD', timeout: opts.timeout || 10000 });
}

// The JSON body of a 200 (or of the given status), with the exchange in
// the failure message.
export function okJson(res, status = 200) {
  if (res.status !== status) throw new Error(`status ${res.status}, wanted ${status}: ${show(res.raw)}`);
  return res.json();
}

// The context for an assertion message: the raw response.
export const ctx = (res) => `\nresponse: ${show(res.raw, 3000)}`;

// A request every test can end with: the server still answers.
export async function assertServing(srv) {
  const r = await ask(srv, 'GET', '/api/echo?alive=1', { headers: { 'x-q': 'alive' } });
  const body = okJson(r);
  if (body.echo.query.alive.first !== '1') throw new Error(`unexpected echo ${show(r.raw)}`);
}

// FNV-1a 64 as the test app computes it (lib/t.h), 16 hex digits.
export function fnv(buf) {
  let h = 0xcbf29ce484222325n;
  for (const b of buf) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

// Parse a Set-Cookie line: {name, value, attrs} with attribute names in
// lower case ("httponly": true).
export function parseSetCookie(line) {
  const [pair, ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attrs = {};
  for (const a of rest) {
    const s = a.trim();
    const i = s.indexOf('=');
    if (i < 0) attrs[s.toLowerCase()] = true;
    else attrs[s.slice(0, i).toLowerCase()] = s.slice(i + 1);
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

// Poll until fn() is true or timeout (for effects the server performs just
// after the response is written, such as removing upload files).
export async function eventually(fn, timeout = 3000, what = 'condition') {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// Stop every server (SIGTERM, then the clean-stop checks of expect.mjs:
// exit 0, no sanitizer report), all of them even when one fails, so a
// failing check never leaves a server running and the test process hung.
export async function stopAll(...servers) {
  const { assertCleanStop } = await import('../lib/expect.mjs');
  const failures = [];
  for (const s of servers) {
    if (!s) continue;
    try { await assertCleanStop(s); } catch (e) { failures.push(e); s.kill(); }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length) throw new AggregateError(failures, failures.map((e) => e.message).join('\n\n'));
}

// The after() safety net: kill whatever a failed test left running.
export function killAll(...servers) {
  for (const s of servers) if (s) s.kill();
}
