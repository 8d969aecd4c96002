// loop(), poll(), poll2()/poll3() and closeAll(): passes over a map, each through the map's
// Reactor (its drivers and its timers only).
import { EBADF } from '../sys/errno.js';
import { ExitNow, SocketError } from '../errors.js';
import { POLLER_NAMES, type PollerName } from '../pollers/names.js';
import { describe, requireOneOf, requireTimeout, typeError } from '../validate.js';
import type { Driver } from './driver.js';
import { type SocketMap, checkMap } from './map.js';
import { type Reactor, reactorFor } from './reactor.js';
import { monotonic } from './timers.js';

export interface LoopOptions {
  /** Seconds each pass may wait (default 30; null: forever). */
  timeout?: number | null;
  /** Use poll(2) instead of select(2). */
  usePoll?: boolean;
  /** The channels to serve (default socketMap). */
  map?: SocketMap;
  /** Passes to run; undefined/null: until the map is empty. */
  count?: number | null;
  /** Backend, overriding usePoll and ASYNCORE_POLLER. */
  poller?: PollerName;
}

/** The backend `loop()` would use for these options. */
export function choosePoller(opts: LoopOptions = {}): PollerName {
  if (opts.poller !== undefined) return requireOneOf(opts.poller, POLLER_NAMES, 'loop(): poller');
  if (opts.usePoll) return 'poll';
  const env = process.env.ASYNCORE_POLLER;
  if (env) return requireOneOf(env, POLLER_NAMES, 'ASYNCORE_POLLER');
  return 'select';
}

/** Validate loop()/loopAsync() options: the timeout (default 30 s), map and count. */
export function checkLoopOptions(opts: LoopOptions, fn: string): { timeout: number | null; map: SocketMap; count: number | null | undefined } {
  if (opts === null || typeof opts !== 'object') {
    throw typeError(`${fn}: options must be an object such as { timeout: 30, count: 1 }, not ${describe(opts)}`);
  }
  const timeout = requireTimeout(opts.timeout === undefined ? 30 : opts.timeout, fn);
  const map = checkMap(opts.map, fn);
  const count = opts.count;
  if (count !== undefined && count !== null && (typeof count !== 'number' || Number.isNaN(count))) {
    throw typeError(`${fn}: count must be a number of passes (or null for no limit), not ${Number.isNaN(count) ? 'NaN' : describe(count)}`);
  }
  choosePoller(opts); // validates poller and ASYNCORE_POLLER, so a typo is never ignored
  return { timeout, map, count };
}

function refuseServed(reactor: Reactor, fn: string): void {
  if (reactor.served) {
    throw new Error(`${fn}: this map is being served by loopAsync(); await it (or use another map) instead of calling ${fn} on it`);
  }
}

/** One pass with the map's driver for `name` (poll() and poll2()); no timers, as in CPython. */
function onePass(timeout: unknown, map: SocketMap | undefined, name: PollerName, fn: string): void {
  const t = requireTimeout(timeout, fn);
  const m = checkMap(map, fn);
  const reactor = reactorFor(m);
  refuseServed(reactor, fn);
  if (m.size === 0) return;
  const d = reactor.driver(name);
  reactor.service();
  try {
    d.run(t, m);
  } finally {
    if (d.transient) d.close();
  }
}

/** One select(2) pass over `map` (default socketMap), waiting up to `timeout` seconds. */
export function poll(timeout: number | null = 0, map?: SocketMap): void {
  onePass(timeout, map, 'select', 'poll()');
}

/** One poll(2) pass over `map` (default socketMap), waiting up to `timeout` seconds. */
export function poll2(timeout: number | null = 0, map?: SocketMap): void {
  onePass(timeout, map, 'poll', 'poll2()');
}

/** Alias of poll2, as in CPython. */
export const poll3 = poll2;

/**
 * One loop() pass with the map's timers: the wait ends by the next due time (rounded up,
 * never early) and the timers due run after the channels' events.
 */
/** A retiring ring's sends move on only when serviced: its passes wait at most this long. */
const RETIRING_WAIT = 0.005;

function timedPass(driver: Driver, reactor: Reactor, timeout: number | null): void {
  if (reactor.service() && (timeout === null || timeout > RETIRING_WAIT)) timeout = RETIRING_WAIT;
  const timers = reactor.timers;
  const due = timers.pending > 0 ? timers.nextDue() - monotonic() : Infinity;
  if (timeout === null ? due < Infinity : due < timeout) driver.run(Math.max(0, due), reactor.map, true);
  else driver.run(timeout, reactor.map);
  timers.runDue();
}

/**
 * Serve the channels in `map` until it is empty or `count` passes have run. Synchronous, like
 * Python: it owns the thread (use `loopAsync` to share it with the rest of Node).
 *
 * Timers run here too, but only the map's own: module-level callLater/callEvery belong to
 * socketMap, and a channel's `callLater` to the channel's map. Each pass waits at most until
 * the next one is due, and runs the due ones after the channels' events. Without a `count`,
 * the loop also keeps running while the map is empty but one of its timers is pending (an
 * unref'd timer does not count), so a timer can open the next connection; with a `count`, it
 * stops after that many passes (or sooner, once the map is empty and no timer is pending).
 */
export function loop(opts: LoopOptions = {}): void {
  const { timeout, map } = checkLoopOptions(opts, 'loop()');
  let count = opts.count;
  const reactor = reactorFor(map);
  refuseServed(reactor, 'loop()');
  const name = choosePoller(opts);
  const timers = reactor.timers;
  if (map.size === 0 && timers.live === 0) return;
  let driver = reactor.driver(name);
  // When the map empties mid-loop its driver is released (closed); a handleClose that
  // reconnects, or a timer, may refill the map, and the next pass needs a live driver.
  const pass = (): void => {
    if (driver.closed) driver = reactor.driver(name);
    timedPass(driver, reactor, timeout);
  };
  try {
    if (count === undefined || count === null) {
      while (map.size > 0 || timers.live > 0) pass();
    } else {
      for (; (map.size > 0 || timers.live > 0) && count > 0; count--) pass();
    }
  } finally {
    if (driver.transient) driver.close();
    if (map.size === 0) reactor.release();
  }
}

/**
 * Close every channel in `map` (default socketMap) and clear it. EBADF is ignored; other
 * errors propagate unless `ignoreAll`. ExitNow always propagates.
 */
export function closeAll(map?: SocketMap, ignoreAll = false): void {
  const m = checkMap(map, 'closeAll()');
  try {
    for (const x of [...m.values()]) {
      try {
        x.close();
      } catch (e) {
        if (e instanceof ExitNow) throw e;
        if (e instanceof SocketError && e.errno === EBADF) continue;
        if (!ignoreAll) throw e;
      }
    }
    m.clear();
  } finally {
    if (m.size === 0) reactorFor(m).release();
  }
}
