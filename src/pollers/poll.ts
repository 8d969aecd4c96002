// poll(2) backend: a pollfd array rewritten in place each pass (CPython's poll2), reused
// between passes so a pass allocates nothing once the map has stopped growing.
import * as libc from '../sys/libc.js';
import { type Poller, grow } from './types.js';

const POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }

export class PollPoller implements Poller {
  readonly name = 'poll' as const;
  readyFds = new Int32Array(64);
  readyEvents = new Int32Array(64);
  private buf = new Uint8Array(64 * POLLFD_SIZE);
  private view = new DataView(this.buf.buffer);
  private count = 0;

  register(fd: number, events: number): void {
    const off = this.count * POLLFD_SIZE;
    if (off + POLLFD_SIZE > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.view.setInt32(off, fd, true);
    this.view.setInt16(off + 4, events & 0xffff, true);
    this.view.setInt16(off + 6, 0, true);
    this.count++;
  }

  unregister(): void {
    // Nothing persists between passes.
  }

  reset(): void {
    this.count = 0;
  }

  poll(timeoutMs: number): number {
    const n = this.count;
    this.count = 0;
    const r = libc.poll(this.buf, n, timeoutMs);
    if (r <= 0) return r;
    this.readyFds = grow(this.readyFds, r);
    this.readyEvents = grow(this.readyEvents, r);
    const view = this.view;
    let k = 0;
    for (let i = 0, off = 0; i < n && k < r; i++, off += POLLFD_SIZE) {
      const rev = view.getUint16(off + 6, true);
      if (rev !== 0) {
        this.readyFds[k] = view.getInt32(off, true);
        this.readyEvents[k++] = rev;
      }
    }
    return k;
  }

  close(): void {
    this.count = 0;
  }
}
