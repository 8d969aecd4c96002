// poller 'uring' where io_uring cannot serve: loop() and loopAsync() fall back to epoll with ONE process
// warning naming the reason (simulated through the fault seam: io_uring_setup failing with
// ENOSYS, EPERM or EINVAL), while running out of descriptors is an error, not a fallback. Also
// ASYNCORE_POLLER=uring.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { checkLeaks, usePrivateMap, map, track } from '../helpers.js';
import { Dispatcher, SocketError, socketpair, loop, loopAsync, choosePoller, errno } from '../../src/index.js';
import { createPoller, resetUringWarning } from '../../src/pollers/create.js';
import { openUring } from '../../src/pollers/uring-open.js';
import { injectFault, clearFaults, pendingFaults } from '../../src/sys/faults.js';

usePrivateMap();
checkLeaks();

const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  if ((w as { code?: string }).code === 'ASYNCORE_URING_FALLBACK') warnings.push(w);
};
beforeEach(() => {
  warnings.length = 0;
  resetUringWarning();
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
  clearFaults();
});

/** A socketpair end in the map that reads what the other end sends. */
function reader(): { got: () => string; peer: ReturnType<typeof socketpair>[1] } {
  const [a, b] = socketpair();
  track(b);
  let got = '';
  const d = new Dispatcher(a, map);
  d.handleRead = function (this: Dispatcher): void {
    got += this.recv(100).toString();
  };
  d.writable = () => false;
  return { got: () => got, peer: b };
}

describe('uring fallback', () => {
  for (const [name, code, reason] of [
    ['ENOSYS', errno.ENOSYS!, /no io_uring.*ENOSYS/],
    ['EPERM', errno.EPERM!, /disabled for this process.*EPERM.*io_uring_disabled/],
  ] as const) {
    it(`io_uring_setup ${name}: loop() serves through epoll, with one warning naming the reason`, async () => {
      const r = reader();
      injectFault('io_uring_setup', code, 1);
      r.peer.send(Buffer.from('one'));
      loop({ map, timeout: 0.5, count: 1, poller: 'uring' });
      assert.equal(r.got(), 'one', 'the fallback poller served the pass');
      assert.equal(pendingFaults('io_uring_setup'), 0);
      await tick();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!.message, /poller 'uring' is unavailable/);
      assert.match(warnings[0]!.message, reason);
      assert.match(warnings[0]!.message, /using 'epoll' instead/);
    });
  }

  it('io_uring_setup EPERM: loopAsync({ poller: "uring" }) serves through the epoll set, with the warning', async () => {
    const r = reader();
    injectFault('io_uring_setup', errno.EPERM!, 1);
    r.peer.send(Buffer.from('async'));
    await loopAsync({ map, timeout: 0.5, count: 1, poller: 'uring' });
    assert.equal(r.got(), 'async', 'the fallback poller served the pass');
    assert.equal(pendingFaults('io_uring_setup'), 0);
    await tick();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /disabled for this process.*using 'epoll' instead/);
  });

  it('a kernel that refuses every ring setup (EINVAL) names the kernel version needed', async () => {
    injectFault('io_uring_setup', errno.EINVAL!, 3); // DEFER_TASKRUN, COOP_TASKRUN+SINGLE_ISSUER, COOP_TASKRUN
    const p = createPoller('uring');
    try {
      assert.equal(p.name, 'epoll');
    } finally {
      p.close();
    }
    await tick();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /COOP_TASKRUN.*5\.19/);
  });

  it('an older kernel without DEFER_TASKRUN still gets a uring poller (COOP_TASKRUN)', { skip: typeof openUring() === 'string' ? 'io_uring unavailable' : false }, () => {
    injectFault('io_uring_setup', errno.EINVAL!, 1);
    const p = createPoller('uring');
    try {
      assert.equal(p.name, 'uring');
    } finally {
      p.close();
    }
  });

  it('the warning is given once per process, however often the fallback happens', async () => {
    injectFault('io_uring_setup', errno.ENOSYS!, 3);
    for (let i = 0; i < 3; i++) createPoller('uring').close();
    await tick();
    assert.equal(warnings.length, 1);
  });

  it('out of descriptors (EMFILE) is an error, not a fallback', () => {
    injectFault('io_uring_setup', errno.EMFILE!, 1);
    assert.throws(() => createPoller('uring'), (e: unknown) => e instanceof SocketError && e.errno === errno.EMFILE && /io_uring_setup/.test(e.message));
  });

  it('ASYNCORE_POLLER=uring chooses it, and it serves (or falls back) like poller: "uring"', () => {
    const saved = process.env.ASYNCORE_POLLER;
    process.env.ASYNCORE_POLLER = 'uring';
    try {
      assert.equal(choosePoller({}), 'uring');
      const r = reader();
      r.peer.send(Buffer.from('env'));
      loop({ map, timeout: 0.5, count: 1 });
      assert.equal(r.got(), 'env');
    } finally {
      if (saved === undefined) delete process.env.ASYNCORE_POLLER;
      else process.env.ASYNCORE_POLLER = saved;
    }
  });
});
