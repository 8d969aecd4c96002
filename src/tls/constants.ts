// Python's ssl constants with Python's values (3.11 on OpenSSL 3), so ported code that
// compares or prints them sees the same numbers.

export const PROTOCOL_TLS = 2;
export const PROTOCOL_TLS_CLIENT = 16;
export const PROTOCOL_TLS_SERVER = 17;

export const CERT_NONE = 0;
export const CERT_OPTIONAL = 1;
export const CERT_REQUIRED = 2;

/** `err.errno` of an SSLError: Python's `SSL_ERROR_*` numbers. */
export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_WANT_X509_LOOKUP = 4;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;
export const SSL_ERROR_WANT_CONNECT = 7;
export const SSL_ERROR_EOF = 8;
export const SSL_ERROR_INVALID_ERROR_CODE = 10;

export const OP_ALL = 0x80000050;
export const OP_NO_SSLv2 = 0;
export const OP_NO_SSLv3 = 0x02000000;
export const OP_NO_TLSv1 = 0x04000000;
export const OP_NO_TLSv1_1 = 0x10000000;
export const OP_NO_TLSv1_2 = 0x08000000;
export const OP_NO_TLSv1_3 = 0x20000000;
export const OP_NO_COMPRESSION = 0x00020000;
export const OP_CIPHER_SERVER_PREFERENCE = 0x00400000;
export const OP_SINGLE_DH_USE = 0;
export const OP_SINGLE_ECDH_USE = 0;
export const OP_NO_TICKET = 0x00004000;
export const OP_NO_RENEGOTIATION = 0x40000000;
export const OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000;
export const OP_IGNORE_UNEXPECTED_EOF = 0x80;

/** The options Python 3.11 sets on a new context (and so do we). */
export const DEFAULT_OPTIONS = (OP_ALL | OP_NO_SSLv3 | OP_NO_COMPRESSION | OP_CIPHER_SERVER_PREFERENCE |
  OP_ENABLE_MIDDLEBOX_COMPAT) >>> 0;

/** Python's `ssl.TLSVersion` (wire values; the two SUPPORTED markers are Python's). */
export const TLSVersion = Object.freeze({
  MINIMUM_SUPPORTED: -2,
  MAXIMUM_SUPPORTED: -1,
  TLSv1: 0x0301,
  TLSv1_1: 0x0302,
  TLSv1_2: 0x0303,
  TLSv1_3: 0x0304,
} as const);
export type TLSVersion = (typeof TLSVersion)[keyof typeof TLSVersion];

/** Python's `ssl.Purpose`: what a default context is for (the extended key usage OID). */
export const Purpose = Object.freeze({
  SERVER_AUTH: Object.freeze({ name: 'SERVER_AUTH', oid: '1.3.6.1.5.5.7.3.1' }),
  CLIENT_AUTH: Object.freeze({ name: 'CLIENT_AUTH', oid: '1.3.6.1.5.5.7.3.2' }),
});
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

export const HAS_SNI = true;
export const HAS_ALPN = true;
export const HAS_TLSv1_3 = true;
