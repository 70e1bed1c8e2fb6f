// Helpers for the `cairn` command's end-to-end tests: run the command, start
// `cairn start` / `cairn dev` and wait for their listening line, make apps
// in temporary directories (from tests/apps fixtures or inline files), talk
// HTTP without keep-alive. Every process started here is remembered and
// killed by killAll(), which each test file calls in an after() hook.
//
// The binary is ${CAIRN_BUILD:-build}/cairn under the repository root
// (CAIRN_BUILD may be absolute), so the same suite runs against the plain
// and the ASan+UBSan builds.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const APPS = join(REPO, 'tests', 'apps');

export function buildDir() {
  const b = process.env.CAIRN_BUILD || 'build';
  return isAbsolute(b) ? b : join(REPO, b);
}

export function cairnBin() {
  const bin = join(buildDir(), 'cairn');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: build it first (make build)`);
  return bin;
}

// The environment for every child: no colours unless a test asks, no PORT
// or HOSTNAME or NODE_ENV leaking in from the caller.
export function baseEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of ['PORT', 'HOSTNAME', 'NODE_ENV', 'CAIRN_ENV', 'FORCE_COLOR', 'NO_COLOR', 'CAIRN_LISTEN_FD']) delete env[k];
  return { ...env, ...extra };
}

const live = new Set();

// Run to completion: {code, signal, stdout, stderr}.
export function run(args, opts = {}) {
  const bin = opts.bin || cairnBin();
  return new Promise((res, rej) => {
    const p = spawn(bin, args, { cwd: opts.cwd, env: baseEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(p);
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    p.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeout || 120000);
    p.on('error', rej);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      live.delete(p);
      res({ code, signal, stdout, stderr });
    });
  });
}

// A running `cairn start`/`cairn dev`: output kept, waiters woken on output.
export class Proc {
  constructor(p) {
    this.p = p;
    this.stdout = '';
    this.stderr = '';
    this.exit = null;
    this._waiters = [];
    p.stdout.setEncoding('utf8').on('data', (s) => { this.stdout += s; this._wake(); });
    p.stderr.setEncoding('utf8').on('data', (s) => { this.stderr += s; this._wake(); });
    this.exited = new Promise((res) => p.on('close', (code, signal) => {
      this.exit = { code, signal };
      live.delete(p);
      this._wake();
      res(this.exit);
    }));
  }

  _wake() { const w = this._waiters; this._waiters = []; w.forEach((f) => f()); }

  get output() { return this.stdout + this.stderr; }

  async waitFor(pred, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}\n${this.describe()}`);
      await new Promise((res) => {
        const t = setTimeout(res, Math.min(left, 50));
        this._waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  // The URL of the "cairn listening on http://HOST:PORT" line.
  async listening(timeoutMs = 60000) {
    const m = await this.waitFor(() => {
      const hit = /^cairn listening on (http:\/\/(\S+):(\d+))$/m.exec(this.stdout);
      if (hit) return hit;
      if (this.exit) throw new Error(`exited before listening: ${JSON.stringify(this.exit)}\n${this.describe()}`);
      return null;
    }, timeoutMs, 'the listening line');
    this.url = m[1];
    this.port = Number(m[3]);
    return this.url;
  }

  describe() {
    return `--- stdout (tail) ---\n${this.stdout.slice(-3000)}\n--- stderr (tail) ---\n${this.stderr.slice(-3000)}`;
  }

  sanitizerReports() {
    return this.stderr.split('\n').filter((l) =>
      /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|Undefined|Leak)/.test(l));
  }

  async stop(timeoutMs = 20000) {
    if (!this.exit) this.p.kill('SIGTERM');
    const t = setTimeout(() => { if (!this.exit) this.p.kill('SIGKILL'); }, timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

export function startProc(args, opts = {}) {
  const p = spawn(opts.bin || cairnBin(), args, {
    cwd: opts.cwd, env: baseEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(p);
  return new Proc(p);
}

// `cairn start`/`dev` on an ephemeral port, resolved once listening.
export async function serve(command, dir, opts = {}) {
  const proc = startProc([command, ...(opts.args || [])], { ...opts, cwd: dir, env: { PORT: '0', ...(opts.env || {}) } });
  await proc.listening(opts.timeout);
  return proc;
}

export function killAll() {
  for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
  live.clear();
}

// ------------------------------------------------------------------ apps

const dirs = [];

export function tempDir(prefix = 'cairn-cli-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTemps() {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// A copy of tests/apps/<name> in a fresh temporary directory.
export function fixture(name) {
  const d = join(tempDir(), name);
  // Old timestamps, kept: the build cache's race guard (an input modified
  // while it compiles) never applies to a fixture.
  cpSync(join(APPS, name), d, { recursive: true, preserveTimestamps: true });
  return d;
}

// Write files ({ 'app/api/x/route.c': '...' }) under dir.
// Date files under dir a minute back, as a fixture's are: a build started
// within the cache's race window of a write (20 ms) rightly does not trust
// the file's stamp, and a test counting cached files would otherwise depend
// on how fast it got to the build.
export function age(dir, files) {
  const then = new Date(Date.now() - 60_000);
  for (const f of files) utimesSync(join(dir, f), then, then);
}

// With { aged: true } the files written are aged (above).
export function writeFiles(dir, files, { aged = false } = {}) {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  if (aged) age(dir, Object.keys(files));
  return dir;
}

// A route file answering GET with text/plain `body`.
export function textRoute(body, extra = '') {
  return `#include <cairn.h>\n${extra}\nstatic int get(cn_req *req, cn_res *res) {\n` +
    `  (void)req;\n  return cn_res_text(res, 200, ${JSON.stringify(body)});\n}\n\nCN_ROUTE(.GET = get);\n`;
}

// ------------------------------------------------------------------ http

// One request on its own connection (no keep-alive): {status, headers, body}.
export function request(url, opts = {}) {
  return new Promise((res, rej) => {
    const req = http.request(url, {
      method: opts.method || 'GET', headers: opts.headers || {}, agent: false,
    }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (s) => { body += s; });
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body }));
      r.on('error', rej);
    });
    req.setTimeout(opts.timeout || 10000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', rej);
    req.end(opts.body);
  });
}

// ------------------------------------------------------------ sanitizers

// Sanitizer reports in a process's stderr (the ASan+UBSan build): runtime
// errors, ASan errors and leak reports. Any is a failure.
export function unexpectedReports(stderr) {
  return stderr.split('\n').filter((l) =>
    /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer/.test(l));
}

// Poll until fn() returns a truthy value (or throw after timeoutMs).
export async function eventually(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out: ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
