// Issue 13 (hostile clients), the library rows: output back-pressure (outHighWater/outHardCap)
// on DispatcherWithSend and AsyncChat against a peer that sends and never reads, a channel past
// FD_SETSIZE under select that must not end loop(), and logging that tests can still capture.
// Real TCP sockets on loopback; queued bytes measured, bounded loop passes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { capture, checkLeaks, usePrivateMap, map, POLLERS } from '../helpers.js';
import {
  AsyncChat, Dispatcher, DispatcherWithSend, Socket, loop, socketpair, AF_INET, AF_UNIX, SOCK_STREAM,
  type PollerName,
} from '../../src/index.js';
import * as libc from '../../src/sys/libc.js';
import { C } from '../../src/sys/constants.js';

const { sockets: extra } = usePrivateMap();
checkLeaks();

const KiB = 1024;
const MiB = 1024 * KiB;
const HW = DispatcherWithSend.prototype.outHighWater;

/** A TCP connection: the channel made by `make` on one end, a plain non-blocking socket on the other. */
function tcpPair<T extends Dispatcher>(make: (sock: Socket) => T): [T, Socket] {
  const l = new Socket(AF_INET);
  l.bind(['127.0.0.1', 0]);
  l.listen(1);
  const c = new Socket(AF_INET);
  c.connect(l.getsockname());
  const [s] = l.accept();
  l.close();
  c.setblocking(false);
  extra.push(c);
  return [make(s), c];
}

class Echo extends DispatcherWithSend {
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length > 0) this.send(d);
  }
}

class ChatEcho extends AsyncChat {
  override collectIncomingData(data: Buffer): void {
    this.push(data);
  }
  override foundTerminator(): void {}
}

/** Feeds a repeating random pattern into `sock` as far as it takes, hashing what went in. */
class Feeder {
  sent = 0;
  readonly hash = createHash('sha256');
  readonly pattern = randomBytes(64 * KiB);
  constructor(readonly sock: Socket, readonly limit: number) {}
  pump(): void {
    while (this.sent < this.limit) {
      const off = this.sent % this.pattern.length;
      const piece = this.pattern.subarray(off, Math.min(this.pattern.length, off + this.limit - this.sent));
      const r = this.sock.sendRaw(piece, 0);
      if (r <= 0) return; // -EAGAIN: the peer (our server) pushed back
      this.hash.update(piece.subarray(0, r));
      this.sent += r;
    }
  }
}

/** Read everything `sock` has now; returns the bytes read. */
function drain(sock: Socket, into: ReturnType<typeof createHash>): number {
  let n = 0;
  for (;;) {
    const r = sock.recvRaw(256 * KiB, 0);
    if (typeof r === 'number' || r.length === 0) return n;
    into.update(r);
    n += r.length;
  }
}

type Queued = Dispatcher & { outQueuedBytes: number; outHighWater: number };

/** Pump `feeder` and loop passes for `passes`; returns the largest queue seen. */
function sendNeverRead(ch: Queued, feeder: Feeder, poller: PollerName, passes: number): number {
  let max = 0;
  for (let i = 0; i < passes && feeder.sent < feeder.limit; i++) {
    feeder.pump();
    loop({ timeout: 0, count: 1, map, poller });
    max = Math.max(max, ch.outQueuedBytes);
  }
  return max;
}

