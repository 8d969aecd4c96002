// loopAsync(): asyncore passes inside Node's event loop, next to Node's own timers and I/O;
// count/timeout/map semantics, rejection, concurrency rules, timers, and handle cleanup.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { argError, checkLeaks, fdCount, map, usePrivateMap } from '../helpers.js';
import { EchoServer } from '../fixtures/common.js';
import {
  Dispatcher, ExitNow, loop, loopAsync, closeAll, callLaterOn, callEveryOn, monotonic,
  socketpair, type Address, type SocketMap, type TimerHandle, AF_INET,
} from '../../src/index.js';

const { sockets: extra } = usePrivateMap({ timers: true });
checkLeaks();

/**
 * Fail (reject with ExitNow) instead of hanging if a loop does not finish in time. Unref'd,
 * so it does not itself keep the loop running once the map is empty.
 */
function guard(seconds: number, what: string): { cancel(): void } {
  return callLaterOn(map, seconds, () => {
    throw new ExitNow(`${what}: not finished within ${seconds} s`);
  }).unref();
}

// ---- a counting client for the echo server ----

/** Sends a message, waits for its echo, repeats `total` times, then calls `done()`. */
class PingClient extends Dispatcher {
  trips = 0;
  private out: Buffer;
  private got = 0;
  private sending = true;
  constructor(m: SocketMap, address: Address, private readonly total: number, private readonly done: (c: PingClient) => void, size = 64) {
    super(null, m);
    this.out = Buffer.alloc(size, 'p');
    this.createSocket(AF_INET);
    this.connect(address);
  }
  override handleConnect(): void {}
  override writable(): boolean {
    return this.sending && this.trips < this.total;
  }
  override readable(): boolean {
    return this.trips < this.total;
  }
  override handleWrite(): void {
    const n = this.send(this.out);
    assert.equal(n, this.out.length, 'a 64-byte message goes out whole on loopback');
    this.sending = false;
  }
  override handleRead(): void {
    this.got += this.recv(8192).length;
    if (this.got === this.out.length) {
      this.got = 0;
      this.trips++;
      this.sending = true;
      if (this.trips === this.total) this.done(this);
    }
  }
  override handleClose(): void {
    this.close();
  }
}

describe('loopAsync inside Node', () => {
  it('10,000 echo round trips while a setInterval fires and an http.get to a local node:http server completes', async () => {
    const httpServer = http.createServer((_req, res) => res.end('hello from node:http'));
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    const port = (httpServer.address() as { port: number }).port;
    try {
      const server = new EchoServer({ map, backlog: 64 });
      let ticks = 0;
      let ticksDuringTrips = 0;
      let client: PingClient | null = null;
      const iv = setInterval(() => {
        ticks++;
        if (client !== null && client.trips > 0 && client.trips < 10_000) ticksDuringTrips++;
      }, 1);
      let body = '';
      let httpDoneAtTrip = -1;
      let tripsDone = false;
      const finishIfAllDone = (): void => {
        // Everything must happen while loopAsync serves the map: only then close it down.
        if (tripsDone && httpDoneAtTrip >= 0 && ticks >= 3) closeAll(map);
      };
      let clientSocketClosed: Promise<void> = Promise.resolve();
      const req = http.get(`http://127.0.0.1:${port}/`, { agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          httpDoneAtTrip = client?.trips ?? 0;
          finishIfAllDone();
        });
      });
      // fdCount() after the test must not see node:http's own socket still closing.
      req.on('socket', (s) => {
        clientSocketClosed = new Promise<void>((r) => s.on('close', () => r()));
      });
      client = new PingClient(map, server.address, 10_000, () => {
        tripsDone = true;
        finishIfAllDone();
      });
      const g = guard(20, 'round trips');
      const t0 = monotonic();
      try {
        await loopAsync({ map });
      } finally {
        g.cancel();
        clearInterval(iv);
      }
      const secs = monotonic() - t0;
      assert.equal(client.trips, 10_000);
      assert.equal(body, 'hello from node:http');
      assert.ok(ticks >= 3, `setInterval fired ${ticks} times`);
      assert.ok(ticksDuringTrips >= 2, `the interval ran between round trips (${ticksDuringTrips} of ${ticks} ticks over ${secs.toFixed(2)} s)`);
      assert.equal(map.size, 0);
      await clientSocketClosed;
    } finally {
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
    }
  });

  it('lets a promise chain and setTimeout run between passes (the loop never owns the thread)', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    let reads = 0;
    class R extends Dispatcher {
      override writable(): boolean {
        return false;
      }
      override handleRead(): void {
        this.recv(10);
        reads++;
      }
    }
    new R(a, map);
    let steps = 0;
    const feeder = (async () => {
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 1));
        b.send(Buffer.from('x'));
        steps++;
      }
      await new Promise((r) => setTimeout(r, 20));
      closeAll(map);
    })();
    const g = guard(5, 'feeder');
    await loopAsync({ map, timeout: 10 });
    g.cancel();
    await feeder;
    assert.equal(steps, 20);
    assert.ok(reads >= 1 && reads <= 20, `reads: ${reads}`);
  });
});

