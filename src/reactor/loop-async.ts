// loopAsync(): loop()'s passes run inside Node's event loop, so Node's timers, promises, other
// I/O and signal listeners keep running while asyncore channels are served.
//
// A pass: ask every channel readable()/writable() (Driver.declare; only changed interest
// reaches the kernel), then poll the set without waiting (epoll_wait(0), or io_uring_enter for
// `poller: 'uring'`). Events → dispatch them (Driver.dispatch, the same routing and owner checks
// as loop()), run due timers, and yield to Node with setImmediate before the next pass. Nothing
// ready → sleep in Node's loop until libuv sees the set's descriptor readable or a setTimeout
// for min(timeout, next timer) fires, then fetch and dispatch what is ready (one pass either way).
import { socketError } from '../errors.js';
import { createWatchedPoller } from '../pollers/create.js';
import type { PollerName } from '../pollers/names.js';
import type { WatchedPoller } from '../pollers/uv-watch.js';
import { Driver } from './driver.js';
import { type LoopOptions, checkLoopOptions, choosePoller } from './loop.js';
import type { SocketMap } from './map.js';
import { type AsyncServer, type Reactor, reactorFor } from './reactor.js';
import { type Scheduler, monotonic } from './timers.js';

class AsyncLoop implements AsyncServer {
  private readonly poller: WatchedPoller;
  private readonly driver: Driver;
  private readonly reactor: Reactor;
  /** The map's own timers: another map's never run, nor keep this loop waiting. */
  private readonly timers: Scheduler;
  private remaining: number;
  private waiting = false;
  private settled = false;
  /** When the current pass's wait ends for `timeout` (monotonic seconds; Infinity: never). */
  private deadline = Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;

  constructor(
    private readonly map: SocketMap,
    private readonly timeout: number | null,
    count: number | null | undefined,
    private readonly resolve: () => void,
    private readonly reject: (err: unknown) => void,
    name: PollerName,
  ) {
    this.poller = createWatchedPoller(name);
    this.driver = new Driver(this.poller);
    this.remaining = count === undefined || count === null ? Infinity : count;
    this.reactor = reactorFor(map);
    this.timers = this.reactor.timers;
  }

  /** The system call a failed wait names. */
  private get waitCall(): string {
    return this.poller.name === 'uring' ? 'io_uring_enter' : 'epoll_wait';
  }

  start(): void {
    try {
      this.reactor.serve(this);
      this.reactor.leaveRing(); // a ring of an earlier loop() hands over (see Reactor.leaveRing)
    } catch (e) {
      this.poller.close();
      throw e;
    }
    // The first pass runs from Node's loop, not inside the loopAsync() call.
    this.immediate = setImmediate(this.step);
  }

  // ---- AsyncServer: told by the map's Reactor about the map while we wait ----

  removed(fd: number): void {
    this.poller.unregister(fd);
    if (this.map.size === 0) this.changed();
  }

  changed(): void {
    // Never run a pass inside the caller (addChannel runs in constructors): end the wait soon.
    if (this.waiting && this.immediate === null) this.immediate = setImmediate(this.wakeSoon);
  }

  // ---- passes ----

  private readonly step = (): void => {
    this.immediate = null;
    if (this.settled) return;
    try {
      if (this.remaining <= 0 || (this.map.size === 0 && this.timers.live === 0)) {
        this.finish();
        return;
      }
      this.remaining--;
      // A retiring ring's sends move on only when serviced (Reactor.service): then wait briefly.
      const retiring = this.reactor.service();
      this.driver.declare(this.map);
      const k = this.poller.poll(0);
      if (k < 0) throw socketError(-k, this.waitCall);
      if (k > 0 || this.driver.pending > 0 || this.timeout === 0 || this.timers.nextDue() <= monotonic()) {
        this.endPass(k);
        return;
      }
      this.deadline = this.timeout === null ? Infinity : monotonic() + this.timeout;
      if (retiring) this.deadline = Math.min(this.deadline, monotonic() + 0.005);
      this.waiting = true;
      this.timers.wakers.add(this.onTimersChanged);
      this.poller.watch(this.wake);
      this.arm();
    } catch (e) {
      this.finish(e, true);
    }
  };

