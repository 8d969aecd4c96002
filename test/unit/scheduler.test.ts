// The scheduler: callLater/callEvery handles, heap order, lazy cancellation, error reporting.
// (Timers inside loop() passes over sockets, and timers per map: test/integration/reactor-timers.test.ts.)
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { argError, capture, checkLeaks } from '../helpers.js';
import {
  callLater, callEvery, callLaterOn, monotonic, setTimerErrorHandler, loop, ExitNow,
  type SocketMap, type TimerHandle,
} from '../../src/index.js';
import { Scheduler, TimerHandle as TimerHandleClass } from '../../src/reactor/timers.js';
import { scheduler } from '../helpers.js';

/** What `fn` writes to stderr. */
const captureErr = (fn: () => void): string => capture(fn).err;

checkLeaks();
afterEach(() => {
  const left = scheduler.pending;
  scheduler.clear();
  assert.equal(left, 0, 'a test left timers pending');
});

/** Independent of performance.now(): the kernel's CLOCK_MONOTONIC through process.hrtime. */
function hr(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

describe('callLater', () => {
  it('is never early: each call runs at or after its due time, measured on two monotonic clocks', () => {
    const fired: { seconds: number; hrStart: number; when: number; at: number; hrAt: number }[] = [];
    for (const seconds of [0, 0.001, 0.01, 0.025, 0.04, 0.06]) {
      const hrStart = hr();
      // Bracketed by clock reads before and after the call: a descheduled test process (a
      // shared VM) cannot make a correct due time look wrong, and no tolerance is needed.
      const before = monotonic();
      const h: TimerHandle = callLater(seconds, () => fired.push({ seconds, hrStart, when: h.when, at: monotonic(), hrAt: hr() }));
      const after = monotonic();
      assert.ok(h.when >= before + seconds && h.when <= after + seconds, 'when = now + seconds');
    }
    loop({ timeout: 1 }); // only timers: it runs until they are done
    assert.equal(fired.length, 6);
    for (const f of fired) {
      assert.ok(f.at >= f.when, `${f.seconds}s timer ran ${((f.when - f.at) * 1000).toFixed(3)} ms early`);
      assert.ok(f.hrAt - f.hrStart >= f.seconds, `${f.seconds}s timer ran early by the hrtime clock`);
      assert.ok(f.at - f.when < 1, 'and not absurdly late');
    }
    assert.deepEqual(fired.map((f) => f.seconds), [0, 0.001, 0.01, 0.025, 0.04, 0.06]);
  });

  it('passes its arguments, and the handle reports state', () => {
    const got: unknown[] = [];
    const h: TimerHandle = callLater(0, (a: number, b: string) => got.push(a, b), 1, 'two');
    assert.equal(h.pending, true);
    assert.equal(h.cancelled, false);
    assert.equal(h.repeat, false);
    assert.equal(h.seconds, 0);
    assert.match(String(h), /^<TimerHandle later 0s .*when=/);
    loop();
    assert.deepEqual(got, [1, 'two']);
    assert.equal(h.pending, false);
    assert.match(String(h), /done>$/);
  });

  it('cancel(): never runs; idempotent; a loop with only cancelled timers returns at once', () => {
    let ran = 0;
    const h = callLater(0.01, () => ran++);
    h.cancel();
    h.cancel();
    assert.equal(h.cancelled, true);
    assert.equal(h.pending, false);
    const t0 = monotonic();
    loop({ timeout: 1 });
    assert.ok(monotonic() - t0 < 0.5);
    assert.equal(ran, 0);
  });

  it('reset(): pushes the due time back, re-arms a fired call, refuses a cancelled one', () => {
    const runs: number[] = [];
    const h = callLater(0.03, () => runs.push(monotonic()));
    const first = h.when;
    const pusher = callLater(0.02, () => h.reset()); // activity just before it is due
    loop({ timeout: 1 });
    assert.equal(runs.length, 1);
    assert.ok(h.when >= first + 0.015, 'reset moved the due time');
    assert.ok(runs[0]! >= h.when, 'ran at or after the new due time');
    assert.equal(pusher.pending, false);
    // A call that already ran can be re-armed.
    h.reset();
    assert.equal(h.pending, true);
    loop({ timeout: 1 });
    assert.equal(runs.length, 2);
    h.cancel();
    assert.throws(() => h.reset(), { name: 'Error', message: /cancelled; schedule a new one/ });
  });

  it('unref(): a pending timer no longer keeps loop() running, but still fires while it runs', () => {
    let ran = 0;
    const h = callLater(0.01, () => ran++).unref();
    loop({ timeout: 1 });
    assert.equal(ran, 0, 'loop() returned without waiting for the unref\'d timer');
    h.ref();
    loop({ timeout: 1 });
    assert.equal(ran, 1);
    const quiet = callLater(0.01, () => ran++).unref();
    const keeper = callLater(0.05, () => ran++);
    loop({ timeout: 1 });
    assert.equal(ran, 3, 'the unref\'d timer fired while the ref\'d one kept the loop going');
    assert.equal(quiet.pending || keeper.pending, false);
  });
});

describe('callEvery', () => {
  it('repeats every interval (never early from the previous due time) and is cancelled from inside its callback', () => {
    const at: number[] = [];
    const whens: number[] = [];
    const h = callEvery(0.01, () => {
      at.push(monotonic());
      whens.push(h.when);
      if (at.length === 5) h.cancel();
    });
    const start = h.when - 0.01;
    loop({ timeout: 1 }); // ends by itself once the timer cancels itself
    assert.equal(at.length, 5);
    assert.equal(h.cancelled, true);
    assert.equal(h.pending, false);
    for (let i = 0; i < 5; i++) {
      assert.ok(at[i]! - start >= 0.01 * (i + 1) - 1e-9, `call ${i} was early`);
    }
    // when (read inside the callback) is already the next due time, one interval later.
    for (let i = 1; i < 4; i++) assert.ok(whens[i]! - whens[i - 1]! >= 0.01 - 1e-9);
  });

  it('a loop that fell behind skips missed calls instead of bursting', () => {
    let n = 0;
    const h = callEvery(0.01, () => n++);
    const until = monotonic() + 0.055;
    while (monotonic() < until) { /* the loop is busy elsewhere */ }
    // Compared with the time runDue() ran, not with a later clock read: a descheduled test
    // process (a shared VM) must not make the next due time look past.
    const ran = monotonic();
    assert.equal(scheduler.runDue(), 1);
    assert.equal(n, 1);
    assert.ok(h.when > ran, 'the next call is after the pass that ran it: the missed ones were skipped');
    h.cancel();
  });
});

describe('the heap', () => {
  it('runs 100,000 calls in order of due time, ties in scheduling order', () => {
    const N = 100_000;
    const order: number[] = [];
    const handles: TimerHandle[] = new Array(N);
    for (let i = 0; i < N; i++) {
      // Reversed and interleaved delays, so insertion order is far from due order.
      const seconds = ((N - i) % 37) / 2000;
      handles[i] = callLater(seconds, () => order.push(i));
    }
    loop({ timeout: 1 });
    assert.equal(order.length, N);
    for (let k = 1; k < N; k++) {
      const a = handles[order[k - 1]!]!, b = handles[order[k]!]!;
      const ok = a.when < b.when || (a.when === b.when && order[k - 1]! < order[k]!);
      if (!ok) assert.fail(`call ${order[k - 1]} (when ${a.when}) ran before ${order[k]} (when ${b.when})`);
    }
  });

  it('exact ties run in scheduling order', () => {
    const s = new Scheduler();
    const order: number[] = [];
    const when = monotonic() - 1;
    for (let i = 0; i < 1000; i++) {
      const t = new TimerHandleClass(s, 0, false, () => order.push(i), []);
      s._schedule(t, when + (i % 2 === 0 ? 0 : -0.5)); // odd ones are due earlier
    }
    assert.equal(s.runDue(), 1000);
    const odd = order.slice(0, 500), even = order.slice(500);
    assert.deepEqual(odd, [...odd].sort((a, b) => a - b));
    assert.ok(odd.every((i) => i % 2 === 1));
    assert.deepEqual(even, [...even].sort((a, b) => a - b));
  });

  it('cancellation is lazy, and the heap is compacted when cancelled entries dominate', () => {
    const hs: TimerHandle[] = [];
    const ran: number[] = [];
    for (let i = 0; i < 10_000; i++) hs.push(callLater(0.001 + (i % 100) / 100_000, () => ran.push(i)));
    assert.equal(scheduler.heapSize, 10_000);
    for (let i = 0; i < 10_000; i++) if (i % 10 !== 0) hs[i]!.cancel();
    assert.equal(scheduler.pending, 1000);
    assert.ok(scheduler.heapSize < 5000, `compacted (heap holds ${scheduler.heapSize})`);
    // Resetting many times does not grow the heap without bound either.
    for (let r = 0; r < 20; r++) for (let i = 0; i < 10_000; i += 10) hs[i]!.reset();
    assert.ok(scheduler.heapSize <= 3000, `resets compacted too (heap holds ${scheduler.heapSize})`);
    loop({ timeout: 1 });
    assert.equal(ran.length, 1000);
    assert.ok(ran.every((i) => i % 10 === 0));
  });
});

describe('callbacks that schedule or cancel others', () => {
  it('cancel a later timer, schedule new ones, reset one due in the same batch', () => {
    const log: string[] = [];
    let c: TimerHandle | null = null;
    let y: TimerHandle | null = null;
    callLater(0.01, () => {
      log.push('a');
      c!.cancel();
      y!.reset(); // y is due in this very batch: reset moves it out of it
      callLater(0, () => log.push('b'));
    });
    y = callLater(0.01, () => log.push('y'));
    c = callLater(0.02, () => log.push('c'));
    loop({ timeout: 1 });
    assert.deepEqual(log, ['a', 'b', 'y']);
    assert.equal(c.cancelled, true);
  });

  it('a timer scheduled by a callback waits for the next runDue(), even if already due', () => {
    const s = new Scheduler();
    const log: string[] = [];
    const past = monotonic() - 1;
    const inner = new TimerHandleClass(s, 0, false, () => log.push('inner'), []);
    const outer = new TimerHandleClass(s, 0, false, () => {
      log.push('outer');
      s._schedule(inner, past - 1); // due even before outer was
    }, []);
    s._schedule(outer, past);
    assert.equal(s.runDue(), 1);
    assert.deepEqual(log, ['outer']);
    assert.equal(s.runDue(), 1);
    assert.deepEqual(log, ['outer', 'inner']);
  });

  it('a callback that reschedules itself with 0 seconds runs once per pass, never starving the loop', () => {
    let n = 0;
    const again = (): void => {
      n++;
      if (n < 1000) callLater(0, again);
    };
    callLater(0, again);
    const t0 = monotonic();
    while (scheduler.pending > 0 && monotonic() - t0 < 5) assert.ok(scheduler.runDue() <= 1);
    assert.equal(n, 1000);
  });
});

describe('exceptions in callbacks', () => {
  it('are logged to stderr with a compact traceback, and the loop goes on', () => {
    const ran: string[] = [];
    function failingTimer(): void {
      throw new RangeError('boom in timer');
    }
    callLater(0, failingTimer);
    callLater(0.005, () => ran.push('after'));
    const err = captureErr(() => loop({ timeout: 1 }));
    assert.deepEqual(ran, ['after']);
    assert.match(err, /^error: uncaptured exception in timer <TimerHandle later 0s failingTimer done> \(RangeError:boom in timer \[/);
    assert.match(err, /scheduler\.test\.ts\|failingTimer\|\d+\]\)\n$/);
  });

  it('go to the handler set with setTimerErrorHandler (a throwing handler falls back to the log)', () => {
    const seen: [unknown, TimerHandle][] = [];
    const prev = setTimerErrorHandler((e, t) => seen.push([e, t]));
    try {
      const h = callLater(0, () => { throw 'a string'; });
      loop();
      assert.equal(seen.length, 1);
      assert.equal(seen[0]![0], 'a string');
      assert.equal(seen[0]![1], h);
      setTimerErrorHandler(() => { throw new Error('handler broke'); });
      callLater(0, () => { throw new Error('original'); });
      const err = captureErr(() => loop());
      assert.match(err, /Error:handler broke/);
    } finally {
      setTimerErrorHandler(prev);
    }
    assert.equal(setTimerErrorHandler(null), prev);
    assert.throws(() => setTimerErrorHandler(5 as never), argError(TypeError, /must be a function/));
  });

  it('ExitNow leaves loop(), and the other timers stay scheduled', () => {
    callLater(0, () => { throw new ExitNow('stop'); });
    const later = callLater(0.01, () => {});
    assert.throws(() => loop({ timeout: 1 }), ExitNow);
    assert.equal(later.pending, true);
    later.cancel();
  });
});

describe('bad input', () => {
  it('throws RangeError / TypeError naming the fix', () => {
    const f = (): void => {};
    assert.throws(() => callLater(-1, f), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /callLater\(\): seconds must be a finite number >= 0, not -1/ });
    assert.throws(() => callLater(NaN, f), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /not NaN/ });
    assert.throws(() => callLater(Infinity, f), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /finite/ });
    assert.throws(() => callLater('1' as never, f), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /seconds must be a number .* not a string "1"/ });
    assert.throws(() => callLater(1, 'f' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /callback must be a function, not a string "f"/ });
    assert.throws(() => callLater(1, null as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /not null/ });
    assert.throws(() => callEvery(0, f), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /callEvery\(\): seconds must be a finite number > 0/ });
    assert.throws(() => callEvery(-0.5, f), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => callEvery(1, undefined as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(scheduler.pending, 0, 'nothing was scheduled');
  });
});
