// io_uring(7) backend. Connected stream sockets go through the data path (uring-data.ts: no
// recv/send system calls at all); every other channel gets readiness through IORING_OP_POLL_ADD.
// Every change of interest, every queued send and the wait itself go in ONE io_uring_enter per
// pass (submit, then wait for a completion or the timeout via IORING_ENTER_EXT_ARG).
// Completions carry poll(2) flag values, or are turned into them from a stream's queues (emit),
// so Driver.dispatch routes them exactly as the epoll backend's.
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
import { EBADF, EINTR } from '../sys/errno.js';
import { type StandingPoller, grow } from './types.js';
import { Sq } from './uring-sq.js';
import type { ChunkPool, ProvidedBuffers } from './uring-buffers.js';
import { DataPath, FD_MASK, KIND_DATA } from './uring-data.js';
import type { UringStream } from './uring-stream.js';

const { POLLPRI, POLLERR, POLLNVAL } = C;

// user_data: low word = fd | kind << 30 (uring-data.ts adds an op in bits 28-29), high word =
// the poll's generation (a data operation's: its stream's id).
const KIND_POLL = 0;
const KIND_UPDATE = 1;
const KIND_CANCEL = 2;

function now(): number {
  return performance.now();
}

export class UringPoller implements StandingPoller {
  readonly name = 'uring' as const;
  readyFds = new Int32Array(64);
  readyEvents = new Int32Array(64);
  private ring: U.Ring | null;
  private readonly ringFd: number;
  private readonly sq: Sq;
  private readonly cqMask: number;
  /** The data path, or null where the kernel lacks it (readiness polls serve every channel). */
  private readonly data: DataPath | null;
  private readonly bufs: ProvidedBuffers | null;
  private readonly pool: ChunkPool | null;
  /** Events of the poll the kernel holds per fd (0: none armed). */
  private armed = new Int32Array(256);
  /** Events the channel declared last (what a failed update re-arms). */
  private declared = new Int32Array(256);
  /** The current generation per fd: completions tagged otherwise are stale. */
  private gen = new Uint32Array(256);
  private nextGen = 1;
  /** The pass in which each fd was last declared: only those declared since standSince report. */
  private seen = new Int32Array(256);
  private pass = 1;
  private owners: (object | undefined)[] = [];
  /**
   * Incremental passes (driver.ts): the last full pass, and whether the coming poll() follows
   * an incremental declare. Everything declared since `standSince` stands, so a one-shot poll
   * that fired (`fired`) is re-armed, and a stream still ready (`hot`) is listed again, by the
   * poller itself rather than by a register() the Driver no longer makes.
   */
  private standSince = 1;
  private standingPass = false;
  private fired: number[] = [];
  private nFired = 0;
  private hot: UringStream[] = [];
  private nHot = 0;
  /** Fds whose update failed mid-wait: armed again before the wait resumes. */
  private rearm: number[] = [];
  /** Entries of readyFds whose POLLPRI needs checking (see verifyPri). */
  private suspects: number[] = [];
  private pollfds = new Uint8Array(64);

  constructor(ring: U.Ring, data: { bufs: ProvidedBuffers; pool: ChunkPool } | null = null) {
    this.ring = ring;
    this.ringFd = ring.fd;
    this.sq = new Sq(ring);
    this.cqMask = ring.cqEntries - 1;
    this.bufs = data?.bufs ?? null;
    this.pool = data?.pool ?? null;
    this.data = data === null ? null : new DataPath(this.sq, data.bufs, data.pool, () => {
      if (this.ring !== null) this.reap(-1, 0);
    });
  }

  /** Whether connected stream sockets are served through the data path (for tests and the bench). */
  get dataPath(): boolean {
    return this.data !== null && !this.data.closed;
  }

  /** The setup flags the kernel granted (DEFER_TASKRUN or COOP_TASKRUN; for tests and the bench). */
  get setupFlags(): number {
    return this.ring?.flags ?? 0;
  }

  register(fd: number, events: number, owner: object): void {
    if (this.ring === null) throw new Error('UringPoller.register(): the poller is closed');
    if (fd >= this.armed.length) this.growTables(fd + 1);
    if (this.data !== null && this.data.register(fd, events, owner, this.pass)) {
      // Served by the data path: a readiness poll left from before (a connect) is dropped.
      if (this.armed[fd] !== 0) this.cancel(fd);
      this.seen[fd] = 0;
      return;
    }
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
    // A stream's recv is cancelled here and run by its Socket's close() (which flushes sends).
    this.data?.unregister(fd);
    if (this.armed[fd] === 0 || this.ring === null) return;
    this.cancel(fd);
    // Submit now and run the completions: the poll holds a reference to the socket, and the
    // caller closes the fd next; only once the poll is gone does close() send the FIN.
    this.sq.submit(U.ENTER_GETEVENTS);
  }

