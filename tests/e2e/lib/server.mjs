// Spawning cn-test-server for a test file: a fresh temporary public/ fixture,
// an optional inline config, the port from the "cairn listening on" line, the
// stdout/stderr lines kept for assertions (access log, sanitizer reports).
//
// The binary is ${CAIRN_BUILD:-build}/cn-test-server under the repository
// root (CAIRN_BUILD may also be absolute), so the same suite runs against the
// plain and the ASan+UBSan builds.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function serverBinary() {
  const build = process.env.CAIRN_BUILD || 'build';
  const dir = isAbsolute(build) ? build : join(REPO, build);
  return join(dir, 'cn-test-server');
}

// A 1x1 transparent PNG: real bytes, so a mangled body is visible.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex');

// The fixture: root/public/* is served, root/secret.txt must never be.
// SECRET is random per run so a leak cannot be a coincidence of content.
export function makeFixture() {
  const root = mkdtempSync(join(tmpdir(), 'cairn-e2e-'));
  const pub = join(root, 'public');
  const secret = `TOP-SECRET-${randomBytes(12).toString('hex')}\n`;
  mkdirSync(join(pub, 'nested', 'dir'), { recursive: true });
  mkdirSync(join(pub, 'emptydir'));
  const files = {
    'index.html': Buffer.from(
      '<!doctype html><html><head><title>fixture</title></head><body>\n' +
      '<p>' + 'cairn static fixture. '.repeat(90) + '</p>\n</body></html>\n'),
    'style.css': Buffer.from('body { color: #333; margin: 0 }\n'),
    'app.js': Buffer.from('export const answer = 42;\nconsole.log(answer);\n'),
    'data.json': Buffer.from('{"items":[1,2,3],"ok":true}\n'),
    'pixel.png': PNG,
    'icon.svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n'),
    'notes.txt': Buffer.from('plain text notes\n'),
    'blob.unknownext': Buffer.from('opaque bytes\x00\x01\x02'),
    'big.bin': randomBytes(3 * 1024 * 1024),
    'nested/dir/file.txt': Buffer.from('nested file contents\n'),
    'with space.txt': Buffer.from('a file with a space in its name\n'),
    '.hidden': Buffer.from('dotfile: ' + secret),
    'nested/.env': Buffer.from('NESTED_DOTFILE=' + secret),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(pub, name), bytes);
  writeFileSync(join(root, 'secret.txt'), secret);
  writeFileSync(join(root, 'secret.txt.html'), secret);
  return {
    root, pub, secret, files,
    sha256: (name) => createHash('sha256').update(files[name]).digest('hex'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

// Start a server. opts.config (object) is written as --config; opts.configText
// writes raw text instead (bad-config tests). Resolves once the listening line
// is printed; rejects with the server's output if it exits first.
export async function startServer(opts = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: build it first (make build)`);
  const fixture = opts.fixture || makeFixture();
  const ownsFixture = !opts.fixture;
  const args = ['--public', fixture.pub];
  if (opts.config !== undefined || opts.configText !== undefined) {
    const file = join(fixture.root, `config-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(file, opts.configText !== undefined ? opts.configText : JSON.stringify(opts.config));
    args.push('--config', file);
  }
  const env = { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', ...(opts.env || {}) };
  // opts.nofile lowers the descriptor limit (the shell execs the server, so
  // the pid is still the server's).
  const proc = opts.nofile
    ? spawn('sh', ['-c', `ulimit -n ${Number(opts.nofile)} && exec "$0" "$@"`, bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = new Server(proc, fixture, ownsFixture);
  try {
    await srv.ready(opts.readyTimeout || 15000);
  } catch (e) {
    srv.kill(); // also removes a fixture of its own
    throw e;
  }
  return srv;
}

export class Server {
  constructor(proc, fixture, ownsFixture) {
    this.proc = proc;
    this.fixture = fixture;
    this.ownsFixture = ownsFixture;
    this.stdoutLines = [];
    this.stderr = '';
    this.port = 0;
    this.exit = null; // {code, signal} once exited
    let partial = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (s) => {
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop();
      this.stdoutLines.push(...lines);
      this._wake();
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s) => { this.stderr += s; this._wake(); });
    this.exited = new Promise((res) => {
      proc.on('exit', (code, signal) => {
        if (partial) this.stdoutLines.push(partial), (partial = '');
        this.exit = { code, signal };
        this._wake();
        res(this.exit);
      });
    });
    this._waiters = [];
  }

  _wake() { const w = this._waiters; this._waiters = []; w.forEach((f) => f()); }

  // Wait until pred() is true (re-checked on every output or exit), or throw.
  async waitFor(pred, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}\n${this.describe()}`);
      await new Promise((res) => {
        const t = setTimeout(res, Math.min(left, 100));
        this._waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  async ready(timeoutMs) {
    const line = await this.waitFor(() => {
      if (this.exit) throw new Error(`server exited before listening: ${JSON.stringify(this.exit)}\n${this.describe()}`);
      return this.stdoutLines.find((l) => /^cairn listening on http:\/\/127\.0\.0\.1:\d+$/.test(l));
    }, timeoutMs, 'the listening line');
    this.port = Number(line.split(':').pop());
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  // Access-log lines: everything on stdout except the listening line.
  accessLines() { return this.stdoutLines.filter((l) => l && !l.startsWith('cairn listening on')); }

  describe() {
    return `--- server stdout (last 20 lines) ---\n${this.stdoutLines.slice(-20).join('\n')}\n` +
      `--- server stderr ---\n${this.stderr.slice(-4000)}`;
  }

  // Sanitizer reports on stderr are failures even when the exit code is 0.
  sanitizerReports() {
    return this.stderr.split('\n').filter((l) =>
      /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|Undefined|Leak)/.test(l));
  }

  // SIGTERM and wait for the exit; returns {code, signal}.
  async stop(timeoutMs = 20000) {
    if (!this.exit) this.proc.kill('SIGTERM');
    const t = setTimeout(() => { if (!this.exit) this.proc.kill('SIGKILL'); }, timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    if (this.ownsFixture) this.fixture.cleanup();
    return r;
  }

  // CPU seconds (user + system) the server has used so far, from /proc.
  cpuSeconds() {
    const stat = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  }

  kill() {
    if (!this.exit) this.proc.kill('SIGKILL');
    if (this.ownsFixture) this.fixture.cleanup();
  }
}
