// A poller by name: the one place that knows every backend class.
import type { PollerName } from './names.js';
import type { Poller } from './types.js';
import { SelectPoller } from './select.js';
import { PollPoller } from './poll.js';
import { EpollPoller } from './epoll.js';
import { openUring } from './uring-open.js';

export function createPoller(name: PollerName): Poller {
  switch (name) {
    case 'select': return new SelectPoller();
    case 'poll': return new PollPoller();
    case 'epoll': return new EpollPoller();
    case 'uring': return uringOrEpoll();
  }
}

let warned = false;

/** The io_uring backend, or epoll with one process warning naming why io_uring cannot serve. */
function uringOrEpoll(): Poller {
  const p = openUring();
  if (typeof p !== 'string') return p;
  if (!warned) {
    warned = true;
    process.emitWarning(`poller 'uring' is unavailable: ${p}; using 'epoll' instead`, { code: 'ASYNCORE_URING_FALLBACK' });
  }
  return new EpollPoller();
}

/** Forget that the fallback warning was given (tests). */
export function resetUringWarning(): void {
  warned = false;
}
