// Raw HTTP/1.1 over node:net for byte-exact tests: a strict response parser
// (a malformed status line, header or chunk from the server is an error, not
// something to guess around), a connection that reads responses one by one,
// and exchange() for "send these bytes, collect everything until the server
// closes".
import net from 'node:net';

export class ProtocolError extends Error {}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Printable form of raw bytes for failure messages.
export function show(buf, max = 1500) {
  const s = Buffer.isBuffer(buf) ? buf.toString('latin1') : String(buf);
  const cut = s.length > max ? s.slice(0, max) + `…(${s.length - max} more bytes)` : s;
  return JSON.stringify(cut);
}

class Response {
  constructor(fields) { Object.assign(this, fields); }
  get(name) {
    const n = name.toLowerCase();
    const vs = this.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
    return vs.length ? vs.join(', ') : undefined;
  }
  count(name) {
    const n = name.toLowerCase();
    return this.headers.filter(([k]) => k.toLowerCase() === n).length;
  }
  text() { return this.body.toString('utf8'); }
  json() {
    try { return JSON.parse(this.text()); } catch (e) {
      throw new ProtocolError(`body is not JSON: ${show(this.body)}`);
    }
  }
}

// Parse one response starting at buf[off]. Returns null when more bytes are
// needed (and the peer has not closed), a Response otherwise.
export function parseResponse(buf, off = 0, { head = false, ended = false } = {}) {
  const headEnd = buf.indexOf('\r\n\r\n', off, 'latin1');
  if (headEnd < 0) {
    if (ended && off < buf.length) throw new ProtocolError(`closed inside a response head: ${show(buf.subarray(off))}`);
    return null;
  }
  const lines = buf.toString('latin1', off, headEnd).split('\r\n');
  const m = /^HTTP\/(1\.[01]) (\d{3}) ([^\r\n]*)$/.exec(lines[0]);
  if (!m) throw new ProtocolError(`bad status line: ${show(lines[0])}`);
  const headers = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0 || !TOKEN.test(line.slice(0, i)) || /[\r\n\0]/.test(line))
      throw new ProtocolError(`bad header line: ${show(line)}`);
    headers.push([line.slice(0, i), line.slice(i + 1).replace(/^[ \t]+|[ \t]+$/g, '')]);
  }
  const res = new Response({
    version: m[1], status: Number(m[2]), reason: m[3], headers,
    body: Buffer.alloc(0), chunks: null, trailers: [], start: off,
  });
  let pos = headEnd + 4;
  const te = res.get('transfer-encoding');
  const cl = res.get('content-length');
  if (te !== undefined && cl !== undefined)
    throw new ProtocolError(`response has both Transfer-Encoding and Content-Length`);
  if (head || res.status < 200 || res.status === 204 || res.status === 304) {
    // no body
  } else if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked') throw new ProtocolError(`unexpected Transfer-Encoding: ${te}`);
    const chunks = [];
    for (;;) {
      const le = buf.indexOf('\r\n', pos, 'latin1');
      if (le < 0) return incomplete(buf, off, ended);
      const sizeLine = buf.toString('latin1', pos, le);
      const sm = /^([0-9a-fA-F]+)(;[^\r\n]*)?$/.exec(sizeLine);
      if (!sm) throw new ProtocolError(`bad chunk size line: ${show(sizeLine)}`);
      const size = parseInt(sm[1], 16);
      pos = le + 2;
      if (size === 0) break;
      if (buf.length < pos + size + 2) return incomplete(buf, off, ended);
      chunks.push(buf.subarray(pos, pos + size));
      if (buf.toString('latin1', pos + size, pos + size + 2) !== '\r\n')
        throw new ProtocolError(`chunk data not followed by CRLF`);
      pos += size + 2;
    }
    for (;;) {
      const le = buf.indexOf('\r\n', pos, 'latin1');
      if (le < 0) return incomplete(buf, off, ended);
      const line = buf.toString('latin1', pos, le);
      pos = le + 2;
      if (line === '') break;
      res.trailers.push(line);
    }
    res.chunks = chunks;
    res.body = Buffer.concat(chunks);
  } else if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new ProtocolError(`bad Content-Length: ${show(cl)}`);
    const n = Number(cl);
    if (buf.length < pos + n) return incomplete(buf, off, ended);
    res.body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    // Delimited by close (HTTP/1.0 style): complete only once the peer closed.
    if (!ended) return null;
    res.body = buf.subarray(pos);
    res.closeDelimited = true;
    pos = buf.length;
  }
  res.end = pos;
  res.raw = buf.subarray(off, pos);
  return res;
}

function incomplete(buf, off, ended) {
  if (ended) throw new ProtocolError(`closed inside a response: ${show(buf.subarray(off))}`);
  return null;
}

// Parse every response in buf (the peer has closed). heads[i] says whether the
// i-th final response answers a HEAD. Returns {responses, rest}.
export function parseAll(buf, { heads = [] } = {}) {
  const responses = [];
  let off = 0, finals = 0;
  while (off < buf.length) {
    let r;
    try {
      r = parseResponse(buf, off, { head: !!heads[finals], ended: true });
    } catch (e) {
      if (e instanceof ProtocolError) return { responses, rest: buf.subarray(off), error: e };
      throw e;
    }
    responses.push(r);
    if (r.status >= 200) finals++;
    off = r.end;
  }
  return { responses, rest: buf.subarray(off), error: null };
}

