// Incremental passes (beyond CPython): what lets an epoll pass skip the channels whose
// readable()/writable() answers cannot have changed.
//
// A channel whose predicates are the library's own answers from state the library owns
// (connected, accepting, connecting, acceptPaused, the output queue and its high-water mark).
// Every change of that state calls touch(), which stamps the channel with a new tick of one
// process-wide clock; a driver remembers the tick its last pass started at, and asks again
// only channels stamped since, plus every channel with predicates of its own.

let clock = 1;

/** The current tick. */
export function tick(): number {
  return clock;
}

/** Library-owned state of `ch` changed: its predicates must be asked again. */
export function touch(ch: object): void {
  (ch as { _stamp?: number })._stamp = ++clock;
}

/** Marks readable()/writable() implementations whose answers depend only on touched state. */
export const LIBRARY_PREDICATE: unique symbol = Symbol('asyncore.libraryPredicate');

/** Mark `fns` as library predicates (see LIBRARY_PREDICATE). */
export function libraryPredicates(...fns: Function[]): void {
  for (const f of fns) (f as unknown as Record<symbol, boolean>)[LIBRARY_PREDICATE] = true;
}

type State = {
  _connected?: unknown; _accepting?: unknown; _connecting?: unknown; _acceptPaused?: unknown; _stamp?: number;
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
      set(this: State, v: unknown): void { if (this._connected !== v) { this._connected = v; this._stamp = ++clock; } },
    },
    accepting: {
      configurable: true,
      get(this: State): unknown { return this._accepting ?? false; },
      set(this: State, v: unknown): void { if (this._accepting !== v) { this._accepting = v; this._stamp = ++clock; } },
    },
    connecting: {
      configurable: true,
      get(this: State): unknown { return this._connecting ?? false; },
      set(this: State, v: unknown): void { if (this._connecting !== v) { this._connecting = v; this._stamp = ++clock; } },
    },
    acceptPaused: {
      configurable: true,
      get(this: State): unknown { return this._acceptPaused ?? false; },
      set(this: State, v: unknown): void { if (this._acceptPaused !== v) { this._acceptPaused = v; this._stamp = ++clock; } },
    },
  });
}
