// The epoll backend (src/pollers/epoll.ts) against the Poller contract, plus its persistent
// interest set: epoll_ctl runs only when an fd's interest or owner changes or it leaves (seen
// through the fault seam: a planned epoll_ctl failure is consumed only by a real call), the
// epoll descriptor it owns, and what it synthesizes (POLLNVAL for an fd that is not open).
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { checkLeaks, fdCount, track, useTracking } from '../../helpers.js';
import { EpollPoller } from '../../../src/pollers/epoll.js';
import type { Poller } from '../../../src/pollers/types.js';
import { socketpair } from '../../../src/io/pair.js';
import { SocketError } from '../../../src/errors.js';
import { C } from '../../../src/sys/constants.js';
import { ENOMEM, EMFILE } from '../../../src/sys/errno.js';
import { clearFaults, injectFault, pendingFaults } from '../../../src/sys/faults.js';
import { pair, pollerContract, readInterest, readyMap, writeInterest } from './contract.js';

pollerContract('epoll', () => new EpollPoller(), { persistent: true });

describe('epoll: the persistent interest set', () => {
  afterEach(clearFaults);
  useTracking();
  checkLeaks();

  it('owns one epoll descriptor from construction until close()', () => {
    const before = fdCount();
    const p = new EpollPoller();
    try {
      assert.equal(fdCount(), before + 1);
      const epfd = (p as unknown as { epfd: number }).epfd;
      assert.equal(readlinkSync(`/proc/self/fd/${epfd}`), 'anon_inode:[eventpoll]');
    } finally {
      p.close();
    }
    assert.equal(fdCount(), before);
  });

  it('epoll_create1 failing is a SocketError naming the call', () => {
    injectFault('epoll_create1', EMFILE);
    assert.throws(() => new EpollPoller(), (e: unknown) => e instanceof SocketError && e.code === 'EMFILE' && /epoll_create1/.test(e.message));
  });

  it('epoll_ctl runs only when an fd\'s interest or owner changes', () => {
    const p: Poller = track(new EpollPoller());
    const [a, b] = pair();
    const owner = {};
    p.register(a.fileno(), readInterest(p), owner); // ADD
    p.poll(0);
    injectFault('epoll_ctl', ENOMEM);
    for (let i = 0; i < 3; i++) {
      p.register(a.fileno(), readInterest(p), owner); // unchanged: no system call
      p.poll(0);
    }
    assert.equal(pendingFaults('epoll_ctl'), 1, 'no epoll_ctl while nothing changed');
    b.send(Buffer.from('x'));
    p.register(a.fileno(), readInterest(p), owner);
    assert.ok(readyMap(p, p.poll(1000)).has(a.fileno()), 'the kernel still watches it');
    // A changed interest is one epoll_ctl (here failing with the planned ENOMEM).
    assert.throws(() => p.register(a.fileno(), readInterest(p) | writeInterest(p), owner),
      (e: unknown) => e instanceof SocketError && e.code === 'ENOMEM' && e.syscall === 'epoll_ctl');
    assert.equal(pendingFaults('epoll_ctl'), 0);
    p.reset();
    // A new owner on the same fd is a change too.
    p.register(a.fileno(), readInterest(p), owner);
    p.poll(0);
    injectFault('epoll_ctl', ENOMEM);
    assert.throws(() => p.register(a.fileno(), readInterest(p), {}), SocketError);
    assert.equal(pendingFaults('epoll_ctl'), 0);
  });

  it('an fd not declared in a pass leaves the kernel set (EPOLL_CTL_DEL) at the next poll()', () => {
    const p: Poller = track(new EpollPoller());
    const [a] = pair();
    const [c] = pair();
    p.register(a.fileno(), readInterest(p), a);
    p.register(c.fileno(), readInterest(p), c);
    p.poll(0);
    p.register(c.fileno(), readInterest(p), c); // a is not declared this pass
    injectFault('epoll_ctl', ENOMEM);
    p.poll(0);
    assert.equal(pendingFaults('epoll_ctl'), 0, 'the sweep removed a with one epoll_ctl');
    p.register(c.fileno(), readInterest(p), c);
    injectFault('epoll_ctl', ENOMEM);
    p.poll(0);
    assert.equal(pendingFaults('epoll_ctl'), 1, 'c, still declared, costs nothing');
  });

  it('unregister() is one EPOLL_CTL_DEL, and nothing for an fd it does not hold', () => {
    const p: Poller = track(new EpollPoller());
    const [a] = pair();
    injectFault('epoll_ctl', ENOMEM);
    p.unregister(a.fileno());
    assert.equal(pendingFaults('epoll_ctl'), 1, 'never registered: no call');
    clearFaults();
    p.register(a.fileno(), readInterest(p), a);
    p.poll(0);
    injectFault('epoll_ctl', ENOMEM);
    p.unregister(a.fileno());
    assert.equal(pendingFaults('epoll_ctl'), 0);
  });

  it('an fd that is not open is reported with POLLNVAL, as poll(2) would', () => {
    const p: Poller = track(new EpollPoller());
    const [a, b] = socketpair();
    const fd = a.fileno();
    a.close();
    b.close();
    p.register(fd, readInterest(p), {});
    assert.equal(readyMap(p, p.poll(1000)).get(fd), C.POLLNVAL);
  });

  it('grows its tables for many fds and high fd numbers', () => {
    const p: Poller = track(new EpollPoller());
    const pairs = Array.from({ length: 300 }, () => pair());
    for (const [, b] of pairs) b.send(Buffer.from('x'));
    for (const [a] of pairs) p.register(a.fileno(), readInterest(p), a);
    const ready = readyMap(p, p.poll(1000));
    for (const [a] of pairs) assert.ok((ready.get(a.fileno())! & C.POLLIN) !== 0, `fd ${a.fileno()}`);
  });
});
