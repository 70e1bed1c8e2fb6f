// Real PostgreSQL, Redis and HAProxy servers for the tests, from Debian's
// packages (scripts/deps.sh test installs them), each started on loopback on
// an ephemeral port in a temporary folder of its own and stopped by the test
// that started it:
//
//   const pg = await startPostgres();    // pg.url  postgres://postgres@127.0.0.1:PORT/cairn
//   const rd = await startRedis();       // rd.url  redis://127.0.0.1:PORT
//   const lb = await startHaproxy([portA, portB]);  // lb.url  http://127.0.0.1:PORT
//   ...
//   await lb.stop(); await rd.stop(); await pg.stop();
//
// Each one's folder (and the process, if still running) is also cleaned up
// when the test process exits or is ended by SIGINT, SIGTERM or SIGHUP, so a
// crashed run leaves nothing behind. Each result has startMs: how long the
// start took.
//
// PostgreSQL refuses to run as root, and tests run as root in CI: there
// initdb and postgres run as the `postgres` system user (made by Debian's
// package), their folder chowned to it; otherwise as the current user.
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  accessSync, chownSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync,
  readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALL = 'run scripts/deps.sh test';

// ---------------------------------------------------------------- cleanup

const cleanups = new Set(); // synchronous: they also run from process 'exit'

function cleanupAll() {
  for (const f of [...cleanups]) {
    cleanups.delete(f);
    try { f(); } catch { /* best effort while exiting */ }
  }
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    // once: after cleaning up, the signal is raised again and, unless someone
    // else listens for it, ends the process as it would have.
    process.once(sig, () => { cleanupAll(); process.kill(process.pid, sig); });
  }
}

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// A child pid still running? (A zombie, not yet reaped by the event loop,
// has finished.)
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}

// Signal a child and wait (synchronously: this runs from 'exit') until it has
// finished, escalating to SIGKILL after ms.
function killSync(pid, sig, ms = 3000) {
  try { process.kill(pid, sig); } catch { return; }
  const deadline = Date.now() + ms;
  while (running(pid)) {
    if (Date.now() > deadline) {
      try { process.kill(pid, 'SIGKILL'); } catch { return; }
      sleepSync(20);
      if (!running(pid)) return;
    }
    sleepSync(10);
  }
}

// ---------------------------------------------------------------- helpers

// A free loopback port for a server started next. Taken below the
// kernel's ephemeral range (32768 and up here), where no outbound
// connection's source port and no server listening on port 0 can land
// between our close and its bind: a random one that listens, else port 0's.
export async function freePort() {
  const tryListen = (port) => new Promise((res) => {
    const s = net.createServer();
    s.unref();
    s.on('error', () => res(null));
    s.listen(port, '127.0.0.1', () => {
      const got = s.address().port;
      s.close(() => res(got));
    });
  });
  for (let i = 0; i < 20; i++) {
    const port = await tryListen(20000 + Math.floor(Math.random() * 12000));
    if (port) return port;
  }
  const port = await tryListen(0);
  if (!port) throw new Error('freePort: no port can be bound on 127.0.0.1');
  return port;
}

