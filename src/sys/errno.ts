// errno names and numbers come from Node (os.constants.errno); this file adds the reverse map
// and the package's errno *policy*: which codes mean what to a dispatcher.
import os from 'node:os';
import { C } from './constants.js';

/** errno names to their positive numbers on this platform (EAGAIN, ECONNRESET, ...). */
export const errno: Readonly<Record<string, number>> = Object.freeze({ ...C.ERRNO_EXTRA, ...os.constants.errno });

// Several names share a number (EAGAIN/EWOULDBLOCK, EOPNOTSUPP/ENOTSUP, EDEADLK/EDEADLOCK);
// the reverse map keeps the name Python's errno.errorcode prints.
const preferred = new Set(['EAGAIN', 'EOPNOTSUPP', 'EDEADLK']);
// (EDEADLOCK aliases EDEADLK; the preference above keeps EDEADLK as the printed name.)
const names = new Map<number, string>();
for (const [name, num] of Object.entries(errno)) {
  if (!names.has(num) || preferred.has(name)) names.set(num, name);
}
const gaiNames = new Map<number, string>(Object.entries(C.EAI).map(([k, v]) => [v, k]));

/** The symbolic name of a positive errno (`'ECONNREFUSED'`), or `'E<n>'` when unknown. */
export function errnoName(n: number): string {
  return names.get(n) ?? `E${n}`;
}

/** The symbolic name of a getaddrinfo error (`'EAI_NONAME'`). */
export function gaiName(n: number): string {
  return gaiNames.get(n) ?? `EAI_${n}`;
}

export const {
  EINTR, EAGAIN, EWOULDBLOCK, EINPROGRESS, EALREADY, EISCONN, EBADF, EINVAL, ENOTCONN,
  ECONNRESET, ECONNABORTED, ECONNREFUSED, EPIPE, ESHUTDOWN, EMFILE, ENFILE, ENOBUFS, ENOMEM,
  EEXIST, ENOENT, ETIMEDOUT, EPERM, EACCES, ENOTSOCK, EAFNOSUPPORT,
} = errno as Record<string, number>;

// ---- The errno policy: the single place that decides what a code means to a channel. ----

/**
 * The peer or the socket is gone: a dispatcher treats these as end of connection and calls
 * `handleClose()` instead of `handleError()` (CPython asyncore's `_DISCONNECTED`).
 */
export const DISCONNECTED: ReadonlySet<number> = new Set([
  ECONNRESET, ENOTCONN, ESHUTDOWN, ECONNABORTED, EPIPE, EBADF,
]);

/** Nothing to do right now; try again after the next readiness event (send → 0, recv → retry). */
export const WOULD_BLOCK: ReadonlySet<number> = new Set([EAGAIN, EWOULDBLOCK]);

/** A non-blocking connect that has started but not finished (CPython's connect() check). */
export const CONNECT_PENDING: ReadonlySet<number> = new Set([EINPROGRESS, EALREADY, EWOULDBLOCK]);

/** accept() found nothing to accept: the client left or another process took it. */
export const ACCEPT_NOTHING: ReadonlySet<number> = new Set([EAGAIN, EWOULDBLOCK, ECONNABORTED]);

/**
 * accept() failed for lack of descriptors or memory: the listener must stay open and back off
 * (CPython closed it through handleError; we do not).
 */
export const ACCEPT_EXHAUSTED: ReadonlySet<number> = new Set([EMFILE, ENFILE, ENOBUFS, ENOMEM]);

/** Codes that BlockingIOError stands for (Python's BlockingIOError errnos). */
export const BLOCKING: ReadonlySet<number> = new Set([EAGAIN, EWOULDBLOCK, EINPROGRESS, EALREADY]);
