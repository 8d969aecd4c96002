// Timers per map (issue 11): each map's Reactor owns its timers. Module-level callLater and
// callEvery belong to socketMap; callLaterOn/callEveryOn to the map named; Dispatcher.callLater
// and callEvery to the channel's own map. loop()/loopAsync() over a map run and wait for that
// map's timers only. Also the timers inside a loop pass: the wait is cut to the next due time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaks, map, runUntil, usePrivateMap, scheduler, POLLERS } from '../helpers.js';
import {
  Dispatcher, ExitNow, callLater, callEvery, callLaterOn, callEveryOn, closeAll, loop, loopAsync,
  monotonic, setTimerErrorHandler, socketpair, socketMap, type SocketMap, type TimerHandle,
} from '../../src/index.js';
import { reactorFor } from '../../src/reactor/reactor.js';

const { sockets: extra } = usePrivateMap({ timers: true });
checkLeaks();

/** A channel on one end of a socketpair that asks for nothing: only timers and timeouts end a pass. */
class Quiet extends Dispatcher {
  errors: unknown[] = [];
  override readable(): boolean {
    return false;
  }
  override writable(): boolean {
    return false;
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
  }
}

/** A Quiet channel in `m` (default: the test's private map); the other end is closed after the test. */
function quiet(m: SocketMap = map): Quiet {
  const [a, b] = socketpair();
  extra.push(b);
  return new Quiet(a, m);
}

/** Pending timers of `m`'s reactor. */
const pendingOn = (m: SocketMap): number => reactorFor(m).timers.pending;

describe('module-level timers belong to socketMap', () => {
  it('loop() on an empty private map returns at once while a global callLater timer is pending', () => {
    let fired = false;
    const g = callLater(0.3, () => { fired = true; });
    try {
      loop({ map: new Map(), timeout: 5 }); // no count: it would wait for timers of its own
      assert.ok(monotonic() < g.when, 'returned before the global timer was due');
      assert.equal(fired, false);
      assert.equal(g.pending, true, 'the global timer is untouched');
    } finally {
      g.cancel();
    }
  });

  it('loopAsync() on an empty private map resolves at once while a global callLater timer is pending', async () => {
    let fired = false;
    const g = callLater(0.3, () => { fired = true; });
    try {
      await loopAsync({ map: new Map(), timeout: 5 });
      assert.ok(monotonic() < g.when, 'resolved before the global timer was due');
      assert.equal(fired, false);
    } finally {
      g.cancel();
    }
  });

  it('a global timer never fires inside another map\'s loop() (with channels, with a count, without one)', () => {
    let fired = 0;
    const g = callLater(0, () => { fired++; });
    const e = callEvery(0.001, () => { fired++; });
    try {
      quiet();
      loop({ map, timeout: 0.01, count: 5 });
      // Without a count: kept alive only by its own timer, which ends it.
      callLaterOn(map, 0.03, () => closeAll(map));
      loop({ map, timeout: 0.01 });
      assert.equal(map.size, 0);
      assert.equal(fired, 0, 'neither global timer ran in the private map\'s loop');
      assert.equal(g.pending, true);
      // socketMap's own loop runs them (its map is empty: its timers keep it going).
      loop({ timeout: 0.01, count: 2 });
      assert.ok(fired >= 2, `fired ${fired}`);
      assert.equal(g.pending, false);
    } finally {
      g.cancel();
      e.cancel();
    }
  });

  it('a global timer never fires inside another map\'s loopAsync()', async () => {
    let fired = 0;
    const g = callLater(0, () => { fired++; });
    const e = callEvery(0.001, () => { fired++; });
    try {
      quiet();
      await loopAsync({ map, timeout: 0.01, count: 5 });
      callLaterOn(map, 0.03, () => closeAll(map));
      await loopAsync({ map, timeout: 0.01 });
      assert.equal(map.size, 0);
      assert.equal(fired, 0);
      assert.equal(g.pending, true);
    } finally {
      g.cancel();
      e.cancel();
    }
  });

  it('module-level timers are on socketMap\'s reactor, not on the private map\'s', () => {
    const g = callLater(10, () => {});
    try {
      assert.equal(reactorFor(socketMap).timers, scheduler);
      assert.equal(scheduler.pending, 1);
      assert.equal(pendingOn(map), 0);
    } finally {
      g.cancel();
    }
  });
});

