// The uring poller's data path. A connected, non-blocking stream socket whose channel keeps the
// library's handleExpt/handleExptEvent is served without recv(2) or send(2): a multishot
// IORING_OP_RECV fills provided buffers whose bytes wait in the stream's queue for recv(), and
// send() queues an IORING_OP_SEND (one in flight per socket, so order holds). Both go to the
// kernel with the pass's single io_uring_enter; readiness is computed from the queues.
//
// Channels that do not qualify (listeners, connecting sockets, TLS, pipes, datagram sockets,
// channels that handle urgent data) stay on the readiness polls of uring.ts.
import * as U from '../sys/uring.js';
import { C } from '../sys/constants.js';
import { close as closeFd } from '../sys/libc.js';
import { ENOBUFS } from '../sys/errno.js';
import type { SocketStream } from '../io/types.js';
import type { Sq } from './uring-sq.js';
import { BGID, type ChunkPool, type ProvidedBuffers } from './uring-buffers.js';
import { RECV_HIGH_WATER, type SendChunk, type StreamHost, UringStream } from './uring-stream.js';

const { POLLIN, MSG_NOSIGNAL } = C;

/** user_data low word of a data operation: fd | op << 28 | KIND_DATA << 30; high word: stream id. */
export const KIND_DATA = 3;
export const OP_RECV = 0;
export const OP_SEND = 1;
export const FD_MASK = (1 << 28) - 1;

/** Received bytes all streams together may hold before streams that have some stop reading ahead. */
const QUEUED_LIMIT = 32 * 1024 * 1024;

type Candidate = Partial<{ connected: boolean; accepting: boolean; socket: unknown }>;
type Streamable = { _streamable?: boolean; _stream?: SocketStream | null; fileno(): number };

export class DataPath implements StreamHost {
  closed = false;
  queuedTotal = 0;
  /** The stream per fd (a lingering one keeps its fd open, so the number cannot be reused). */
  streams: (UringStream | undefined)[] = [];
  /**
   * Streams declared this pass that may be ready, in listed[0, nListed): their events are
   * computed when the pass ends. (A count, not length = 0: resizing an array is a runtime call.)
   */
  listed: UringStream[] = [];
  nListed = 0;
  /**
   * Streams of another ring (a nested pass: a handler ran loop() on the same map) that have
   * data queued: this pass reports them from their queues, as (fd, events) pairs.
   */
  foreignFds: number[] = [];
  foreignEvents: number[] = [];
  /**
   * Streams whose multishot recv ended (the high-water mark, no buffers, readable() went false)
   * while their channel may still read: armed again once they can be, even in an incremental
   * pass, where the Driver does not call register() for them.
   */
  private starved: UringStream[] = [];
  private nextId = 1;
  /** The kernel takes a byte limit for multishot recv (else the high-water check follows each reap). */
  private limits = true;
  private readonly sq: Sq;
  private readonly bufs: ProvidedBuffers;
  private readonly pool: ChunkPool;
  /** Consume the completion queue now (the poller's reap, outside a pass). */
  private readonly reapNow: () => void;

  constructor(sq: Sq, bufs: ProvidedBuffers, pool: ChunkPool, reapNow: () => void) {
    this.sq = sq;
    this.bufs = bufs;
    this.pool = pool;
    this.reapNow = reapNow;
  }

  /**
   * Declare `owner`'s interest on `fd` through the data path. False: the channel does not
   * qualify (or not yet), and the caller serves it with a readiness poll.
   */
  register(fd: number, events: number, owner: object, pass: number): boolean {
    let st = this.streams[fd];
    if (st === undefined || st.owner !== owner) {
      const s = this.attach(fd, owner, st);
      if (s === null) return false;
      if (s.host !== this) {
        const ev = s.events(events);
        if (ev !== 0) {
          this.foreignFds.push(fd);
          this.foreignEvents.push(ev);
        }
        return true;
      }
      st = s;
    }
    st.pass = pass;
    st.wants = events;
    if ((events & POLLIN) !== 0) {
      if (st.canArm() && (st.queued === 0 || this.queuedTotal < QUEUED_LIMIT)) this.armRecv(st);
    } else {
      this.cancelRecv(st); // readable() is false: stop reading ahead
    }
    if (st.events(events) !== 0) this.list(st, pass);
    return true;
  }

