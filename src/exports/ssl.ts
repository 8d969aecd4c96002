// `asyncore/ssl`: Python's ssl module, the part asyncore programs use, over Node's own OpenSSL.
export * from '../tls/constants.js';
export {
  SSLError, SSLWantReadError, SSLWantWriteError, SSLZeroReturnError, SSLEOFError, SSLSyscallError,
  SSLCertVerificationError,
} from '../tls/errors.js';
export type { SSLErrorInit } from '../tls/errors.js';
export { HAS_TLS } from '../tls/native.js';
export { SSLContext, createDefaultContext } from '../tls/context.js';
export type { KeyPassword, VerifyLocations, SniCallback } from '../tls/context.js';
export { SSLSocket } from '../tls/socket.js';
export type { WrapOptions } from '../tls/socket.js';
export type { PeerCert, RDN } from '../tls/cert.js';
export { sslChannel } from '../tls/channel.js';
export type { TlsChannel, TlsState, StartTlsOptions } from '../tls/channel.js';
export { OPENSSL_VERSION, OPENSSL_VERSION_NUMBER } from '../tls/version.js';