// A program from PATH or the sbin folders (HAProxy is in /usr/sbin, which a
// non-root PATH may not list).
function which(name, why) {
  const dirs = (process.env.PATH || '').split(':').filter(Boolean)
    .concat(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  for (const d of dirs) {
    const p = join(d, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  throw new Error(`${name} not found (${why}; looked in PATH and the sbin folders): ${INSTALL}`);
}

function tail(file, n = 40) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n'); } catch { return ''; }
}

// A spawned service: the process, its log file, a promise of its exit.
function launch(cmd, args, { dir, log, uid, gid, env }) {
  const fd = openSync(log, 'a');
  let proc;
  try {
    proc = spawn(cmd, args, {
      cwd: dir, stdio: ['ignore', fd, fd], uid, gid,
      env: { ...process.env, ...(env || {}) },
    });
  } finally { closeSync(fd); }
  const exited = new Promise((res) => {
    proc.on('error', (e) => { proc.exitInfo = { error: e }; res(proc.exitInfo); });
    proc.on('exit', (code, signal) => { proc.exitInfo = { code, signal }; res(proc.exitInfo); });
  });
  return { proc, exited };
}

// Poll check() until it is truthy, failing early when the process exits.
async function waitReady(name, proc, log, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (proc.exitInfo) {
      throw new Error(`${name} exited before it was ready (${JSON.stringify(proc.exitInfo.error ? String(proc.exitInfo.error) : proc.exitInfo)})\n--- ${log} ---\n${tail(log)}`);
    }
    try { if (await check()) return; } catch (e) { last = e; }
    if (Date.now() > deadline) {
      throw new Error(`${name} not ready after ${timeoutMs} ms${last ? ` (${last.message})` : ''}\n--- ${log} ---\n${tail(log)}`);
    }
    await sleep(25);
  }
}

function tcpOpen(port, host = '127.0.0.1') {
  return new Promise((res) => {
    const s = net.connect(port, host);
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

// The usual stop: a signal, the exit awaited (SIGKILL after ms), then the
// folder removed. Returns the stop function, also registered for exit.
function stopper({ proc, exited, dir, sig }) {
  let stopping = null;
  const sync = () => {
    if (!proc.exitInfo && proc.pid) killSync(proc.pid, sig);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  cleanups.add(sync);
  hookExit();
  return () => {
    stopping ||= (async () => {
      cleanups.delete(sync);
      if (!proc.exitInfo) {
        try { proc.kill(sig); } catch { /* gone */ }
        const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
}

// ---------------------------------------------------------------- PostgreSQL

// The highest-versioned /usr/lib/postgresql/N/bin with a server in it
// (PG_BINDIR overrides).
export function postgresBin() {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  let versions = [];
  try { versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+(\.\d+)?$/.test(v)); } catch { /* none */ }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join('/usr/lib/postgresql', v, 'bin');
    if (existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(`the PostgreSQL server (postgres, initdb under /usr/lib/postgresql/*/bin) is not installed: ${INSTALL}`);
}

// Who runs the server: as root, the postgres system user; else ourselves.
function postgresUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  let uid, gid;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(`running as root, and PostgreSQL refuses to run as root; the postgres user its package makes does not exist: ${INSTALL}`);
  }
  return { uid, gid };
}

// A temporary folder the given user can reach: under tmpdir() when every
// folder above it is searchable by others, else under /tmp.
function tempDirFor(prefix, uid) {
  let base = tmpdir();
  if (uid !== undefined) {
    for (let d = base; ; d = dirname(d)) {
      try { if (!(statSync(d).mode & 0o001)) { base = '/tmp'; break; } } catch { base = '/tmp'; break; }
      if (d === sep || d === dirname(d)) break;
    }
  }
  return mkdtempSync(join(base, prefix));
}

// psql against url: the rows, unaligned, tab-separated, no headers.
export function psql(url, sql, { timeoutMs = 30000 } = {}) {
  const bin = join(postgresBin(), 'psql');
  return new Promise((res, rej) => {
    execFile(bin, ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
      { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } },
      (err, stdout, stderr) => {
        if (err) { err.message = `psql: ${stderr.trim() || err.message}`; rej(err); } else res(stdout);
      });
  });
}

// opts: database ('cairn'), user (the superuser's name, 'postgres'),
// settings (more postgresql.conf settings, {name: value}), timeoutMs.
export async function startPostgres(opts = {}) {
  const t0 = performance.now();
  const bin = postgresBin();
  const database = opts.database || 'cairn';
  const user = opts.user || 'postgres';
  const { uid, gid } = postgresUser();
  const dir = tempDirFor('cairn-pg-', uid);
  if (uid !== undefined) chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log'); // ours (root's, when root): the server writes it through its stdio
  const as = { uid, gid, dir, log, env: { LC_ALL: 'C', LANG: 'C' } };

  // stop() and the exit hook remove dir even when the start fails half way
  let stop = () => { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); };
  cleanups.add(stop);
  hookExit();
  try {
    const init = launch(join(bin, 'initdb'), [
      '-D', data, '-U', user, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions',
    ], as);
    const r = await init.exited;
    const tInit = performance.now();
    if (r.error || r.code !== 0) {
      throw new Error(`initdb failed (${r.error || `exit ${r.code}`})\n--- ${log} ---\n${tail(log)}`);
    }
    // trust, and only on loopback (the server listens nowhere else)
    writeFileSync(join(data, 'pg_hba.conf'),
      'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n');

    const port = await freePort();
    const settings = {
      listen_addresses: '127.0.0.1',
      port,
      unix_socket_directories: dir,
      // a test database: speed over durability
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: 200,
      shared_buffers: '32MB',
      ...(opts.settings || {}),
    };
    const args = ['-D', data];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    const { proc, exited } = launch(join(bin, 'postgres'), args, as);
    cleanups.delete(stop);
    // SIGQUIT: immediate shutdown (no checkpoint; the folder goes anyway)
    stop = stopper({ proc, exited, dir, sig: 'SIGQUIT' });

    const isready = join(bin, 'pg_isready');
    await waitReady('postgres', proc, log, () => new Promise((res) => {
      execFile(isready, ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres'],
        (err) => res(!err));
    }), opts.timeoutMs || 30000);

    const tUp = performance.now();

    const base = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}`;
    const createDatabase = async (name, { template } = {}) => {
      const q = (n) => `"${n.replace(/"/g, '""')}"`;
      await psql(`${base}/postgres`, `CREATE DATABASE ${q(name)}${template ? ` TEMPLATE ${q(template)}` : ''}`);
      return `${base}/${encodeURIComponent(name)}`;
    };
    if (database !== 'postgres') await createDatabase(database);
    const t1 = performance.now();
    return {
      url: `${base}/${encodeURIComponent(database)}`,
      port, user, database, dir, log, pid: proc.pid, proc,
      startMs: Math.round(t1 - t0),
      // where the start's time went
      timings: {
        initdb: Math.round(tInit - t0), ready: Math.round(tUp - tInit), createdb: Math.round(t1 - tUp),
      },
      psql: (sql, o) => psql(`${base}/${encodeURIComponent(database)}`, sql, o),
      // another database on the same server (a test's own, cheaper than a
      // server of its own): its URL
      createDatabase,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---------------------------------------------------------------- Redis

// opts: args (more redis-server options, ['--maxmemory', '64mb']), timeoutMs.
export async function startRedis(opts = {}) {
  const t0 = performance.now();
  const bin = which('redis-server', 'the Redis server');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-redis-'));
  const log = join(dir, 'redis.log');
  const port = await freePort();
  const { proc, exited } = launch(bin, [
    '--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning',
    ...(opts.args || []),
  ], { dir, log });
  const stop = stopper({ proc, exited, dir, sig: 'SIGKILL' });
  try {
    await waitReady('redis-server', proc, log, async () => {
      const c = await redisConnect(port);
      try { return (await c.command('PING')) === 'PONG'; } finally { c.close(); }
    }, opts.timeoutMs || 15000);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url: `redis://127.0.0.1:${port}`, port, dir, log, pid: proc.pid, proc,
    startMs: Math.round(performance.now() - t0),
    connect: () => redisConnect(port),
    stop,
  };
}

// A minimal RESP2 client, for tests: command(...args) resolves with the reply
// (a string, number, null, array; an error reply rejects). Pub/sub: after
// SUBSCRIBE (one channel a call), messages go to onMessage(channel, payload).
export function redisConnect(urlOrPort) {
  let host = '127.0.0.1', port = urlOrPort;
  if (typeof urlOrPort === 'string') {
    const u = new URL(urlOrPort);
    host = u.hostname;
    port = Number(u.port || 6379);
  }
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const pending = [];
    let buf = Buffer.alloc(0);
    let subscribed = false;
    const client = {
      socket: sock,
      onMessage: null,
      command(...args) {
        return new Promise((res, rej) => {
          pending.push({ res, rej });
          const parts = [`*${args.length}\r\n`];
          for (const a of args) {
            const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
            parts.push(`$${b.length}\r\n`, b, '\r\n');
          }
          sock.write(Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))));
        });
      },
      close() { sock.destroy(); },
    };
    sock.once('connect', () => { sock.off('error', reject); resolve(client); });
    sock.once('error', reject);
    sock.on('error', (e) => { while (pending.length) pending.shift().rej(e); });
    sock.on('close', () => {
      const e = new Error('redis connection closed');
      while (pending.length) pending.shift().rej(e);
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const r = parseResp(buf, 0);
        if (!r) break;
        buf = buf.subarray(r[1]);
        const v = r[0];
        if (subscribed && Array.isArray(v) && (v[0] === 'message' || v[0] === 'pmessage')) {
          if (client.onMessage) {
            if (v[0] === 'message') client.onMessage(v[1], v[2]);
            else client.onMessage(v[2], v[3], v[1]);
          }
          continue;
        }
        if (Array.isArray(v) && /^p?subscribe$/.test(v[0])) subscribed = true;
        const p = pending.shift();
        if (!p) continue;
        if (v instanceof Error) p.rej(v); else p.res(v);
      }
    });
  });
}

