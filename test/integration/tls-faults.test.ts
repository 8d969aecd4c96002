// Faults under sslChannel, each leaving the channel closed exactly once and the loop serving
// the next client: a ragged EOF (with and without suppressRaggedEofs), a peer reset in the
// middle of the handshake, garbage instead of a ClientHello; and many handshakes leave the
// descriptors at their baseline and the heap flat.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Dispatcher, DispatcherWithSend, Socket, SSLContext, SSLSocket, SSLError, SSLEOFError, SSLWantReadError,
  SSLWantWriteError, SOL_SOCKET, SO_LINGER, sslChannel, HAS_TLS, type Address,
} from '../../src/index.js';
import { LINGER_RST, checkLeaks, fdCount, map, runUntil, usePrivateMap } from '../helpers.js';
import { HAS_OPENSSL_CLI, useTlsContexts } from '../fixtures/tls-ca.js';

const skip = !HAS_TLS ? 'OpenSSL unreachable in this node' : !HAS_OPENSSL_CLI ? 'openssl CLI missing' : false;

class Echo extends sslChannel(DispatcherWithSend) {
  closes = 0;
  errors: unknown[] = [];
  established = false;
  override handleTlsEstablished(): void { this.established = true; }
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length) this.send(d);
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
    this.handleClose();
  }
  override handleClose(): void {
    this.closes++;
    this.close();
  }
}

class Listener extends Dispatcher {
  accepted: Echo[] = [];
  constructor(readonly ctx: SSLContext, readonly suppressRaggedEofs = true) {
    super(null, map);
    this.createSocket();
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(128);
  }
  get address(): Address { return (this.socket as Socket).getsockname(); }
  override handleAccepted(sock: Socket): void {
    const ch = new Echo(sock, map);
    ch.startTls(this.ctx, { serverSide: true, suppressRaggedEofs: this.suppressRaggedEofs });
    this.accepted.push(ch);
  }
}

/** A non-blocking TLS client socket, connected to `addr`, handshake not yet run. */
function tlsClient(ctx: SSLContext, addr: Address): SSLSocket {
  const s = new Socket();
  s.connect(addr);
  s.setblocking(false);
  return ctx.wrapSocket(s, { serverHostname: 'localhost', doHandshakeOnConnect: false });
}

/** One handshake step: true once done. */
function step(cs: SSLSocket): boolean {
  try {
    cs.doHandshake();
    return true;
  } catch (e) {
    if (e instanceof SSLWantReadError || e instanceof SSLWantWriteError) return false;
    throw e;
  }
}

/** Read what arrives until `n` bytes came. */
function readN(cs: SSLSocket, n: number, got: Buffer[]): boolean {
  try {
    const d = cs.recv(65536);
    if (d.length) got.push(d);
  } catch (e) {
    if (!(e instanceof SSLWantReadError)) throw e;
  }
  return Buffer.concat(got).length >= n;
}

describe('TLS faults and leaks', { skip }, () => {
  const tls = useTlsContexts();
  usePrivateMap();
  checkLeaks();

  /** The listener still serves: a fresh client gets its echo. */
  function stillServes(l: Listener): void {
    const cs = tlsClient(tls.clientCtx, l.address);
    try {
      runUntil(() => step(cs), 'poll', 'handshake of the next client');
      cs.send(Buffer.from('ping'));
      const got: Buffer[] = [];
      runUntil(() => readN(cs, 4, got), 'poll', 'echo to the next client');
      assert.equal(Buffer.concat(got).toString(), 'ping');
    } finally {
      cs.close();
    }
  }

  for (const suppress of [true, false]) {
    it(`a ragged EOF ${suppress ? 'with' : 'without'} suppressRaggedEofs`, () => {
      const l = new Listener(tls.serverCtx, suppress);
      const cs = tlsClient(tls.clientCtx, l.address);
      runUntil(() => step(cs) && l.accepted[0]?.established === true, 'poll', 'handshake');
      cs.send(Buffer.from('x'));
      const got: Buffer[] = [];
      runUntil(() => readN(cs, 1, got), 'poll', 'echo');
      cs.close(); // TCP FIN without close_notify
      const ch = l.accepted[0]!;
      runUntil(() => ch.closes > 0, 'poll', 'server channel closed');
      for (let i = 0; i < 5; i++) runUntil(() => true, 'poll');
      assert.equal(ch.closes, 1);
      if (suppress) {
        assert.deepEqual(ch.errors, []);
      } else {
        assert.equal(ch.errors.length, 1);
        assert.ok(ch.errors[0] instanceof SSLEOFError, String(ch.errors[0]));
      }
      assert.ok(!map.has(ch._fileno ?? -2) || map.get(ch._fileno!) !== ch);
      stillServes(l);
    });
  }

  it('a peer reset in the middle of the handshake', () => {
    const l = new Listener(tls.serverCtx);
    const cs = tlsClient(tls.clientCtx, l.address);
    assert.equal(step(cs), false); // ClientHello sent
    let passes = 0;
    runUntil(() => l.accepted.length === 1 && ++passes > 5, 'poll', 'server answered the ClientHello');
    const raw = new Socket(2, 1, 0, cs.fileno());
    raw.setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RST);
    raw.detach();
    cs.close(); // unread ServerHello + SO_LINGER 0: RST
    const ch = l.accepted[0]!;
    runUntil(() => ch.closes > 0, 'poll', 'server channel closed');
    assert.equal(ch.closes, 1);
    for (const e of ch.errors) assert.ok(e instanceof Error);
    assert.ok(ch.errors.length <= 1);
    stillServes(l);
  });

  it('garbage instead of a ClientHello: SSLError to handleError, closed once', () => {
    const l = new Listener(tls.serverCtx);
    const s = new Socket();
    s.connect(l.address);
    s.sendall(Buffer.from('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    runUntil(() => l.accepted[0]?.closes === 1, 'poll', 'server channel closed');
    const ch = l.accepted[0]!;
    assert.equal(ch.errors.length, 1);
    const e = ch.errors[0] as SSLError;
    assert.ok(e instanceof SSLError, String(e));
    assert.equal(e.library, 'SSL');
    assert.match(e.reason!, /HTTP_REQUEST|WRONG_VERSION_NUMBER/);
    assert.match(e.message, /^\[SSL: [A-Z_]+\] /);
    s.close();
    stillServes(l);
  });

  it('many handshakes: descriptors back at baseline, heap flat', () => {
    const l = new Listener(tls.serverCtx);
    let base = 0;
    const round = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const cs = tlsClient(tls.clientCtx, l.address);
        runUntil(() => step(cs), 'epoll', 'handshake');
        cs.close();
      }
      runUntil(() => l.accepted.every((c) => c.closes === 1), 'epoll', 'server channels closed');
      l.accepted.length = 0;
    };
    round(100);
    base = fdCount(); // after the first round: the epoll descriptor of the map now exists
    globalThis.gc?.();
    const heap0 = process.memoryUsage();
    round(300);
    globalThis.gc?.();
    const heap1 = process.memoryUsage();
    assert.equal(fdCount(), base, 'descriptors back at baseline');
    assert.equal(map.size, 1, 'only the listener is left in the map');
    // Native SSL objects are freed on close: RSS must not grow by anything like 300 sessions' worth.
    assert.ok(heap1.rss - heap0.rss < 64 << 20, `rss grew ${(heap1.rss - heap0.rss) >> 20} MB`);
  });
});
