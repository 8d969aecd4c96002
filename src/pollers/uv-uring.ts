// loopAsync()'s io_uring backend: the uring poller (its data path and readiness polls) with
// the ring descriptor watched by one libuv poll handle. A DEFER_TASKRUN ring runs its
// completions only inside io_uring_enter, but its descriptor polls readable while completions
// or deferred work wait (io_uring_poll), so Node's loop sleeps on it and wakes us to enter.
import type * as U from '../sys/uring.js';
import type { ChunkPool, ProvidedBuffers } from './uring-buffers.js';
import { UringPoller } from './uring.js';
import { UvWatch, type WatchedPoller } from './uv-watch.js';

export class UvUringPoller extends UringPoller implements WatchedPoller {
  private readonly uv: UvWatch;

  constructor(ring: U.Ring, data: { bufs: ProvidedBuffers; pool: ChunkPool } | null) {
    super(ring, data);
    this.uv = new UvWatch(ring.fd, 'io_uring descriptor');
  }

  /** A second poll() in the same pass (after a wait in libuv): what was declared stands. */
  repoll(): number {
    this.keepDeclared();
    return this.poll(0);
  }

  watch(onReady: () => void): void {
    this.uv.watch(onReady);
  }

  unwatch(): void {
    this.uv.unwatch();
  }

  override close(): void {
    this.uv.close();
    super.close();
  }
}
