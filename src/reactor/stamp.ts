// Incremental passes (beyond CPython): what lets an epoll pass ask only the channels whose
// readable()/writable() answers may have changed.
//
// A channel whose predicates are the library's own answers from state the library owns
// (connected, accepting, connecting, acceptPaused, the output queue and its high-water mark).
// Every change of that state calls touch(), which appends the channel to one process-wide
// log; a driver remembers how far it has read the log, and a pass asks the channels touched
// since, plus every channel with predicates of its own. Replacing a library predicate (on an
// instance or a prototype) bumps the predicate epoch, and the next pass asks everyone.

/** Channels whose library-owned state changed, in order; `logBase` is the position of log[0]. */
export const log: object[] = [];
let base = 0;
let epoch = 1;
// Bounded: when the log is dropped, a driver that had not read it all asks everyone once.
const LOG_MAX = 1 << 16;

/** The position (in the whole history) of the log's first entry. */
export function logBase(): number {
  return base;
}

/** The predicate epoch: changes when a library readable()/writable() is replaced. */
export function predicateEpoch(): number {
  return epoch;
}

/** Library-owned state of `ch` changed: its predicates must be asked again. */
export function touch(ch: object): void {
  if (log.length >= LOG_MAX) {
    base += log.length;
    log.length = 0;
  }
  log.push(ch);
}

/** Marks readable()/writable() implementations whose answers depend only on touched state. */
export const LIBRARY_PREDICATE: unique symbol = Symbol('asyncore.libraryPredicate');

/**
 * Mark `proto`'s readable() and writable() as library predicates. They become accessors that
 * return the method, so that replacing one (`ch.readable = fn`, or on a prototype) is seen:
 * the replacement is stored as a plain property where it was assigned, and the epoch moves.
 * Each of `settings` (a value the predicates read, such as outHighWater) becomes an accessor
 * too: assigning it (on an instance or a prototype) stores the value and moves the epoch.
 */
export function libraryPredicates(proto: object, ...settings: string[]): void {
  for (const name of ['readable', 'writable'] as const) {
    const fn = (proto as Record<string, unknown>)[name] as Record<symbol, boolean>;
    fn[LIBRARY_PREDICATE] = true;
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: false,
      get(): unknown {
        return fn;
      },
      set(this: object, v: unknown): void {
        Object.defineProperty(this, name, { value: v, writable: true, configurable: true, enumerable: true });
        epoch++;
      },
    });
  }
  for (const name of settings) {
    const key = Symbol(name);
    const store = proto as Record<symbol, unknown>;
    store[key] = (proto as Record<string, unknown>)[name];
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: false,
      // Found through the prototype chain: an instance's own value, else a prototype's.
      get(this: Record<symbol, unknown>): unknown {
        return this[key];
      },
      set(this: Record<symbol, unknown>, v: unknown): void {
        this[key] = v;
        epoch++;
      },
    });
  }
}

type State = {
  _connected?: unknown; _accepting?: unknown; _connecting?: unknown; _acceptPaused?: unknown;
};

/**
 * Define `connected`, `accepting`, `connecting` and `acceptPaused` on `proto` as accessors
 * that store the value under `_name` and touch the channel when it changes (unset reads as
 * false, as the fields started). Written out one by one: each getter stays monomorphic.
 */
export function defineChannelState(proto: object): void {
  Object.defineProperties(proto, {
    connected: {
      configurable: true,
      get(this: State): unknown { return this._connected ?? false; },
      set(this: State, v: unknown): void { if (this._connected !== v) { this._connected = v; touch(this); } },
    },
    accepting: {
      configurable: true,
      get(this: State): unknown { return this._accepting ?? false; },
      set(this: State, v: unknown): void { if (this._accepting !== v) { this._accepting = v; touch(this); } },
    },
    connecting: {
      configurable: true,
      get(this: State): unknown { return this._connecting ?? false; },
      set(this: State, v: unknown): void { if (this._connecting !== v) { this._connecting = v; touch(this); } },
    },
    acceptPaused: {
      configurable: true,
      get(this: State): unknown { return this._acceptPaused ?? false; },
      set(this: State, v: unknown): void { if (this._acceptPaused !== v) { this._acceptPaused = v; touch(this); } },
    },
  });
}
