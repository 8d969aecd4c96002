// The select(2) backend (src/pollers/select.ts) against the Poller contract, plus FD_SETSIZE
// (a RangeError before any wait) and CPython's result order: reads, then writes, then
// exceptional conditions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaks, track, useTracking } from '../../helpers.js';
import { SelectPoller } from '../../../src/pollers/select.js';
import { C } from '../../../src/sys/constants.js';
import type { Poller } from '../../../src/pollers/types.js';
import { pair, pollerContract, readInterest, readyMap, writeInterest } from './contract.js';

pollerContract('select', () => new SelectPoller());

describe('select: beyond the contract', () => {
  useTracking();
  checkLeaks();

  for (const fd of [C.FD_SETSIZE, 1100, -1]) {
    it(`register(${fd}) throws a RangeError naming the fix, and the poller still works`, () => {
      const p: Poller = track(new SelectPoller());
      const [a, b] = pair();
      p.register(a.fileno(), readInterest(p), a);
      assert.throws(() => p.register(fd, readInterest(p), {}), (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.equal((e as { code?: string }).code, 'ERR_OUT_OF_RANGE');
        assert.match(e.message, new RegExp(`select\\(\\) cannot watch fd ${fd}: descriptors must be below FD_SETSIZE \\(${C.FD_SETSIZE}\\)`));
        assert.match(e.message, /usePoll: true/);
        assert.match(e.message, /poller: 'epoll'/);
        return true;
      });
      p.reset(); // the driver abandons the pass
      b.send(Buffer.from('x'));
      p.register(a.fileno(), readInterest(p), a);
      assert.ok((readyMap(p, p.poll(1000)).get(a.fileno())! & C.POLLIN) !== 0);
    });
  }

  it('reports all reads, then all writes, each in registration order', () => {
    const p: Poller = track(new SelectPoller());
    const pairs = [pair(), pair(), pair()];
    for (const [, b] of pairs) b.send(Buffer.from('x'));
    for (const [a] of [...pairs].reverse()) p.register(a.fileno(), readInterest(p) | writeInterest(p), a);
    const n = p.poll(1000);
    const order = Array.from({ length: n }, (_, i) => [p.readyFds[i], p.readyEvents[i]]);
    const fds = [...pairs].reverse().map(([a]) => a.fileno());
    assert.deepEqual(order, [...fds.map((fd) => [fd, C.POLLIN]), ...fds.map((fd) => [fd, C.POLLOUT])]);
  });
});
