// SSLContext: Python's ssl.SSLContext over an SSL_CTX of the OpenSSL inside Node.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { CTRL, clearErrors } from '../sys/openssl.js';
import { ENOENT, errno as errnoTable } from '../sys/errno.js';
import { SocketError } from '../errors.js';
import { describe, rangeError, typeError } from '../validate.js';
import type { Socket } from '../io/socket.js';
import {
  CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, DEFAULT_OPTIONS, PROTOCOL_TLS, PROTOCOL_TLS_CLIENT,
  PROTOCOL_TLS_SERVER, TLSVersion,
} from './constants.js';
import { SSLError } from './errors.js';
import { lib, queuedError } from './native.js';
import { alpnCallback, dropAlpnList, keepAlpnList, sniCallback } from './callbacks.js';
import { SSLSocket, type WrapOptions } from './socket.js';

type Ptr = unknown;

// CPython 3.11's default cipher string (TLS 1.2 and lower; TLS 1.3 suites are OpenSSL's).
const DEFAULT_CIPHERS = '@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM';
const SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 2;
const SSL_MODE_AUTO_RETRY = 4;

interface Owned { ctx: Ptr; alpn: Ptr | null }
const finalizer = new FinalizationRegistry<Owned>((o) => {
  lib().SSL_CTX_free(o.ctx);
  if (o.alpn) dropAlpnList(o.alpn);
});

/** A password: text, bytes, or a function returning either (Python's callable password). */
export type KeyPassword = string | Uint8Array | (() => string | Uint8Array);

/** Where trusted CA certificates come from. */
export interface VerifyLocations { cafile?: string; capath?: string; cadata?: string | Uint8Array }

/** The server-name callback: may switch `sock.context` to another context. */
export type SniCallback = (sock: SSLSocket, serverName: string | null, context: SSLContext) => void;

// Node's bundled roots, parsed once into X509s that stay alive for the process (stores take
// references, so each context adds them for the cost of a reference count).
let rootX509s: Ptr[] | null = null;

function readFile(path: string, what: string, syscall: string): Buffer {
  if (typeof path !== 'string' || path === '') throw typeError(`${syscall}(): ${what} must be a file path string, not ${describe(path)}`);
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
    throw new SocketError(errnoTable[code] ?? ENOENT, syscall, path, `cannot read the ${what}; check the path`);
  }
}

/** Parse every PEM certificate in `pem` (X509s the caller owns). */
function parsePem(pem: Uint8Array): Ptr[] {
  const L = lib();
  const buf = Buffer.from(pem);
  const bio = L.BIO_new_mem_buf(buf, buf.length);
  const out: Ptr[] = [];
  try {
    for (;;) {
      const x = L.PEM_read_bio_X509(bio, null, null, null);
      if (!x) break;
      out.push(x);
    }
  } finally {
    L.BIO_free(bio);
    clearErrors(); // the loop ends on PEM's "no start line"
  }
  return out;
}

/** Python's `ssl.SSLContext`: settings and certificates shared by the sockets it wraps. */
export class SSLContext {
  readonly protocol: number;
  /** @internal The SSL_CTX. */
  readonly _ctx: Ptr;
  #owned: Owned;
  #verifyMode: number;
  #checkHostname: boolean;
  #sniCallback: SniCallback | null = null;
  #alpn: string[] = [];

