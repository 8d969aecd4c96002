// One libuv poll handle on the descriptor of a kernel-side set (an epoll fd, an io_uring fd),
// so Node's own loop can sleep on it next to its timers and sockets: loopAsync()'s pollers.
import { type UvPollHandle, uvPoll } from '../sys/libc.js';
import type { Poller } from './types.js';

/** A poller whose readiness Node's loop can wait for (loopAsync()). */
export interface WatchedPoller extends Poller {
  /** Fetch what is ready for this pass's interest again, without starting a new pass. */
  repoll(): number;
  /** Call `onReady` (from Node's loop) when something may be ready, until unwatch(). */
  watch(onReady: () => void): void;
  unwatch(): void;
}

export class UvWatch {
  private handle: UvPollHandle | null = null;
  private onReady: (() => void) | null = null;
  private watching = false;
  private closed = false;
  // koffi calls back with (status, events); any call means: look at the set again.
  private readonly callback = (): void => {
    if (this.watching && this.onReady !== null) this.onReady();
  };

  /** `fd`: the descriptor libuv watches; `what`: its name in errors. */
  constructor(private readonly fd: number, private readonly what: string) {}

  watch(onReady: () => void): void {
    if (this.closed) throw new Error(`loopAsync(): the ${this.what} is closed`);
    this.onReady = onReady;
    if (this.watching) return;
    this.watching = true;
    if (this.handle === null) {
      const h = uvPoll(this.fd, this.callback);
      if (h === null) throw new Error(`loopAsync(): libuv refused to watch the ${this.what} (koffi.node.poll)`);
      this.handle = h;
    } else {
      this.handle.start({ readable: true }, this.callback);
    }
  }

  /** Stop watching (the handle stays open for the next watch()). */
  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    this.onReady = null;
    this.handle?.stop();
  }

  /** libuv must forget the descriptor before it is closed (uv_close unregisters it at once). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    this.handle?.close();
    this.handle = null;
  }
}
