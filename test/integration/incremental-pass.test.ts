// Incremental epoll passes (beyond CPython, src/reactor/stamp.ts): a pass asks only channels
// whose library-owned state changed, plus every channel with predicates of its own. These
// tests hold the contract that makes that invisible: whatever changes a predicate's answer is
// seen by the next pass, and a predicate of the user's own is asked on every pass, once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaks, usePrivateMap, map, runUntil } from '../helpers.js';
import { Dispatcher, DispatcherWithSend, AsyncChat, loop, socketpair, type Socket } from '../../src/index.js';

const { sockets } = usePrivateMap();
checkLeaks();

class Echo extends DispatcherWithSend {
  got = 0;
  override handleRead(): void {
    const data = this.recv(65536);
    this.got += data.length;
    if (data.length > 0) this.send(data);
  }
}

/** A pair: `ch` (a library channel in the private map) and the raw peer socket. */
function pair<T extends Dispatcher>(make: (s: Socket) => T): [T, Socket] {
  const [a, b] = socketpair();
  b.setblocking(false);
  sockets.push(b);
  return [make(a), b];
}

function drain(s: Socket): number {
  let n = 0;
  for (;;) {
    try {
      n += s.recv(65536).length;
    } catch {
      return n;
    }
  }
}

describe('incremental epoll passes', () => {
  it('a library channel that stays clean for many passes is still served when data arrives', () => {
    const [ch, peer] = pair((s) => new Echo(s, map));
    for (let i = 0; i < 20; i++) loop({ map, poller: 'epoll', timeout: 0, count: 1 });
    for (let round = 1; round <= 50; round++) {
      peer.send(Buffer.alloc(64, round));
      runUntil(() => ch.got === 64 * round, 'epoll', `echo round ${round}`);
      assert.equal(drain(peer), 64);
    }
  });

  it('replacing readable() on an instance is seen at the next pass and asked on every pass after', () => {
    const [ch, peer] = pair((s) => new Echo(s, map));
    loop({ map, poller: 'epoll', timeout: 0, count: 3 });
    let asked = 0;
    ch.readable = () => {
      asked++;
      return false;
    };
    peer.send(Buffer.from('held back'));
    loop({ map, poller: 'epoll', timeout: 0, count: 10 });
    assert.equal(asked, 10, 'asked exactly once per pass');
    assert.equal(ch.got, 0, 'a channel that is not readable gets no read event');
    ch.readable = () => true;
    runUntil(() => ch.got === 9, 'epoll', 'read once readable again');
  });

  it('replacing readable() on a prototype is seen by existing channels of that class', () => {
    class Held extends Echo {}
    const [ch, peer] = pair((s) => new Held(s, map));
    loop({ map, poller: 'epoll', timeout: 0, count: 3 });
    Held.prototype.readable = () => false;
    peer.send(Buffer.from('x'));
    loop({ map, poller: 'epoll', timeout: 0, count: 5 });
    assert.equal(ch.got, 0);
    delete (Held.prototype as { readable?: unknown }).readable;
    runUntil(() => ch.got === 1, 'epoll', 'read once the override is gone');
  });

  it('outHighWater assigned on an instance stops reads while output is queued', () => {
    const [ch, peer] = pair((s) => new Echo(s, map));
    loop({ map, poller: 'epoll', timeout: 0, count: 2 });
    ch.outHighWater = 0;
    // The peer does not read: the echo queues, and the queue is over the mark at once.
    peer.send(Buffer.alloc(4096, 1));
    runUntil(() => ch.got > 0, 'epoll', 'first read');
    const big = Buffer.alloc(8 << 20, 2);
    ch.send(big); // fills the socket buffer; the rest stays queued
    assert.ok(ch.outQueuedBytes > 0, 'output is queued');
    const before = ch.got;
    peer.send(Buffer.alloc(4096, 3));
    loop({ map, poller: 'epoll', timeout: 0, count: 10 });
    assert.equal(ch.got, before, 'no read while the queue is over outHighWater');
  });

  it('output queued between loop() calls (outside any handler) makes the channel writable', () => {
    const [ch, peer] = pair((s) => new Echo(s, map));
    loop({ map, poller: 'epoll', timeout: 0, count: 3 });
    const big = Buffer.alloc(4 << 20, 7);
    ch.send(big); // most of it waits in the queue
    let got = 0;
    runUntil(() => {
      got += drain(peer);
      return got === big.length;
    }, 'epoll', 'the queue drains through write events');
    assert.equal(ch.outQueuedBytes, 0);
  });

  it('a channel added with map.set() (as Python code does map[fd] = obj) is served', () => {
    const [a, b] = socketpair();
    b.setblocking(false);
    sockets.push(b);
    const other = new Map();
    const ch = new Echo(a, other); // made in another map, then moved by hand
    loop({ map, poller: 'epoll', timeout: 0, count: 2 });
    other.delete(a.fileno());
    map.set(a.fileno(), ch);
    ch._map = map;
    b.send(Buffer.from('moved'));
    runUntil(() => ch.got === 5, 'epoll', 'served after map.set');
  });

  it('an AsyncChat whose producer queue fills from outside a handler is written out', () => {
    class Chat extends AsyncChat {
      override collectIncomingData(): void {}
      override foundTerminator(): void {}
    }
    const [ch, peer] = pair((s) => new Chat(s, map));
    loop({ map, poller: 'epoll', timeout: 0, count: 3 });
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('');
    ch.push(lines);
    let got = 0;
    runUntil(() => {
      got += drain(peer);
      return got === lines.length;
    }, 'epoll', 'pushed lines arrive');
  });
});