describe('callLaterOn / callEveryOn(map, ...)', () => {
  it('run only in that map\'s loops, and keep them alive while pending', () => {
    const m1: SocketMap = new Map(), m2: SocketMap = new Map();
    const ran: string[] = [];
    const h1 = callLaterOn(m1, 0.02, () => ran.push('m1'));
    const h2 = callLaterOn(m2, 0.02, () => ran.push('m2'));
    try {
      loop({ map: m1, timeout: 5 }); // m1 is empty: only its timer keeps the loop going
      assert.deepEqual(ran, ['m1']);
      assert.ok(monotonic() >= h1.when, 'it waited for its timer');
      assert.equal(h2.pending, true);
      loop({ timeout: 0.01, count: 3 }); // socketMap's loop: none of theirs
      loop({ map: new Map(), timeout: 0.01 });
      assert.deepEqual(ran, ['m1']);
      loop({ map: m2, timeout: 5 });
      assert.deepEqual(ran, ['m1', 'm2']);
    } finally {
      h1.cancel();
      h2.cancel();
    }
  });

  it('callEveryOn repeats in its map\'s loop until cancelled, which ends a loop it alone kept alive', () => {
    const m1: SocketMap = new Map();
    let n = 0;
    const h = callEveryOn(m1, 0.005, () => {
      if (++n === 3) h.cancel();
    });
    loop({ map: m1, timeout: 5 });
    assert.equal(n, 3);
    assert.equal(h.pending, false);
    assert.equal(pendingOn(m1), 0);
  });

  it('pass arguments through; the callback has no channel as `this`', () => {
    const m1: SocketMap = new Map();
    const got: unknown[] = [];
    callLaterOn(m1, 0, function (this: unknown, a: number, b: string) { got.push(this, a, b); }, 1, 'two');
    loop({ map: m1, timeout: 1 });
    assert.deepEqual(got, [null, 1, 'two']);
  });

  it('a map that is not a Map is refused with a TypeError (null and undefined mean socketMap)', () => {
    for (const bad of [{}, 'map', 5]) {
      assert.throws(() => callLaterOn(bad as never, 1, () => {}), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /callLaterOn\(\)/ });
      assert.throws(() => callEveryOn(bad as never, 1, () => {}), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /callEveryOn\(\)/ });
    }
  });
});

