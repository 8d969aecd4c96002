// The bridge from src/sys/openssl.ts to the TLS classes: the bound functions (or an SSLError
// naming why OpenSSL is unreachable) and errors built from OpenSSL's error queue.
import { errorQueue, ossl, unavailable } from '../sys/openssl.js';
import { SSL_ERROR_SSL } from './constants.js';
import { SSLError, libraryName, reasonMnemonic } from './errors.js';

/** True when the OpenSSL inside this node binary (3.0 or later) can be used. */
export const HAS_TLS: boolean = unavailable === null;

/** The OpenSSL functions; the first use where they are missing throws an SSLError naming the cause. */
export function lib() {
  return ossl((why) => new SSLError(SSL_ERROR_SSL, `TLS is unavailable: ${why}`, { syscall: 'ssl' }));
}

/**
 * An SSLError from what OpenSSL queued (the queue is drained), or one with `fallback` when
 * the queue is empty. The last entry decides, as in CPython.
 */
export function queuedError(syscall: string, fallback: string, errno = SSL_ERROR_SSL): SSLError {
  const q = errorQueue();
  const last = q[q.length - 1];
  if (!last) return new SSLError(errno, fallback, { syscall });
  return new SSLError(errno, last.text || fallback, {
    library: libraryName(last.lib), reason: reasonMnemonic(last.text, last.reason), syscall,
  });
}
