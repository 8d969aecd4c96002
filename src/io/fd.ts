// What Socket and FileWrapper share about owning a descriptor: its state (shared with a
// finalizer), the registry that closes a forgotten one, and the copies out of the receive scratch.
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EBADF } from '../sys/errno.js';
import { socketError } from '../errors.js';
import { requireInt } from '../validate.js';

/** A descriptor shared between its owner and a finalizer; -1 once closed. */
export type FdState = { fd: number };

/**
 * A registry that closes the descriptor of an owner collected while still open, with a
 * ResourceWarning, as Python does for sockets and asyncore's file_wrapper.
 */
export function unclosedFdRegistry(what: string): FinalizationRegistry<FdState> {
  return new FinalizationRegistry<FdState>((state) => {
    if (state.fd < 0) return;
    const fd = state.fd;
    state.fd = -1;
    libc.close(fd);
    process.emitWarning(`unclosed ${what} fd=${fd}; call close() when done with it`, 'ResourceWarning');
  });
}

/**
 * A Buffer of at least `n` bytes to receive into (valid until the next call): the one native
 * receive scratch of src/sys/libc.ts, shared by every socket and file.
 */
export function scratchFor(n: number): Buffer {
  return libc.scratch.length >= n ? libc.scratch : libc.scratchOf(n);
}

/** Copy the first `n` bytes of `buf` into a new Buffer of exactly that size. */
export function copyOut(buf: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  // TypedArray#set stays in V8 (no C++ call): about half the cost of Buffer#copy for the
  // small reads of request/response traffic; Buffer#copy's memcpy wins on big ones.
  if (n <= 2048) out.set(buf.subarray(0, n));
  else buf.copy(out, 0, 0, n);
  return out;
}

/** recv(2) of up to `n` bytes: a right-sized copy, or -errno. */
export function recvCopy(fd: number, n: number, flags: number): Buffer | number {
  const r = libc.recvScratch(fd, n, flags);
  return r < 0 ? r : copyOut(libc.scratch, r);
}

/** read(2) of up to `n` bytes: a right-sized copy, or -errno. */
export function readCopy(fd: number, n: number): Buffer | number {
  const r = libc.readScratch(fd, n);
  return r < 0 ? r : copyOut(libc.scratch, r);
}

/** A close-on-exec pipe: `[readFd, writeFd]`. Close both with `closeFd`. */
export function pipe(): [readFd: number, writeFd: number] {
  const fds = new Int32Array(2);
  const r = libc.pipe2(fds, C.O_CLOEXEC);
  if (r < 0) throw socketError(-r, 'pipe');
  return [fds[0]!, fds[1]!];
}

/** Close a raw descriptor (from `pipe()`); EBADF is reported as a SocketError. */
export function closeFd(fd: number): void {
  requireInt(fd, 'closeFd(): fd');
  const r = libc.close(fd);
  if (r < 0) throw socketError(-r, 'close', undefined, r === -EBADF ? `fd ${fd} is not open; close each descriptor once` : undefined);
}