describe('loopAsync options', () => {
  function idleChannel(): { asked: () => number } {
    const [a, b] = socketpair();
    extra.push(b);
    let asked = 0;
    const d = new Dispatcher(a, map);
    d.readable = () => {
      asked++;
      return true;
    };
    d.writable = () => false;
    return { asked: () => asked };
  }

  it('count: resolves after exactly `count` passes; each pass asks readable() once; a pass waits `timeout`', async () => {
    const ch = idleChannel();
    const t0 = monotonic();
    await loopAsync({ map, count: 3, timeout: 0.02 });
    const took = monotonic() - t0;
    assert.equal(ch.asked(), 3);
    assert.ok(took >= 0.06, `three 20 ms waits took ${took.toFixed(3)} s (never early)`);
    assert.equal(map.size, 1, 'the map is left as it was');
    await loopAsync({ map, count: 0 });
    assert.equal(ch.asked(), 3, 'count 0: no pass');
  });

  it('count with events: a pass is one batch of ready events', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const seen: number[] = [];
    class R extends Dispatcher {
      override writable(): boolean {
        return false;
      }
      override handleRead(): void {
        seen.push(this.recv(100).length);
      }
    }
    new R(a, map);
    b.send(Buffer.from('abc'));
    await loopAsync({ map, count: 1, timeout: 5 });
    assert.deepEqual(seen, [3]);
    setTimeout(() => b.send(Buffer.from('de')), 20);
    const t0 = monotonic();
    await loopAsync({ map, count: 1, timeout: 5 });
    assert.deepEqual(seen, [3, 2], 'the second pass waited in Node for the data, then dispatched it');
    assert.ok(monotonic() - t0 < 4, 'it did not wait for the 5 s timeout');
  });

  it('timeout: 0 runs non-blocking passes; timeout: null waits for events', async () => {
    const ch = idleChannel();
    await loopAsync({ map, count: 50, timeout: 0 });
    assert.equal(ch.asked(), 50);
    const [a, b] = socketpair();
    extra.push(b);
    let got = 0;
    const r = new Dispatcher(a, map);
    r.writable = () => false;
    r.handleRead = () => {
      got = r.recv(10).length;
      closeAll(map);
    };
    setTimeout(() => b.send(Buffer.from('xy')), 10);
    await loopAsync({ map, timeout: null });
    assert.equal(got, 2);
  });

  it('resolves when the map empties; resolves at once on an empty map with no timers', async () => {
    await loopAsync({ map });
    await loopAsync(); // the global socketMap is empty too
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.handleWrite = () => d.close();
    await loopAsync({ map });
    assert.equal(map.size, 0);
  });

  it('bad options reject with TypeError/RangeError naming the fix', async () => {
    await assert.rejects(loopAsync({ timeout: -1 }), argError(RangeError, /loopAsync\(\): timeout must be >= 0/));
    await assert.rejects(loopAsync({ timeout: 'x' as never }), argError(TypeError, /loopAsync\(\): timeout must be a number/));
    await assert.rejects(loopAsync('fast' as never), argError(TypeError, /options must be an object/));
    await assert.rejects(loopAsync({ map: {} as never }), argError(TypeError, /map must be a Map/));
    await assert.rejects(loopAsync({ count: '2' as never }), argError(TypeError, /count must be a number/));
    await assert.rejects(loopAsync({ poller: 'kqueue' as never }), argError(RangeError, /poller must be one of/));
  });
});