describe('Dispatcher.callLater / callEvery: a channel\'s own timers', () => {
  it('run in the loop of the channel\'s map, with the channel as `this` and the arguments given', () => {
    const d = quiet();
    const calls: unknown[][] = [];
    const h = d.callLater(0.01, function (this: Quiet, a: number, b: string) { calls.push([this, a, b]); }, 1, 'two');
    assert.equal(pendingOn(map), 1, 'on the map\'s reactor');
    assert.equal(scheduler.pending, 0, 'not on socketMap\'s');
    loop({ timeout: 0.01, count: 3 }); // socketMap's loop
    loop({ map: new Map(), timeout: 0.01 }); // another map's
    const other: SocketMap = new Map();
    quiet(other);
    loop({ map: other, timeout: 0.02, count: 3 });
    closeAll(other);
    assert.deepEqual(calls, [], 'never in another map\'s loop');
    runUntil(() => calls.length > 0, undefined, 'the channel timer');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]![0], d);
    assert.deepEqual((calls[0] as unknown[]).slice(1), [1, 'two']);
    assert.equal(h.pending, false);
    assert.deepEqual(d.errors, []);
  });

  it('run under loopAsync() of the channel\'s map', async () => {
    const d = quiet();
    let self: unknown = null;
    d.callLater(0.01, function (this: Quiet) {
      self = this;
      this.close();
    });
    await loopAsync({ map, timeout: 5 });
    assert.equal(self, d);
    assert.equal(map.size, 0);
  });

  it('callEvery repeats until cancelled', () => {
    const d = quiet();
    let n = 0;
    const h: TimerHandle = d.callEvery(0.005, function (this: Quiet) {
      assert.equal(this, d);
      if (++n === 3) h.cancel();
    });
    assert.equal(h.repeat, true);
    runUntil(() => n >= 3, undefined, 'three calls');
    loop({ map, timeout: 0.02, count: 3 });
    assert.equal(n, 3, 'no call after cancel()');
    assert.equal(h.cancelled, true);
    assert.equal(pendingOn(map), 0);
  });

  it('a channel timer keeps loop() without count going only as long as the channel does', () => {
    const d = quiet();
    d.callLater(0.02, function (this: Quiet) { this.close(); });
    const t0 = monotonic();
    loop({ map, timeout: 5 });
    assert.equal(map.size, 0);
    assert.ok(monotonic() - t0 >= 0.02, 'ran until the timer closed the channel');
  });

  it('exceptions go to that channel\'s handleError, not to the timer error handler or another channel', () => {
    const a = quiet(), b = quiet();
    const reported: unknown[] = [];
    const prev = setTimerErrorHandler((err) => { reported.push(err); });
    try {
      const boomA = new Error('from a\'s timer');
      const boomB = new TypeError('from b\'s repeating timer');
      a.callLater(0, () => { throw boomA; });
      let n = 0;
      const h = b.callEvery(0.005, () => {
        if (++n === 2) h.cancel();
        throw boomB;
      });
      runUntil(() => n >= 2 && a.errors.length > 0, undefined, 'both timers');
      assert.deepEqual(a.errors, [boomA]);
      assert.deepEqual(b.errors, [boomB, boomB], 'a repeating timer that throws keeps its rhythm');
      assert.deepEqual(reported, [], 'the module-level timer error handler saw nothing');
      assert.equal(map.size, 2, 'these handleErrors keep their channels');
    } finally {
      setTimerErrorHandler(prev);
    }
  });

  it('the default handleError closes the channel, cancelling its other timers', () => {
    const [x, y] = socketpair();
    extra.push(y);
    class Plain extends Quiet {
      override handleError(err: unknown): void {
        this.errors.push(err);
        Dispatcher.prototype.handleError.call(this, err); // logs and closes
      }
    }
    const d = new Plain(x, map);
    d.logInfo = () => {}; // keep the test's output clean
    d.callLater(0, () => { throw new Error('boom'); });
    const later = d.callLater(0.05, () => assert.fail('cancelled by close()'));
    runUntil(() => d.errors.length > 0, undefined, 'the failing timer');
    assert.equal(map.size, 0, 'handleError closed it');
    assert.equal(later.cancelled, true);
    assert.equal(pendingOn(map), 0);
  });

  it('ExitNow thrown by a channel timer escapes loop() and loopAsync(), bypassing handleError', async () => {
    const d = quiet();
    d.callLater(0, () => { throw new ExitNow('stop from a timer'); });
    assert.throws(() => loop({ map, timeout: 0.05, count: 10 }), (e: unknown) => e instanceof ExitNow && /stop from a timer/.test(e.message));
    d.callLater(0, () => { throw new ExitNow('stop again'); });
    await assert.rejects(loopAsync({ map, timeout: 0.05, count: 10 }), (e: unknown) => e instanceof ExitNow && /stop again/.test(e.message));
    assert.deepEqual(d.errors, []);
  });

  it('close() cancels the channel\'s pending timers, once and for all', () => {
    const d = quiet();
    const keep = quiet(); // the map stays non-empty, so the passes below really run
    let fired = 0;
    const h1 = d.callLater(0.005, () => { fired++; });
    const h2 = d.callEvery(0.005, () => { fired++; });
    const other = keep.callLater(0.005, () => {});
    assert.equal(pendingOn(map), 3);
    d.close();
    assert.equal(h1.cancelled, true);
    assert.equal(h2.cancelled, true);
    assert.equal(h1.pending || h2.pending, false);
    assert.equal(pendingOn(map), 1, 'only the other channel\'s timer is left');
    runUntil(() => !other.pending, undefined, 'the other channel\'s timer');
    loop({ map, timeout: 0.01, count: 3 });
    assert.equal(fired, 0);
    d.close(); // idempotent
    assert.throws(() => h1.reset(), /cancelled/);
  });

  it('close() inside the channel\'s own timer stops it and cancels the rest', () => {
    const d = quiet();
    let n = 0, other = 0;
    d.callEvery(0.005, function (this: Quiet) {
      n++;
      this.close();
    });
    const later = d.callLater(0.5, () => { other++; });
    loop({ map, timeout: 5 }); // ends when the close empties the map (its timers are gone)
    assert.equal(n, 1, 'the repeating timer ran once');
    assert.equal(later.cancelled, true);
    assert.equal(other, 0);
    assert.equal(pendingOn(map), 0);
  });

  it('a timer that already ran is left alone by close() (it is not cancelled after the fact)', () => {
    const d = quiet();
    let ran = false;
    const h = d.callLater(0, () => { ran = true; });
    runUntil(() => ran, undefined, 'the timer');
    d.close();
    assert.equal(h.cancelled, false);
    assert.equal(h.pending, false);
  });

  it('bad arguments are refused with a coded error, and nothing is scheduled', () => {
    const d = quiet();
    assert.throws(() => d.callLater(-1, () => {}), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /callLater\(\): seconds must be a finite number >= 0, not -1/ });
    assert.throws(() => d.callEvery(0, () => {}), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /callEvery\(\): seconds must be a finite number > 0/ });
    assert.throws(() => d.callLater(1, 'f' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /callback must be a function/ });
    assert.equal(pendingOn(map), 0);
  });
});

