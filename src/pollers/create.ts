// A poller by name: the one place that knows every backend class.
import type { PollerName } from './names.js';
import type { Poller } from './types.js';
import { SelectPoller } from './select.js';
import { PollPoller } from './poll.js';
import { EpollPoller } from './epoll.js';
import { openUring } from './uring-open.js';
import { UvPoller } from './uv.js';
import { UvUringPoller } from './uv-uring.js';
import type { WatchedPoller } from './uv-watch.js';

export function createPoller(name: PollerName): Poller {
  switch (name) {
    case 'select': return new SelectPoller();
    case 'poll': return new PollPoller();
    case 'epoll': return new EpollPoller();
    case 'uring': return uringOrEpoll();
  }
}

/**
 * loopAsync()'s poller, watched by Node's loop: the io_uring ring for `uring` (epoll with the
 * fallback warning where it cannot serve), else the epoll set (select and poll have no set
 * that libuv could sleep on).
 */
export function createWatchedPoller(name: PollerName): WatchedPoller {
  if (name !== 'uring') return new UvPoller();
  const p = openUring((r, d) => new UvUringPoller(r, d));
  if (typeof p !== 'string') return p;
  fallBack(p);
  return new UvPoller();
}

let warned = false;

/** The io_uring backend, or epoll with one process warning naming why io_uring cannot serve. */
function uringOrEpoll(): Poller {
  const p = openUring();
  if (typeof p !== 'string') return p;
  fallBack(p);
  return new EpollPoller();
}

function fallBack(reason: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(`poller 'uring' is unavailable: ${reason}; using 'epoll' instead`, { code: 'ASYNCORE_URING_FALLBACK' });
}

/** Forget that the fallback warning was given (tests). */
export function resetUringWarning(): void {
  warned = false;
}