  poll(timeoutMs: number): number {
    const ring = this.ring;
    if (ring === null) return -EBADF;
    const p = this.pass++;
    if (this.standingPass) {
      this.standingPass = false;
      this.restand(p);
    } else {
      this.standSince = p;
    }
    this.nFired = this.nHot = 0;
    this.data?.rearm(this.standSince);
    const deadline = timeoutMs > 0 ? now() + timeoutMs : 0;
    // Posted by unregister()'s enter, or (COOP_TASKRUN) while another system call ran.
    let k = this.reap(p, 0);
    for (;;) {
      for (let i = 0; i < this.rearm.length; i++) {
        const fd = this.rearm[i]!;
        if (this.armed[fd] === 0 && this.seen[fd] >= this.standSince) this.arm(fd, this.declared[fd]!);
      }
      if (this.rearm.length !== 0) this.rearm.length = 0;
      const toSubmit = this.sq.queued;
      let r: number;
      if (k > 0 || timeoutMs === 0 || (this.data !== null && (this.data.nListed > 0 || this.data.foreignFds.length > 0))) {
        r = U.enter(this.ringFd, toSubmit, 0, U.ENTER_GETEVENTS, -1);
      } else {
        const ns = timeoutMs < 0 ? -1 : Math.max(0, deadline - now()) * 1e6;
        r = U.enter(this.ringFd, toSubmit, ns === 0 ? 0 : 1, U.ENTER_GETEVENTS, ns);
      }
      if (r < 0 && r !== -U.ETIME && r !== -EINTR && r !== -U.EBUSY) {
        if (this.suspects.length > 0) k = this.verifyPri(k);
        k = this.emit(k);
        return k > 0 ? k : r;
      }
      k = this.reap(p, k);
      if (this.suspects.length > 0) k = this.verifyPri(k);
      k = this.emit(k);
      if (k > 0 || timeoutMs === 0 || r === -U.ETIME) return k;
      if (timeoutMs > 0 && now() >= deadline) return 0;
      // Only stale completions (an updated or cancelled poll) or a signal: wait on.
    }
  }

  /** Whether bytes send() accepted are still waiting for the kernel (see Reactor.driver()). */
  get unsent(): boolean {
    return this.data !== null && this.ring !== null && this.data.unsent;
  }

  /**
   * Another poller serves the map from now on: stop receiving and watching (the new poller
   * does), and keep the queued sends going: service() moves them on each pass until they are out.
   */
  retire(): void {
    if (this.ring === null) return;
    this.data?.retire();
    for (let fd = 0; fd < this.armed.length; fd++) if (this.armed[fd] !== 0) this.cancel(fd);
    this.owners = [];
    this.service();
  }

  /** Submit what is queued and run the completions, without waiting. */
  service(): void {
    if (this.ring === null) return;
    this.sq.submit(U.ENTER_GETEVENTS);
    this.reap(-1, 0);
  }

  keepDeclared(): void {
    this.standingPass = true;
  }

  holds(fd: number, owner: object): boolean {
    const st = this.data?.streams[fd];
    if (st !== undefined && st.owner === owner) return true;
    return fd < this.seen.length && this.owners[fd] === owner && this.seen[fd]! >= this.standSince;
  }

  lose(fd: number): void {
    if (this.data?.lose(fd) === true) return;
    if (fd >= this.seen.length) return;
    this.seen[fd] = 0;
    if (this.armed[fd] !== 0) this.cancel(fd);
  }