  constructor(protocol: number = PROTOCOL_TLS_CLIENT) {
    if (protocol !== PROTOCOL_TLS_CLIENT && protocol !== PROTOCOL_TLS_SERVER && protocol !== PROTOCOL_TLS) {
      throw rangeError(`SSLContext(): protocol must be PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER or PROTOCOL_TLS, not ${describe(protocol)}`);
    }
    const L = lib();
    clearErrors();
    const method = protocol === PROTOCOL_TLS_CLIENT ? L.TLS_client_method() : protocol === PROTOCOL_TLS_SERVER ? L.TLS_server_method() : L.TLS_method();
    const ctx = L.SSL_CTX_new(method);
    if (!ctx) throw queuedError('SSLContext', 'failed to allocate SSL context');
    this.protocol = protocol;
    this._ctx = ctx;
    this.#owned = { ctx, alpn: null };
    finalizer.register(this, this.#owned, this);
    L.SSL_CTX_set_options(ctx, DEFAULT_OPTIONS);
    L.SSL_CTX_ctrl(ctx, CTRL.MODE, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY, null);
    L.SSL_CTX_ctrl(ctx, CTRL.SET_MIN_PROTO_VERSION, TLSVersion.TLSv1_2, null);
    L.SSL_CTX_set_cipher_list(ctx, DEFAULT_CIPHERS);
    const client = protocol === PROTOCOL_TLS_CLIENT;
    this.#verifyMode = client ? CERT_REQUIRED : CERT_NONE;
    this.#checkHostname = client;
    this.#applyVerify();
  }

  #applyVerify(): void {
    const m = this.#verifyMode;
    // SSL_VERIFY_PEER = 1, SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 2 (a server asks and insists).
    lib().SSL_CTX_set_verify(this._ctx, m === CERT_NONE ? 0 : m === CERT_OPTIONAL ? 1 : 3, null);
  }

  /** CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED. */
  get verifyMode(): number {
    return this.#verifyMode;
  }

  set verifyMode(mode: number) {
    if (mode !== CERT_NONE && mode !== CERT_OPTIONAL && mode !== CERT_REQUIRED) {
      throw rangeError(`verifyMode must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED, not ${describe(mode)}`);
    }
    if (mode === CERT_NONE && this.#checkHostname) {
      throw rangeError('Cannot set verifyMode to CERT_NONE when checkHostname is enabled; set checkHostname = false first');
    }
    this.#verifyMode = mode;
    this.#applyVerify();
  }

  /** Match the peer certificate against `serverHostname` (enabling it turns on CERT_REQUIRED). */
  get checkHostname(): boolean {
    return this.#checkHostname;
  }

  set checkHostname(flag: boolean) {
    this.#checkHostname = !!flag;
    if (flag && this.#verifyMode === CERT_NONE) this.verifyMode = CERT_REQUIRED;
  }

  /** OpenSSL's option bits (OP_*). */
  get options(): number {
    return Number(lib().SSL_CTX_get_options(this._ctx));
  }

  set options(value: number) {
    const L = lib();
    const cur = Number(L.SSL_CTX_get_options(this._ctx));
    const clear = cur & ~value;
    if (clear) L.SSL_CTX_clear_options(this._ctx, clear >>> 0);
    L.SSL_CTX_set_options(this._ctx, value >>> 0);
  }

  #version(get: number, set: number, value: number | undefined, what: string, none: number): number {
    const L = lib();
    if (value === undefined) {
      const v = L.SSL_CTX_ctrl(this._ctx, get, 0, null);
      return v === 0 ? none : v;
    }
    const ok = Object.values(TLSVersion) as number[];
    if (!ok.includes(value)) throw rangeError(`${what} must be a TLSVersion (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3, ...), not ${describe(value)}`);
    L.SSL_CTX_ctrl(this._ctx, set, value < 0 ? 0 : value, null);
    return value;
  }

  /** The lowest protocol version allowed (TLSVersion). */
  get minimumVersion(): number {
    return this.#version(CTRL.GET_MIN_PROTO_VERSION, 0, undefined, 'minimumVersion', TLSVersion.MINIMUM_SUPPORTED);
  }

  set minimumVersion(v: number) {
    this.#version(0, CTRL.SET_MIN_PROTO_VERSION, v, 'minimumVersion', 0);
  }

  /** The highest protocol version allowed (TLSVersion). */
  get maximumVersion(): number {
    return this.#version(CTRL.GET_MAX_PROTO_VERSION, 0, undefined, 'maximumVersion', TLSVersion.MAXIMUM_SUPPORTED);
  }

  set maximumVersion(v: number) {
    this.#version(0, CTRL.SET_MAX_PROTO_VERSION, v, 'maximumVersion', 0);
  }

