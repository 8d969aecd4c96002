// io_uring(7) backend: readiness through IORING_OP_POLL_ADD, with every change of interest and
// the wait itself in ONE io_uring_enter per pass (submit, then wait for a completion or the
// timeout via IORING_ENTER_EXT_ARG). Completions carry poll(2) flag values, so Driver.dispatch
// routes them exactly as the epoll backend's.
//
// Why one-shot polls, not IORING_POLL_ADD_MULTI: a multishot poll posts a completion per
// wake-up of the socket (edge-triggered), while asyncore is level-triggered: a channel that
// read only part of its data, or a listener with two pending connections, must hear POLLIN
// again next pass. A one-shot poll checks the level when it is armed and completes at once if
// the fd is still ready, so re-arming the fds that fired is what level-triggering costs; it is
// one SQE each, submitted with the pass's single io_uring_enter (no extra system call).
//
// Per fd the kernel holds at most one poll, tagged (user_data) with the fd and a generation;
// a completion whose generation is not the fd's current one is stale (a poll that was updated,
// cancelled, or belonged to a previous channel on a reused fd number) and is dropped.
import * as U from '../sys/uring.js';
import { C } from '../sys/constants.js';
import { poll as pollSyscall } from '../sys/libc.js';
import { EACCES, EBADF, EINTR, EMFILE, ENFILE, ENOMEM, EPERM, errnoName } from '../sys/errno.js';
import { socketError } from '../errors.js';
import { type Poller, grow } from './types.js';

const { POLLPRI, POLLERR, POLLNVAL } = C;

const SQ_ENTRIES = 256;
const CQ_ENTRIES = 4096;

// user_data: low word = fd | kind << 30, high word = generation.
const KIND_POLL = 0;
const KIND_UPDATE = 1 << 30;
const KIND_CANCEL = 2 << 30;
const FD_MASK = (1 << 30) - 1;

/** Ring setups to try, best first: DEFER_TASKRUN needs Linux 6.1, COOP_TASKRUN 5.19. */
const SETUPS = [
  U.SETUP_SINGLE_ISSUER | U.SETUP_DEFER_TASKRUN | U.SETUP_SUBMIT_ALL,
  U.SETUP_SINGLE_ISSUER | U.SETUP_COOP_TASKRUN | U.SETUP_SUBMIT_ALL,
  U.SETUP_COOP_TASKRUN | U.SETUP_SUBMIT_ALL,
];
const NEEDED_FEATURES: [number, string][] = [
  [U.FEAT_EXT_ARG, 'IORING_FEAT_EXT_ARG (Linux 5.11)'],
  [U.FEAT_NODROP, 'IORING_FEAT_NODROP (Linux 5.5)'],
  [U.FEAT_CQE_SKIP, 'IORING_FEAT_CQE_SKIP (Linux 5.17)'],
];
const NEEDED_OPS: [number, string][] = [
  [U.OP_POLL_ADD, 'IORING_OP_POLL_ADD'],
  [U.OP_POLL_REMOVE, 'IORING_OP_POLL_REMOVE'],
  [U.OP_ASYNC_CANCEL, 'IORING_OP_ASYNC_CANCEL'],
];
/** Opcodes are probed once per process (the kernel does not change under us). */
let opsChecked = false;

function now(): number {
  return performance.now();
}

/**
 * A ring for the `uring` poller, or the reason io_uring cannot serve here (the caller falls
 * back to epoll). Running out of descriptors or memory is not such a reason: it throws.
 */
export function openUring(): UringPoller | string {
  let ring: U.Ring | number = -U.EINVAL;
  for (const flags of SETUPS) {
    ring = U.setupRing(SQ_ENTRIES, CQ_ENTRIES, flags);
    if (ring !== -U.EINVAL) break;
  }
  if (typeof ring === 'number') {
    const e = -ring;
    if (e === EMFILE || e === ENFILE || e === ENOMEM) throw socketError(e, 'io_uring_setup');
    if (e === U.ENOSYS) return 'the kernel has no io_uring (io_uring_setup: ENOSYS)';
    if (e === U.EINVAL) return 'the kernel lacks IORING_SETUP_COOP_TASKRUN (io_uring_setup: EINVAL; Linux 5.19 or later is needed)';
    if (e === EPERM || e === EACCES) {
      return `io_uring is disabled for this process (io_uring_setup: ${errnoName(e)}; the kernel.io_uring_disabled sysctl or a seccomp policy)`;
    }
    return `io_uring_setup failed: ${errnoName(e)}`;
  }
  for (const [bit, name] of NEEDED_FEATURES) {
    if ((ring.features & bit) === 0) {
      U.closeRing(ring);
      return `the kernel lacks ${name}`;
    }
  }
  if (!opsChecked) {
    const ops = U.probeOps(ring.fd);
    if (typeof ops === 'number') {
      U.closeRing(ring);
      return `io_uring_register(IORING_REGISTER_PROBE) failed: ${errnoName(-ops)}`;
    }
    for (const [op, name] of NEEDED_OPS) {
      if (ops[op] !== true) {
        U.closeRing(ring);
        return `the kernel lacks ${name}`;
      }
    }
    opsChecked = true;
  }
  return new UringPoller(ring);
}

