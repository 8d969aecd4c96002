// What a failed SSL_do_handshake/SSL_read/SSL_write/SSL_shutdown means, in Python's terms:
// the want-errors, a clean close, EOF, a system errno, a verification failure, or OpenSSL's
// reason from the (drained) error queue.
import { clearErrors, errorQueue } from '../sys/openssl.js';
import { SSL_ERROR_SSL } from './constants.js';
import {
  SSLCertVerificationError, SSLEOFError, SSLError, SSLWantReadError, SSLWantWriteError, SSLZeroReturnError,
  libraryName, reasonMnemonic,
} from './errors.js';
import { lib } from './native.js';

/** An SSLError, or -errno for a system error (the raw paths return it). */
export type Failure = SSLError | number;

// SSL_get_error() values.
const E_SSL = 1, E_WANT_READ = 2, E_WANT_WRITE = 3, E_SYSCALL = 5, E_ZERO_RETURN = 6;
const ERR_LIB_SSL = 20;
const R_CERTIFICATE_VERIFY_FAILED = 134;
const R_UNEXPECTED_EOF = 294; // OpenSSL 3: EOF without close_notify
const X509_V_ERR_HOSTNAME_MISMATCH = 62;
const X509_V_ERR_IP_ADDRESS_MISMATCH = 64;

/**
 * The failure of an OpenSSL call on `ssl` that returned `ret`; `err` is errno read right after
 * the call. The error queue is left empty.
 */
export function failureOf(ssl: unknown, ret: number, err: number, syscall: string, hostname: string | null): Failure {
  const L = lib();
  const code = L.SSL_get_error(ssl, ret);
  if (code === E_WANT_READ) { clearErrors(); return new SSLWantReadError(undefined, { syscall }); }
  if (code === E_WANT_WRITE) { clearErrors(); return new SSLWantWriteError(undefined, { syscall }); }
  if (code === E_ZERO_RETURN) { clearErrors(); return new SSLZeroReturnError(undefined, { syscall }); }
  const q = errorQueue();
  const last = q[q.length - 1];
  if (code === E_SYSCALL && !last) {
    // SSL_ERROR_SYSCALL with an empty queue: errno says what happened; none means EOF.
    if (err !== 0) return -err;
    return new SSLEOFError(undefined, { syscall });
  }
  if (!last) return new SSLError(code === E_SSL ? SSL_ERROR_SSL : code, undefined, { syscall });
  const library = libraryName(last.lib);
  const reason = reasonMnemonic(last.text, last.reason);
  if (last.lib === ERR_LIB_SSL && last.reason === R_CERTIFICATE_VERIFY_FAILED) {
    const v = Number(L.SSL_get_verify_result(ssl));
    let msg = L.X509_verify_cert_error_string(v) ?? `error ${v}`;
    if (v === X509_V_ERR_HOSTNAME_MISMATCH || v === X509_V_ERR_IP_ADDRESS_MISMATCH) {
      msg += `, certificate is not valid for '${hostname}'`;
    }
    return new SSLCertVerificationError(v, msg, { syscall });
  }
  if (last.lib === ERR_LIB_SSL && last.reason === R_UNEXPECTED_EOF) return new SSLEOFError(undefined, { library, reason, syscall });
  return new SSLError(SSL_ERROR_SSL, last.text, { library, reason, syscall });
}
