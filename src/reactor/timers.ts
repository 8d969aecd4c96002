// Timers for loop() and loopAsync(): callLater/callEvery, as pyftpdlib added to asyncore.
// One Scheduler per map (owned by the map's Reactor, as pyftpdlib's IOLoop owns its
// scheduler): a binary heap ordered by (due time, scheduling order). Cancelling or resetting a
// timer only marks its heap entry dead (O(1)); dead entries are skipped when they reach the
// top, and the heap is rebuilt when they dominate it.
import { ExitNow } from '../errors.js';
import { compactTraceback } from '../traceback.js';
import { requireDelay, requireFunction, typeError } from '../validate.js';

/** Seconds on the monotonic clock that every timer's `when` is measured on. */
export function monotonic(): number {
  return performance.now() / 1000;
}

interface Entry {
  when: number;
  seq: number;
  timer: TimerHandle;
}

/**
 * A channel that owns timers (Dispatcher.callLater): their exceptions go to its handleError,
 * and it is told when one ends (ran once, or cancelled) so that close() cancels only live ones.
 */
export interface TimerOwner {
  handleError(err: unknown): void;
  _timerDone(t: TimerHandle): void;
}

/**
 * A scheduled call, returned by `callLater` and `callEvery`. It runs inside `loop()` or
 * `loopAsync()` once `when` has passed (never early; late by at most one pass).
 */
export class TimerHandle {
  /** The delay (callLater) or interval (callEvery), in seconds. */
  readonly seconds: number;
  /** True for callEvery: the call repeats every `seconds` until cancelled. */
  readonly repeat: boolean;
  /** @internal */ _entry: Entry | null = null;
  /** @internal */ _when = 0;
  /** @internal */ _cancelled = false;
  /** @internal */ _ref = true;
  /** @internal The channel whose timer this is, or null for a module-level one. */
  readonly _owner: TimerOwner | null;
  readonly #fn: (...args: any[]) => unknown;
  readonly #args: unknown[];
  readonly #sched: Scheduler;

  /** @internal Use callLater() or callEvery(). */
  constructor(sched: Scheduler, seconds: number, repeat: boolean, fn: (...args: any[]) => unknown, args: unknown[], owner: TimerOwner | null = null) {
    this.#sched = sched;
    this.seconds = seconds;
    this.repeat = repeat;
    this.#fn = fn;
    this.#args = args;
    this._owner = owner;
  }

  /** The due time in seconds on the `monotonic()` clock (the next one, for callEvery). */
  get when(): number {
    return this._when;
  }

  /** True once cancel() was called. */
  get cancelled(): boolean {
    return this._cancelled;
  }

  /** True while the call is scheduled: not yet run (callLater), not cancelled. */
  get pending(): boolean {
    return this._entry !== null;
  }

  /** Never run (again). Idempotent; safe from inside the callback itself. */
  cancel(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    this.#sched._unschedule(this);
    this.#sched._maybeIdle();
    this._owner?._timerDone(this);
  }

  /**
   * Move the due time to `seconds` from now (an idle timeout pushed back by activity).
   * A callLater that already ran is scheduled again. A cancelled timer cannot be reset.
   */
  reset(): this {
    if (this._cancelled) {
      throw new Error('reset(): this timer was cancelled; schedule a new one with callLater() or callEvery()');
    }
    this.#sched._unschedule(this);
    this.#sched._schedule(this, monotonic() + this.seconds);
    return this;
  }

  /** Let loop()/loopAsync() finish while this timer is still pending (it still fires while they run). */
  unref(): this {
    if (this._ref) {
      this._ref = false;
      if (this._entry !== null) {
        this.#sched.live--;
        this.#sched._maybeIdle();
      }
    }
    return this;
  }

  /** Undo unref(): a pending timer keeps loop()/loopAsync() running (the default). */
  ref(): this {
    if (!this._ref) {
      this._ref = true;
      if (this._entry !== null) this.#sched.live++;
    }
    return this;
  }

  /** @internal A channel's timer runs with the channel as `this`. */
  _call(): void {
    this.#fn.apply(this._owner, this.#args);
  }

  toString(): string {
    const state = this._cancelled ? 'cancelled' : this._entry !== null ? `when=${this._when.toFixed(3)}` : 'done';
    return `<TimerHandle ${this.repeat ? 'every' : 'later'} ${this.seconds}s ${this.#fn.name || '<anonymous>'} ${state}>`;
  }
}

/** Compact only heaps this big, so tiny heaps never pay for rebuilding. */
const COMPACT_MIN = 64;

/** @internal The heap and its bookkeeping: one per map, in its Reactor. */
export class Scheduler {
  private heap: Entry[] = [];
  private seq = 0;
  /** Heap entries whose timer was cancelled or reset since they were pushed. */
  private dead = 0;
  /** Pending timers that keep a loop running (pending and not unref'd). */
  live = 0;
  /** Pending timers, ref'd or not. */
  pending = 0;
  /**
   * Told about changes a waiting loopAsync() must act on: a new earliest due time, or
   * Infinity when the last timer keeping loops alive was cancelled or unref'd.
   */
  readonly wakers = new Set<(when: number) => void>();

  /** How many heap entries exist, dead ones included (for tests of compaction). */
  get heapSize(): number {
    return this.heap.length;
  }

  /** @internal */
  _schedule(t: TimerHandle, when: number): void {
    const e: Entry = { when, seq: this.seq++, timer: t };
    t._entry = e;
    t._when = when;
    this.pending++;
    if (t._ref) this.live++;
    const heap = this.heap;
    heap.push(e);
    this.up(heap.length - 1);
    if (heap[0] === e && this.wakers.size > 0) {
      for (const w of [...this.wakers]) w(when);
    }
  }

