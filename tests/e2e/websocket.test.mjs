// WebSocket (RFC 6455) on the HTTP port, against the test server's /ws
// echo socket: the handshake and its refusals, messages both ways, the
// framing rules a hostile client can break (masking, opcodes, control
// frames, fragments, UTF-8, sizes) each with its close code, ping and idle
// timeouts, a client too slow to read, sends from another thread, and
// shutdown. Node's `ws` plays the well-behaved client; raw sockets play the
// rest.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { startServer } from './lib/server.mjs';

const servers = [];
// Every server stops cleanly: exit 0 and, under ASan+UBSan, no report (a
// socket leaked by a missed reference shows here).
after(async () => {
  for (const s of servers) {
    const r = await s.stop();
    assert.deepEqual(s.sanitizerReports(), [], s.describe());
    assert.equal(r.code, 0, s.describe());
  }
});

async function serve(config) {
  const s = await startServer(config ? { config } : {});
  servers.push(s);
  return s;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const handshake = (extra = '', key = KEY) => 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
  `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

// A client frame: masked unless opts.mask is false.
function frame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.from(payload);
  const len = data.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else { head.push(m | 127, 0, 0, 0, 0); const b = Buffer.alloc(4); b.writeUInt32BE(len); head.push(...b); }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const body = Buffer.from(data.map((x, i) => x ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), key, body]);
}

// Server frames from a byte stream: [{opcode, fin, payload}], and what is
// left over.
function parseFrames(buf) {
  const out = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const b0 = buf[off], b1 = buf[off + 1];
    let len = b1 & 127, p = off + 2;
    if (b1 & 0x80) throw new Error('a server frame was masked');
    if (len === 126) { if (buf.length < p + 2) break; len = buf.readUInt16BE(p); p += 2; }
    else if (len === 127) { if (buf.length < p + 8) break; len = Number(buf.readBigUInt64BE(p)); p += 8; }
    if (buf.length < p + len) break;
    out.push({ opcode: b0 & 15, fin: !!(b0 & 0x80), payload: buf.subarray(p, p + len) });
    off = p + len;
  }
  return { frames: out, rest: buf.subarray(off) };
}

// A raw connection after a successful handshake: frames it received, the
// close code of the server's close frame, whether TCP ended.
function raw(port, { extra = '', first = Buffer.alloc(0) } = {}) {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const st = { sock: s, frames: [], ended: false, head: '', buf: Buffer.alloc(0), waiters: [] };
    st.wake = () => { const w = st.waiters; st.waiters = []; w.forEach((f) => f()); };
    st.until = (pred, ms = 5000, what = 'the server') => new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}: ${JSON.stringify(st.frames.map((f) => [f.opcode, f.payload.toString()]))} ended=${st.ended}`)), ms);
      const check = () => { if (pred()) { clearTimeout(t); res(); } else st.waiters.push(check); };
      check();
    });
    st.closeCode = () => {
      const c = st.frames.find((f) => f.opcode === 8);
      return c ? (c.payload.length >= 2 ? c.payload.readUInt16BE(0) : 1005) : null;
    };
    s.on('data', (d) => {
      st.buf = Buffer.concat([st.buf, d]);
      if (!st.head) {
        const i = st.buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        st.head = st.buf.subarray(0, i + 4).toString();
        st.buf = st.buf.subarray(i + 4);
        if (!/^HTTP\/1\.1 101 /.test(st.head)) { reject(new Error(st.head)); return; }
        resolve(st);
      }
      const { frames, rest } = parseFrames(st.buf);
      st.frames.push(...frames);
      st.buf = rest;
      st.wake();
    });
    s.on('end', () => { st.ended = true; st.wake(); });
    s.on('close', () => { st.ended = true; st.wake(); });
    s.on('error', () => { st.ended = true; st.wake(); });
    s.write(Buffer.concat([Buffer.from(handshake(extra)), first]));
  });
}

// The raw answer to a request that is not a good handshake.
function rawHttp(port, text) {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d) => { got += d; if (got.includes('\r\n\r\n')) { s.destroy(); resolve(got); } });
    s.on('error', reject);
    s.write(text);
  });
}

function client(port, protocols) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, protocols);
  ws.got = [];
  ws.on('message', (d, binary) => ws.got.push(binary ? d : d.toString()));
  ws.closed = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
  ws.opened = new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
  return ws;
}

