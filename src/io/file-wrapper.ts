// FileWrapper: a pipe, tty or other descriptor that looks enough like a socket for a
// dispatcher (Python's asyncore.file_wrapper).
import { inspect } from 'node:util';
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EBADF, ENOTSOCK } from '../sys/errno.js';
import type { Address } from '../sys/sockaddr.js';
import type { ChannelSocket } from './types.js';
import { SocketError, closedError, socketError } from '../errors.js';
import { requireBytes, requireSize, typeError } from '../validate.js';
import { type FdState, copyOut, scratchFor, unclosedFdRegistry } from './fd.js';

const finalizer = unclosedFdRegistry('file wrapper');

function notSocket(syscall: string): SocketError {
  return new SocketError(ENOTSOCK, syscall, undefined, 'a FileWrapper wraps a file, not a socket');
}

/**
 * Makes a file descriptor look enough like a socket for a dispatcher (Python's
 * `asyncore.file_wrapper`). The fd is duplicated, so the caller may close its own.
 */
export class FileWrapper implements ChannelSocket {
  readonly #state: FdState;

  constructor(fd: number) {
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw typeError(`FileWrapper(): fd must be an open file descriptor (a non-negative integer), not ${String(fd)}`);
    }
    const dupFd = libc.fcntl(fd, C.F_DUPFD_CLOEXEC, 0);
    if (dupFd < 0) throw socketError(-dupFd, 'dup', undefined, dupFd === -EBADF ? `fd ${fd} is not open; pass an open descriptor` : undefined);
    this.#state = { fd: dupFd };
    finalizer.register(this, this.#state, this);
  }

  /** The duplicated descriptor, or -1 once closed. */
  get fd(): number {
    return this.#state.fd;
  }

  fileno(): number {
    return this.#state.fd;
  }

  /** read(2) up to `n` bytes (empty at end of file). */
  recv(n: number): Buffer {
    requireSize(n, 'recv(): n');
    const r = this.recvRaw(n);
    if (typeof r === 'number') throw r === -EBADF && this.#state.fd < 0 ? closedError('read') : socketError(-r, 'read');
    return r;
  }

  /** @internal read(2) without throwing: a right-sized copy, or -errno. */
  recvRaw(n: number, _flags = 0): Buffer | number {
    const fd = this.#state.fd;
    if (fd < 0) return -EBADF;
    const scratch = scratchFor(n);
    const r = libc.read(fd, scratch, n);
    return r < 0 ? r : copyOut(scratch, r);
  }

  /** write(2); returns the number of bytes written. */
  send(data: Uint8Array): number {
    const buf = requireBytes(data, 'send()');
    const r = this.sendRaw(buf);
    if (r < 0) throw r === -EBADF && this.#state.fd < 0 ? closedError('write') : socketError(-r, 'write');
    return r;
  }

  /** @internal write(2) without throwing: bytes written or -errno. */
  sendRaw(data: Uint8Array, _flags = 0): number {
    const fd = this.#state.fd;
    if (fd < 0) return -EBADF;
    return libc.write(fd, data, data.length);
  }

  read(n: number): Buffer {
    return this.recv(n);
  }

  write(data: Uint8Array): number {
    return this.send(data);
  }

  /** Only SOL_SOCKET/SO_ERROR is meaningful for a file: always 0. */
  getsockopt(level: number, optname: number): number;
  getsockopt(level: number, optname: number, buflen: number): Buffer;
  getsockopt(level: number, optname: number, buflen?: number): number | Buffer {
    if (level === C.SOL_SOCKET && optname === C.SO_ERROR && !buflen) return 0;
    throw new Error('FileWrapper.getsockopt(): only SOL_SOCKET/SO_ERROR is implemented (asyncore-specific behaviour)');
  }

  /** O_NONBLOCK on or off (shared with every duplicate of the descriptor). */
  setblocking(flag: boolean): void {
    const fd = this.#state.fd;
    if (fd < 0) throw closedError('fcntl');
    const fl = libc.fcntl(fd, C.F_GETFL, 0);
    if (fl < 0) throw socketError(-fl, 'fcntl');
    const r = libc.fcntl(fd, C.F_SETFL, flag ? fl & ~C.O_NONBLOCK : fl | C.O_NONBLOCK);
    if (r < 0) throw socketError(-r, 'fcntl');
  }

  // Socket-only operations: a file is not a socket (ENOTSOCK, as the system call would say).
  setsockopt(): void { throw notSocket('setsockopt'); }
  getsockname(): Address { throw notSocket('getsockname'); }
  getpeername(): Address { throw notSocket('getpeername'); }
  shutdown(): void { throw notSocket('shutdown'); }
  bind(): void { throw notSocket('bind'); }
  listen(): void { throw notSocket('listen'); }
  accept(): [ChannelSocket, Address] { throw notSocket('accept'); }
  connectEx(): number { throw notSocket('connect'); }

  /** Close the duplicate. Idempotent; `fd` becomes -1 even if close(2) fails. */
  close(): void {
    const fd = this.#state.fd;
    if (fd < 0) return;
    this.#state.fd = -1;
    finalizer.unregister(this);
    const r = libc.close(fd);
    if (r < 0) throw socketError(-r, 'close');
  }

  toString(): string {
    return `<FileWrapper fd=${this.#state.fd}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

