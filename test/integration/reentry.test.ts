// A handler that runs loop()/poll() on its own map (a nested pass) must not disturb the outer
// pass: CPython's passes keep their ready lists in locals, so the outer pass goes on delivering
// the events it collected.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaks, POLLERS, usePrivateMap, map } from '../helpers.js';
import { Dispatcher, SocketError, loop, poll, poll2, socketpair, type Socket } from '../../src/index.js';

usePrivateMap();
checkLeaks();

class Reader extends Dispatcher {
  reads = 0;
  got = '';
  nest: (() => void) | null = null;
  override writable(): boolean {
    return false;
  }
  override handleRead(): void {
    this.reads++;
    try {
      this.got += this.recv(100).toString();
    } catch (e) {
      // The outer pass's event may find the data already taken by the nested pass.
      if (!(e instanceof SocketError && e.code === 'EAGAIN')) throw e;
    }
    const nest = this.nest;
    this.nest = null;
    nest?.();
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

for (const poller of POLLERS) {
  describe(`re-entry under ${poller}`, () => {
    const nested: [string, () => void][] = [
      ['loop()', () => loop({ map, timeout: 0, count: 1, poller })],
      ['poll()/poll2()', () => (poller === 'select' ? poll(0, map) : poll2(0, map))],
    ];
    for (const [label, run] of nested) {
      it(`a nested ${label} pass leaves the outer pass's events intact`, () => {
        const peers: Socket[] = [];
        const readers: Reader[] = [];
        try {
          for (let i = 0; i < 3; i++) {
            const [a, b] = socketpair();
            readers.push(new Reader(a, map));
            peers.push(b);
            b.send(Buffer.from(`r${i}`));
          }
          const [first] = readers;
          first!.nest = run;
          loop({ map, timeout: 0.5, count: 1, poller });
          // Outer pass: each reader had data, so each gets its outer event; the nested pass
          // served the other two once more. Except a nested poll(2) pass inside a uring loop:
          // the ring has already received the data into its queues, where poll(2) cannot see
          // it (README, "poller: 'uring'"), so only the outer events read.
          const nestedSees = !(poller === 'uring' && label === 'poll()/poll2()');
          assert.deepEqual(readers.map((r) => r.got), ['r0', 'r1', 'r2']);
          assert.equal(first!.reads, 1);
          for (const r of readers.slice(1)) assert.equal(r.reads, nestedSees ? 2 : 1, 'outer event after the nested one');
          assert.equal(map.size, 3, 'nothing was closed');
        } finally {
          for (const p of peers) p.close();
        }
      });
    }
  });
}
