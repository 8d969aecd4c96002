// Module-level callLater/callEvery: timers on socketMap's reactor, run by loop()/loopAsync()
// over socketMap only (a channel's own timers use Dispatcher.callLater).
import { type SocketMap, checkMap, socketMap } from './map.js';
import { reactorFor } from './reactor.js';
import type { TimerHandle } from './timers.js';

/**
 * Call `fn(...args)` once, `seconds` (>= 0) from now, inside loop() or loopAsync() over
 * socketMap (it never runs while no such loop runs). A pending timer keeps them running
 * without `count` even when the map is empty, unless it is unref'd.
 */
export function callLater<A extends unknown[]>(seconds: number, fn: (...args: A) => unknown, ...args: A): TimerHandle {
  return reactorFor(socketMap).timers.add('callLater', seconds, false, fn, args, null);
}

/**
 * Call `fn(...args)` every `seconds` (> 0), first `seconds` from now, until the handle is
 * cancelled (also from inside `fn`). Each call is due `seconds` after the previous due time.
 */
export function callEvery<A extends unknown[]>(seconds: number, fn: (...args: A) => unknown, ...args: A): TimerHandle {
  return reactorFor(socketMap).timers.add('callEvery', seconds, true, fn, args, null);
}

/** **(beyond)** `callLater` on the timers of `map`: it runs in loop()/loopAsync() over that map only. */
export function callLaterOn<A extends unknown[]>(map: SocketMap, seconds: number, fn: (...args: A) => unknown, ...args: A): TimerHandle {
  return reactorFor(checkMap(map, 'callLaterOn()')).timers.add('callLaterOn', seconds, false, fn, args, null);
}

/** **(beyond)** `callEvery` on the timers of `map`: it runs in loop()/loopAsync() over that map only. */
export function callEveryOn<A extends unknown[]>(map: SocketMap, seconds: number, fn: (...args: A) => unknown, ...args: A): TimerHandle {
  return reactorFor(checkMap(map, 'callEveryOn()')).timers.add('callEveryOn', seconds, true, fn, args, null);
}
