// The pages suite's harness (issue 5): each test file builds its own copy
// of tests/apps/<name> with `$CAIRN_BUILD/cairn build` and runs the built
// .cairn/server from that copy, on an ephemeral port. A private copy per
// process means no lock, no in-tree .cairn/ shared with another run, and a
// fresh full-route cache: "the first request renders, the second is a HIT"
// holds in every file. The cairn command, requests and clean-stop checks
// are the routing harness's and lib/'s.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO, Server } from '../lib/server.mjs';
import { runCairn } from '../routing/harness.mjs';

export { ask, ctx, killAll, stopAll } from '../routing/harness.mjs';
export { REPO };

const built = new Map();
const scratchDirs = [];
process.on('exit', () => { for (const d of scratchDirs) rmSync(d, { recursive: true, force: true }); });

// A scratch directory removed when the test process exits.
export function scratch(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

// Copy tests/apps/<name> (without any .cairn/) and build it, once per
// process. Resolves with {dir, output}: the copy and what the build printed.
export function buildApp(name) {
  if (!built.has(name)) {
    built.set(name, (async () => {
      const dir = join(scratch(`cairn-pages-${name}-`), 'app');
      cpSync(join(REPO, 'tests', 'apps', name), dir, { recursive: true, filter: (s) => !s.includes('/.cairn') });
      const r = await runCairn(['build', dir]);
      if (r.code !== 0)
        throw new Error(`cairn build ${name} failed (exit ${r.code})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
      return { dir, output: r.stdout + r.stderr };
    })());
  }
  return built.get(name);
}

// Start the built server of app name in its copy (as `cairn start` runs
// it). opts.args: extra arguments (--dev); opts.env: extra environment.
export async function startApp(name, opts = {}) {
  const { dir } = await buildApp(name);
  const env = { ...process.env, PORT: '0', HOSTNAME: '127.0.0.1', ...(opts.env || {}) };
  const proc = spawn(join(dir, '.cairn', 'server'), opts.args || [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = new Server(proc, { root: dir, cleanup: () => {} }, false);
  srv.dir = dir;
  try {
    await srv.ready(opts.readyTimeout || 30000);
  } catch (e) {
    srv.kill();
    throw e;
  }
  return srv;
}

// Build a throw-away app made of files ({"app/page.html": "..."}) and
// resolve with the cairn command's {code, stdout, stderr, output, dir}.
export async function buildFiles(files) {
  const dir = join(scratch('cairn-pages-tmp-'), 'app');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = await runCairn(['build', dir]);
  return { ...r, output: r.stdout + r.stderr, dir };
}

// The line number (1-based) of the first line of file (under the app
// copy) that contains needle: where a cn_fail's __LINE__ points.
export function lineOf(dir, file, needle) {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${file} has no line with ${needle}`);
  return i + 1;
}

// What every page's <head> starts with (cairn adds them, as Next.js does).
export const HEAD_DEFAULTS = '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">';

// tests/apps/pages's root layout around inner, with head (the metadata
// after HEAD_DEFAULTS) and the root loader's params view.
export function rootDoc(head, inner, slug = '') {
  return '<!DOCTYPE html><html lang="en"><head><link rel="icon" href="/icon.svg">' + HEAD_DEFAULTS + head +
    `</head><body><header>ROOT[Pages &amp; &lt;Co&gt;|${slug}|${slug}]</header>` + inner +
    '<footer>/ROOT</footer></body></html>';
}

// The root layout's own metadata, as a page that sets none gets it.
export const ROOT_META = '<title>Root Title</title><meta name="description" content="root description">' +
  '<meta property="og:title" content="Root OG"><meta property="og:site_name" content="Site">';
