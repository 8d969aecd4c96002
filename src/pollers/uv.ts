// The libuv-backed poller of loopAsync(): the epoll backend's persistent interest set, with
// the epoll descriptor itself watched by ONE libuv poll handle (uv-watch.ts). An epoll fd
// is readable while anything in its set is ready, so Node's own loop can sleep on it next to
// its timers and sockets.
//
// Why not one libuv handle per channel: koffi's poll options reach only UV_READABLE,
// UV_WRITABLE and UV_DISCONNECT, never UV_PRIORITIZED, so per-channel handles could not see
// out-of-band data (POLLPRI → handleExpt). The nested epoll set reports POLLPRI like the epoll
// backend, changes interest with one epoll_ctl only when a channel's answer changes (no
// handle start/stop per channel per pass), and fetches a whole batch with one epoll_wait.
import { EpollPoller } from './epoll.js';
import { UvWatch, type WatchedPoller } from './uv-watch.js';

export class UvPoller extends EpollPoller implements WatchedPoller {
  private readonly uv = new UvWatch(this.epfd, 'epoll descriptor');

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