describe('loopAsync errors and concurrency', () => {
  it('rejects with ExitNow thrown by a handler, and releases the map', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.handleWrite = () => {
      throw new ExitNow('leave');
    };
    const before = fdCount();
    await assert.rejects(loopAsync({ map }), (e) => e instanceof ExitNow && e.message === 'leave');
    assert.equal(fdCount(), before, 'the epoll fd was closed');
    assert.equal(map.size, 1, 'the channel is still there');
    // Not served any more: the synchronous loop runs it (and meets the same ExitNow).
    assert.throws(() => loop({ map, count: 1, timeout: 0 }), { name: 'ExitNow', message: 'leave' });
  });

  it('rejects with ExitNow from a timer, and with other errors escaping a pass', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.writable = () => false;
    callLaterOn(map, 0.01, () => {
      throw new ExitNow('from a timer');
    });
    await assert.rejects(loopAsync({ map }), { name: 'ExitNow', message: 'from a timer' });
    d.readable = () => {
      throw new TypeError('readable() broke');
    };
    await assert.rejects(loopAsync({ map }), { name: 'TypeError', message: 'readable() broke' });
    assert.equal(map.size, 1);
  });

  it('two loopAsync on two maps at once', async () => {
    const maps: SocketMap[] = [new Map(), new Map()];
    const clients: PingClient[] = [];
    try {
      const runs = maps.map((m) => {
        const s = new EchoServer({ map: m, backlog: 64 });
        clients.push(new PingClient(m, s.address, 500, () => closeAll(m)));
        return loopAsync({ map: m });
      });
      const g = guard(10, 'two loops');
      await Promise.all(runs);
      g.cancel();
      assert.deepEqual(clients.map((c) => c.trips), [500, 500]);
    } finally {
      for (const m of maps) closeAll(m, true);
    }
  });

  it('loop() on a served map throws; a second loopAsync on it rejects; both work once it settles', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.writable = () => false;
    const run = loopAsync({ map, count: 2, timeout: 0.01 });
    assert.throws(() => loop({ map, count: 1 }), { message: /served by loopAsync\(\); await it/ });
    await assert.rejects(loopAsync({ map }), { message: /already served by another loopAsync\(\)/ });
    await run;
    loop({ map, count: 1, timeout: 0 });
    await loopAsync({ map, count: 1, timeout: 0 });
  });

  it('releases its libuv handle and epoll fd when it settles (one extra fd while it runs)', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.writable = () => false;
    const before = fdCount();
    let during = -1;
    setTimeout(() => {
      during = fdCount();
    }, 10);
    await loopAsync({ map, count: 1, timeout: 0.05 });
    assert.equal(during, before + 1, 'one epoll fd while serving');
    assert.equal(fdCount(), before);
    for (let i = 0; i < 50; i++) await loopAsync({ map, count: 1, timeout: 0 });
    assert.equal(fdCount(), before, 'no fd per call');
  });
});

describe('timers under loopAsync', () => {
  it('callLater is never early; callEvery repeats; Node runs meanwhile', async () => {
    const t0 = monotonic();
    const fired: [number, number][] = [];
    for (const s of [0.005, 0.02, 0.04]) {
      const h: TimerHandle = callLaterOn(map, s, () => fired.push([h.when, monotonic()]));
    }
    let every = 0;
    const e = callEveryOn(map, 0.01, () => {
      if (++every === 3) e.cancel();
    });
    let nodeTicks = 0;
    const iv = setInterval(() => nodeTicks++, 2);
    await loopAsync({ map }); // empty map: the timers alone keep it running
    clearInterval(iv);
    assert.equal(fired.length, 3);
    for (const [when, at] of fired) assert.ok(at >= when, `ran ${((when - at) * 1000).toFixed(3)} ms early`);
    assert.equal(every, 3);
    assert.ok(monotonic() - t0 >= 0.04);
    assert.ok(nodeTicks >= 3, `setInterval ran ${nodeTicks} times during the wait`);
  });

  it('a timer scheduled from outside the loop shortens the current wait', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.writable = () => false;
    let at = 0;
    setTimeout(() => {
      const h = callLaterOn(map, 0.01, () => {
        at = monotonic();
        assert.ok(at >= h.when);
        closeAll(map);
      });
    }, 5);
    const t0 = monotonic();
    await loopAsync({ map, timeout: 10 });
    assert.ok(at > 0);
    assert.ok(monotonic() - t0 < 5, 'not the 10 s timeout');
  });

  it('cancelling the last timer from outside ends a timers-only loopAsync at once', async () => {
    const h = callLaterOn(map, 10, () => {});
    setTimeout(() => h.cancel(), 10);
    const t0 = monotonic();
    await loopAsync({ map, timeout: 30 });
    assert.ok(monotonic() - t0 < 5);
  });

  it('a channel added from outside the loop is served at once, not after the timeout', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const keep = callLaterOn(map, 10, () => {}); // keeps the loop going with an empty map
    let got = '';
    setTimeout(() => {
      const d = new Dispatcher(a, map);
      d.writable = () => false;
      d.handleRead = () => {
        got = d.recv(10).toString();
        keep.cancel();
        d.close();
      };
      b.send(Buffer.from('new'));
    }, 10);
    const t0 = monotonic();
    await loopAsync({ map, timeout: 30 });
    assert.equal(got, 'new');
    assert.ok(monotonic() - t0 < 5);
  });

  it('the last channel closed from outside the loop ends it at once', async () => {
    const [a, b] = socketpair();
    extra.push(b);
    const d = new Dispatcher(a, map);
    d.writable = () => false;
    setTimeout(() => d.close(), 10);
    const t0 = monotonic();
    await loopAsync({ map, timeout: 30 });
    assert.ok(monotonic() - t0 < 5);
  });

  it('closeAll from outside (a signal handler) ends the loop at once', async () => {
    const s = new EchoServer({ map, backlog: 64 });
    void s;
    setTimeout(() => closeAll(map), 10);
    const t0 = monotonic();
    await loopAsync({ map, timeout: 30 });
    assert.ok(monotonic() - t0 < 5);
  });
});