describe('loopAsync() waits only for its own map\'s timers', () => {
  it('one map after the other', async () => {
    const m1: SocketMap = new Map(), m2: SocketMap = new Map();
    const ran: string[] = [];
    const g = callLater(0.4, () => ran.push('global'));
    const h1 = callLaterOn(m1, 0.02, () => ran.push('m1'));
    const h2 = callLaterOn(m2, 0.25, () => ran.push('m2'));
    try {
      await loopAsync({ map: m1, timeout: 5 });
      assert.deepEqual(ran, ['m1']);
      assert.ok(monotonic() >= h1.when);
      assert.ok(monotonic() < h2.when, 'it did not wait for m2\'s timer');
      await loopAsync({ map: m2, timeout: 5 });
      assert.deepEqual(ran, ['m1', 'm2']);
      assert.ok(monotonic() < g.when, 'nor for the global one');
      assert.equal(g.pending, true);
    } finally {
      g.cancel();
    }
  });

  it('two maps at once: each settles when its own timers are done', async () => {
    const m1: SocketMap = new Map(), m2: SocketMap = new Map();
    const done: Record<string, number> = {};
    const h1 = callLaterOn(m1, 0.02, () => {});
    const h2 = callLaterOn(m2, 0.2, () => {});
    await Promise.all([
      loopAsync({ map: m1, timeout: 5 }).then(() => { done.m1 = monotonic(); }),
      loopAsync({ map: m2, timeout: 5 }).then(() => { done.m2 = monotonic(); }),
    ]);
    assert.ok(done.m1! >= h1.when && done.m1! < h2.when, `m1 settled at ${done.m1}, its timer was due at ${h1.when}, m2's at ${h2.when}`);
    assert.ok(done.m2! >= h2.when);
  });

  it('socketMap\'s loopAsync() waits for the global timers', async () => {
    let fired = false;
    const g = callLater(0.02, () => { fired = true; });
    await loopAsync({ timeout: 5 });
    assert.equal(fired, true);
    assert.ok(monotonic() >= g.when);
  });
});

// Moved from the scheduler's unit tests: these need sockets.
describe('timers inside loop()', () => {
  for (const poller of POLLERS) {
    it(`${poller}: the wait is cut to the next due time (loop({ timeout: 5, count: 1 }) with a 0.05 s timer)`, () => {
      const m: SocketMap = new Map();
      const [a, b] = socketpair();
      const idle = new Dispatcher(a, m); // readable, never ready: only the timeout could end the wait
      idle.writable = () => false;
      let firedAt = 0;
      const t0 = monotonic();
      const h = callLaterOn(m, 0.05, () => { firedAt = monotonic(); });
      try {
        loop({ timeout: 5, count: 1, map: m, poller });
        const took = monotonic() - t0;
        assert.ok(took < 2, `returned after ${took.toFixed(3)} s, not by the timer`);
        assert.ok(took >= 0.05, 'but not before the timer was due');
        assert.ok(firedAt >= h.when, 'the timer ran in that pass, never early');
      } finally {
        h.cancel();
        closeAll(m);
        b.close();
      }
    });
  }

  it('without count, loop() keeps running while only timers are pending; with count it stops', () => {
    const m: SocketMap = new Map();
    let ran = 0;
    callLaterOn(m, 0.03, () => ran++);
    const t0 = monotonic();
    loop({ map: m, timeout: 1 });
    assert.equal(ran, 1);
    assert.ok(monotonic() - t0 >= 0.03);
    const h = callLaterOn(m, 0.2, () => ran++);
    const t1 = monotonic();
    loop({ map: m, timeout: 0.01, count: 2 });
    assert.ok(monotonic() - t1 < 0.15, 'two 10 ms passes, then it returned');
    assert.equal(ran, 1);
    assert.equal(h.pending, true);
    h.cancel();
  });

  it('a timer can open a channel that keeps loop() running after the timers are done', () => {
    const map: SocketMap = new Map();
    const [a, b] = socketpair();
    const got: string[] = [];
    class Reader extends Dispatcher {
      override writable(): boolean {
        return false;
      }
      override handleRead(): void {
        const d = this.recv(100);
        if (d.length) got.push(d.toString());
      }
      override handleClose(): void {
        this.close();
      }
    }
    callLaterOn(map, 0.01, () => {
      new Reader(a, map);
      callLaterOn(map, 0.01, () => {
        b.send(Buffer.from('hi'));
        b.close();
      });
    });
    loop({ timeout: 1, map });
    assert.deepEqual(got, ['hi']);
    assert.equal(map.size, 0);
  });
});
