// bench/fanout.mjs PORT SUBSCRIBERS MUTATIONS: issue 10's fan-out figure.
// SUBSCRIBERS WebSocket sessions subscribe to bench:feed; then MUTATIONS
// mutations (bench:push over HTTP, one at a time, 100 ms apart) each
// change its result. For every subscriber and mutation, the time from the
// mutation's answer (its commit is acknowledged) to that subscriber's
// transition carrying the new value (0 when the push came first; the
// client is one Node process, so its own queueing is in the figure).
// Prints "p50_ms p99_ms max_ms n".
import WebSocket from '../tests/node_modules/ws/index.js';

const [port, nsubs, nmut] = process.argv.slice(2).map(Number);
const base = `127.0.0.1:${port}`;
const waiting = new Map(); // value -> {at, left}
const lat = [];

function session() {
  return new Promise((res, rej) => {
    const ws = new WebSocket(`ws://${base}/_cairn/sync`, 'cairn.sync.1');
    let first = true;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'modify', baseVersion: 0, newVersion: 1,
      modifications: [{ type: 'add', queryId: 1, path: 'bench:feed', args: {} }] })));
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type !== 'transition') return;
      const now = performance.now();
      for (const x of m.modifications) {
        if (x.queryId !== 1 || x.type !== 'updated') continue;
        if (first) { first = false; res(ws); continue; }
        const w = waiting.get(x.value?.v);
        if (w) { w.arrivals.push(now); w.left--; }
      }
    });
    ws.on('error', rej);
  });
}

const socks = [];
for (let i = 0; i < nsubs; i += 50) socks.push(...await Promise.all(Array.from({ length: Math.min(50, nsubs - i) }, session)));
for (let k = 1; k <= nmut; k++) {
  const v = Date.now() * 1000 + k;
  const w = { at: 0, left: nsubs, arrivals: [] };
  waiting.set(v, w);
  const r = await fetch(`http://${base}/_cairn/mutation`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: 'bench:push', args: { v } }) });
  w.at = performance.now();
  if (r.status !== 200) throw new Error(`mutation answered ${r.status}`);
  const deadline = Date.now() + 5000;
  while (w.left > 0 && Date.now() < deadline) await new Promise((s) => setTimeout(s, 5));
  if (w.left > 0) throw new Error(`${w.left} subscribers never saw mutation ${k}`);
  // a push may beat the HTTP answer to the client: that counts as 0
  for (const t of w.arrivals) lat.push(Math.max(0, t - w.at));
  await new Promise((s) => setTimeout(s, 100));
}
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(q(0.5).toFixed(2), q(0.99).toFixed(2), lat.at(-1).toFixed(2), lat.length);
for (const s of socks) s.terminate();
