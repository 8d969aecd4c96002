// The one contract every readiness backend implements. A loop pass (src/reactor/driver.ts) asks every
// channel readable()/writable() and tells the poller the resulting interest; the poller waits
// and reports ready (fd, events) pairs with poll(2)'s flag values.

import type { PollerName } from './names.js';

export type { PollerName } from './names.js';

/**
 * select(2)'s exceptional set: CPython puts every channel that is readable *or* writable in
 * it, even a listening one that is only writable, so the select backend needs this extra bit.
 */
export const SELECT_EXPT = 0x10000;

export interface Poller {
  readonly name: PollerName;
  /**
   * Declare `fd`'s interest for the coming poll (POLLIN, POLLPRI, POLLOUT, SELECT_EXPT).
   * Called once per pass per interested channel, in map order; `owner` is the channel, so a
   * backend that keeps state between passes can tell a reused fd number from the old one.
   * Throws (before any wait) if the backend cannot watch `fd`.
   */
  register(fd: number, events: number, owner: object): void;
  /** The channel on `fd` left the map: forget it now, before its number can be reused. */
  unregister(fd: number): void;
  /**
   * Wait up to `timeoutMs` (< 0: forever) for the interest registered this pass, and return
   * how many (fd, events) pairs are in readyFds/readyEvents, or -errno.
   * Also starts the next pass: registrations must be repeated before the next poll().
   */
  poll(timeoutMs: number): number;
  readonly readyFds: Int32Array;
  readonly readyEvents: Int32Array;
  /** Drop the registrations of a pass that was abandoned before poll() (an error mid-walk). */
  reset(): void;
  /** Release kernel resources (the epoll descriptor). */
  close(): void;
}

/**
 * A poller whose registrations persist between passes (epoll, uring): after a full pass the
 * Driver may declare only the channels whose answers can have changed; the rest stand.
 */
export interface StandingPoller extends Poller {
  /** `owner`'s registration on `fd` persists: it needs no register() to stay. */
  holds(fd: number, owner: object): boolean;
  /** The pass just declared was incremental: every earlier registration stands. */
  keepDeclared(): void;
  /** `fd`'s channel declared no interest in an incremental pass: stop watching it. */
  lose(fd: number): void;
}

/** `p` as a StandingPoller, or null when its registrations last one pass only. */
export function standingPoller(p: Poller): StandingPoller | null {
  return typeof (p as Partial<StandingPoller>).keepDeclared === 'function' ? p as StandingPoller : null;
}

/** Grow a typed array to hold at least `n` entries, keeping its contents. */
export function grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (a.length >= n) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}