export class UringPoller implements Poller {
  readonly name = 'uring' as const;
  readyFds = new Int32Array(64);
  readyEvents = new Int32Array(64);
  private ring: U.Ring | null;
  private readonly ringFd: number;
  /** Our copy of the SQ tail (published to the ring after each SQE). */
  private tail: number;
  private readonly sqMask: number;
  private readonly cqMask: number;
  /** Events of the poll the kernel holds per fd (0: none armed). */
  private armed = new Int32Array(256);
  /** Events the channel declared last (what a failed update re-arms). */
  private declared = new Int32Array(256);
  /** The current generation per fd: completions tagged otherwise are stale. */
  private gen = new Uint32Array(256);
  private nextGen = 1;
  /** The pass in which each fd was last declared: only those fds' events are reported. */
  private seen = new Int32Array(256);
  private pass = 1;
  private owners: (object | undefined)[] = [];
  /** Fds whose update failed mid-wait: armed again before the wait resumes. */
  private rearm: number[] = [];
  /** Entries of readyFds whose POLLPRI needs checking (see verifyPri). */
  private suspects: number[] = [];
  private pollfds = new Uint8Array(64);

  constructor(ring: U.Ring) {
    this.ring = ring;
    this.ringFd = ring.fd;
    this.tail = ring.sq[ring.sqTail]!;
    this.sqMask = ring.sqEntries - 1;
    this.cqMask = ring.cqEntries - 1;
  }

  /** The setup flags the kernel granted (DEFER_TASKRUN or COOP_TASKRUN; for tests and the bench). */
  get setupFlags(): number {
    return this.ring?.flags ?? 0;
  }

  register(fd: number, events: number, owner: object): void {
    if (this.ring === null) throw new Error('UringPoller.register(): the poller is closed');
    if (fd >= this.armed.length) this.growTables(fd + 1);
    this.seen[fd] = this.pass;
    this.declared[fd] = events;
    const had = this.armed[fd]!;
    if (had !== 0) {
      if (this.owners[fd] === owner) {
        if (had !== events) this.update(fd, events);
        return;
      }
      // A new channel on a reused fd number: the old poll watches the old file.
      this.cancel(fd);
    }
    this.owners[fd] = owner;
    this.arm(fd, events);
  }

  unregister(fd: number): void {
    if (fd < 0 || fd >= this.armed.length) return;
    this.owners[fd] = undefined;
    this.seen[fd] = 0;
    if (this.armed[fd] === 0 || this.ring === null) return;
    this.cancel(fd);
    // Submit now and run the completions: the poll holds a reference to the socket, and the
    // caller closes the fd next; only once the poll is gone does close() send the FIN.
    this.submit(U.ENTER_GETEVENTS);
  }

  poll(timeoutMs: number): number {
    const ring = this.ring;
    if (ring === null) return -EBADF;
    const p = this.pass++;
    const deadline = timeoutMs > 0 ? now() + timeoutMs : 0;
    // Posted by unregister()'s enter, or (COOP_TASKRUN) while another system call ran.
    let k = this.reap(p, 0);
    for (;;) {
      for (let i = 0; i < this.rearm.length; i++) {
        const fd = this.rearm[i]!;
        if (this.armed[fd] === 0 && this.seen[fd] === p) this.arm(fd, this.declared[fd]!);
      }
      this.rearm.length = 0;
      const toSubmit = (this.tail - ring.sq[ring.sqHead]!) >>> 0;
      let r: number;
      if (k > 0 || timeoutMs === 0) {
        r = U.enter(this.ringFd, toSubmit, 0, U.ENTER_GETEVENTS, -1);
      } else {
        const ns = timeoutMs < 0 ? -1 : Math.max(0, deadline - now()) * 1e6;
        r = U.enter(this.ringFd, toSubmit, ns === 0 ? 0 : 1, U.ENTER_GETEVENTS, ns);
      }
      if (r < 0 && r !== -U.ETIME && r !== -EINTR && r !== -U.EBUSY) {
        if (this.suspects.length > 0) k = this.verifyPri(k);
        return k > 0 ? k : r;
      }
      k = this.reap(p, k);
      if (this.suspects.length > 0) k = this.verifyPri(k);
      if (k > 0 || timeoutMs === 0 || r === -U.ETIME) return k;
      if (timeoutMs > 0 && now() >= deadline) return 0;
      // Only stale completions (an updated or cancelled poll) or a signal: wait on.
    }
  }

