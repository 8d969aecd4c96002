// The OpenSSL seam: the OpenSSL 3 that the node binary itself exports, reached with
// koffi.load(null). The only koffi code for TLS. Functions here return what OpenSSL returns
// (pointers, ints); src/tls turns them into objects and errors.
//
// Rules learned the hard way (see issue 12):
// - OpenSSL's error queue is shared with Node's crypto: clear it before every operation and
//   drain it after every failure (errorQueue()).
// - errno is read right after the I/O call (koffi.errno()), before any other call.
// - native memory is copied out with memcpy into Buffers (never a koffi.view alias).
// - never call OpenSSL from another thread: no koffi async calls here.
import koffi from 'koffi';
import { copyFromNative } from './libc.js';

type Ptr = unknown;

/** Why OpenSSL cannot be used here, or null when it can. */
export let unavailable: string | null = null;

// SSL_ctrl / SSL_CTX_ctrl numbers of the macros OpenSSL does not export as functions.
export const CTRL = {
  SET_TLSEXT_HOSTNAME: 55,
  SET_TLSEXT_SERVERNAME_CB: 53,
  SET_TLSEXT_SERVERNAME_ARG: 54,
  SET_MIN_PROTO_VERSION: 123,
  SET_MAX_PROTO_VERSION: 124,
  GET_MIN_PROTO_VERSION: 130,
  GET_MAX_PROTO_VERSION: 131,
  MODE: 33,
  SET_READ_AHEAD: 41,
  CLEAR_MODE: 78,
} as const;

