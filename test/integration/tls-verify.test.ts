// Certificate verification and bad input: a wrong hostname, an unknown CA, an expired
// certificate, a client certificate a CERT_REQUIRED server insists on; missing files, a key that
// does not match, a wrong password, wrapping a closed or a UDP socket. Both ends in this process,
// stepped by hand over non-blocking loopback sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Socket, SSLContext, SSLSocket, SSLError, SSLCertVerificationError, SSLWantReadError, SSLWantWriteError,
  SocketError, PROTOCOL_TLS_SERVER, CERT_REQUIRED, CERT_NONE, CERT_OPTIONAL, SOCK_DGRAM, HAS_TLS,
  SSL_ERROR_SSL, SSL_ERROR_WANT_READ, SSL_ERROR_EOF, createDefaultContext, Purpose, TLSVersion,
} from '../../src/index.js';
import { checkLeaks, usePrivateMap } from '../helpers.js';
import { HAS_OPENSSL_CLI, useTlsContexts } from '../fixtures/tls-ca.js';

const skip = !HAS_TLS ? 'OpenSSL unreachable in this node' : !HAS_OPENSSL_CLI ? 'openssl CLI missing' : false;

/** A connected pair of non-blocking loopback sockets. */
function tcpPair(): [Socket, Socket] {
  const l = new Socket();
  l.bind(['127.0.0.1', 0]);
  l.listen(1);
  const c = new Socket();
  c.connect(l.getsockname());
  const [a] = l.accept();
  l.close();
  c.setblocking(false);
  a.setblocking(false);
  return [c, a];
}

interface Outcome { client: unknown; server: unknown; cs: SSLSocket; ss: SSLSocket }

/** Step both handshakes until each finished or failed; the error of each side (null if none). */
function handshake(clientCtx: SSLContext, serverCtx: SSLContext, host: string | null = 'localhost'): Outcome {
  const [c, a] = tcpPair();
  const cs = clientCtx.wrapSocket(c, { serverHostname: host, doHandshakeOnConnect: false });
  const ss = serverCtx.wrapSocket(a, { serverSide: true, doHandshakeOnConnect: false });
  const out: Outcome = { client: undefined, server: undefined, cs, ss };
  for (let i = 0; i < 200 && (out.client === undefined || out.server === undefined); i++) {
    for (const [sock, side] of [[cs, 'client'], [ss, 'server']] as const) {
      if (out[side] !== undefined) continue;
      try {
        sock.doHandshake();
        out[side] = null;
      } catch (e) {
        if (e instanceof SSLWantReadError || e instanceof SSLWantWriteError) continue;
        out[side] = e;
        // A failed side aborts, as a real program closes its socket.
        sock.close();
      }
    }
  }
  return out;
}