  /** Load this side's certificate chain and private key (PEM); the key may be in `certfile`. */
  loadCertChain(certfile: string, keyfile?: string | null, password?: KeyPassword | null): void {
    const L = lib();
    readFile(certfile, 'certificate file', 'loadCertChain');
    const keyPath = keyfile ?? certfile;
    const keyPem = readFile(keyPath, 'key file', 'loadCertChain');
    clearErrors();
    if (L.SSL_CTX_use_certificate_chain_file(this._ctx, certfile) !== 1) {
      const e = queuedError('loadCertChain', 'PEM lib');
      e.message += ` (in ${certfile}: expected a PEM certificate chain)`;
      throw e;
    }
    let pass: string | Uint8Array = '';
    if (password !== undefined && password !== null) {
      pass = typeof password === 'function' ? password() : password;
      if (typeof pass !== 'string' && !(pass instanceof Uint8Array)) {
        throw typeError(`loadCertChain(): password must be a string, bytes or a function returning one, not ${describe(pass)}`);
      }
    }
    const passText = typeof pass === 'string' ? pass : Buffer.from(pass).toString('latin1');
    const bio = L.BIO_new_mem_buf(keyPem, keyPem.length);
    // A NULL callback with a passphrase makes OpenSSL use it (and never prompt on a terminal).
    const pkey = L.PEM_read_bio_PrivateKey(bio, null, null, passText);
    L.BIO_free(bio);
    if (!pkey) {
      const encrypted = /ENCRYPTED/.test(keyPem.toString('latin1'));
      const e = queuedError('loadCertChain', 'PEM lib');
      e.message += encrypted
        ? (passText === '' ? ` (the key in ${keyPath} is encrypted: pass its password)` : ` (wrong password for the key in ${keyPath})`)
        : ` (in ${keyPath}: expected a PEM private key)`;
      throw e;
    }
    const ok = L.SSL_CTX_use_PrivateKey(this._ctx, pkey);
    L.EVP_PKEY_free(pkey);
    if (ok !== 1 || L.SSL_CTX_check_private_key(this._ctx) !== 1) {
      const e = queuedError('loadCertChain', 'key values mismatch');
      e.message += ` (the key in ${keyPath} does not belong to the certificate in ${certfile})`;
      throw e;
    }
  }

  /** Trust the CA certificates in `cafile`, `capath` or `cadata` (PEM text or DER bytes). */
  loadVerifyLocations(where: VerifyLocations | string = {}): void {
    const L = lib();
    const { cafile, capath, cadata } = typeof where === 'string' ? { cafile: where } as VerifyLocations : where ?? {};
    if (cafile === undefined && capath === undefined && cadata === undefined) {
      throw typeError('loadVerifyLocations(): give at least one of cafile, capath or cadata');
    }
    if (cafile !== undefined) readFile(cafile, 'CA file', 'loadVerifyLocations');
    if (cafile !== undefined || capath !== undefined) {
      clearErrors();
      if (L.SSL_CTX_load_verify_locations(this._ctx, cafile ?? null, capath ?? null) !== 1) {
        const e = queuedError('loadVerifyLocations', 'PEM lib');
        e.message += ` (in ${cafile ?? capath}: expected PEM CA certificates)`;
        throw e;
      }
    }
    if (cadata !== undefined) {
      let pem: Uint8Array;
      if (typeof cadata === 'string') pem = Buffer.from(cadata, 'latin1');
      else if (cadata instanceof Uint8Array) pem = Buffer.from(new X509Certificate(cadata).toString(), 'latin1');
      else throw typeError(`loadVerifyLocations(): cadata must be PEM text or DER bytes, not ${describe(cadata)}`);
      const certs = parsePem(pem);
      if (certs.length === 0) throw new SSLError(1, 'no certificate found in cadata; pass PEM text with BEGIN CERTIFICATE blocks', { syscall: 'loadVerifyLocations' });
      this.#addToStore(certs, true);
    }
  }