// One RESP2 value at buf[i]: [value, next offset], or null when incomplete.
function parseResp(buf, i) {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': return [new Error(line), next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let j = next;
      for (let k = 0; k < n; k++) {
        const r = parseResp(buf, j);
        if (!r) return null;
        out.push(r[0]);
        j = r[1];
      }
      return [out, j];
    }
    default: throw new Error(`bad RESP type byte ${JSON.stringify(type)}`);
  }
}

// ---------------------------------------------------------------- HAProxy

// Round-robin over backends (ports, 'host:port' strings or {host, port}),
// HTTP and WebSocket. A backend is checked every 200 ms with GET healthPath
// (200 = up; two failures = down, one success = up again); a request whose
// connection to a backend fails is retried on another (option redispatch),
// so a killed backend costs no request. Requests that reached a backend are
// not retried (a POST may have been applied). opts: healthPath
// ('/_cairn/health/ready'), ws (true: upgraded connections stay open for an
// hour, not the 30 s idle timeout), check (false: no health checks),
// timeoutMs.
//
// The result also has command(text): a command on HAProxy's admin socket
// ('show stat', 'disable server be/s0'), serverStates(): {s0: 'UP', ...}, and
// allUp(): resolves once every server has passed a health check.
export async function startHaproxy(backends, opts = {}) {
  // Its port comes from freePort(): another process may take it first, and
  // HAProxy then stops at once; it is started again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHaproxyOnce(backends, opts);
    } catch (e) {
      if (attempt >= 3 || !/exited before it was ready[\s\S]*(cannot bind|Address already in use)/.test(e.message)) throw e;
    }
  }
}

