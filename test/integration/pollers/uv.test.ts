// The libuv-watched poller of loopAsync() (src/pollers/uv.ts) against the Poller contract (it
// is the epoll set), plus what it adds: watch() calls back from Node's own loop when something
// in the set is ready, repoll() fetches without starting a new pass, close() releases the
// libuv handle and the epoll descriptor.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkLeaks, fdCount, track, useTracking } from '../../helpers.js';
import { UvPoller } from '../../../src/pollers/uv.js';
import type { Poller } from '../../../src/pollers/types.js';
import { C } from '../../../src/sys/constants.js';
import { pair, pollerContract, readInterest, readyMap } from './contract.js';

pollerContract('epoll', () => new UvPoller(), { persistent: true });

/** Resolves when `p` calls back (bounded). */
function nextReady(p: UvPoller, ms = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no callback within ${ms} ms`)), ms);
    p.watch(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('uv: watched from Node\'s loop', () => {
  useTracking();
  checkLeaks();

  it('watch() calls back once something in the set is ready; repoll() then reports it', async () => {
    const p = track(new UvPoller());
    const [a, b] = pair();
    p.register(a.fileno(), readInterest(p as Poller), a);
    assert.equal(p.poll(0), 0, 'nothing yet');
    const ready = nextReady(p);
    setTimeout(() => b.send(Buffer.from('x')), 20);
    await ready;
    p.unwatch();
    assert.ok((readyMap(p, p.repoll()).get(a.fileno())! & C.POLLIN) !== 0, 'repoll() keeps the pass\'s declarations');
  });

  it('unwatch() stops the callbacks; watch() again resumes them', async () => {
    const p = track(new UvPoller());
    const [a, b] = pair();
    let calls = 0;
    p.register(a.fileno(), readInterest(p as Poller), a);
    p.poll(0);
    p.watch(() => { calls++; });
    p.unwatch();
    b.send(Buffer.from('x'));
    await sleep(50);
    assert.equal(calls, 0, 'no callback while unwatched');
    await nextReady(p);
    p.unwatch();
  });

  it('close() while watching releases the handle and the epoll descriptor; watch() then refuses', () => {
    const before = fdCount();
    const p = new UvPoller();
    assert.equal(fdCount(), before + 1);
    p.watch(() => {});
    p.close();
    p.close();
    assert.equal(fdCount(), before);
    assert.throws(() => p.watch(() => {}), /closed/);
  });
});
