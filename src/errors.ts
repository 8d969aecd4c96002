// Errors with a permanent `code`, `errno` and `syscall`, in the manner of Node's
// lib/internal/errors.js, and Python's exception names.
import { BLOCKING, EBADF, errnoName, gaiName } from './sys/errno.js';
import { typeError } from './validate.js';
import { gaiStrerror, strerror } from './sys/libc.js';
import type { Address } from './sys/sockaddr.js';

function formatAddress(address: Address | undefined): string {
  if (address === undefined) return '';
  if (typeof address === 'string') return ` ${address.replace(/\0/g, '@')}`;
  const [host, port] = address;
  return host.includes(':') ? ` [${host}]:${port}` : ` ${host}:${port}`;
}

/**
 * A failed socket operation: Python's `OSError` / `socket.error`. `errno` is positive, as in
 * Python and `os.constants.errno`; for `syscall === 'getaddrinfo'` it is the (negative)
 * `EAI_*` value, as Python's `socket.gaierror`.
 */
export class SocketError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  /** The C library's description of the error (Python's `strerror`). */
  readonly strerror: string;
  declare address?: string;
  declare port?: number;

  constructor(errno: number, syscall: string, address?: Address, hint?: string) {
    if (typeof errno !== 'number' || !Number.isInteger(errno)) {
      throw typeError(`SocketError(): errno must be an integer such as errno.ECONNREFUSED, not ${typeof errno}`);
    }
    if (typeof syscall !== 'string') throw typeError(`SocketError(): syscall must be a string such as 'connect', not ${typeof syscall}`);
    // A Unix path may arrive as bytes (bind/connect/sendto accept them): keep and show it as text.
    if ((address as unknown) instanceof Uint8Array) address = Buffer.from(address as unknown as Uint8Array).toString('utf8');
    const gai = syscall === 'getaddrinfo' && errno < 0;
    const code = gai ? gaiName(errno) : errnoName(errno);
    super(`${syscall} ${code}${formatAddress(address)}${hint ? ` (${hint})` : ''}`);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.strerror = gai ? gaiStrerror(errno) : strerror(errno);
    if (typeof address === 'string') {
      this.address = address;
    } else if (address !== undefined) {
      this.address = address[0];
      this.port = address[1];
    }
  }

  override get name(): string {
    return 'SocketError';
  }
}

/** EAGAIN, EWOULDBLOCK, EINPROGRESS or EALREADY from a non-blocking socket (Python's BlockingIOError). */
export class BlockingIOError extends SocketError {
  override get name(): string {
    return 'BlockingIOError';
  }
}

/** The right error class for a positive errno: BlockingIOError for the would-block family. */
export function socketError(errno: number, syscall: string, address?: Address, hint?: string): SocketError {
  return BLOCKING.has(errno) ? new BlockingIOError(errno, syscall, address, hint) : new SocketError(errno, syscall, address, hint);
}

/** The error for any operation on a closed socket or file wrapper. */
export function closedError(syscall: string): SocketError {
  return new SocketError(EBADF, syscall, undefined, 'the socket is closed; create a new one');
}

/** Thrown from a handler, it leaves `loop()` (it is not routed to `handleError`). */
export class ExitNow extends Error {
  override get name(): string {
    return 'ExitNow';
  }
}
