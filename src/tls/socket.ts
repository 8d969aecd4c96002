// SSLSocket: Python's ssl.SSLSocket. OpenSSL reads and writes the descriptor itself (SSL_set_fd);
// a non-blocking socket raises SSLWantReadError/SSLWantWriteError exactly where Python's does.
import { inspect } from 'node:util';
import { isIP } from 'node:net';
import { CTRL, addressOf, alpnSelected, clearErrors, lastErrno, resetErrno, x509Der } from '../sys/openssl.js';
import { EAGAIN, EBADF } from '../sys/errno.js';
import { closedError, socketError } from '../errors.js';
import { describe, rangeError, requireBytes, requireSize, typeError } from '../validate.js';
import { Socket, type Address } from '../io/socket.js';
import { copyOut, scratchFor } from '../io/fd.js';
import type { ChannelSocket } from '../io/types.js';
import { CERT_NONE } from './constants.js';
import {
  SSLEOFError, SSLWantReadError, SSLWantWriteError, SSLZeroReturnError,
} from './errors.js';
import { lib, queuedError as queued } from './native.js';
import { checkWrap } from './wrap.js';
import { type Failure, failureOf } from './failure.js';
import { liveSockets } from './callbacks.js';
import { decodeCert, type PeerCert } from './cert.js';
import type { SSLContext } from './context.js';

type Ptr = unknown;

/** Options of `SSLContext.wrapSocket`. */
export interface WrapOptions {
  serverSide?: boolean;
  doHandshakeOnConnect?: boolean;
  suppressRaggedEofs?: boolean;
  serverHostname?: string | null;
}

const E_WANT_READ = 2, E_WANT_WRITE = 3; // SSL_get_error() values
const X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS = 0x4;
const SSL_RECEIVED_SHUTDOWN = 2;
const EMPTY = Buffer.alloc(0);
const PEEK = Buffer.alloc(1);
const READ_AHEAD_BYTES = 65536 + 512;

interface Native { ssl: Ptr; key: bigint }
const finalizer = new FinalizationRegistry<Native>((n) => {
  if (!n.ssl) return;
  liveSockets.delete(n.key);
  lib().SSL_free(n.ssl);
});

/** Python's `ssl.SSLSocket`: a TLS session over a stream socket's descriptor. */
export class SSLSocket implements ChannelSocket {
  readonly serverSide: boolean;
  readonly serverHostname: string | null;
  readonly suppressRaggedEofs: boolean;
  readonly doHandshakeOnConnect: boolean;
  #sock: Socket;
  #native: Native;
  #context: SSLContext;
  #handshakeDone = false;
  #sniError: unknown = null;
  /** @internal Set by _enterChannelMode(). */
  _channelMode = false;
  #deferred: Failure | null = null;
  /** What OpenSSL holds is an incomplete record: only the fd can bring the rest (poll sees it). */
  #starved = false;
  /** @internal A read needed the socket writable (a TLS 1.3 key update, renegotiation). */
  _readWantsWrite = false;