  /** Start an incremental pass: re-arm the standing polls that fired, list the streams still ready. */
  private restand(p: number): void {
    for (let i = 0; i < this.nFired; i++) {
      const fd = this.fired[i]!;
      if (this.armed[fd] === 0 && this.owners[fd] !== undefined && this.seen[fd]! >= this.standSince) this.arm(fd, this.declared[fd]!);
    }
    for (let i = 0; i < this.nHot; i++) {
      const st = this.hot[i]!;
      if (st.owner !== null && st.pass >= this.standSince) this.data!.list(st, p);
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
      // Queued sends go out first (what the peers do not take now is reported, not kept).
      const lost = this.data?.close() ?? 0;
      if (lost > 0) {
        process.emitWarning(`${lost} bytes queued by send() were not sent: the loop's io_uring closed (its map emptied) ` +
          'while their peers were not reading; close channels only after their data is out', { code: 'ASYNCORE_URING_UNSENT' });
      }
      const w = this.sq.sqe(U.OP_ASYNC_CANCEL, U.SQE_CQE_SKIP_SUCCESS, -1);
      ring.sqe32[w + 7] = U.ASYNC_CANCEL_ANY;
      ring.sqe32[w + 8] = KIND_CANCEL << 30;
      this.sq.submit(U.ENTER_GETEVENTS);
      this.bufs?.close(this.ringFd);
    } finally {
      this.ring = null;
      U.closeRing(ring);
      this.pool?.close();
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
    const w = this.sq.sqe(U.OP_POLL_ADD, 0, fd);
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
    const w = this.sq.sqe(U.OP_POLL_REMOVE, U.SQE_CQE_SKIP_SUCCESS, -1);
    const q = this.ring!.sqe32;
    q[w + 2] = fd | KIND_POLL; // off: the new user_data
    q[w + 3] = g;
    q[w + 4] = fd | KIND_POLL; // addr: the poll to update
    q[w + 5] = old;
    q[w + 6] = U.POLL_UPDATE_EVENTS | U.POLL_UPDATE_USER_DATA;
    q[w + 7] = events;
    q[w + 8] = fd | (KIND_UPDATE << 30);
    q[w + 9] = g;
  }

  /** Remove the armed poll on `fd`; whatever it still reports is stale from now on. */
  private cancel(fd: number): void {
    const old = this.gen[fd]!;
    this.newGen(fd);
    this.armed[fd] = 0;
    const w = this.sq.sqe(U.OP_POLL_REMOVE, U.SQE_CQE_SKIP_SUCCESS, -1);
    const q = this.ring!.sqe32;
    q[w + 4] = fd | KIND_POLL;
    q[w + 5] = old;
    q[w + 8] = fd | (KIND_CANCEL << 30);
  }

  private newGen(fd: number): number {
    const g = this.nextGen;
    this.nextGen = (g + 1) >>> 0 || 1;
    this.gen[fd] = g;
    return g;
  }

  // ---- completions ----

  /** Consume the CQ ring: events of fds declared in pass `p` go to readyFds/readyEvents from `k`. */
  private reap(p: number, k: number): number {
    const ring = this.ring!;
    // Declared in this pass, or standing since the last full one (p < 0: outside a pass).
    const since = p < 0 ? Infinity : this.standSince;
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
        const kind = lo >>> 30;
        if (kind === KIND_DATA) {
          this.data!.complete(lo, g, res, cq[b + 3]!, p, since);
          continue;
        }
        const fd = lo & FD_MASK;
        if (fd >= this.gen.length || this.gen[fd] !== g) continue; // stale
        if (kind === KIND_POLL) {
          if ((cq[b + 3]! & U.CQE_F_MORE) === 0) {
            this.armed[fd] = 0;
            this.fired[this.nFired++] = fd;
          }
          if (this.seen[fd] < since) continue; // not declared now: re-armed when it is
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
      this.data?.reaped();
    }
  }

  /** End a pass's collection: the data path's listed streams with the events they are ready for. */
  private emit(k: number): number {
    const data = this.data;
    if (data === null || data.nListed + data.foreignFds.length === 0) return k;
    const listed = data.listed, n = data.nListed, ffds = data.foreignFds;
    if (this.readyFds.length < k + n + ffds.length) {
      this.readyFds = grow(this.readyFds, k + n + ffds.length);
      this.readyEvents = grow(this.readyEvents, k + n + ffds.length);
    }
    for (let i = 0; i < ffds.length; i++) {
      this.readyFds[k] = ffds[i]!;
      this.readyEvents[k++] = data.foreignEvents[i]!;
    }
    if (ffds.length !== 0) ffds.length = data.foreignEvents.length = 0;
    for (let i = 0; i < n; i++) {
      const st = listed[i]!;
      st.listed = 0; // a later completion in this same poll() lists it again
      const ev = st.owner === null ? 0 : st.events(st.wants);
      if (ev === 0) continue;
      this.readyFds[k] = st.fd;
      this.readyEvents[k++] = ev;
      this.hot[this.nHot++] = st;
    }
    data.nListed = 0;
    return k;
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
