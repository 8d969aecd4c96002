// The readiness backends by name: the one list that loop(), the CLI, the tests and the bench use.

/** Every backend `loop({ poller })` accepts. */
export const POLLER_NAMES = ['select', 'poll', 'epoll', 'uring'] as const;

/** A readiness backend's name, as accepted by `loop({ poller })`. */
export type PollerName = (typeof POLLER_NAMES)[number];