  /** The stream for a qualifying channel: its socket's own, or a new one. */
  private attach(fd: number, owner: object, old: UringStream | undefined): UringStream | null {
    const o = owner as Candidate;
    if (o.connected !== true || o.accepting === true || this.closed) return null;
    const sock = o.socket as Streamable | null | undefined;
    if (sock == null || sock._streamable !== true || !inherited(owner, 'handleExpt') || !inherited(owner, 'handleExptEvent')) return null;
    const cur = sock._stream;
    if (cur instanceof UringStream && cur.host === this && cur.fd === fd) {
      // Back in the map, non-blocking again, or the ring serves the map again: same queues.
      cur.owner = owner;
      cur.quiet = false;
      cur.reclaim();
      return cur;
    }
    // The outer pass's ring serves it: a nested pass sees what that ring has queued.
    if (cur instanceof UringStream && cur.owner === owner && !cur.host.closed) return cur;
    if (cur != null || sock.fileno() !== fd) return null; // another ring's stream still drains
    if (old !== undefined) {
      if (old.fill > 0) return null; // a detached stream's sends still go out on this fd: wait
      this.drop(old);
    }
    const st = new UringStream(this, fd, this.nextId, owner, sock as { _stream: SocketStream | null });
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    this.streams[fd] = st;
    return st;
  }

  /** The channel on `fd` left the map: stop reading ahead (the poller submits right after). */
  unregister(fd: number): boolean {
    const st = this.streams[fd];
    if (st === undefined || st.owner === null) return false;
    st.owner = null;
    this.cancelRecv(st);
    return true;
  }

  /** `fd`'s channel declared no interest in an incremental pass: stop reading ahead for it. */
  lose(fd: number): boolean {
    const st = this.streams[fd];
    if (st === undefined || st.owner === null) return false;
    st.wants = 0;
    st.pass = 0;
    this.cancelRecv(st);
    return true;
  }

  /** Report `st` at the end of pass `pass` (its events are computed then). */
  list(st: UringStream, pass: number): void {
    if (st.listed === pass) return;
    st.listed = pass;
    this.listed[this.nListed++] = st;
  }

  // ---- submissions ----

  private armRecv(st: UringStream): void {
    const w = this.sq.sqe(U.OP_RECV, U.SQE_BUFFER_SELECT, st.fd);
    const q = this.sq.ring.sqe32;
    q[w] |= U.RECV_MULTISHOT << 16; // ioprio
    q[w + 8] = st.fd | (OP_RECV << 28) | (KIND_DATA << 30);
    q[w + 9] = st.id;
    q[w + 10] = BGID; // buf_group
    // optlen: the kernel ends the multishot recv once this much is received (Linux 6.17), so
    // one io_uring_enter cannot read a stream past its high-water mark.
    if (this.limits) q[w + 11] = RECV_HIGH_WATER - st.queued;
    st.recvLive++;
  }

  /** Cancel `st`'s multishot recv, if one is live and not already being cancelled. */
  cancelRecv(st: UringStream): void {
    if (st.recvLive === 0 || st.cancelling) return;
    const w = this.sq.sqe(U.OP_ASYNC_CANCEL, U.SQE_CQE_SKIP_SUCCESS, -1);
    const q = this.sq.ring.sqe32;
    q[w + 4] = st.fd | (OP_RECV << 28) | (KIND_DATA << 30); // addr: the user_data to cancel
    q[w + 5] = st.id;
    q[w + 8] = st.fd | (2 << 30); // KIND_CANCEL: a failure (already ended) is stale
    st.cancelling = true;
  }

  submitSend(st: UringStream): void {
    const len = st.fill - st.start;
    const w = this.sq.sqe(U.OP_SEND, 0, st.fd);
    const q = this.sq.ring.sqe32;
    const addr = st.chunk!.addr + st.start;
    q[w + 4] = addr % 0x100000000;
    q[w + 5] = Math.floor(addr / 0x100000000);
    q[w + 6] = len;
    q[w + 7] = MSG_NOSIGNAL;
    q[w + 8] = st.fd | (OP_SEND << 28) | (KIND_DATA << 30);
    q[w + 9] = st.id;
    st.inFlight = len;
  }

  // ---- completions ----

