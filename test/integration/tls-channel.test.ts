// sslChannel and SSLSocket with both ends in this process, over loopback: handshakes over TLS
// 1.2 and 1.3 with SNI and ALPN, bulk data (OpenSSL's pending bytes drained), STARTTLS and
// back, the Python pattern of a hand-driven doHandshake(), across the pollers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AsyncChat, Dispatcher, DispatcherWithSend, Socket, SSLContext, loopAsync, SSLSocket, SSLWantReadError, SSLWantWriteError,
  PROTOCOL_TLS_SERVER, TLSVersion, sslChannel, HAS_TLS, type Address,
} from '../../src/index.js';
import { POLLERS, checkLeaks, map, runUntil, usePrivateMap } from '../helpers.js';
import { HAS_OPENSSL_CLI, useTlsContexts } from '../fixtures/tls-ca.js';

const skip = !HAS_TLS ? 'OpenSSL unreachable in this node' : !HAS_OPENSSL_CLI ? 'openssl CLI missing' : false;

/** Echo server channel: TLS from the first byte; counts closes. */
class TlsEcho extends sslChannel(DispatcherWithSend) {
  closes = 0;
  established = 0;
  override handleTlsEstablished(): void { this.established++; }
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length) this.send(d);
  }
  override handleClose(): void { this.closes++; this.close(); }
}

class Listener extends Dispatcher {
  accepted: TlsEcho[] = [];
  constructor(readonly ctx: SSLContext) {
    super(null, map);
    this.createSocket();
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(64);
  }
  get address(): Address { return (this.socket as Socket).getsockname(); }
  override handleAccepted(sock: Socket): void {
    const ch = new TlsEcho(sock, map);
    ch.startTls(this.ctx, { serverSide: true });
    this.accepted.push(ch);
  }
}

/** Client: connects, starts TLS, sends `payload`, collects the echo. */
class Client extends sslChannel(AsyncChat) {
  got: Buffer[] = [];
  size = 0;
  established = false;
  closes = 0;
  error: unknown = null;
  constructor(addr: Address, readonly ctx: SSLContext, readonly payload: Buffer, readonly host: string | null = 'localhost') {
    super(null, map);
    this.createSocket();
    this.connect(addr);
    this.startTls(ctx, { serverHostname: host });
    this.setTerminator(0);
  }
  override handleTlsEstablished(): void {
    this.established = true;
    this.push(this.payload);
  }
  override collectIncomingData(data: Buffer): void { this.got.push(data); this.size += data.length; }
  override handleError(err: unknown): void { this.error = err; this.close(); }
  override handleClose(): void { this.closes++; this.close(); }
}

