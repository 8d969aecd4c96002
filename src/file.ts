// FileWrapper and FileDispatcher: pipes, ttys and other descriptors driven like sockets.
import { inspect } from 'node:util';
import { C } from './sys/constants.js';
import * as libc from './sys/libc.js';
import { EBADF } from './sys/errno.js';
import { closedError, socketError } from './errors.js';
import { Dispatcher } from './dispatcher.js';
import type { SocketMap } from './loop.js';
import { type FdState, requireBytes, scratchFor, unclosedFdRegistry } from './socket.js';

const finalizer = unclosedFdRegistry('file wrapper');

/**
 * Makes a file descriptor look enough like a socket for a dispatcher (Python's
 * `asyncore.file_wrapper`). The fd is duplicated, so the caller may close its own.
 */
export class FileWrapper {
  readonly #state: FdState;

  constructor(fd: number) {
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new TypeError(`FileWrapper(): fd must be an open file descriptor (a non-negative integer), not ${String(fd)}`);
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
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
      throw new RangeError(`recv(): n must be an integer from 0 to 2147483647 (e.g. 65536), not ${String(n)}`);
    }
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
    if (r < 0) return r;
    return Buffer.from(scratch.subarray(0, r));
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
  getsockopt(level: number, optname: number, buflen?: number): number {
    if (level === C.SOL_SOCKET && optname === C.SO_ERROR && !buflen) return 0;
    throw new Error('FileWrapper.getsockopt(): only SOL_SOCKET/SO_ERROR is implemented (asyncore-specific behaviour)');
  }

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

/**
 * A dispatcher over a file descriptor or anything with `fileno()` (Python's
 * `asyncore.file_dispatcher`): the descriptor is duplicated and set non-blocking.
 */
export class FileDispatcher extends Dispatcher {
  constructor(fd: number | { fileno(): number }, map?: SocketMap) {
    super(null, map);
    this.connected = true;
    const n = typeof fd === 'object' && fd !== null && typeof fd.fileno === 'function' ? fd.fileno() : fd;
    if (typeof n !== 'number') {
      throw new TypeError('FileDispatcher(): fd must be a file descriptor number or an object with fileno()');
    }
    this.setFile(n);
    // The duplicate shares the open file description, so this makes both non-blocking.
    const fl = libc.fcntl(n, C.F_GETFL, 0);
    if (fl >= 0 && !(fl & C.O_NONBLOCK)) libc.fcntl(n, C.F_SETFL, fl | C.O_NONBLOCK);
  }

  setFile(fd: number): void {
    this.socket = new FileWrapper(fd);
    this._fileno = this.socket.fileno();
    this.addChannel();
  }
}