describe('output back-pressure: a peer that sends and never reads', () => {
  for (const poller of POLLERS) {
    for (const [name, make] of [
      ['DispatcherWithSend', (s: Socket) => new Echo(s, map)],
      ['AsyncChat', (s: Socket) => new ChatEcho(s, map)],
    ] as const) {
      it(`${name} (${poller}): the queue stays near outHighWater, readable() is false, and every byte comes back in order`, () => {
        const [ch, peer] = tcpPair(make as (s: Socket) => Queued);
        const feeder = new Feeder(peer, 48 * MiB);
        const max = sendNeverRead(ch, feeder, poller, 3000);
        assert.ok(max <= HW + 64 * KiB, `queued ${max} bytes, high-water mark ${HW}`);
        assert.equal(ch.readable(), false, 'readable() is false while above the mark');
        assert.ok(feeder.sent < 48 * MiB, 'TCP pushed back on the sender');
        // The peer starts reading: everything comes back, in order.
        const got = createHash('sha256');
        let received = 0;
        for (let i = 0; i < 20000 && received < feeder.sent; i++) {
          loop({ timeout: 0, count: 1, map, poller });
          received += drain(peer, got);
        }
        assert.equal(received, feeder.sent);
        assert.equal(got.digest('hex'), feeder.hash.digest('hex'));
        assert.equal(ch.readable(), true);
      });
    }
  }

  it('without the mark (outHighWater = Infinity, the old behaviour) the same peer makes the queue grow past 16 MiB', () => {
    const [ch, peer] = tcpPair((s) => new Echo(s, map));
    ch.outHighWater = Infinity;
    const feeder = new Feeder(peer, 40 * MiB);
    const max = sendNeverRead(ch, feeder, 'poll', 3000);
    assert.ok(max > 16 * MiB, `queued only ${max}`);
  });
});

describe('outHighWater and outHardCap: defaults and settings', () => {
  it('readable() is true with small queues (CPython trace unchanged), false above the mark', () => {
    const d = new DispatcherWithSend();
    assert.equal(d.readable(), true);
    d.outBuffer = Buffer.alloc(1000);
    assert.equal(d.readable(), true, 'a small queue leaves readable() alone');
    d.outBuffer = Buffer.alloc(HW + 1);
    assert.equal(d.readable(), false);
    assert.equal(d.outQueuedBytes, HW + 1);
    const c = new AsyncChat(); // not connected: push() queues
    assert.equal(c.readable(), true);
    c.push(Buffer.alloc(1000));
    assert.equal(c.readable(), true);
    c.push(Buffer.alloc(HW));
    assert.equal(c.readable(), false);
    assert.equal(c.outQueuedBytes, HW + 1000);
    c.discardBuffers();
    assert.equal(c.readable(), true);
    assert.equal(DispatcherWithSend.prototype.outHardCap, null, 'no hard cap by default');
    assert.equal(AsyncChat.prototype.outHardCap, null);
    assert.ok(HW >= 64 * KiB && HW <= 16 * MiB, `default mark ${HW}`);
  });

  it('per prototype and per instance; a subclass that overrides readable() keeps its answer', () => {
    class Small extends AsyncChat {}
    Small.prototype.outHighWater = 10;
    const a = new Small();
    a.push('0123456789x');
    assert.equal(a.readable(), false);
    const b = new Small();
    b.outHighWater = 100;
    b.push('0123456789x');
    assert.equal(b.readable(), true);
    class Always extends AsyncChat {
      override readable(): boolean {
        return true;
      }
    }
    const c = new Always();
    c.outHighWater = 0;
    c.push('x');
    assert.equal(c.readable(), true);
  });

  for (const [name, make, queue] of [
    ['DispatcherWithSend', (s: Socket) => new Echo(s, map), (d: Dispatcher, b: Buffer) => (d as Echo).send(b)],
    ['AsyncChat', (s: Socket) => new ChatEcho(s, map), (d: Dispatcher, b: Buffer) => (d as ChatEcho).push(b)],
  ] as const) {
    it(`${name}: past outHardCap the channel is closed with a logged "SendQ exceeded" reason`, () => {
      const [ch, peer] = tcpPair(make as (s: Socket) => Dispatcher & { outHardCap: number | null; outQueuedBytes: number });
      ch.outHardCap = 256 * KiB;
      let closes = 0;
      const close = ch.handleClose.bind(ch);
      ch.handleClose = () => {
        closes++;
        close();
      };
      const { out } = capture(() => {
        for (let i = 0; i < 400 && ch.connected; i++) {
          queue(ch, Buffer.alloc(64 * KiB, 0x62));
          loop({ timeout: 0, count: 1, map, poller: 'poll' });
        }
      });
      assert.equal(ch.connected, false);
      assert.equal(closes, 1);
      assert.equal(ch.outQueuedBytes, 0, 'the queue was dropped');
      assert.equal(map.size, 0);
      assert.match(out, /^error: SendQ exceeded: \d+ bytes queued for .* \(outHardCap 262144\); the peer is not reading: closing the channel\n$/);
      peer.close();
      extra.length = 0;
    });
  }
});