async function until(pred, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the opening handshake', () => {
  let srv;
  before(async () => { srv = await serve(); });

  test('101 with the accept key of RFC 6455 §1.3 and the protocol the client offered', async () => {
    const st = await raw(srv.port, { extra: 'Sec-WebSocket-Protocol: other, cairn.test\r\n' });
    assert.match(st.head, /\r\nUpgrade: websocket\r\n/);
    assert.match(st.head, /\r\nConnection: Upgrade\r\n/);
    assert.match(st.head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(st.head, /\r\nSec-WebSocket-Protocol: cairn.test\r\n/);
    assert.doesNotMatch(st.head, /Content-Length|Transfer-Encoding|Connection: close/i);
    const expect = createHash('sha1').update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    assert.equal(expect, 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    st.sock.destroy();
  });

  test('refusals: no upgrade 426, another version 426, a bad key 400, another method 405, HTTP/1.0 400', async () => {
    const cases = [
      ['GET /ws HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 426 Upgrade Required\r\n(?=[\s\S]*\r\nUpgrade: websocket\r\n)(?=[\s\S]*\r\nSec-WebSocket-Version: 13\r\n)/],
      [handshake().replace('Version: 13', 'Version: 8'), /^HTTP\/1\.1 426 [\s\S]*Sec-WebSocket-Version: 13\r\n/],
      [handshake('', 'short'), /^HTTP\/1\.1 400 /],
      [handshake('', 'dGhlIHNhbXBsZSBub25jZQ=x'), /^HTTP\/1\.1 400 /],
      [handshake().replace('Connection: Upgrade', 'Connection: keep-alive'), /^HTTP\/1\.1 426 /],
      [handshake().replace('GET', 'POST'), /^HTTP\/1\.1 405 /],
      [handshake().replace('HTTP/1.1', 'HTTP/1.0'), /^HTTP\/1\.1 400 /],
    ];
    for (const [req, want] of cases) assert.match(await rawHttp(srv.port, req), want, req);
  });

  test('Connection split over two lines and upper-case tokens still upgrade', async () => {
    const text = 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive\r\n' +
      `Connection: UPGRADE\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    assert.match(await rawHttp(srv.port, text), /^HTTP\/1\.1 101 /);
  });
});

describe('messages', () => {
  let srv;
  before(async () => { srv = await serve(); });

  test('text and binary echo, in order, with ws', async () => {
    const ws = client(srv.port, ['cairn.test']);
    await ws.opened;
    assert.equal(ws.protocol, 'cairn.test');
    ws.send('héllo ✓');
    ws.send(Buffer.from([0, 1, 2, 255]));
    ws.send('');
    await until(() => ws.got.length === 4, 5000, 'four messages');
    assert.deepEqual(ws.got.slice(0, 3), ['hello', 'héllo ✓', Buffer.from([0, 1, 2, 255])]);
    assert.equal(ws.got[3], '');
    ws.close(1000, 'done');
    assert.deepEqual(await ws.closed, { code: 1000, reason: 'done' });
  });

  test('a fragmented message is joined, with a ping between its fragments answered', async () => {
    const st = await raw(srv.port);
    st.sock.write(Buffer.concat([
      frame(1, 'frag', { fin: false }), frame(9, 'p!'), frame(0, 'men', { fin: false }), frame(0, 'ted'),
    ]));
    await st.until(() => st.frames.length >= 3);
    assert.deepEqual(st.frames.map((f) => [f.opcode, f.payload.toString()]), [[1, 'hello'], [10, 'p!'], [1, 'fragmented']]);
    st.sock.destroy();
  });

  test('a socket quiet for a while (its protocol state put away) still joins a message split across the rest', async () => {
    const st = await raw(srv.port);
    st.sock.write(frame(1, 'before ', { fin: false }));
    await new Promise((r) => setTimeout(r, 1500)); // past the 1 s rest
    st.sock.write(frame(0, 'and after'));
    await st.until(() => st.frames.length >= 2);
    await new Promise((r) => setTimeout(r, 1500)); // resting between messages
    st.sock.write(frame(1, 'again'));
    await st.until(() => st.frames.length >= 3);
    assert.deepEqual(st.frames.map((f) => f.payload.toString()), ['hello', 'before and after', 'again']);
    st.sock.destroy();
  });

  test('frames sent right behind the handshake are read', async () => {
    const st = await raw(srv.port, { first: frame(1, 'early') });
    await st.until(() => st.frames.length >= 2);
    assert.deepEqual(st.frames.map((f) => f.payload.toString()), ['hello', 'early']);
    st.sock.destroy();
  });

  test('1 MiB passes; one byte more is closed with 1009', async () => {
    const ws = client(srv.port);
    await ws.opened;
    ws.send(Buffer.alloc(1024 * 1024, 7));
    await until(() => ws.got.length === 2, 10000, 'the echo of 1 MiB');
    assert.equal(ws.got[1].length, 1024 * 1024);
    ws.send(Buffer.alloc(1024 * 1024 + 1, 7));
    assert.equal((await ws.closed).code, 1009);
  });

  test('sends from another thread arrive, all and in order', async () => {
    const ws = client(srv.port);
    await ws.opened;
    ws.send('thread 2000');
    await until(() => ws.got.length === 2001, 10000, '2000 messages');
    assert.deepEqual(ws.got.slice(1), Array.from({ length: 2000 }, (_, i) => `t${i + 1}`));
    ws.close();
    await ws.closed;
  });

  test('the close handshake from either side, with codes', async () => {
    const a = client(srv.port);
    await a.opened;
    a.send('close 4000 bye now');
    assert.deepEqual(await a.closed, { code: 4000, reason: 'bye now' });
    const b = client(srv.port);
    await b.opened;
    b.send('close 1001 not allowed from the app');
    await until(() => b.got.includes('bad close'), 5000, 'the refusal');
    b.close(1000);
    assert.equal((await b.closed).code, 1000);
    // After both close frames the server ends TCP.
    const st = await raw(srv.port);
    st.sock.write(frame(8, Buffer.from([3, 232])));
    await st.until(() => st.ended);
    assert.equal(st.closeCode(), 1000);
  });
});

describe('protocol errors close with their codes', () => {
  let srv;
  before(async () => { srv = await serve(); });

  const cases = [
    ['an unmasked client frame', () => frame(1, 'x', { mask: false }), 1002],
    ['a reserved opcode', () => frame(3, 'x'), 1002],
    ['RSV bits without an extension', () => frame(1, 'x', { rsv: 4 }), 1002],
    ['a control frame over 125 bytes', () => frame(9, Buffer.alloc(126)), 1002],
    ['a fragmented control frame', () => frame(9, 'x', { fin: false }), 1002],
    ['a continuation with nothing to continue', () => frame(0, 'x'), 1002],
    ['a new message inside a fragmented one', () => Buffer.concat([frame(1, 'a', { fin: false }), frame(1, 'b')]), 1002],
    ['text that is not UTF-8', () => frame(1, Buffer.from([0xc3, 0x28])), 1007],
    ['text with a UTF-16 surrogate', () => frame(1, Buffer.from([0xed, 0xa0, 0x80])), 1007],
    ['an overlong UTF-8 encoding', () => frame(1, Buffer.from([0xc0, 0xaf])), 1007],
  ];
  for (const [what, make, code] of cases) {
    test(`${what}: ${code}, and the server keeps serving`, async () => {
      const st = await raw(srv.port);
      st.sock.write(make());
      await st.until(() => st.closeCode() !== null || st.ended, 5000, `the close for ${what}`);
      assert.equal(st.closeCode(), code, what);
      await st.until(() => st.ended, 5000, 'TCP closed');
      const ok = client(srv.port);
      await ok.opened;
      ok.close();
    });
  }
});

describe('timeouts and slow clients', () => {
  test('a quiet peer is pinged; one that answers stays, one that does not is dropped', async () => {
    const srv = await serve({ limits: { ws_ping_ms: 200 } });
    const good = client(srv.port);
    await good.opened;
    let pings = 0;
    good.on('ping', () => pings++);
    const st = await raw(srv.port);
    await st.until(() => st.frames.some((f) => f.opcode === 9), 3000, 'a ping');
    await st.until(() => st.ended, 3000, 'the silent peer dropped');
    await until(() => pings >= 2, 3000, 'two pings answered');
    assert.equal(good.readyState, WebSocket.OPEN);
    good.close();
  });

  test('a socket without messages past ws_idle_ms is closed with 1001', async () => {
    const srv = await serve({ limits: { ws_idle_ms: 300 } });
    const ws = client(srv.port);
    await ws.opened;
    assert.deepEqual(await ws.closed, { code: 1001, reason: 'idle' });
  });

  test('a client that does not read: past ws_backlog it is closed with 1008, others are served', async () => {
    const srv = await serve({ limits: { ws_backlog: '1mb' } });
    const st = await raw(srv.port);
    st.sock.pause(); // reads nothing while the server floods it
    st.sock.write(frame(1, 'flood 400 65536'));
    await new Promise((r) => setTimeout(r, 500));
    const other = client(srv.port);
    await other.opened;
    other.send('still here');
    await until(() => other.got.includes('still here'), 5000, 'another client served');
    other.close();
    st.sock.resume();
    await st.until(() => st.ended, 10000, 'the slow client closed');
    assert.equal(st.closeCode(), 1008);
    const data = st.frames.filter((f) => f.opcode === 2).length;
    assert.ok(data < 400, `only part of the flood was sent (${data} of 400)`);
  });

  test('shutting down: open sockets get 1001', async () => {
    const srv = await serve();
    const ws = client(srv.port);
    await ws.opened;
    const closed = ws.closed;
    await srv.stop();
    assert.equal((await closed).code, 1001);
  });
});

describe('many sockets', () => {
  test('500 sockets open at once each get their own echo', async () => {
    const srv = await serve();
    const all = Array.from({ length: 500 }, () => client(srv.port));
    await Promise.all(all.map((w) => w.opened));
    all.forEach((w, i) => w.send(`n${i}`));
    await until(() => all.every((w) => w.got.length === 2), 10000, 'every echo');
    all.forEach((w, i) => assert.deepEqual(w.got, ['hello', `n${i}`]));
    const probe = all[0];
    probe.send('open');
    await until(() => probe.got.length === 3, 5000, 'the count');
    assert.equal(probe.got[2], 'open 500');
    all.forEach((w) => w.close());
    await Promise.all(all.map((w) => w.closed));
  });
});