describe('TLS channels in one process', { skip }, () => {
  const tls = useTlsContexts();
  usePrivateMap();
  checkLeaks();

  for (const poller of POLLERS) {
    for (const [label, max] of [['TLS 1.2', TLSVersion.TLSv1_2], ['TLS 1.3', TLSVersion.TLSv1_3]] as const) {
      it(`echoes over ${label} with ${poller}; peer cert, cipher and version`, () => {
        const ctx = new SSLContext();
        ctx.loadVerifyLocations({ cafile: tls.pki.caCert });
        ctx.maximumVersion = max;
        const srv = new Listener(tls.serverCtx);
        const payload = Buffer.from('hello over tls\n');
        const c = new Client(srv.address, ctx, payload);
        runUntil(() => c.size >= payload.length || c.error !== null, poller, 'echo');
        assert.equal(c.error, null);
        assert.deepEqual(Buffer.concat(c.got), payload);
        const ssl = c.socket as SSLSocket;
        assert.ok(ssl instanceof SSLSocket);
        assert.equal(ssl.version(), label.replace(' ', 'v'));
        const [name, proto, bits] = ssl.cipher()!;
        assert.equal(typeof name, 'string');
        assert.equal(proto, label.replace(' ', 'v'));
        assert.ok(bits >= 128);
        const cert = ssl.getpeercert() as { subject: [string, string][][]; subjectAltName: [string, string][] };
        assert.deepEqual(cert.subject.flat().find(([k]) => k === 'commonName'), ['commonName', 'localhost']);
        assert.deepEqual(cert.subjectAltName.slice(0, 2), [['DNS', 'localhost'], ['IP Address', '127.0.0.1']]);
        const der = ssl.getpeercert(true) as Buffer;
        assert.equal(der[0], 0x30);
        assert.equal(srv.accepted[0]!.established, 1);
      });
    }

    it(`moves 4 MB both ways with ${poller} (OpenSSL's buffered bytes drained)`, () => {
      const srv = new Listener(tls.serverCtx);
      const payload = Buffer.alloc(4 << 20);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
      const c = new Client(srv.address, tls.clientCtx, payload);
      runUntil(() => c.size >= payload.length || c.error !== null, poller, 'bulk echo', 20000);
      assert.equal(c.error, null);
      assert.ok(Buffer.concat(c.got).equals(payload));
    });
  }

  it('serves under loopAsync (inside Node\'s event loop)', async () => {
    const srv = new Listener(tls.serverCtx);
    const payload = Buffer.alloc(256 * 1024, 0x5a);
    const c = new Client(srv.address, tls.clientCtx, payload);
    const done = loopAsync({ map, timeout: 0.05 });
    for (let i = 0; i < 2000 && c.size < payload.length && c.error === null; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(c.error, null);
    assert.ok(Buffer.concat(c.got).equals(payload));
    c.close();
    srv.accepted[0]!.close();
    srv.close();
    await done;
  });

  it('negotiates ALPN and lets sniCallback switch the context', () => {
    const other = new SSLContext(PROTOCOL_TLS_SERVER);
    other.loadCertChain(tls.pki.serverCert, tls.pki.serverKey);
    other.setAlpnProtocols(['x-other', 'http/1.1']);
    const seen: (string | null)[] = [];
    const front = new SSLContext(PROTOCOL_TLS_SERVER);
    front.loadCertChain(tls.pki.serverCert, tls.pki.serverKey);
    front.sniCallback = (sock, name) => { seen.push(name); if (name === 'localhost') sock.context = other; };
    const ctx = new SSLContext();
    ctx.loadVerifyLocations({ cafile: tls.pki.caCert });
    ctx.setAlpnProtocols(['h2', 'http/1.1']);
    const srv = new Listener(front);
    const c = new Client(srv.address, ctx, Buffer.from('x'));
    runUntil(() => c.size >= 1 || c.error !== null, 'poll', 'echo');
    assert.equal(c.error, null);
    assert.deepEqual(seen, ['localhost']);
    assert.equal((c.socket as SSLSocket).selectedAlpnProtocol(), 'http/1.1');
    assert.equal((srv.accepted[0]!.socket as SSLSocket).selectedAlpnProtocol(), 'http/1.1');
    assert.equal((srv.accepted[0]!.socket as SSLSocket).context, other);
  });

  // uring: the plain phases run on its data path (unless the mixin keeps the channel on readiness).
  for (const poller of ['epoll', 'uring'] as const) it(`STARTTLS mid-session, then stopTls() back to plain text (${poller})`, () => {
    const log: string[] = [];
    class Server extends sslChannel(AsyncChat) {
      constructor(sock: Socket) { super(sock, map); this.setTerminator('\n'); }
      buf: Buffer[] = [];
      override collectIncomingData(d: Buffer): void { this.buf.push(d); }
      override foundTerminator(): void {
        const line = Buffer.concat(this.buf).toString(); this.buf = [];
        log.push(`S<${line}|${this.tlsState}`);
        if (line === 'STARTTLS') { (this.socket as Socket).send(Buffer.from('GO\n')); this.startTls(tls.serverCtx, { serverSide: true }); }
        else if (line === 'PLAIN') { this.push('OK\n'); this.stopTls(); }
        else this.push(`echo ${line}\n`);
      }
    }
    class L extends Dispatcher {
      ch: Server | null = null;
      constructor() { super(null, map); this.createSocket(); this.bind(['127.0.0.1', 0]); this.listen(1); }
      override handleAccepted(s: Socket): void { this.ch = new Server(s); }
    }
    class C extends sslChannel(AsyncChat) {
      buf: Buffer[] = [];
      stopped = false;
      constructor(addr: Address) { super(null, map); this.createSocket(); this.connect(addr); this.setTerminator('\n'); }
      override handleConnect(): void { this.push('hi\n'); }
      override collectIncomingData(d: Buffer): void { this.buf.push(d); }
      override foundTerminator(): void {
        const line = Buffer.concat(this.buf).toString(); this.buf = [];
        log.push(`C<${line}|${this.tlsState}`);
        if (line === 'echo hi') this.push('STARTTLS\n');
        else if (line === 'GO') this.startTls(tls.clientCtx, { serverHostname: 'localhost' });
        else if (line === 'echo secret') this.push('PLAIN\n');
        else if (line === 'OK') this.stopTls();
        else if (line === 'echo bye') this.close();
      }
      override handleTlsEstablished(): void { this.push('secret\n'); }
      override handleTlsStopped(): void { this.stopped = true; this.push('bye\n'); }
    }
    const l = new L();
    const c = new C((l.socket as Socket).getsockname());
    runUntil(() => log.includes('C<echo bye|off'), poller, 'the STARTTLS dialogue', 500);
    assert.deepEqual(log, [
      'S<hi|off', 'C<echo hi|off', 'S<STARTTLS|off', 'C<GO|off', 'S<secret|open', 'C<echo secret|open',
      'S<PLAIN|open', 'C<OK|open', 'S<bye|off', 'C<echo bye|off',
    ]);
    assert.ok(c.stopped);
    assert.ok(l.ch!.socket instanceof Socket);
  });

  it("ports test_ftplib's SSLConnection: doHandshakeOnConnect false, handshake driven from the events", () => {
    // The Python pattern, line for line: wrap, then doHandshake() from handle_read_event /
    // handle_write_event until it stops raising the want-errors.
    class SSLConnection extends Dispatcher {
      sslState: 'none' | 'handshake' | 'done' = 'none';
      received: Buffer[] = [];
      secureConnection(ctx: SSLContext, serverSide: boolean): void {
        this.socket = ctx.wrapSocket(this.socket as Socket, { serverSide, doHandshakeOnConnect: false, ...(serverSide ? {} : { serverHostname: 'localhost' }) });
        this.sslState = 'handshake';
      }
      doSslHandshake(): void {
        try {
          (this.socket as SSLSocket).doHandshake();
        } catch (e) {
          if (e instanceof SSLWantReadError || e instanceof SSLWantWriteError) return;
          throw e;
        }
        this.sslState = 'done';
        this.handleHandshakeDone();
      }
      handleHandshakeDone(): void {}
      override handleReadEvent(): void {
        if (this.sslState === 'handshake') this.doSslHandshake();
        else super.handleReadEvent();
      }
      override handleWriteEvent(): void {
        if (this.sslState === 'handshake') this.doSslHandshake();
        else super.handleWriteEvent();
      }
      override send(data: Uint8Array): number {
        try { return super.send(data); } catch (e) {
          if (e instanceof SSLWantReadError || e instanceof SSLWantWriteError) return 0;
          throw e;
        }
      }
      override recv(n: number): Buffer {
        try { return super.recv(n); } catch (e) {
          if (e instanceof SSLWantReadError || e instanceof SSLWantWriteError) return Buffer.alloc(0);
          throw e;
        }
      }
      override handleRead(): void { const d = this.recv(1024); if (d.length) this.received.push(d); }
      override writable(): boolean { return this.sslState === 'handshake'; }
    }
    let server: SSLConnection | null = null;
    class L extends Dispatcher {
      constructor() { super(null, map); this.createSocket(); this.bind(['127.0.0.1', 0]); this.listen(1); }
      override handleAccepted(s: Socket): void {
        server = new SSLConnection(s, map);
        server.secureConnection(tls.serverCtx, true);
        server.handleHandshakeDone = function (this: SSLConnection) { this.send(Buffer.from('220 secure')); };
      }
    }
    const l = new L();
    const s = new Socket();
    s.connect((l.socket as Socket).getsockname());
    s.setblocking(false);
    const client = new SSLConnection(s, map);
    client.secureConnection(tls.clientCtx, false);
    runUntil(() => client.received.length > 0, 'select', 'the greeting over TLS');
    assert.equal(Buffer.concat(client.received).toString(), '220 secure');
    assert.equal(server!.sslState, 'done');
    assert.equal((client.socket as SSLSocket).version(), 'TLSv1.3');
  });
});
