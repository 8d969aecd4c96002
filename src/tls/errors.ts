// Python's ssl exception classes. SSLError extends SocketError (Python: OSError) with `errno`
// an SSL_ERROR_* number, never a system errno; `library`/`reason` are OpenSSL's mnemonics in
// upper case and the message reads like CPython's: "[SSL: WRONG_VERSION_NUMBER] wrong version number".
import { SocketError } from '../errors.js';
import {
  SSL_ERROR_EOF, SSL_ERROR_INVALID_ERROR_CODE, SSL_ERROR_SSL, SSL_ERROR_SYSCALL, SSL_ERROR_WANT_READ,
  SSL_ERROR_WANT_WRITE, SSL_ERROR_ZERO_RETURN,
} from './constants.js';

const CODES: Record<number, string> = {
  1: 'ERR_SSL', 2: 'ERR_SSL_WANT_READ', 3: 'ERR_SSL_WANT_WRITE', 4: 'ERR_SSL_WANT_X509_LOOKUP',
  5: 'ERR_SSL_SYSCALL', 6: 'ERR_SSL_ZERO_RETURN', 7: 'ERR_SSL_WANT_CONNECT', 8: 'ERR_SSL_EOF',
  10: 'ERR_SSL_INVALID_ERROR_CODE',
};

/** Options of an SSLError: OpenSSL's library and reason mnemonics, and the operation. */
export interface SSLErrorInit {
  library?: string | null;
  reason?: string | null;
  syscall?: string;
}

/** A TLS failure (Python's `ssl.SSLError`). `errno` is an `SSL_ERROR_*` number. */
export class SSLError extends SocketError {
  /** OpenSSL's library mnemonic ('SSL', 'X509', 'PEM'), or null. */
  readonly library: string | null;
  /** OpenSSL's reason mnemonic ('CERTIFICATE_VERIFY_FAILED'), or null. */
  readonly reason: string | null;

  constructor(errno: number = SSL_ERROR_SSL, message?: string, init: SSLErrorInit = {}) {
    super(errno, init.syscall ?? 'ssl');
    this.library = init.library ?? null;
    this.reason = init.reason ?? null;
    const text = message ?? defaultMessage(errno);
    const msg = this.library && this.reason ? `[${this.library}: ${this.reason}] ${text}` : text;
    // SocketError derived these from a system errno; an SSL error number means something else.
    Object.defineProperty(this, 'message', { value: msg, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(this, 'code', { value: this.reason ? `ERR_SSL_${this.reason}` : CODES[errno] ?? 'ERR_SSL', enumerable: true });
    Object.defineProperty(this, 'strerror', { value: msg, enumerable: true });
  }

  /** Python's `err.args`: `[errno, message]`, for ports that test `err.args[1]`. */
  get args(): [number, string] {
    return [this.errno, this.message];
  }

  override get name(): string {
    return 'SSLError';
  }
}

function defaultMessage(errno: number): string {
  switch (errno) {
    case SSL_ERROR_WANT_READ: return 'The operation did not complete (read)';
    case SSL_ERROR_WANT_WRITE: return 'The operation did not complete (write)';
    case SSL_ERROR_ZERO_RETURN: return 'TLS/SSL connection has been closed (EOF)';
    case SSL_ERROR_EOF: return 'EOF occurred in violation of protocol';
    case SSL_ERROR_SYSCALL: return 'Some I/O error occurred';
    case SSL_ERROR_INVALID_ERROR_CODE: return 'Invalid error code';
    default: return 'A failure in the SSL library occurred';
  }
}

/** Non-blocking: the operation needs the socket to become readable (then call it again). */
export class SSLWantReadError extends SSLError {
  constructor(message?: string, init?: SSLErrorInit) { super(SSL_ERROR_WANT_READ, message, init); }
  override get name(): string { return 'SSLWantReadError'; }
}

/** Non-blocking: the operation needs the socket to become writable (then call it again). */
export class SSLWantWriteError extends SSLError {
  constructor(message?: string, init?: SSLErrorInit) { super(SSL_ERROR_WANT_WRITE, message, init); }
  override get name(): string { return 'SSLWantWriteError'; }
}

/** The peer closed the TLS session cleanly (close_notify). */
export class SSLZeroReturnError extends SSLError {
  constructor(message?: string, init?: SSLErrorInit) { super(SSL_ERROR_ZERO_RETURN, message, init); }
  override get name(): string { return 'SSLZeroReturnError'; }
}

/** The connection ended without a close_notify (a truncation the protocol forbids). */
export class SSLEOFError extends SSLError {
  constructor(message?: string, init?: SSLErrorInit) { super(SSL_ERROR_EOF, message, init); }
  override get name(): string { return 'SSLEOFError'; }
}

/** A system-level failure under TLS that carried no errno. */
export class SSLSyscallError extends SSLError {
  constructor(message?: string, init?: SSLErrorInit) { super(SSL_ERROR_SYSCALL, message, init); }
  override get name(): string { return 'SSLSyscallError'; }
}

/** The peer's certificate failed verification; `verifyCode` is OpenSSL's X509_V_ERR_* number. */
export class SSLCertVerificationError extends SSLError {
  readonly verifyCode: number;
  readonly verifyMessage: string;
  constructor(verifyCode: number, verifyMessage: string, init: SSLErrorInit = {}) {
    super(SSL_ERROR_SSL, `certificate verify failed: ${verifyMessage}`,
      { library: 'SSL', reason: 'CERTIFICATE_VERIFY_FAILED', ...init });
    this.verifyCode = verifyCode;
    this.verifyMessage = verifyMessage;
  }
  override get name(): string { return 'SSLCertVerificationError'; }
}

// OpenSSL 3's ERR_LIB_* numbers to the mnemonics CPython prints.
const LIBS: Record<number, string> = {
  2: 'SYS', 3: 'BN', 4: 'RSA', 5: 'DH', 6: 'EVP', 7: 'BUF', 8: 'OBJ', 9: 'PEM', 10: 'DSA', 11: 'X509',
  13: 'ASN1', 14: 'CONF', 15: 'CRYPTO', 16: 'EC', 20: 'SSL', 32: 'BIO', 33: 'PKCS7', 34: 'X509V3',
  35: 'PKCS12', 36: 'RAND', 37: 'DSO', 38: 'ENGINE', 39: 'OCSP', 40: 'UI', 41: 'COMP', 44: 'OSSL_STORE',
  46: 'CMS', 52: 'KDF', 57: 'PROV', 59: 'OSSL_ENCODER', 60: 'OSSL_DECODER', 61: 'HTTP',
};

/** The library mnemonic of an ERR_LIB_* number. */
export function libraryName(lib: number): string {
  return LIBS[lib] ?? `LIB${lib}`;
}

/** OpenSSL's reason text as its upper-case mnemonic ('wrong version number' → 'WRONG_VERSION_NUMBER'). */
export function reasonMnemonic(text: string, reason: number): string {
  const m = text.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
  return m || `REASON${reason}`;
}