  /** @internal Take a pending timer out of the schedule (lazily: its entry is left dead). */
  _unschedule(t: TimerHandle): void {
    if (t._entry === null) return;
    t._entry = null;
    this.pending--;
    if (t._ref) this.live--;
    this.dead++;
    if (this.dead > COMPACT_MIN && this.dead * 2 > this.heap.length) this.compact();
  }

  /** @internal */
  _maybeIdle(): void {
    if (this.live === 0 && this.wakers.size > 0) {
      for (const w of [...this.wakers]) w(Infinity);
    }
  }

  /** The earliest due time of a pending timer, or Infinity when there is none. */
  nextDue(): number {
    const top = this.top();
    return top === undefined ? Infinity : top.when;
  }

  /**
   * Run every timer due at the time of the call, in order of due time (ties in scheduling
   * order). Timers scheduled by these callbacks wait for the next call, even if already due,
   * so a callback that schedules with 0 seconds cannot starve the loop. An exception in a
   * callback is reported through `onTimerError` and the others still run; ExitNow propagates.
   */
  runDue(): number {
    if (this.pending === 0) return 0;
    const now = monotonic();
    const limit = this.seq;
    let ran = 0;
    for (;;) {
      const e = this.top();
      if (e === undefined || e.when > now || e.seq >= limit) break;
      this.pop();
      const t = e.timer;
      t._entry = null;
      this.pending--;
      if (t._ref) this.live--;
      if (t.repeat) {
        // From the previous due time, so the rhythm does not drift; a loop that fell behind
        // skips the missed calls instead of running them in a burst.
        let next = e.when + t.seconds;
        if (next <= now) next = now + t.seconds;
        this._schedule(t, next);
      } else {
        t._owner?._timerDone(t);
      }
      ran++;
      try {
        t._call();
      } catch (err) {
        if (err instanceof ExitNow) throw err;
        // A channel's timer fails like its handlers: through its handleError (which may close
        // it; what that throws escapes, as from any handler).
        if (t._owner !== null) t._owner.handleError(err);
        else reportTimerError(err, t);
      }
    }
    return ran;
  }

  /** Schedule `fn(...args)` `seconds` from now (once, or every `seconds` with `repeat`). */
  add(fnName: string, seconds: unknown, repeat: boolean, fn: unknown, args: unknown[], owner: TimerOwner | null): TimerHandle {
    const s = requireDelay(seconds, fnName, repeat);
    requireFunction(fn, `${fnName}(): the callback`);
    const t = new TimerHandle(this, s, repeat, fn as (...a: unknown[]) => unknown, args, owner);
    this._schedule(t, monotonic() + s);
    return t;
  }

  /** Forget every timer (for tests): all pending handles are cancelled. */
  clear(): void {
    for (const e of this.heap) {
      if (e.timer._entry === e) {
        e.timer._cancelled = true;
        e.timer._entry = null;
      }
    }
    this.heap = [];
    this.dead = 0;
    this.live = 0;
    this.pending = 0;
  }

  /** The earliest live entry, dropping dead ones from the top. */
  private top(): Entry | undefined {
    const heap = this.heap;
    while (heap.length > 0) {
      const e = heap[0]!;
      if (e.timer._entry === e) return e;
      this.pop();
      this.dead--;
    }
    return undefined;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.down(0);
    }
  }

  private compact(): void {
    this.heap = this.heap.filter((e) => e.timer._entry === e);
    this.dead = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const heap = this.heap;
    const e = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = heap[p]!;
      if (q.when < e.when || (q.when === e.when && q.seq < e.seq)) break;
      heap[i] = q;
      i = p;
    }
    heap[i] = e;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (heap[r]!.when < heap[c]!.when || (heap[r]!.when === heap[c]!.when && heap[r]!.seq < heap[c]!.seq))) c = r;
      const k = heap[c]!;
      if (e.when < k.when || (e.when === k.when && e.seq < k.seq)) break;
      heap[i] = k;
      i = c;
    }
    heap[i] = e;
  }
}

/**
 * Receives exceptions thrown by timer callbacks (ExitNow excepted). The default writes
 * `error: uncaptured exception in timer <TimerHandle ...> (Name:message [file|fn|line] ...)`
 * to stderr; the loop goes on either way. Replace it with `setTimerErrorHandler`.
 */
export type TimerErrorHandler = (err: unknown, timer: TimerHandle) => void;

function defaultTimerErrorHandler(err: unknown, timer: TimerHandle): void {
  const [, name, message, info] = compactTraceback(err);
  process.stderr.write(`error: uncaptured exception in timer ${timer.toString()} (${name}:${message} ${info})\n`);
}

let onTimerError: TimerErrorHandler = defaultTimerErrorHandler;

/** Route timer callback exceptions to `handler` (null restores the stderr log). Returns the previous one. */
export function setTimerErrorHandler(handler: TimerErrorHandler | null): TimerErrorHandler {
  if (handler !== null && typeof handler !== 'function') {
    throw typeError('setTimerErrorHandler(): handler must be a function (err, timer) => void, or null for the default');
  }
  const prev = onTimerError;
  onTimerError = handler ?? defaultTimerErrorHandler;
  return prev;
}

function reportTimerError(err: unknown, timer: TimerHandle): void {
  try {
    onTimerError(err, timer);
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    // A failing error handler must not stop the loop either: fall back to the default log.
    defaultTimerErrorHandler(e, timer);
  }
}
