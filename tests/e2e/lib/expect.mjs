// Assertions shared by the e2e files: error bodies, Date, clean server exit.
import assert from 'node:assert/strict';
import { show } from './http.mjs';

// An error answer in JSON: {"error": "<message>", "status": n}.
export function assertJsonError(res, status, context = '') {
  const where = `${context}\nresponse: ${show(res.raw)}`;
  assert.equal(res.status, status, `status ${res.status}, wanted ${status}${where}`);
  assert.match(res.get('content-type') || '', /^application\/json\b/, `JSON content type${where}`);
  const body = res.json();
  assert.equal(typeof body.error, 'string', `"error" is a string${where}`);
  assert.ok(body.error.length > 0, `"error" is not empty${where}`);
  assert.equal(body.status, status, `"status" field${where}`);
}

// An error answer in HTML (browsers, non-API paths).
export function assertHtmlError(res, status, context = '') {
  const where = `${context}\nresponse: ${show(res.raw)}`;
  assert.equal(res.status, status, `status${where}`);
  assert.match(res.get('content-type') || '', /^text\/html\b/, `HTML content type${where}`);
  assert.match(res.text(), /<html|<!doctype/i, `HTML body${where}`);
}

// IMF-fixdate (RFC 9110 5.6.7), and close to the current time.
export function assertDate(res) {
  const d = res.get('date');
  assert.ok(d, `Date header present: ${show(res.raw)}`);
  assert.equal(res.count('date'), 1, 'exactly one Date header');
  assert.match(d, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.ok(Math.abs(Date.parse(d) - Date.now()) < 60000, `Date ${d} is about now`);
}

// The last test of every file: SIGTERM ends the server with 0 and no
// sanitizer report (under the ASan build a leak makes the exit non-zero).
export async function assertCleanStop(srv) {
  const exit = await srv.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `exit status\n${srv.describe()}`);
  assert.deepEqual(srv.sanitizerReports(), [], `sanitizer reports\n${srv.describe()}`);
}

// bytes (plus a smuggled POST /api/counter) get exactly one answer with a
// status in `statuses`, the server closes, and the smuggled POST never runs.
// Returns the response.
export async function assertRejected(port, bytes, statuses, { timeout = 5000 } = {}) {
  const { SMUGGLED, counter, exchange, sleep } = await import('./http.mjs');
  const before = await counter(port);
  const x = await exchange(port, typeof bytes === 'string' ? bytes + SMUGGLED : Buffer.concat([bytes, Buffer.from(SMUGGLED)]), { timeout });
  const ctx = `\n${x.transcript}`;
  assert.equal(x.error, null, `server bytes are HTTP: ${x.error && x.error.message}${ctx}`);
  assert.equal(x.responses.length, 1, `exactly one response${ctx}`);
  const r = x.responses[0];
  assert.ok([].concat(statuses).includes(r.status), `status ${r.status}, wanted ${statuses}${ctx}`);
  assert.equal(x.ended, true, `the server closed${ctx}`);
  assert.equal(x.rest.length, 0, `nothing after the answer${ctx}`);
  assert.match(r.get('connection') || '', /^close$/i, `Connection: close${ctx}`);
  await sleep(20);
  assert.equal(await counter(port), before, `the smuggled POST never ran${ctx}`);
  return r;
}
