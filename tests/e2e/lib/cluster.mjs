// Three instances of a built app behind HAProxy, seen by a suite as one
// server: the balancer's url and port, the instances' logs together, and
// the instances themselves (nodes) for what a test sets on each, such as
// its cache clock. The services they share (PostgreSQL, Redis) are the
// caller's, passed in env.
import { start, stop } from './app.mjs';
import { startHaproxy } from '../../lib/services.mjs';

export async function cluster(dir, env, { n = 3 } = {}) {
  const nodes = await Promise.all(Array.from({ length: n }, () => start(dir, { env })));
  let lb;
  try {
    lb = await startHaproxy(nodes.map((s) => s.port));
    await lb.allUp();
  } catch (e) { // leave no instance running behind a failed start
    for (const s of nodes) await s.stop();
    if (lb) await lb.stop();
    throw e;
  }
  return {
    url: lb.url,
    port: lb.port,
    nodes,
    get stderr() { return nodes.map((s) => s.stderr).join(''); },
    async waitFor(pred, ms, what) {
      for (const t0 = Date.now(); !pred();) {
        if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      for (const s of nodes) await stop(s);
      await lb.stop();
    },
  };
}

// Stop what start() or cluster() started.
export const stopAny = (srv) => (srv.nodes ? srv.stop() : stop(srv));
