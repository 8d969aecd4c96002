// The submission side of one io_uring: SQE slots in the shared ring, our copy of its tail, and
// submitting without waiting. Shared by the readiness polls (uring.ts) and the data path
// (uring-data.ts), so both queue into the same single io_uring_enter per pass.
import * as U from '../sys/uring.js';
import { EINTR } from '../sys/errno.js';
import { socketError } from '../errors.js';

export class Sq {
  readonly ring: U.Ring;
  /** Our copy of the SQ tail (published to the ring after each SQE). */
  private tail: number;
  private readonly mask: number;

  constructor(ring: U.Ring) {
    this.ring = ring;
    this.tail = ring.sq[ring.sqTail]!;
    this.mask = ring.sqEntries - 1;
  }

  /** Entries written and not yet taken by the kernel. */
  get queued(): number {
    return (this.tail - this.ring.sq[this.ring.sqHead]!) >>> 0;
  }

  /** The next free SQE, zeroed but for opcode, flags and fd; returns its first word index. */
  sqe(op: number, flags: number, fd: number): number {
    const ring = this.ring;
    if (this.queued >= ring.sqEntries) this.submit(0);
    const w = (this.tail & this.mask) * 16;
    const q = ring.sqe32;
    q[w] = op | (flags << 8);
    q[w + 1] = fd;
    // Zeroed word by word: TypedArray.prototype.fill is a runtime call, dearer than 14 stores.
    for (let i = w + 2; i < w + 16; i++) q[i] = 0;
    this.tail = (this.tail + 1) >>> 0;
    ring.sq[ring.sqTail] = this.tail;
    return w;
  }

  /** Submit what is queued without waiting (`flags`: ENTER_GETEVENTS also runs completions). */
  submit(flags: number): void {
    for (let tries = 0; tries < 1000; tries++) {
      const n = this.queued;
      if (n === 0 && flags === 0) return;
      const r = U.enter(this.ring.fd, n, 0, flags, -1);
      if (r >= 0 || (r !== -EINTR && r !== -U.EBUSY)) {
        if (r < 0) throw socketError(-r, 'io_uring_enter');
        if (this.queued === 0) return;
      }
      // EBUSY: completions wait for room; they are reaped by the next poll(), and the kernel
      // keeps the overflow (FEAT_NODROP), so ask it to flush them into the ring and retry.
      flags |= U.ENTER_GETEVENTS;
    }
    throw socketError(U.EBUSY, 'io_uring_enter');
  }
}