async function startHaproxyOnce(backends, opts) {
  const t0 = performance.now();
  const bin = which('haproxy', 'the HAProxy load balancer');
  if (!Array.isArray(backends) || backends.length === 0) throw new Error('startHaproxy: no backends');
  const healthPath = opts.healthPath || '/_cairn/health/ready';
  if (!/^\/[\x21-\x7e]*$/.test(healthPath)) throw new Error(`startHaproxy: bad health path ${healthPath}`);
  const ws = opts.ws !== false;
  const check = opts.check !== false;
  const dir = mkdtempSync(join(tmpdir(), 'cairn-haproxy-'));
  const log = join(dir, 'haproxy.log');
  const cfg = join(dir, 'haproxy.cfg');
  const sock = join(dir, 'admin.sock');
  const port = await freePort();
  const servers = backends.map((b, i) => {
    const addr = typeof b === 'number' ? `127.0.0.1:${b}`
      : typeof b === 'string' ? b : `${b.host || '127.0.0.1'}:${b.port}`;
    return `  server s${i} ${addr}${check ? ' check' : ''}`;
  });
  writeFileSync(cfg, [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    `  stats socket ${sock} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-request 10s',
    // longer than a client's own idle limit (Node's fetch: 4 s), so that the
    // client, not HAProxy, closes an idle connection: else a request sent
    // on it as HAProxy closes it fails ("other side closed", seen in CI)
    '  timeout http-keep-alive 30s',
    '  timeout queue 5s',
    '  timeout check 1s',
    '  timeout client-fin 1s',
    '  timeout server-fin 1s',
    ws ? '  timeout tunnel 1h' : '',
    '  retries 3',
    '  option redispatch 1',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    check ? '  option httpchk' : '',
    check ? `  http-check send meth GET uri ${healthPath} ver HTTP/1.1 hdr Host 127.0.0.1` : '',
    check ? '  http-check expect status 200' : '',
    '  default-server inter 200ms fastinter 100ms downinter 200ms fall 2 rise 1',
    ...servers,
    '',
  ].filter((l) => l !== '').join('\n') + '\n');

  const { proc, exited } = launch(bin, ['-db', '-f', cfg], { dir, log });
  const stop = stopper({ proc, exited, dir, sig: 'SIGTERM' });
  try {
    // the admin socket too: HAProxy may accept on the port a moment before
    // it has made the socket (CI under ASan saw allUp() find none)
    await waitReady('haproxy', proc, log, async () => existsSync(sock) && tcpOpen(port), opts.timeoutMs || 15000);
  } catch (e) {
    await stop();
    throw e;
  }
  const command = (text) => new Promise((res, rej) => {
    const s = net.connect(sock);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d) => { out += d; });
    s.on('end', () => res(out));
    s.on('error', rej);
    s.end(`${text}\n`);
  });
  return {
    url: `http://127.0.0.1:${port}`, port, dir, log, config: cfg, pid: proc.pid, proc,
    startMs: Math.round(performance.now() - t0),
    command,
    async serverStates() {
      const csv = (await command('show stat')).split('\n');
      const head = csv[0].replace(/^# /, '').split(',');
      const [px, sv, st] = ['pxname', 'svname', 'status'].map((k) => head.indexOf(k));
      const out = {};
      for (const l of csv.slice(1)) {
        const f = l.split(',');
        if (f[px] === 'be' && /^s\d+$/.test(f[sv])) out[f[sv]] = f[st];
      }
      return out;
    },
    // Until every server has passed a check ('UP 1/2' is not yet checked).
    async allUp(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const st = await this.serverStates();
        if (Object.values(st).every((s) => s === 'UP')) return st;
        if (Date.now() > deadline) throw new Error(`haproxy: servers not all up: ${JSON.stringify(st)}`);
        await sleep(25);
      }
    },
    stop,
  };
}

// ---------------------------------------------------------------- nginx

// nginx in front of backends (ports), with the server block docs/deploy.md
// gives users, read from that file: its upstream's servers become the
// backends and its `listen 80` a free loopback port; the rest is as
// written, so the documented configuration is the tested one. Wrapped in
// what a whole nginx.conf needs (no daemon, paths in a temporary folder).
export async function startNginx(backends, opts = {}) {
  const bin = which('nginx', 'the nginx web server');
  const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'deploy.md'), 'utf8');
  const block = doc.match(/\nnginx[^\n]*\n[\s\S]*?```\n([\s\S]*?)```/)?.[1];
  if (!block || !/upstream cairn \{[^}]*\}/.test(block) || !/listen 80;/.test(block)) {
    throw new Error('startNginx: docs/deploy.md has no nginx block with `upstream cairn {...}` and `listen 80;`');
  }
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-nginx-'));
    mkdirSync(join(dir, 'logs')); // where nginx logs before it reads error_log
    const log = join(dir, 'error.log');
    const port = await freePort();
    const server = block
      .replace(/upstream cairn \{[^}]*\}/, `upstream cairn { ${backends.map((p) => `server 127.0.0.1:${p};`).join(' ')} }`)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    writeFileSync(join(dir, 'nginx.conf'), [
      'daemon off;', 'master_process off;', `pid ${join(dir, 'nginx.pid')};`, `error_log ${log} warn;`,
      'events { worker_connections 1024; }',
      'http {', '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, t)};`),
      server, '}', '',
    ].join('\n'));
    const { proc, exited } = launch(bin, ['-p', dir, '-c', join(dir, 'nginx.conf')], { dir, log: join(dir, 'out.log') });
    const stop = stopper({ proc, exited, dir, sig: 'SIGQUIT' });
    try {
      await waitReady('nginx', proc, log, () => tcpOpen(port), opts.timeoutMs || 15000);
    } catch (e) {
      await stop();
      if (attempt < 3 && /exited before it was ready[\s\S]*Address already in use/.test(e.message)) continue;
      throw e;
    }
    return { url: `http://127.0.0.1:${port}`, port, dir, log, pid: proc.pid, proc, stop };
  }
}