  private constructor(context: SSLContext, sock: Socket, opts: Required<WrapOptions>) {
    const L = lib();
    this.#context = context;
    this.serverSide = opts.serverSide;
    this.serverHostname = opts.serverHostname;
    this.suppressRaggedEofs = opts.suppressRaggedEofs;
    this.doHandshakeOnConnect = opts.doHandshakeOnConnect;
    clearErrors();
    const ssl = L.SSL_new(context._ctx);
    if (!ssl) throw queued('wrapSocket', 'failed to allocate an SSL session');
    const fd = sock.fileno();
    this.#native = { ssl, key: addressOf(ssl) };
    try {
      if (L.SSL_set_fd(ssl, fd) !== 1) throw queued('wrapSocket', 'SSL_set_fd failed');
      if (opts.serverSide) {
        L.SSL_set_accept_state(ssl);
      } else {
        L.SSL_set_connect_state(ssl);
        const host = opts.serverHostname;
        if (host !== null) {
          const ip = isIP(host) !== 0;
          if (!ip) L.SSL_ctrl(ssl, CTRL.SET_TLSEXT_HOSTNAME, 0, host); // SNI is for names only
          if (context.checkHostname) {
            const param = L.SSL_get0_param(ssl);
            L.X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const ok = ip ? L.X509_VERIFY_PARAM_set1_ip_asc(param, host) : L.SSL_set1_host(ssl, host);
            if (ok !== 1) throw queued('wrapSocket', `invalid server hostname ${JSON.stringify(host)}`);
          }
        }
      }
    } catch (e) {
      L.SSL_free(ssl);
      throw e;
    }
    // Take over the descriptor: the caller's Socket is detached, as in Python.
    this.#sock = new Socket(sock.family, sock.type, sock.proto, sock.detach());
    liveSockets.set(this.#native.key, this);
    finalizer.register(this, this.#native, this);
  }

  /** @internal SSLContext.wrapSocket. */
  static _wrap(context: SSLContext, sock: Socket, opts: WrapOptions): SSLSocket {
    const { connected, ...o } = checkWrap(context, sock, opts);
    const s = new SSLSocket(context, sock, o);
    if (connected && o.doHandshakeOnConnect) {
      try {
        s.doHandshake();
      } catch (e) {
        s.close();
        throw e;
      }
    }
    return s;
  }

  /** The context; assigning another one (in an sniCallback) switches the session to it. */
  get context(): SSLContext {
    return this.#context;
  }

  set context(ctx: SSLContext) {
    if (!ctx || typeof ctx !== 'object' || !('_ctx' in ctx)) throw typeError(`context must be an SSLContext, not ${describe(ctx)}`);
    lib().SSL_set_SSL_CTX(this.#ssl('context'), ctx._ctx);
    this.#context = ctx;
  }

  get family(): number { return this.#sock.family; }
  get type(): number { return this.#sock.type; }
  get proto(): number { return this.#sock.proto; }

  #ssl(syscall: string): Ptr {
    const ssl = this.#native.ssl;
    if (!ssl) throw closedError(syscall);
    return ssl;
  }

  /** @internal The server-name callback, run by OpenSSL inside the handshake. */
  _onServerName(name: string | null): number {
    const cb = this.#context.sniCallback;
    if (!cb) return 0;
    try {
      cb(this, name, this.#context);
      return 0;
    } catch (e) {
      this.#sniError = e;
      return 2; // SSL_TLSEXT_ERR_ALERT_FATAL
    }
  }

  /**
   * Turn a failed OpenSSL call into an SSLError, or -errno for a system error. `err` is
   * errno read right after the call.
   */
  #failure(ret: number, err: number, syscall: string): Failure {
    const f = failureOf(this.#native.ssl, ret, err, syscall, this.serverHostname);
    if (this.#sniError !== null && typeof f !== 'number' && !(f instanceof SSLWantReadError || f instanceof SSLWantWriteError)) {
      // The handshake failed because the sniCallback threw: report what it threw.
      const e = this.#sniError;
      this.#sniError = null;
      throw e;
    }
    return f;
  }

  #throw(f: Failure, syscall: string): never {
    throw typeof f === 'number' ? socketError(-f, syscall) : f;
  }

  /** Run (or continue) the TLS handshake. Non-blocking: raises SSLWantReadError/SSLWantWriteError. */
  doHandshake(): void {
    const ssl = this.#ssl('do_handshake');
    const L = lib();
    clearErrors();
    resetErrno();
    const r = L.SSL_do_handshake(ssl);
    const err = lastErrno();
    if (r === 1) {
      this.#handshakeDone = true;
      return;
    }
    this.#throw(this.#failure(r, err, 'do_handshake'), 'do_handshake');
  }

  /** @internal Whether the handshake has completed. */
  get _handshakeDone(): boolean {
    return this.#handshakeDone;
  }

  /**
   * @internal sslChannel's mode: the raw paths report the want-errors as -EAGAIN (so every
   * Dispatcher send path sees "would block"), and OpenSSL reads ahead up to 64 KiB per read(2)
   * with recvRaw decrypting every record it holds (the channel polls _hasPending()).
   */
  _enterChannelMode(): void {
    this._channelMode = true;
    const L = lib();
    L.SSL_ctrl(this.#native.ssl, CTRL.SET_READ_AHEAD, 1, null);
    L.SSL_set_default_read_buffer_len(this.#native.ssl, READ_AHEAD_BYTES);
  }

  /** @internal Bytes inside OpenSSL (decrypted or not) that a poll of the fd cannot see. */
  _hasPending(): boolean {
    const ssl = this.#native.ssl;
    if (!ssl) return false;
    return this.#deferred !== null || lib().SSL_pending(ssl) > 0 || (!this.#starved && lib().SSL_has_pending(ssl) === 1);
  }

  /** @internal recv without throwing for system errors: data, or -errno; SSL errors throw. */
  recvRaw(n: number, _flags = 0): Buffer | number {
    const ssl = this.#native.ssl;
    if (!ssl) return -EBADF;
    if (n === 0) return EMPTY;
    const buf = scratchFor(n);
    const L = lib();
    clearErrors();
    resetErrno();
    let f = this.#deferred;
    let r = f === null ? L.SSL_read(ssl, buf, n) : 0;
    const err = lastErrno();
    if (r > 0) {
      this.#starved = false;
      // Channel mode: decrypt the further records OpenSSL already holds, up to n bytes; a
      // failure after some data waits for the next call (a want-error is simply the end).
      while (this._channelMode && r < n && L.SSL_has_pending(ssl) === 1) {
        resetErrno();
        const more = L.SSL_read(ssl, buf.subarray(r), n - r);
        if (more > 0) { r += more; continue; }
        const g = this.#failure(more, lastErrno(), 'read');
        if (g instanceof SSLWantReadError) this.#starved = true;
        else if (!(g instanceof SSLWantWriteError)) this.#deferred = g;
        break;
      }
      return copyOut(buf, r);
    }
    this.#deferred = null;
    f ??= this.#failure(r, err, 'read');
    if (typeof f === 'number') return f;
    if (this._channelMode && (f instanceof SSLWantReadError || f instanceof SSLWantWriteError)) {
      this._readWantsWrite = f instanceof SSLWantWriteError;
      this.#starved = !this._readWantsWrite;
      return -EAGAIN;
    }
    // A clean close_notify, or (with suppressRaggedEofs) an EOF without one: end of stream.
    if (f instanceof SSLZeroReturnError && (lib().SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN)) return EMPTY;
    if (f instanceof SSLEOFError && this.suppressRaggedEofs) return EMPTY;
    throw f;
  }

  /**
   * @internal Process what arrived (session tickets, key updates) without consuming data: true
   * when a read would return data, EOF or an error; false when only TLS records came.
   */
  _readReady(): boolean {
    const ssl = this.#native.ssl;
    if (!ssl) return true;
    clearErrors();
    resetErrno();
    const r = lib().SSL_peek(ssl, PEEK, 1);
    if (r > 0 || this.#deferred !== null) return true;
    const code = lib().SSL_get_error(ssl, r);
    if (code !== E_WANT_READ && code !== E_WANT_WRITE) return true; // recv reports it
    clearErrors();
    this._readWantsWrite = code === E_WANT_WRITE;
    this.#starved = code === E_WANT_READ;
    return false;
  }

  /** Read up to `n` decrypted bytes; an empty Buffer means the TLS session (or connection) ended. */
  recv(n: number, flags = 0): Buffer {
    requireSize(n, 'recv(): bufsize');
    if (flags !== 0) throw rangeError('recv(): flags are not supported on an SSLSocket; pass 0');
    this.#ssl('read');
    const r = this.recvRaw(n, 0);
    if (typeof r === 'number') throw socketError(-r, 'recv');
    return r;
  }

  /** Python's `read(len)`. */
  read(len = 1024): Buffer { return this.recv(len); }

  /** @internal send without throwing for system errors: bytes written, or -errno. */
  sendRaw(data: Uint8Array, _flags = 0): number {
    const ssl = this.#native.ssl;
    if (!ssl) return -EBADF;
    if (data.length === 0) return 0;
    clearErrors();
    resetErrno();
    const r = lib().SSL_write(ssl, data, data.length);
    const err = lastErrno();
    if (r > 0) return r;
    const f = this.#failure(r, err, 'write');
    if (typeof f === 'number') return f;
    if (this._channelMode && (f instanceof SSLWantReadError || f instanceof SSLWantWriteError)) return -EAGAIN;
    throw f;
  }

  /** Encrypt and send `data`; returns the byte count (all of it: no partial writes, as in Python). */
  send(data: Uint8Array, flags = 0): number {
    const buf = requireBytes(data, 'send()');
    if (flags !== 0) throw rangeError('send(): flags are not supported on an SSLSocket; pass 0');
    this.#ssl('write');
    const r = this.sendRaw(buf, 0);
    if (r < 0) throw socketError(-r, 'send');
    return r;
  }

  /** Python's `write(data)`. */
  write(data: Uint8Array): number { return this.send(data); }

  /** Send all of `data` (a non-blocking socket raises the want-errors as Python's does). */
  sendall(data: Uint8Array, flags = 0): void {
    let buf = requireBytes(data, 'sendall()');
    while (buf.length > 0) buf = buf.subarray(this.send(buf, flags));
  }

  /** Decrypted bytes OpenSSL holds that a poll of the fd cannot see. */
  pending(): number {
    const ssl = this.#native.ssl;
    return ssl ? lib().SSL_pending(ssl) : 0;
  }

  /**
   * Send close_notify and wait for the peer's; then return the plain Socket (this SSLSocket
   * is detached). Non-blocking: raises SSLWantReadError until the peer's close_notify arrives.
   */
  unwrap(): Socket {
    const ssl = this.#ssl('shutdown');
    const L = lib();
    // Reading ahead could swallow plain text that follows the peer's close_notify.
    if (this._channelMode) L.SSL_ctrl(ssl, CTRL.SET_READ_AHEAD, 0, null);
    for (let tries = 0; ; tries++) {
      clearErrors();
      resetErrno();
      const r = L.SSL_shutdown(ssl);
      const err = lastErrno();
      if (r === 1) break;
      if (r === 0 && tries === 0) continue; // ours is sent; a second call reads the peer's
      if (r === 0) throw new SSLWantReadError(undefined, { syscall: 'shutdown' });
      this.#throw(this.#failure(r, err, 'shutdown'), 'shutdown');
    }
    this.#freeSsl();
    const plain = new Socket(this.#sock.family, this.#sock.type, this.#sock.proto, this.#sock.detach());
    return plain;
  }

  #freeSsl(): void {
    const n = this.#native;
    if (!n.ssl) return;
    finalizer.unregister(this);
    liveSockets.delete(n.key);
    lib().SSL_free(n.ssl);
    n.ssl = null;
    clearErrors();
  }

  /** The peer's certificate: Python's dict (empty when unverified), DER bytes, or null. */
  getpeercert(binaryForm = false): PeerCert | Buffer | null {
    const ssl = this.#ssl('getpeercert');
    if (!this.#handshakeDone && lib().SSL_is_init_finished(ssl) !== 1) throw rangeError('getpeercert(): handshake not done yet; call it after doHandshake() completes');
    const L = lib();
    const x = L.SSL_get1_peer_certificate(ssl);
    if (!x) return null;
    let der: Buffer;
    try {
      der = x509Der(x);
    } finally {
      L.X509_free(x);
    }
    if (binaryForm) return der;
    if (this.#context.verifyMode === CERT_NONE) return {} as PeerCert;
    return decodeCert(der);
  }

  /** `[name, protocol, bits]` of the negotiated cipher, or null before the handshake. */
  cipher(): [name: string, protocol: string, bits: number] | null {
    const ssl = this.#native.ssl;
    if (!ssl) return null;
    const L = lib();
    const c = L.SSL_get_current_cipher(ssl);
    if (!c) return null;
    return [L.SSL_CIPHER_get_name(c), L.SSL_CIPHER_get_version(c), L.SSL_CIPHER_get_bits(c, null)];
  }

  /** 'TLSv1.3', 'TLSv1.2', ... once the handshake is done; else null. */
  version(): string | null {
    const ssl = this.#native.ssl;
    if (!ssl || (!this.#handshakeDone && lib().SSL_is_init_finished(ssl) !== 1)) return null;
    return lib().SSL_get_version(ssl);
  }

  /** The ALPN protocol both sides agreed on, or null. */
  selectedAlpnProtocol(): string | null {
    const ssl = this.#native.ssl;
    return ssl ? alpnSelected(ssl) : null;
  }

  /** Close without close_notify (as Python's close); idempotent. */
  close(): void {
    this.#freeSsl();
    this.#sock.close();
  }

  fileno(): number { return this.#native.ssl ? this.#sock.fileno() : -1; }
  setblocking(flag: boolean): void { this.#sock.setblocking(flag); }
  getblocking(): boolean { return this.#sock.getblocking(); }
  settimeout(value: number | null): void { this.#sock.settimeout(value); }
  gettimeout(): number | null { return this.#sock.gettimeout(); }
  getsockopt(level: number, opt: number): number;
  getsockopt(level: number, opt: number, buflen: number): Buffer;
  getsockopt(level: number, opt: number, buflen?: number): number | Buffer {
    return buflen === undefined ? this.#sock.getsockopt(level, opt) : this.#sock.getsockopt(level, opt, buflen);
  }
  setsockopt(level: number, opt: number, value: number | boolean | Uint8Array): void { this.#sock.setsockopt(level, opt, value); }
  getsockname(): Address { return this.#sock.getsockname(); }
  getpeername(): Address { return this.#sock.getpeername(); }
  shutdown(how: number): void { this.#sock.shutdown(how); }
  bind(addr: Address): void { this.#sock.bind(addr); }
  listen(backlog?: number): void { this.#sock.listen(backlog); }

  /** Accept a connection, wrapped server-side with this socket's context and settings. */
  accept(): [SSLSocket, Address] {
    const [s, addr] = this.#sock.accept();
    return [this.#context.wrapSocket(s, { serverSide: true, doHandshakeOnConnect: this.doHandshakeOnConnect, suppressRaggedEofs: this.suppressRaggedEofs }), addr];
  }

  /** Connect, then (if doHandshakeOnConnect) run the handshake. */
  connect(addr: Address): void {
    this.#sock.connect(addr);
    if (this.doHandshakeOnConnect) this.doHandshake();
  }

  /** connect_ex: 0 or a positive errno; the handshake runs after a completed connect. */
  connectEx(addr: Address): number {
    const r = this.#sock.connectEx(addr);
    if (r === 0 && this.doHandshakeOnConnect) this.doHandshake();
    return r;
  }

  toString(): string {
    return this.#native.ssl ? this.#sock.toString().replace(/^<Socket/, '<SSLSocket') : `<SSLSocket [closed] fd=-1, family=${this.family}, type=${this.type}, proto=${this.proto}>`;
  }

  [inspect.custom](): string { return this.toString(); }
}