  reset(): void {
    // The kernel's polls stay valid; queued SQEs go out with the next enter.
  }

  close(): void {
    const ring = this.ring;
    if (ring === null) return;
    // Cancel every poll and run the completions before the ring goes: each poll holds its
    // socket open, and ring teardown would release them only later, from a kernel worker.
    try {
      const w = this.sqe(U.OP_ASYNC_CANCEL, U.SQE_CQE_SKIP_SUCCESS, -1);
      ring.sqe32[w + 7] = U.ASYNC_CANCEL_ANY;
      ring.sqe32[w + 8] = KIND_CANCEL;
      this.submit(U.ENTER_GETEVENTS);
    } finally {
      this.ring = null;
      U.closeRing(ring);
    }
    this.armed.fill(0);
    this.owners = [];
    this.rearm.length = 0;
  }

  // ---- submissions ----

  /** Arm a one-shot poll for `events` on `fd` with a fresh generation. */
  private arm(fd: number, events: number): void {
    const g = this.newGen(fd);
    this.armed[fd] = events;
    const w = this.sqe(U.OP_POLL_ADD, 0, fd);
    const q = this.ring!.sqe32;
    q[w + 7] = events;
    q[w + 8] = fd | KIND_POLL;
    q[w + 9] = g;
  }

  /** Change the events of the armed poll in place (no completion unless it fails). */
  private update(fd: number, events: number): void {
    const old = this.gen[fd]!;
    const g = this.newGen(fd);
    this.armed[fd] = events;
    const w = this.sqe(U.OP_POLL_REMOVE, U.SQE_CQE_SKIP_SUCCESS, -1);
    const q = this.ring!.sqe32;
    q[w + 2] = fd | KIND_POLL; // off: the new user_data
    q[w + 3] = g;
    q[w + 4] = fd | KIND_POLL; // addr: the poll to update
    q[w + 5] = old;
    q[w + 6] = U.POLL_UPDATE_EVENTS | U.POLL_UPDATE_USER_DATA;
    q[w + 7] = events;
    q[w + 8] = fd | KIND_UPDATE;
    q[w + 9] = g;
  }

  /** Remove the armed poll on `fd`; whatever it still reports is stale from now on. */
  private cancel(fd: number): void {
    const old = this.gen[fd]!;
    this.newGen(fd);
    this.armed[fd] = 0;
    const w = this.sqe(U.OP_POLL_REMOVE, U.SQE_CQE_SKIP_SUCCESS, -1);
    const q = this.ring!.sqe32;
    q[w + 4] = fd | KIND_POLL;
    q[w + 5] = old;
    q[w + 8] = fd | KIND_CANCEL;
  }

  private newGen(fd: number): number {
    const g = this.nextGen;
    this.nextGen = (g + 1) >>> 0 || 1;
    this.gen[fd] = g;
    return g;
  }

  /** The next free SQE, zeroed but for opcode, flags and fd; returns its first word index. */
  private sqe(op: number, flags: number, fd: number): number {
    const ring = this.ring!;
    if (((this.tail - ring.sq[ring.sqHead]!) >>> 0) >= ring.sqEntries) this.submit(0);
    const w = (this.tail & this.sqMask) * 16;
    const q = ring.sqe32;
    q.fill(0, w, w + 16);
    q[w] = op | (flags << 8);
    q[w + 1] = fd;
    this.tail = (this.tail + 1) >>> 0;
    ring.sq[ring.sqTail] = this.tail;
    return w;
  }