function bind(lib: ReturnType<typeof koffi.load>) {
  const f = (s: string) => lib.func(s);
  return {
    OpenSSL_version_num: f('unsigned long OpenSSL_version_num(void)'),
    TLS_method: f('void *TLS_method(void)'),
    TLS_client_method: f('void *TLS_client_method(void)'),
    TLS_server_method: f('void *TLS_server_method(void)'),
    SSL_CTX_new: f('void *SSL_CTX_new(void *)'),
    SSL_CTX_free: f('void SSL_CTX_free(void *)'),
    SSL_CTX_ctrl: f('long SSL_CTX_ctrl(void *, int, long, void *)'),
    SSL_CTX_callback_ctrl: f('long SSL_CTX_callback_ctrl(void *, int, void *)'),
    SSL_CTX_set_options: f('uint64_t SSL_CTX_set_options(void *, uint64_t)'),
    SSL_CTX_clear_options: f('uint64_t SSL_CTX_clear_options(void *, uint64_t)'),
    SSL_CTX_get_options: f('uint64_t SSL_CTX_get_options(void *)'),
    SSL_CTX_set_verify: f('void SSL_CTX_set_verify(void *, int, void *)'),
    SSL_CTX_load_verify_locations: f('int SSL_CTX_load_verify_locations(void *, const char *, const char *)'),
    SSL_CTX_set_default_verify_paths: f('int SSL_CTX_set_default_verify_paths(void *)'),
    SSL_CTX_get_cert_store: f('void *SSL_CTX_get_cert_store(void *)'),
    SSL_CTX_use_certificate_chain_file: f('int SSL_CTX_use_certificate_chain_file(void *, const char *)'),
    SSL_CTX_use_PrivateKey: f('int SSL_CTX_use_PrivateKey(void *, void *)'),
    SSL_CTX_check_private_key: f('int SSL_CTX_check_private_key(void *)'),
    SSL_CTX_set_cipher_list: f('int SSL_CTX_set_cipher_list(void *, const char *)'),
    SSL_CTX_set_alpn_protos: f('int SSL_CTX_set_alpn_protos(void *, void *, unsigned int)'),
    SSL_CTX_set_alpn_select_cb: f('void SSL_CTX_set_alpn_select_cb(void *, void *, void *)'),
    SSL_select_next_proto: f('int SSL_select_next_proto(void *, void *, void *, unsigned int, void *, unsigned int)'),
    X509_STORE_add_cert: f('int X509_STORE_add_cert(void *, void *)'),
    SSL_new: f('void *SSL_new(void *)'),
    SSL_free: f('void SSL_free(void *)'),
    SSL_set_fd: f('int SSL_set_fd(void *, int)'),
    SSL_set_connect_state: f('void SSL_set_connect_state(void *)'),
    SSL_set_accept_state: f('void SSL_set_accept_state(void *)'),
    SSL_ctrl: f('long SSL_ctrl(void *, int, long, void *)'),
    SSL_set1_host: f('int SSL_set1_host(void *, const char *)'),
    SSL_get0_param: f('void *SSL_get0_param(void *)'),
    X509_VERIFY_PARAM_set1_ip_asc: f('int X509_VERIFY_PARAM_set1_ip_asc(void *, const char *)'),
    X509_VERIFY_PARAM_set_hostflags: f('void X509_VERIFY_PARAM_set_hostflags(void *, unsigned int)'),
    SSL_do_handshake: f('int SSL_do_handshake(void *)'),
    SSL_read: f('int SSL_read(void *, void *, int)'),
    SSL_write: f('int SSL_write(void *, void *, int)'),
    SSL_peek: f('int SSL_peek(void *, void *, int)'),
    SSL_pending: f('int SSL_pending(void *)'),
    SSL_has_pending: f('int SSL_has_pending(void *)'),
    SSL_set_default_read_buffer_len: f('void SSL_set_default_read_buffer_len(void *, unsigned long)'),
    SSL_shutdown: f('int SSL_shutdown(void *)'),
    SSL_get_shutdown: f('int SSL_get_shutdown(void *)'),
    SSL_get_error: f('int SSL_get_error(void *, int)'),
    SSL_is_init_finished: f('int SSL_is_init_finished(void *)'),
    SSL_get_verify_result: f('long SSL_get_verify_result(void *)'),
    X509_verify_cert_error_string: f('const char *X509_verify_cert_error_string(long)'),
    SSL_get1_peer_certificate: f('void *SSL_get1_peer_certificate(void *)'),
    X509_free: f('void X509_free(void *)'),
    i2d_X509: f('int i2d_X509(void *, _Inout_ void **)'),
    SSL_get_current_cipher: f('void *SSL_get_current_cipher(void *)'),
    SSL_CIPHER_get_name: f('const char *SSL_CIPHER_get_name(void *)'),
    SSL_CIPHER_get_version: f('const char *SSL_CIPHER_get_version(void *)'),
    SSL_CIPHER_get_bits: f('int SSL_CIPHER_get_bits(void *, void *)'),
    SSL_get_version: f('const char *SSL_get_version(void *)'),
    SSL_get0_alpn_selected: f('void SSL_get0_alpn_selected(void *, _Out_ void **, _Out_ uint32_t *)'),
    SSL_get_servername: f('const char *SSL_get_servername(void *, int)'),
    SSL_set_SSL_CTX: f('void *SSL_set_SSL_CTX(void *, void *)'),
    BIO_new_mem_buf: f('void *BIO_new_mem_buf(void *, int)'),
    BIO_free: f('int BIO_free(void *)'),
    PEM_read_bio_X509: f('void *PEM_read_bio_X509(void *, void *, void *, void *)'),
    PEM_read_bio_PrivateKey: f('void *PEM_read_bio_PrivateKey(void *, void *, void *, const char *)'),
    EVP_PKEY_free: f('void EVP_PKEY_free(void *)'),
    ERR_get_error: f('unsigned long ERR_get_error(void)'),
    ERR_clear_error: f('void ERR_clear_error(void)'),
    ERR_reason_error_string: f('const char *ERR_reason_error_string(unsigned long)'),
    CRYPTO_free: f('void CRYPTO_free(void *, const char *, int)'),
  };
}

type Api = ReturnType<typeof bind>;
let api: Api | null = null;
try {
  const lib = koffi.load(null as unknown as string);
  const bound = bind(lib);
  const v = Number(bound.OpenSSL_version_num());
  if (v < 0x30000000) unavailable = `the OpenSSL in this node binary is ${v.toString(16)}, older than 3.0; use Node.js 18 or later built with its bundled OpenSSL`;
  else api = bound;
} catch (e) {
  unavailable = `this node binary does not export OpenSSL's symbols (${(e as Error).message}); use an official Node.js build`;
}