  #addToStore(certs: Ptr[], free: boolean): void {
    const L = lib();
    const store = L.SSL_CTX_get_cert_store(this._ctx);
    for (const x of certs) {
      L.X509_STORE_add_cert(store, x);
      if (free) L.X509_free(x);
    }
    clearErrors();
  }

  /** Trust Node's bundled roots (`tls.rootCertificates`) and the system's default store. */
  loadDefaultCerts(): void {
    const L = lib();
    rootX509s ??= parsePem(Buffer.from(rootCertificates.join('\n'), 'latin1'));
    this.#addToStore(rootX509s, false);
    L.SSL_CTX_set_default_verify_paths(this._ctx);
    clearErrors();
  }

  /** OpenSSL cipher list for TLS 1.2 and lower. */
  setCiphers(ciphers: string): void {
    if (typeof ciphers !== 'string') throw typeError(`setCiphers(): ciphers must be a string, not ${describe(ciphers)}`);
    clearErrors();
    if (lib().SSL_CTX_set_cipher_list(this._ctx, ciphers) !== 1) {
      const e = queuedError('setCiphers', 'No cipher can be selected.');
      e.message += `; check the cipher string ${JSON.stringify(ciphers)}`;
      throw e;
    }
  }

  /** The ALPN protocols to offer (client) or accept, in order of preference (server). */
  setAlpnProtocols(protocols: readonly string[]): void {
    if (!Array.isArray(protocols)) throw typeError(`setAlpnProtocols(): protocols must be an array of strings, not ${describe(protocols)}`);
    const parts: Buffer[] = [];
    for (const p of protocols) {
      const b = typeof p === 'string' ? Buffer.from(p, 'latin1') : null;
      if (!b || b.length === 0 || b.length > 255) throw rangeError(`setAlpnProtocols(): each protocol must be a string of 1-255 bytes, not ${describe(p)}`);
      parts.push(Buffer.from([b.length]), b);
    }
    const wire = Buffer.concat(parts);
    const L = lib();
    if (L.SSL_CTX_set_alpn_protos(this._ctx, wire, wire.length) !== 0) throw queuedError('setAlpnProtocols', 'failed to set ALPN protocols');
    const old = this.#owned.alpn;
    this.#owned.alpn = wire.length ? keepAlpnList(wire) : null;
    L.SSL_CTX_set_alpn_select_cb(this._ctx, this.#owned.alpn ? alpnCallback() : null, this.#owned.alpn);
    if (old) dropAlpnList(old);
    this.#alpn = [...protocols];
  }

  /** @internal The ALPN protocols set. */
  get _alpnProtocols(): readonly string[] {
    return this.#alpn;
  }

  /** Called during a server handshake with the name the client asked for (SNI). */
  get sniCallback(): SniCallback | null {
    return this.#sniCallback;
  }

  set sniCallback(cb: SniCallback | null) {
    if (cb !== null && typeof cb !== 'function') throw typeError(`sniCallback must be a function or null, not ${describe(cb)}`);
    if (this.protocol === PROTOCOL_TLS_CLIENT) throw rangeError('sniCallback is only for server contexts (PROTOCOL_TLS_SERVER)');
    this.#sniCallback = cb;
    lib().SSL_CTX_callback_ctrl(this._ctx, CTRL.SET_TLSEXT_SERVERNAME_CB, cb ? sniCallback() : null);
  }

  /**
   * Wrap a connected (or to-be-connected) stream socket: the SSLSocket takes over its fd and
   * `sock` is detached.
   */
  wrapSocket(sock: Socket, opts: WrapOptions = {}): SSLSocket {
    return SSLSocket._wrap(this, sock, opts);
  }
}

/** Python's `ssl.create_default_context`: verification on, default roots loaded. */
export function createDefaultContext(purpose: { oid: string } = { oid: '1.3.6.1.5.5.7.3.1' }, where: VerifyLocations = {}): SSLContext {
  const server = purpose?.oid === '1.3.6.1.5.5.7.3.2';
  if (!purpose || (purpose.oid !== '1.3.6.1.5.5.7.3.1' && !server)) throw typeError(`createDefaultContext(): purpose must be Purpose.SERVER_AUTH or Purpose.CLIENT_AUTH, not ${describe(purpose)}`);
  const ctx = new SSLContext(server ? PROTOCOL_TLS_SERVER : PROTOCOL_TLS_CLIENT);
  if (where.cafile !== undefined || where.capath !== undefined || where.cadata !== undefined) ctx.loadVerifyLocations(where);
  else if (ctx.verifyMode !== CERT_NONE) ctx.loadDefaultCerts();
  return ctx;
}
