// The poll(2) backend (src/pollers/poll.ts) against the Poller contract, plus what poll(2)
// itself reports for a descriptor that is not open (POLLNVAL).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaks, track, useTracking } from '../../helpers.js';
import { PollPoller } from '../../../src/pollers/poll.js';
import { socketpair } from '../../../src/io/pair.js';
import { C } from '../../../src/sys/constants.js';
import type { Poller } from '../../../src/pollers/types.js';
import { pollerContract, readInterest, readyMap } from './contract.js';

pollerContract('poll', () => new PollPoller());

describe('poll: beyond the contract', () => {
  useTracking();
  checkLeaks();

  it('a registered fd that is not open is reported with POLLNVAL', () => {
    const p: Poller = track(new PollPoller());
    const [a, b] = socketpair();
    const fd = a.fileno();
    a.close();
    b.close();
    p.register(fd, readInterest(p), {});
    assert.equal(readyMap(p, p.poll(1000)).get(fd), C.POLLNVAL);
  });

  it('grows past its initial pollfd array, keeping every registration', () => {
    const p: Poller = track(new PollPoller());
    const pairs = Array.from({ length: 80 }, () => socketpair().map(track));
    for (const [, b] of pairs) b!.send(Buffer.from('x'));
    for (const [a] of pairs) p.register(a!.fileno(), readInterest(p), a!);
    const ready = readyMap(p, p.poll(1000));
    for (const [a] of pairs) assert.ok((ready.get(a!.fileno())! & C.POLLIN) !== 0);
  });
});