/** The bound functions; throws (through `fail`) when OpenSSL cannot be reached. */
export function ossl(fail: (why: string) => Error): Api {
  if (api === null) throw fail(unavailable ?? 'OpenSSL is unavailable');
  return api;
}

/** The OpenSSL version number (0 when unavailable). */
export function versionNumber(): number {
  return api ? Number(api.OpenSSL_version_num()) : 0;
}

/** One entry of OpenSSL's error queue: the packed code and its reason text. */
export interface QueuedError { code: number; lib: number; reason: number; text: string }

/** Drain OpenSSL's error queue (oldest first), leaving it empty for Node's crypto. */
export function errorQueue(): QueuedError[] {
  const out: QueuedError[] = [];
  if (!api) return out;
  for (let i = 0; i < 64; i++) {
    const code = Number(api.ERR_get_error());
    if (code === 0) break;
    // OpenSSL 3: bit 31 marks a system error (errno in the low bits); else lib << 23 | reason.
    const sys = code >= 0x80000000;
    const lib = sys ? 2 : (code >>> 23) & 0xff;
    const reason = sys ? code & 0x7fffffff : code & 0x7fffff;
    out.push({ code, lib, reason, text: api.ERR_reason_error_string(code) ?? '' });
  }
  return out;
}

/** Empty the error queue before an operation, so a stale error is never reported as ours. */
export function clearErrors(): void {
  api?.ERR_clear_error();
}

/** errno of the last call made through koffi (read it right after the call). */
export function lastErrno(): number {
  return koffi.errno();
}

/** Set errno to 0 before an I/O call, so a 0 afterwards means "no system error". */
export function resetErrno(): void {
  koffi.errno(0);
}

/** The DER encoding of an X509*, copied into a Buffer (OpenSSL's copy is freed). */
export function x509Der(x: Ptr): Buffer {
  const a = api!;
  const out: Ptr[] = [null];
  const n = a.i2d_X509(x, out);
  if (n <= 0 || !out[0]) return Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(n);
  copyFromNative(buf, out[0], n);
  a.CRYPTO_free(out[0], 'asyncore', 0);
  return buf;
}

/** The ALPN protocol selected on `ssl`, or null. */
export function alpnSelected(ssl: Ptr): string | null {
  const data: Ptr[] = [null];
  const len = [0];
  api!.SSL_get0_alpn_selected(ssl, data, len);
  if (!data[0] || !len[0]) return null;
  const buf = Buffer.allocUnsafe(len[0]);
  copyFromNative(buf, data[0], len[0]);
  return buf.toString('latin1');
}

/** A native address as a number-like key (to find our object from a callback's pointer). */
export function addressOf(p: Ptr): bigint {
  return koffi.address(p) as bigint;
}

/** A native copy of `bytes` that lives until freeNative (for lists OpenSSL keeps pointing at). */
export function allocNative(bytes: Uint8Array): Ptr {
  const p = koffi.alloc('uint8_t', Math.max(1, bytes.length));
  koffi.encode(p, koffi.array('uint8_t', bytes.length), Array.from(bytes));
  return p;
}

export function freeNative(p: Ptr): void {
  koffi.free(p);
}

const ALPN_CB = koffi.proto('int asyncore_alpn_cb(void *ssl, void *out, void *outlen, void *in, unsigned int inlen, void *arg)');
const SNI_CB = koffi.proto('int asyncore_sni_cb(void *ssl, void *al, void *arg)');

/** Register a persistent ALPN select callback (never unregistered: contexts may outlive it). */
export function registerAlpnCallback(fn: (ssl: Ptr, out: Ptr, outlen: Ptr, inp: Ptr, inlen: number, arg: Ptr) => number): Ptr {
  return koffi.register(fn, koffi.pointer(ALPN_CB));
}

/** Register a persistent servername (SNI) callback. */
export function registerSniCallback(fn: (ssl: Ptr, al: Ptr, arg: Ptr) => number): Ptr {
  return koffi.register(fn, koffi.pointer(SNI_CB));
}
