// select(2) backend: fd_set bitmaps rebuilt each pass, as CPython's asyncore.poll does.
// Results come back as all reads, then all writes, then all exceptional conditions, each in
// the order the channels were registered (map order).
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { type Poller, SELECT_EXPT, grow } from './types.js';
import { rangeError } from '../validate.js';

const SET_BYTES = C.FD_SETSIZE / 8;

/** The error for a descriptor select(2) cannot watch (the driver hands it to the channel). */
export function selectRangeError(fd: number): RangeError {
  return rangeError(
    `select() cannot watch fd ${fd}: descriptors must be below FD_SETSIZE (${C.FD_SETSIZE}); ` +
    `use loop({ usePoll: true }) or loop({ poller: 'epoll' }) for more connections`);
}

export class SelectPoller implements Poller {
  readonly name = 'select' as const;
  readyFds = new Int32Array(64);
  readyEvents = new Int32Array(64);
  private fds = new Int32Array(64);
  private events = new Int32Array(64);
  private count = 0;
  private maxFd = -1;
  private readonly rset = new Uint8Array(SET_BYTES);
  private readonly wset = new Uint8Array(SET_BYTES);
  private readonly xset = new Uint8Array(SET_BYTES);
  private readonly saved = new Uint8Array(3 * SET_BYTES);
  private readonly restore = (): void => {
    this.rset.set(this.saved.subarray(0, SET_BYTES));
    this.wset.set(this.saved.subarray(SET_BYTES, 2 * SET_BYTES));
    this.xset.set(this.saved.subarray(2 * SET_BYTES));
  };

  register(fd: number, events: number): void {
    if (fd < 0 || fd >= C.FD_SETSIZE) throw selectRangeError(fd);
    if (this.count === this.fds.length) {
      this.fds = grow(this.fds, this.count + 1);
      this.events = grow(this.events, this.count + 1);
    }
    this.fds[this.count] = fd;
    this.events[this.count++] = events;
    if (fd > this.maxFd) this.maxFd = fd;
  }

  unregister(): void {
    // Nothing persists between passes.
  }

  reset(): void {
    this.count = 0;
    this.maxFd = -1;
  }

  poll(timeoutMs: number): number {
    const n = this.count;
    const { rset, wset, xset, fds, events } = this;
    rset.fill(0);
    wset.fill(0);
    xset.fill(0);
    let nr = 0, nw = 0, nx = 0;
    for (let i = 0; i < n; i++) {
      const fd = fds[i]!, ev = events[i]!, byte = fd >> 3, bit = 1 << (fd & 7);
      if (ev & C.POLLIN) { rset[byte] |= bit; nr++; }
      if (ev & C.POLLOUT) { wset[byte] |= bit; nw++; }
      if (ev & SELECT_EXPT) { xset[byte] |= bit; nx++; }
    }
    this.saved.set(rset, 0);
    this.saved.set(wset, SET_BYTES);
    this.saved.set(xset, 2 * SET_BYTES);
    const nfds = this.maxFd + 1;
    this.count = 0;
    this.maxFd = -1;
    const r = libc.select(nfds, nr ? rset : null, nw ? wset : null, nx ? xset : null, timeoutMs, this.restore);
    if (r <= 0) return r;
    this.readyFds = grow(this.readyFds, 3 * n);
    this.readyEvents = grow(this.readyEvents, 3 * n);
    let k = 0;
    if (nr) k = this.scan(n, k, rset, C.POLLIN, C.POLLIN);
    if (nw) k = this.scan(n, k, wset, C.POLLOUT, C.POLLOUT);
    if (nx) k = this.scan(n, k, xset, SELECT_EXPT, C.POLLPRI);
    return k;
  }

  /** Append the registered fds set in `set` to the ready list, in registration order. */
  private scan(n: number, k: number, set: Uint8Array, want: number, flag: number): number {
    const { fds, events, readyFds, readyEvents } = this;
    for (let i = 0; i < n; i++) {
      const fd = fds[i]!;
      if ((events[i]! & want) && (set[fd >> 3]! & (1 << (fd & 7)))) {
        readyFds[k] = fd;
        readyEvents[k++] = flag;
      }
    }
    return k;
  }

  close(): void {
    this.count = 0;
  }
}
