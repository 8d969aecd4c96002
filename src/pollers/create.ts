// A poller by name: the one place that knows every backend class.
import type { PollerName } from './names.js';
import type { Poller } from './types.js';
import { SelectPoller } from './select.js';
import { PollPoller } from './poll.js';
import { EpollPoller } from './epoll.js';

export function createPoller(name: PollerName): Poller {
  switch (name) {
    case 'select': return new SelectPoller();
    case 'poll': return new PollPoller();
    case 'epoll': return new EpollPoller();
  }
}
