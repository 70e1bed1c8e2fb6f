// A test app from tests/apps/, copied to a temporary folder, built with
// `cairn build` and served by its own binary on an ephemeral port; and the
// data layer's HTTP calls against it. Shared by the data, auth and live
// suites.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { REPO, Server } from './server.mjs';
import { runCairn } from '../routing/harness.mjs';

const temps = [];
process.on('exit', () => { for (const d of temps) rmSync(d, { recursive: true, force: true }); });

// A fresh copy of tests/apps/<name> (without its .cairn); pages: false
// leaves app/ out.
export function copyApp(name, { pages = true } = {}) {
  const src = join(REPO, 'tests', 'apps', name);
  const dir = mkdtempSync(join(tmpdir(), `cairn-${name}-`));
  temps.push(dir);
  cpSync(src, dir, {
    recursive: true,
    filter: (s) => !s.includes('/.cairn') && (pages || !s.startsWith(join(src, 'app'))),
  });
  return dir;
}

export async function build(dir) {
  const b = await runCairn(['build', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  return b;
}

// Start dir's built server, not waiting; opts.args (--dev), opts.env.
export function spawnServer(dir, opts = {}) {
  const proc = spawn(join(dir, '.cairn', 'server'), opts.args || [], {
    cwd: dir,
    env: { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', ...(opts.env || {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Server(proc, { root: dir, cleanup: () => {} }, false);
}

export async function start(dir, opts = {}) {
  const srv = spawnServer(dir, opts);
  await srv.ready(30000);
  return srv;
}

// Stop, and fail on any sanitizer report.
export async function stop(srv) {
  const r = await srv.stop();
  assert.deepEqual(srv.sanitizerReports(), [], srv.describe());
  return r;
}

// POST /_cairn/<kind> {path, args}: {status, headers, body, text}.
export async function call(srv, kind, path, args, headers = {}) {
  const payload = { path };
  if (args !== undefined) payload.args = args;
  const r = await fetch(`${srv.url}/_cairn/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, headers: r.headers, body, text };
}

// The value of a call that must succeed.
export async function value(srv, kind, path, args, headers) {
  const r = await call(srv, kind, path, args, headers);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  assert.equal(r.body.status, 'success');
  return r.body.value;
}

// A raw request, no fetch in between (any method, any header, a body as
// given): {status, headers, text}.
export function raw(srv, method, path, { headers = {}, body } = {}) {
  return new Promise((res, rej) => {
    const req = http.request(`${srv.url}${path}`, { method, headers, agent: false }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (s) => { text += s; });
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, text }));
    });
    req.on('error', rej);
    req.end(body);
  });
}