// One client connection, read response by response.
export class Conn {
  // allowHalfOpen keeps our side writable after the server's FIN (to see
  // what a lingering close does with bytes that keep coming).
  static open(port, { host = '127.0.0.1', allowHalfOpen = false } = {}) {
    return new Promise((res, rej) => {
      const sock = net.connect({ port, host, allowHalfOpen });
      sock.once('connect', () => { sock.removeListener('error', rej); res(new Conn(sock)); });
      sock.once('error', rej);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.ended = false; // the server sent FIN (or the socket closed)
    this.closed = false; // the socket is gone both ways
    this.error = null;
    this.sent = [];
    this._waiters = [];
    sock.setNoDelay(true);
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._wake(); });
    sock.on('end', () => { this.ended = true; this._wake(); });
    sock.on('close', () => { this.ended = true; this.closed = true; this._wake(); });
    sock.on('error', (e) => { this.error = e; this.ended = true; this._wake(); });
  }

  _wake() { const w = this._waiters; this._waiters = []; w.forEach((f) => f()); }

  _wait(ms) {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this._waiters.push(() => { clearTimeout(t); res(); });
    });
  }

  // Write bytes; resolves when handed to the kernel. Write errors (the server
  // closed first) are recorded in this.error, not thrown.
  write(data) {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
    this.sent.push(b);
    return new Promise((res) => {
      if (this.sock.destroyed || this.sock.writableEnded) return res(false);
      this.sock.write(b, (err) => { if (err) this.error = err; res(!err); });
    });
  }

  unread() { return this.buf.subarray(this.pos); }

  transcript() {
    return `sent: ${show(Buffer.concat(this.sent))}\nreceived: ${show(this.buf, 3000)}`;
  }

  // Next response (1xx included). Throws on timeout, on a close mid-response,
  // or on bytes that are not HTTP.
  async next({ head = false, timeout = 5000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const r = parseResponse(this.buf, this.pos, { head, ended: this.ended });
      if (r) { this.pos = r.end; return r; }
      if (this.ended) throw new ProtocolError(`connection closed before a response\n${this.transcript()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ProtocolError(`no complete response within ${timeout} ms\n${this.transcript()}`);
      await this._wait(left);
    }
  }

  // Next final (>= 200) response, collecting interim ones in .interim.
  async final(opts = {}) {
    const interim = [];
    for (;;) {
      const r = await this.next(opts);
      if (r.status >= 200) { r.interim = interim; return r; }
      interim.push(r);
    }
  }

  // Wait until the server closes (FIN); true if it did within timeout.
  async waitEnd(timeout = 5000) {
    const deadline = Date.now() + timeout;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this._wait(left);
    }
    return true;
  }

  // Wait until the socket is closed both ways (or errored); true if so.
  async waitClosed(timeout = 5000) {
    const deadline = Date.now() + timeout;
    while (!this.closed && !this.error) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this._wait(left);
    }
    return true;
  }

  // Wait until at least n bytes beyond what was parsed arrived (or close).
  async waitBytes(n, timeout = 5000) {
    const deadline = Date.now() + timeout;
    while (this.buf.length - this.pos < n && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this._wait(left);
    }
    return this.unread();
  }

  close() { this.sock.destroy(); }
}

// Send data (a string/Buffer, or an array of parts and {wait: ms} pauses),
// then wait until the server closes or timeout. Returns the parsed responses,
// whether the server closed, the unparsed rest and the raw bytes.
export async function exchange(port, data, { timeout = 5000, heads = [] } = {}) {
  const c = await Conn.open(port);
  try {
    const parts = Array.isArray(data) ? data : [data];
    for (const p of parts) {
      if (p && typeof p === 'object' && !Buffer.isBuffer(p) && 'wait' in p) {
        await new Promise((r) => setTimeout(r, p.wait));
      } else {
        await c.write(p);
      }
    }
    const ended = await c.waitEnd(timeout);
    const { responses, rest, error } = parseAll(c.buf, { heads });
    return { responses, ended, rest, error, raw: c.buf, transcript: c.transcript() };
  } finally {
    c.close();
  }
}

// One request over a fresh connection, returning the first final response.
export async function request(port, data, opts = {}) {
  const c = await Conn.open(port);
  try {
    await c.write(data);
    return await c.final(opts);
  } finally {
    c.close();
  }
}

// Build a request head. headers: array of [name, value] or an object.
export function req(method, target, headers = { Host: 'test' }, { version = '1.1', body = '' } = {}) {
  const hs = Array.isArray(headers) ? headers : Object.entries(headers);
  return `${method} ${target} HTTP/${version}\r\n` + hs.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n' + body;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Current /api/counter value over a fresh connection.
export async function counter(port) {
  const r = await request(port, 'GET /api/counter HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n');
  if (r.status !== 200) throw new Error(`GET /api/counter: ${r.status} ${show(r.raw)}`);
  return r.json().count;
}

// The smuggled request appended after a bad one: if it ever runs, the
// counter moves.
export const SMUGGLED = 'POST /api/counter HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n';
