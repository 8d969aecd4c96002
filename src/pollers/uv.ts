// The libuv-backed poller of loopAsync(): the epoll backend's persistent interest set, with
// the epoll descriptor itself watched by ONE libuv poll handle (koffi.node.poll). An epoll fd
// is readable while anything in its set is ready, so Node's own loop can sleep on it next to
// its timers and sockets.
//
// Why not one libuv handle per channel: koffi's poll options reach only UV_READABLE,
// UV_WRITABLE and UV_DISCONNECT, never UV_PRIORITIZED, so per-channel handles could not see
// out-of-band data (POLLPRI → handleExpt). The nested epoll set reports POLLPRI like the epoll
// backend, changes interest with one epoll_ctl only when a channel's answer changes (no
// handle start/stop per channel per pass), and fetches a whole batch with one epoll_wait.
import { type UvPollHandle, uvPoll } from '../sys/libc.js';
import { EpollPoller } from './epoll.js';

export class UvPoller extends EpollPoller {
  private handle: UvPollHandle | null = null;
  private onReady: (() => void) | null = null;
  private watching = false;
  private closed = false;
  // koffi calls back with (status, events); any call means: look at the set again.
  private readonly callback = (): void => {
    if (this.watching && this.onReady !== null) this.onReady();
  };

  /** The epoll descriptor that libuv watches. */
  get fd(): number {
    return this.epfd;
  }

  /**
   * Fetch what is ready for the interest declared this pass, without starting a new pass:
   * poll() drops every registration not declared since the previous poll(), and a pass that
   * already polled once (found nothing, then waited in libuv) has declared nothing since.
   */
  repoll(): number {
    this.keepDeclared();
    return this.poll(0);
  }

  /** Call `onReady` (from Node's loop) when something in the set is ready, until unwatch(). */
  watch(onReady: () => void): void {
    if (this.closed) throw new Error('UvPoller.watch(): the poller is closed');
    this.onReady = onReady;
    if (this.watching) return;
    this.watching = true;
    if (this.handle === null) {
      const h = uvPoll(this.fd, this.callback);
      if (h === null) throw new Error('loopAsync(): libuv refused to watch the epoll descriptor (koffi.node.poll)');
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

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    // libuv must forget the descriptor before it is closed (uv_close unregisters it at once).
    this.handle?.close();
    this.handle = null;
    super.close();
  }
}