describe(`select past FD_SETSIZE (${C.FD_SETSIZE})`, () => {
  /** A channel on a descriptor numbered >= 1100 (a dup of one end of a socketpair). */
  function highChannel<T extends Dispatcher>(make: (s: Socket) => T): [T, Socket] {
    const [a, b] = socketpair();
    extra.push(b);
    const high = libc.fcntl(a.fileno(), C.F_DUPFD_CLOEXEC, 1100);
    a.close();
    assert.ok(high >= 1100, `F_DUPFD gave ${high}`);
    return [make(new Socket(AF_UNIX, SOCK_STREAM, 0, high)), b];
  }

  it('the channel gets the RangeError via handleError and is closed; loop() goes on serving the others; one warning', () => {
    const [low, lowPeer] = socketpair();
    extra.push(lowPeer);
    lowPeer.setblocking(false);
    new Echo(low, map);
    const errors: unknown[] = [];
    const [hi] = highChannel((s) => new Echo(s, map));
    const handleError = hi.handleError.bind(hi);
    hi.handleError = (e: unknown) => {
      errors.push(e);
      handleError(e);
    };
    lowPeer.send(Buffer.from('ping'));
    const { out, err } = capture(() => {
      for (let i = 0; i < 50 && typeof lowPeer.recvRaw(16, C.MSG_PEEK) === 'number'; i++) loop({ timeout: 0.01, count: 1, map, poller: 'select' });
    });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof RangeError);
    assert.match((errors[0] as Error).message, /select\(\) cannot watch fd \d+: descriptors must be below FD_SETSIZE \(1024\); use loop\(\{ usePoll: true \}\) or loop\(\{ poller: 'epoll' \}\)/);
    assert.equal(hi.connected, false);
    assert.ok(![...map.values()].includes(hi), 'the high channel left the map');
    assert.equal(lowPeer.recv(16).toString(), 'ping', 'the other channel was served');
    assert.match(out, /^error: uncaptured exception, closing channel .*RangeError/m);
    assert.equal(err.match(/^warning: select\(\) cannot watch descriptors/gm)?.length, 1, err);
    assert.match(err, /usePoll: true/);
    assert.match(err, /epoll/);
  });

  it('one warning per episode: a channel that stays over the limit for many passes warns once; a new episode warns again', () => {
    class Stubborn extends Dispatcher {
      errors = 0;
      override handleError(): void {
        this.errors++; // keeps itself open: the episode goes on
      }
      override writable(): boolean {
        return false;
      }
    }
    const [s] = highChannel((sock) => new Stubborn(sock, map));
    const first = capture(() => loop({ timeout: 0, count: 5, map, poller: 'select' }));
    assert.equal(s.errors, 5);
    assert.equal(first.err.match(/^warning: /gm)?.length, 1, first.err);
    s.close();
    const quiet = new Stubborn(null, map);
    quiet.createSocket();
    const between = capture(() => loop({ timeout: 0, count: 1, map, poller: 'select' }));
    assert.equal(between.err, '');
    const [t] = highChannel((sock) => new Stubborn(sock, map));
    const second = capture(() => loop({ timeout: 0, count: 2, map, poller: 'select' }));
    assert.equal(t.errors, 2);
    assert.equal(second.err.match(/^warning: /gm)?.length, 1, second.err);
  });
});

describe('logging stays capturable', () => {
  it('log() and logInfo() go through a replaced process.stdout/stderr.write', () => {
    const d = new Dispatcher();
    const { out, err } = capture(() => {
      d.logInfo('hello');
      d.logInfo('hidden', 'warning');
      d.log('hit');
    });
    assert.equal(out, 'info: hello\n');
    assert.equal(err, 'log: hit\n');
  });
});