  /** Submit what is queued without waiting (`flags`: ENTER_GETEVENTS also runs completions). */
  private submit(flags: number): void {
    const ring = this.ring!;
    for (let tries = 0; tries < 1000; tries++) {
      const n = (this.tail - ring.sq[ring.sqHead]!) >>> 0;
      if (n === 0 && flags === 0) return;
      const r = U.enter(this.ringFd, n, 0, flags, -1);
      if (r >= 0 || (r !== -EINTR && r !== -U.EBUSY)) {
        if (r < 0) throw socketError(-r, 'io_uring_enter');
        if (((this.tail - ring.sq[ring.sqHead]!) >>> 0) === 0) return;
      }
      // EBUSY: completions wait for room; they are reaped by the next poll(), and the kernel
      // keeps the overflow (FEAT_NODROP), so ask it to flush them into the ring and retry.
      flags |= U.ENTER_GETEVENTS;
    }
    throw socketError(U.EBUSY, 'io_uring_enter');
  }

  // ---- completions ----

  /** Consume the CQ ring: events of fds declared in pass `p` go to readyFds/readyEvents from `k`. */
  private reap(p: number, k: number): number {
    const ring = this.ring!;
    const cq = ring.cq, cqi = ring.cqi;
    for (;;) {
      let head = cq[ring.cqHead]!;
      const tail = cq[ring.cqTail]!;
      if (head === tail) {
        if ((ring.sq[ring.sqFlags]! & U.SQ_CQ_OVERFLOW) === 0) return k;
        U.enter(this.ringFd, 0, 0, U.ENTER_GETEVENTS, -1); // flush the kernel's overflow list
        if (cq[ring.cqTail] === head) return k;
        continue;
      }
      const n = (tail - head) >>> 0;
      if (this.readyFds.length < k + n) {
        this.readyFds = grow(this.readyFds, k + n);
        this.readyEvents = grow(this.readyEvents, k + n);
      }
      for (; head !== tail; head = (head + 1) >>> 0) {
        const b = ring.cqes + (head & this.cqMask) * 4;
        const lo = cq[b]!, g = cq[b + 1]!, res = cqi[b + 2]!;
        const fd = lo & FD_MASK;
        if (fd >= this.gen.length || this.gen[fd] !== g) continue; // stale
        const kind = lo & ~FD_MASK;
        if (kind === KIND_POLL) {
          if ((cq[b + 3]! & U.CQE_F_MORE) === 0) this.armed[fd] = 0;
          if (this.seen[fd] !== p) continue; // not asked this pass: re-armed when it is
          const ev = res >= 0 ? res & 0xffff : res === -EBADF ? POLLNVAL : res === -U.ECANCELED ? 0 : POLLERR;
          if (ev === 0) continue;
          if (ev & POLLPRI) this.suspects.push(k);
          this.readyFds[k] = fd;
          this.readyEvents[k++] = ev;
        } else if (kind === KIND_UPDATE && res < 0) {
          // The poll completed (or was completing) before the update reached it: arm anew.
          this.armed[fd] = 0;
          this.rearm.push(fd);
        }
      }
      cq[ring.cqHead] = head;
    }
  }

  /**
   * A poll completed by a wake-up reports the waker's hint, not the socket's state, and a
   * socket's "data arrived" wake-up names POLLIN|POLLPRI: without this check every read would
   * also run handleExpt. One poll(2) over the suspects asks the real state (exact, as epoll
   * reports it); entries left with no event are dropped, and their fds are armed again.
   */
  private verifyPri(k: number): number {
    const s = this.suspects;
    const n = s.length;
    if (this.pollfds.length < n * 8) this.pollfds = new Uint8Array(n * 16);
    const v = new DataView(this.pollfds.buffer);
    for (let i = 0; i < n; i++) {
      const fd = this.readyFds[s[i]!]!;
      v.setInt32(i * 8, fd, true);
      v.setInt16(i * 8 + 4, this.declared[fd]!, true);
      v.setInt16(i * 8 + 6, 0, true);
    }
    const r = pollSyscall(this.pollfds, n, 0);
    if (r < 0) {
      s.length = 0;
      return k; // keep the hints rather than lose events
    }
    for (let i = 0; i < n; i++) this.readyEvents[s[i]!] = v.getInt16(i * 8 + 6, true) & 0xffff;
    s.length = 0;
    let j = 0;
    for (let i = 0; i < k; i++) {
      const ev = this.readyEvents[i]!;
      if (ev === 0) {
        this.rearm.push(this.readyFds[i]!);
        continue;
      }
      this.readyFds[j] = this.readyFds[i]!;
      this.readyEvents[j++] = ev;
    }
    return j;
  }

  private growTables(n: number): void {
    const size = Math.max(n, this.armed.length * 2);
    this.armed = grow(this.armed, size);
    this.declared = grow(this.declared, size);
    this.seen = grow(this.seen, size);
    const g = new Uint32Array(size);
    g.set(this.gen);
    this.gen = g;
  }
}