  private endPass(k: number): void {
    if (k > 0 || this.driver.pending > 0) this.driver.dispatch(k, this.map);
    this.timers.runDue();
    if (!this.settled) this.immediate = setImmediate(this.step);
  }

  /** (Re)start the setTimeout for the end of this wait: the timeout or the next timer. */
  private arm(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const end = Math.min(this.deadline, this.timers.nextDue());
    if (end === Infinity) return; // only the epoll fd (or a change of the map) ends this wait
    // Rounded up: Node's timers may run up to a millisecond before performance.now() says.
    this.timer = setTimeout(this.onTimeout, Math.max(1, Math.ceil((end - monotonic()) * 1000)));
  }

  private readonly onTimeout = (): void => {
    this.timer = null;
    const now = monotonic();
    if (now < this.deadline && now < this.timers.nextDue()) this.arm(); // early, or the timer went away
    else this.wake();
  };

  private readonly onTimersChanged = (when: number): void => {
    if (!this.waiting) return;
    if (when === Infinity) {
      if (this.map.size === 0 && this.timers.live === 0) this.changed(); // nothing left to serve
    } else {
      this.arm(); // a sooner timer was scheduled from outside the loop
    }
  };

  private readonly wakeSoon = (): void => {
    this.immediate = null;
    this.wake();
  };

  /** End the wait: fetch what is ready now, dispatch it, run due timers. */
  private readonly wake = (): void => {
    if (!this.waiting || this.settled) return;
    this.stopWaiting();
    try {
      const k = this.poller.repoll();
      if (k < 0) throw socketError(-k, this.waitCall);
      this.endPass(k);
    } catch (e) {
      this.finish(e, true);
    }
  };

  private stopWaiting(): void {
    this.waiting = false;
    this.poller.unwatch();
    this.timers.wakers.delete(this.onTimersChanged);
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Settle: always release the libuv handle, the epoll fd and the map first. */
  private finish(err?: unknown, failed = false): void {
    if (this.settled) return;
    this.settled = true;
    this.stopWaiting();
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    this.reactor.unserve();
    try {
      this.driver.close();
    } catch (e) {
      if (!failed) {
        failed = true;
        err = e;
      }
    }
    if (failed) this.reject(err);
    else this.resolve();
  }
}

/**
 * **(beyond)** `loop()` inside Node's event loop: the same options and pass semantics (each
 * pass asks every channel `readable()`/`writable()` once; `count` counts passes; `timeout` is
 * each pass's longest wait), but between passes Node's timers, promises, other I/O and signal
 * listeners run. Resolves once `count` passes have run, or when the map is empty and no
 * (ref'd) callLater/callEvery timer is pending; rejects with `ExitNow` when a handler or timer
 * throws it, and with any other error that escapes a pass (as `loop()` would throw it). Its
 * libuv handle and epoll descriptor are released before it settles.
 *
 * The backend is a set libuv watches: the io_uring ring for `poller: 'uring'` (its data path
 * included), else the epoll set (`select`/`poll`/`usePoll` are validated, then served by it). One loopAsync() per map: a second one on the same map rejects, and `loop()`
 * on a map being served throws. A channel added to the map by code outside the loop (a Node
 * callback) ends the current wait, so it is served at once; interest that changes without a
 * handler or timer running is seen at the next pass.
 */
export function loopAsync(opts: LoopOptions = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const { timeout, map, count } = checkLoopOptions(opts, 'loopAsync()');
    new AsyncLoop(map, timeout, count, resolve, reject, choosePoller(opts)).start();
  });
}