describe('TLS verification and bad input', { skip }, () => {
  const tls = useTlsContexts();
  const res = usePrivateMap();
  checkLeaks();
  const done = (o: Outcome): void => { o.cs.close(); o.ss.close(); };

  it('verifies the server by CA and hostname (name and IP address)', () => {
    for (const host of ['localhost', '127.0.0.1', '::1']) {
      const o = handshake(tls.clientCtx, tls.serverCtx, host);
      assert.equal(o.client, null, `client for ${host}`);
      assert.equal(o.server, null);
      done(o);
    }
  });

  it('a wrong hostname: SSLCertVerificationError with verifyCode and verifyMessage', () => {
    const o = handshake(tls.clientCtx, tls.serverCtx, 'wrong.example');
    const e = o.client as SSLCertVerificationError;
    assert.ok(e instanceof SSLCertVerificationError, String(e));
    assert.ok(e instanceof SSLError && e instanceof SocketError);
    assert.equal(e.errno, SSL_ERROR_SSL);
    assert.equal(e.verifyCode, 62); // X509_V_ERR_HOSTNAME_MISMATCH
    assert.match(e.verifyMessage, /^hostname mismatch/);
    assert.equal(e.library, 'SSL');
    assert.equal(e.reason, 'CERTIFICATE_VERIFY_FAILED');
    assert.match(e.message, /^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: hostname mismatch/);
    assert.deepEqual(e.args, [1, e.message]);
    // The server hears the client's alert.
    assert.ok(o.server instanceof SSLError, String(o.server));
    assert.match((o.server as SSLError).reason ?? '', /ALERT/);
    done(o);
  });

  it('a wrong IP address is a mismatch too', () => {
    const o = handshake(tls.clientCtx, tls.serverCtx, '10.1.2.3');
    assert.equal((o.client as SSLCertVerificationError).verifyCode, 64); // X509_V_ERR_IP_ADDRESS_MISMATCH
    done(o);
  });

  it('an unknown CA is rejected', () => {
    const stranger = new SSLContext(PROTOCOL_TLS_SERVER);
    stranger.loadCertChain(tls.pki.strangerCert, tls.pki.strangerKey);
    const o = handshake(tls.clientCtx, stranger);
    const e = o.client as SSLCertVerificationError;
    assert.ok(e instanceof SSLCertVerificationError);
    assert.equal(e.verifyCode, 20); // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    assert.match(e.verifyMessage, /unable to get local issuer certificate/);
    done(o);
    // ... and a client with no CAs at all trusts nothing.
    const bare = new SSLContext();
    const o2 = handshake(bare, tls.serverCtx);
    assert.ok(o2.client instanceof SSLCertVerificationError);
    done(o2);
  });

  it('an expired certificate is rejected', () => {
    const expired = new SSLContext(PROTOCOL_TLS_SERVER);
    expired.loadCertChain(tls.pki.expiredCert, tls.pki.expiredKey);
    const o = handshake(tls.clientCtx, expired);
    const e = o.client as SSLCertVerificationError;
    assert.ok(e instanceof SSLCertVerificationError);
    assert.equal(e.verifyCode, 10); // X509_V_ERR_CERT_HAS_EXPIRED
    assert.equal(e.verifyMessage, 'certificate has expired');
    done(o);
  });

  it('CERT_NONE with checkHostname off accepts anything; getpeercert() is then {}', () => {
    const lax = new SSLContext();
    lax.checkHostname = false;
    lax.verifyMode = CERT_NONE;
    const stranger = new SSLContext(PROTOCOL_TLS_SERVER);
    stranger.loadCertChain(tls.pki.strangerCert, tls.pki.strangerKey);
    const o = handshake(lax, stranger, null);
    assert.equal(o.client, null);
    assert.deepEqual(o.cs.getpeercert(), {});
    assert.ok((o.cs.getpeercert(true) as Buffer).length > 100);
    done(o);
    assert.throws(() => { const c = new SSLContext(); c.verifyMode = CERT_NONE; }, /checkHostname/);
  });

  it('a CERT_REQUIRED server insists on a client certificate, and verifies it', () => {
    const strict = new SSLContext(PROTOCOL_TLS_SERVER);
    strict.loadCertChain(tls.pki.serverCert, tls.pki.serverKey);
    strict.loadVerifyLocations({ cafile: tls.pki.caCert });
    strict.verifyMode = CERT_REQUIRED;
    const o = handshake(tls.clientCtx, strict);
    const e = o.server as SSLError;
    assert.ok(e instanceof SSLError, String(e));
    assert.equal(e.reason, 'PEER_DID_NOT_RETURN_A_CERTIFICATE');
    done(o);
    const withCert = new SSLContext();
    withCert.loadVerifyLocations({ cafile: tls.pki.caCert });
    withCert.loadCertChain(tls.pki.clientCert, tls.pki.clientKey);
    const o2 = handshake(withCert, strict);
    assert.equal(o2.server, null);
    assert.equal(o2.client, null);
    const cert = o2.ss.getpeercert() as { subject: [string, string][][] };
    assert.deepEqual(cert.subject.flat().find(([k]) => k === 'commonName'), ['commonName', 'test client']);
    done(o2);
    // CERT_OPTIONAL: no certificate is fine.
    strict.verifyMode = CERT_OPTIONAL;
    const o3 = handshake(tls.clientCtx, strict);
    assert.equal(o3.server, null);
    assert.equal(o3.ss.getpeercert(), null);
    done(o3);
  });

  it('minimumVersion/maximumVersion that cannot meet fail with a protocol error', () => {
    const c12 = new SSLContext();
    c12.loadVerifyLocations({ cafile: tls.pki.caCert });
    c12.maximumVersion = TLSVersion.TLSv1_2;
    const s13 = new SSLContext(PROTOCOL_TLS_SERVER);
    s13.loadCertChain(tls.pki.serverCert, tls.pki.serverKey);
    s13.minimumVersion = TLSVersion.TLSv1_3;
    assert.equal(s13.minimumVersion, TLSVersion.TLSv1_3);
    assert.equal(s13.maximumVersion, TLSVersion.MAXIMUM_SUPPORTED);
    const o = handshake(c12, s13);
    assert.ok(o.server instanceof SSLError);
    assert.equal((o.server as SSLError).reason, 'UNSUPPORTED_PROTOCOL');
    done(o);
  });

  it('createDefaultContext loads roots, or the given cafile', () => {
    const d = createDefaultContext();
    assert.equal(d.verifyMode, CERT_REQUIRED);
    assert.equal(d.checkHostname, true);
    const o = handshake(d, tls.serverCtx);
    assert.ok(o.client instanceof SSLCertVerificationError, 'the test CA is not a public root');
    done(o);
    const mine = createDefaultContext(Purpose.SERVER_AUTH, { cafile: tls.pki.caCert });
    const o2 = handshake(mine, tls.serverCtx);
    assert.equal(o2.client, null);
    done(o2);
    const { readFileSync } = require_('node:fs');
    const viaData = createDefaultContext(Purpose.SERVER_AUTH, { cadata: readFileSync(tls.pki.caCert, 'latin1') });
    const o3 = handshake(viaData, tls.serverCtx);
    assert.equal(o3.client, null);
    done(o3);
    assert.equal(createDefaultContext(Purpose.CLIENT_AUTH).verifyMode, CERT_NONE);
  });

  it('a missing certificate or key file names the path', () => {
    const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
    assert.throws(() => ctx.loadCertChain('/nonexistent/cert.pem'), (e: SocketError) =>
      e instanceof SocketError && e.code === 'ENOENT' && e.message.includes('/nonexistent/cert.pem'));
    assert.throws(() => ctx.loadCertChain(tls.pki.serverCert, '/nonexistent/key.pem'), (e: SocketError) =>
      e.code === 'ENOENT' && e.message.includes('/nonexistent/key.pem'));
    assert.throws(() => ctx.loadVerifyLocations({ cafile: '/nonexistent/ca.pem' }), /\/nonexistent\/ca\.pem/);
    assert.throws(() => ctx.loadCertChain(tls.pki.caCert.replace('ca.pem', 'index.txt')), (e: SSLError) =>
      e instanceof SSLError && /expected a PEM certificate/.test(e.message));
  });

  it('a key that does not match its certificate', () => {
    const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
    assert.throws(() => ctx.loadCertChain(tls.pki.serverCert, tls.pki.clientKey), (e: SSLError) =>
      e instanceof SSLError && e.reason === 'KEY_VALUES_MISMATCH' && e.message.includes(tls.pki.clientKey) && e.message.includes('does not belong'));
  });

  it('an encrypted key: the right password works, a wrong or missing one is a clear error', () => {
    const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
    assert.throws(() => ctx.loadCertChain(tls.pki.serverCert, tls.pki.encryptedKey, 'wrong'), (e: SSLError) =>
      e instanceof SSLError && /wrong password/.test(e.message));
    assert.throws(() => ctx.loadCertChain(tls.pki.serverCert, tls.pki.encryptedKey), /is encrypted: pass its password/);
    ctx.loadCertChain(tls.pki.serverCert, tls.pki.encryptedKey, tls.pki.encryptedKeyPassword);
    const ctx2 = new SSLContext(PROTOCOL_TLS_SERVER);
    ctx2.loadCertChain(tls.pki.serverCert, tls.pki.encryptedKey, () => Buffer.from(tls.pki.encryptedKeyPassword));
    const o = handshake(tls.clientCtx, ctx2);
    assert.equal(o.client, null);
    done(o);
    // The shared error queue is left clean: Node's own crypto is unaffected.
    const { createPrivateKey } = require_('node:crypto');
    assert.throws(() => createPrivateKey('garbage'), (e: Error) => !/No such file/.test(e.message));
  });

  it('wrapping a closed socket, a UDP socket or a non-socket', () => {
    const s = new Socket();
    s.close();
    assert.throws(() => tls.clientCtx.wrapSocket(s, { serverHostname: 'x' }), (e: SocketError) => e.code === 'EBADF');
    const u = new Socket(2, SOCK_DGRAM);
    res.sockets.push(u);
    assert.throws(() => tls.clientCtx.wrapSocket(u, { serverHostname: 'x' }), /only SOCK_STREAM/);
    assert.ok(u.fileno() >= 0, 'the UDP socket is left alone');
    assert.throws(() => tls.clientCtx.wrapSocket({} as Socket), /must be a Socket/);
    const t = new Socket();
    res.sockets.push(t);
    assert.throws(() => tls.clientCtx.wrapSocket(t), /checkHostname requires serverHostname/);
    assert.throws(() => tls.clientCtx.wrapSocket(t, { serverSide: true }), /PROTOCOL_TLS_CLIENT/);
    assert.throws(() => tls.serverCtx.wrapSocket(t, { serverSide: true, serverHostname: 'x' }), /client mode/);
  });

  it("non-blocking with doHandshakeOnConnect: Python's ValueError", () => {
    const [c, a] = tcpPair();
    res.sockets.push(c, a);
    assert.throws(() => tls.clientCtx.wrapSocket(c, { serverHostname: 'localhost' }), /doHandshakeOnConnect/);
    assert.ok(c.fileno() >= 0);
  });

  it('want-errors and EOF carry Python numbers, never read as system errnos', () => {
    const [c, a] = tcpPair();
    const cs = tls.clientCtx.wrapSocket(c, { serverHostname: 'localhost', doHandshakeOnConnect: false, suppressRaggedEofs: false });
    assert.throws(() => cs.doHandshake(), (e: SSLError) => e instanceof SSLWantReadError && e.errno === SSL_ERROR_WANT_READ && e.code === 'ERR_SSL_WANT_READ');
    a.recv(4096); // the ClientHello, read so that close() sends FIN, not RST
    a.close();
    let err: unknown;
    for (let i = 0; i < 50 && err === undefined; i++) {
      try { cs.doHandshake(); } catch (e) { if (!(e instanceof SSLWantReadError)) err = e; }
    }
    assert.ok(err instanceof SSLError, String(err));
    assert.equal((err as SSLError).errno, SSL_ERROR_EOF);
    assert.equal((err as SSLError).message, '[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol');
    cs.close();
    cs.close();
    assert.equal(cs.fileno(), -1);
    // Unread data at the peer's close is a reset: a SocketError with the system errno.
    const [c2, a2] = tcpPair();
    const cs2 = tls.clientCtx.wrapSocket(c2, { serverHostname: 'localhost', doHandshakeOnConnect: false });
    assert.throws(() => cs2.doHandshake(), SSLWantReadError);
    a2.close();
    let err2: unknown;
    for (let i = 0; i < 50 && err2 === undefined; i++) {
      try { cs2.doHandshake(); } catch (e) { if (!(e instanceof SSLWantReadError)) err2 = e; }
    }
    assert.ok(err2 instanceof SocketError && !(err2 instanceof SSLError) && err2.code === 'ECONNRESET', String(err2));
    cs2.close();
  });
});

import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);
