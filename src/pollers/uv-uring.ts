// loopAsync()'s io_uring backend: the uring poller (its data path and readiness polls) with an
// eventfd registered with the ring and watched by one libuv poll handle. A DEFER_TASKRUN ring
// runs its completions only inside io_uring_enter; the kernel signals the eventfd when work
// arrives, so Node's loop sleeps on it and wakes us to enter. (The ring descriptor itself is
// not woken by deferred work, measured: a watcher on it slept through a connection.)
import * as U from '../sys/uring.js';
import { close as closeFd, read } from '../sys/libc.js';
import { socketError } from '../errors.js';
import type { ChunkPool, ProvidedBuffers } from './uring-buffers.js';
import { UringPoller } from './uring.js';
import { UvWatch, type WatchedPoller } from './uv-watch.js';

export class UvUringPoller extends UringPoller implements WatchedPoller {
  private readonly uv: UvWatch;
  private readonly efd: number;
  private readonly counter = new Uint8Array(8);

  /** Throws SocketError (with the ring closed) when the eventfd cannot be made or registered. */
  constructor(ring: U.Ring, data: { bufs: ProvidedBuffers; pool: ChunkPool } | null) {
    super(ring, data);
    const efd = U.ringEventfd(ring.fd);
    if (efd < 0) {
      super.close();
      throw socketError(-efd, 'eventfd');
    }
    this.efd = efd;
    this.uv = new UvWatch(efd, 'io_uring eventfd');
  }

  /** A second poll() in the same pass (after a wait in libuv): what was declared stands. */
  repoll(): number {
    this.keepDeclared();
    return this.poll(0);
  }

  watch(onReady: () => void): void {
    this.uv.watch(() => {
      read(this.efd, this.counter, 8); // drain the count, or libuv would call again at once
      onReady();
    });
  }

  unwatch(): void {
    this.uv.unwatch();
  }

  private done = false;

  override close(): void {
    if (this.done) return;
    this.done = true;
    this.uv.close();
    super.close();
    closeFd(this.efd);
  }
}