  /**
   * A data completion: `lo`/`hi` are its user_data words, `flags` the CQE's flags; streams
   * declared since pass `since` are listed for pass `pass` (since = Infinity: outside a pass).
   */
  complete(lo: number, hi: number, res: number, flags: number, pass: number, since: number): void {
    const st = this.streams[lo & FD_MASK];
    const mine = st !== undefined && st.id === hi;
    if (((lo >>> 28) & 3) === OP_SEND) {
      if (mine) st.sent(res);
    } else {
      if ((flags & U.CQE_F_BUFFER) !== 0) {
        const bid = flags >>> U.CQE_BUFFER_SHIFT;
        // Bytes of a stream that was closed meanwhile go where the kernel would have put them.
        if (res > 0 && mine && st.socket !== null) st.received(this.bufs.copy(bid, res));
        this.bufs.recycle(bid);
      }
      if (!mine) return;
      if (res === 0) st.eof = true;
      else if (res === -U.EINVAL && this.limits) this.limits = false; // a kernel before 6.17: armed again without
      else if (res < 0 && res !== -ENOBUFS && res !== -U.ECANCELED && st.error === 0) st.error = -res;
      if ((flags & U.CQE_F_MORE) === 0) {
        st.recvLive = 0;
        st.cancelling = false;
        if (!st.starved && !st.eof && st.error === 0) {
          st.starved = true;
          this.starved.push(st);
        }
      } else if (st.queued >= RECV_HIGH_WATER || this.queuedTotal >= QUEUED_LIMIT || (since !== Infinity && st.pass < since)) {
        // Eager reads stop at the high-water mark, and for a channel no longer declared.
        this.cancelRecv(st);
      }
    }
    if (mine && st.pass >= since && st.owner !== null) this.list(st, pass);
  }

  /**
   * Start of a pass: arm the recvs of starved streams still declared (since `since`) for
   * POLLIN that can read ahead again; forget the others.
   */
  rearm(since: number): void {
    const list = this.starved;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      const st = list[i]!;
      if (st.owner === null || st.pass < since || (st.wants & POLLIN) === 0 || st.recvLive > 0) {
        st.starved = false; // gone, not declared, or armed: register() arms it when it asks again
        continue;
      }
      if (st.canArm() && (st.queued === 0 || this.queuedTotal < QUEUED_LIMIT)) {
        st.starved = false;
        this.armRecv(st);
      } else {
        list[j++] = st;
      }
    }
    if (j !== list.length) list.length = j;
  }

  /** The completions of one reap are in: hand the recycled buffers back to the kernel. */
  reaped(): void {
    this.bufs.publish();
  }

  // ---- StreamHost ----

  flush(st: UringStream, wait: boolean): void {
    for (let tries = 0; tries < 100; tries++) {
      const before = st.unsent + st.recvLive;
      if (wait && st.inFlight > 0) {
        this.sq.submit(0);
        U.enter(this.sq.ring.fd, 0, 1, U.ENTER_GETEVENTS, 10e6);
      } else {
        this.sq.submit(U.ENTER_GETEVENTS);
      }
      this.reapNow();
      if (st.inFlight === 0 && st.recvLive === 0) return;
      if (!wait && st.unsent + st.recvLive === before) return; // waits on the peer: it lingers
    }
  }

  takeChunk(): SendChunk | null {
    return this.pool.take();
  }

  giveChunk(c: SendChunk): void {
    this.pool.give(c);
  }

  drop(st: UringStream): void {
    if (this.streams[st.fd] === st) this.streams[st.fd] = undefined;
    if (st.chunk !== null) {
      this.pool.give(st.chunk);
      st.chunk = null;
    }
  }

  /** Some stream still has bytes send() accepted that the kernel has not taken. */
  get unsent(): boolean {
    for (const st of this.streams) if (st !== undefined && st.fill > 0) return true;
    return false;
  }

  /**
   * Another poller serves the map now: stop receiving (what is queued is left over for it, see
   * driver.ts) and keep only the sends going, serviced each pass until they are out.
   */
  retire(): void {
    for (const st of this.streams) {
      if (st === undefined) continue;
      st.owner = null;
      this.cancelRecv(st);
      st.markLeftover();
    }
  }

  /**
   * The ring is going: send what can be sent now, stop reading ahead, and detach. Returns the
   * bytes that could not be sent (their peers do not read), which the caller reports.
   */
  close(): number {
    for (const st of this.streams) if (st !== undefined) this.cancelRecv(st);
    for (let tries = 0; tries < 10; tries++) {
      this.sq.submit(U.ENTER_GETEVENTS);
      this.reapNow();
      if (!this.streams.some((s) => s !== undefined && s.inFlight > 0)) break;
    }
    let lost = 0;
    this.closed = true;
    for (const st of this.streams) {
      if (st === undefined) continue;
      lost += st.unsent;
      st.start = st.fill = st.inFlight = st.recvLive = 0;
      st.chunk = null; // the pool's memory goes with the ring
      if (st.lingerFd >= 0) closeFd(st.lingerFd);
      st.lingerFd = -1;
      st.orphan(); // one with data queued keeps serving recv() from it
    }
    this.streams = [];
    this.nListed = 0;
    return lost;
  }
}

/** `owner[name]` is the first definition in its prototype chain: the library's, not overridden. */
function inherited(owner: object, name: string): boolean {
  const f = (owner as Record<string, unknown>)[name];
  let root: unknown;
  for (let p = Object.getPrototypeOf(owner); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, name)) root = (p as Record<string, unknown>)[name];
  }
  return f === root;
}
