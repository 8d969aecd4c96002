// One connected stream socket served by the uring poller's data path: what multishot recv has
// already received (recv() is served from it), and what send() queued for the ring (one send in
// flight at a time, so bytes leave in order). The poller (src/pollers/uring.ts) issues the ring
// operations and feeds completions back here; the Socket calls the SocketStream methods.
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EAGAIN, EINTR, EPIPE } from '../sys/errno.js';
import { armed, takeFault } from '../sys/faults.js';
import type { SocketStream } from '../io/types.js';

const { POLLIN, POLLOUT, POLLERR, MSG_PEEK, MSG_OOB, SHUT_RD } = C;

/** Bytes send() accepts per stream before it says EAGAIN (what `writable()` then waits on). */
export const SEND_CAP = 64 * 1024;
/** Received bytes a stream may hold before its multishot recv is cancelled (eager reads stop). */
export const RECV_HIGH_WATER = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * Streams whose ring closed while they still held received data (`leftover`): no poller can
 * see that data, so while any exist the Driver asks readable channels for it (driver.ts).
 */
export let leftovers = 0;

/** Native memory for one stream's queued sends (SEND_CAP bytes at `addr`). */
export interface SendChunk {
  addr: number;
  bytes: Uint8Array;
}

/** What a stream asks of its poller: the ring operations. */
export interface StreamHost {
  readonly closed: boolean;
  /** Queue an IORING_OP_SEND of the stream's [start, fill). */
  submitSend(st: UringStream): void;
  /** Cancel the stream's multishot recv, if one is live and not already being cancelled. */
  cancelRecv(st: UringStream): void;
  /** Submit and run completions now, until this stream has nothing in flight or no progress. */
  flush(st: UringStream, wait: boolean): void;
  takeChunk(): SendChunk | null;
  giveChunk(c: SendChunk): void;
  /** The stream is finished with: forget it. */
  drop(st: UringStream): void;
  /** Bytes held by every stream's receive queue (a global bound on eager reads). */
  queuedTotal: number;
}

export class UringStream implements SocketStream {
  readonly fd: number;
  /** Tags this stream's operations (user_data's high word): completions of an older one are stale. */
  readonly id: number;
  readonly host: StreamHost;
  /** The channel it serves while that channel is in the map; null once it left. */
  owner: object | null;
  socket: { _stream: SocketStream | null } | null;
  // ---- receiving ----
  /** Received chunks in queue[qHead, qLen) (indexes, not push/shift: resizing an array is a runtime call). */
  private queue: Buffer[] = [];
  private qHead = 0;
  private qLen = 0;
  private qOff = 0;
  queued = 0;
  eof = false;
  /** The receive side's sticky errno (ECONNRESET): recv() reports it after the queued data. */
  error = 0;
  /**
   * The send side's sticky errno (EPIPE, ECONNRESET): send() reports it. Kept apart from
   * `error`: a peer that stopped reading may still have sent data that is ours to read.
   */
  werr = 0;
  /** Multishot recvs alive in the kernel: 0 or 1 (a new one is armed only once the last ended). */
  recvLive = 0;
  cancelling = false;
  /** The socket turned blocking (or was detached): no recv is armed until it is served again. */
  quiet = false;
  /** Listed by the poller as a stream whose recv must be armed again (uring-data.ts). */
  starved = false;
  /** Its ring closed with data still queued here (counted in `leftovers` until it is read). */
  leftover = false;
  // ---- sending ----
  chunk: SendChunk | null = null;
  /** [start, fill) of chunk is queued; inFlight > 0 while a send of [start, start + inFlight) runs. */
  start = 0;
  fill = 0;
  inFlight = 0;
  /** shutdown() waiting for the queued sends (-1: none). */
  shutHow = -1;
  /** The write side is shut (or will be once the queue is out): send() says EPIPE, as the kernel. */
  wrShut = false;
  /** The descriptor the Socket closed while sends were queued (-1: the Socket still owns it). */
  lingerFd = -1;
  // ---- per pass ----
  /** The pass that last declared it, with what interest; the pass that listed it as ready. */
  pass = 0;
  wants = 0;
  listed = 0;

  constructor(host: StreamHost, fd: number, id: number, owner: object, socket: { _stream: SocketStream | null }) {
    this.host = host;
    this.fd = fd;
    this.id = id;
    this.owner = owner;
    this.socket = socket;
    socket._stream = this;
  }

  /** Bytes send() has accepted that the kernel has not yet taken. */
  get unsent(): number {
    return this.fill - this.start;
  }

  /** The poll(2) flags this stream is ready with for `wants`. */
  events(wants: number): number {
    let ev = 0;
    if ((wants & POLLIN) !== 0 && (this.queued > 0 || this.eof || this.error !== 0)) ev = POLLIN;
    if ((wants & POLLOUT) !== 0 && (this.werr !== 0 ? !this.holdsError() : this.fill < SEND_CAP)) ev |= POLLOUT;
    if (this.error !== 0 && this.queued === 0) ev |= POLLERR;
    return ev;
  }

  /**
   * A send error waits while a reading channel still has data to read: received and queued, or
   * still in the kernel (no EOF yet). The peer sent it before it went away (EPIPE, ECONNRESET
   * come with the end of its stream), and the channel would otherwise close without reading it.
   */
  private holdsError(): boolean {
    return (this.wants & POLLIN) !== 0 && (this.queued > 0 || (!this.eof && this.error === 0 && !this.quiet));
  }

  /** May a multishot recv be armed now? */
  canArm(): boolean {
    return this.recvLive === 0 && !this.eof && this.error === 0 && !this.quiet &&
      this.queued < RECV_HIGH_WATER / 2 && this.lingerFd < 0 && this.socket !== null && !this.host.closed;
  }

  // ---- completions (called by the poller) ----

  /** A multishot recv delivered `data` (a copy: the provided buffer goes back to the ring). */
  received(data: Buffer): void {
    this.queue[this.qLen++] = data;
    this.queued += data.length;
    this.host.queuedTotal += data.length;
  }

  /** A send completed with `res` (bytes, or -errno). */
  sent(res: number): void {
    this.inFlight = 0;
    if (res < 0) {
      if (this.werr === 0) this.werr = -res;
      this.start = this.fill = 0; // the connection is broken: nothing queued can reach the peer
    } else {
      this.start += res;
    }
    if (this.start < this.fill) {
      // A short send: move the rest to the front (nothing is in flight now) and send it.
      const c = this.chunk!;
      if (this.start > 0) c.bytes.copyWithin(0, this.start, this.fill);
      this.fill -= this.start;
      this.start = 0;
      this.host.submitSend(this);
      return;
    }
    this.start = this.fill = 0;
    if (this.chunk !== null) {
      this.host.giveChunk(this.chunk);
      this.chunk = null;
    }
    if (this.shutHow >= 0 || this.lingerFd >= 0) this.settle();
    else if (this.socket === null) this.host.drop(this); // detached: its last sends are out
  }

  /** The queue is out: run the shutdown and the close that waited for it. */
  private settle(): void {
    const fd = this.lingerFd >= 0 ? this.lingerFd : this.fd;
    if (this.shutHow >= 0) libc.shutdown(fd, this.shutHow);
    this.shutHow = -1;
    if (this.lingerFd >= 0) {
      this.lingerFd = -1;
      libc.close(fd);
      this.host.drop(this);
    }
  }

  // ---- SocketStream: what the Socket calls ----

  recv(n: number, flags: number): Buffer | number | null {
    if ((flags & MSG_OOB) !== 0) return null; // the urgent byte is never in the stream
    if (this.queued === 0 && this.error === 0 && !this.eof && this.recvLive === 0) return null;
    if (armed) {
      const f = fault('recv');
      if (f < 0) return f;
    }
    if (this.queued > 0) return this.take(n, (flags & MSG_PEEK) !== 0);
    if (this.error !== 0) return -this.error;
    if (this.eof) return EMPTY;
    return this.recvLive > 0 ? -EAGAIN : null;
  }

  recvInto(buf: Uint8Array, n: number, flags: number): number | null {
    const r = this.recv(n, flags);
    if (r === null || typeof r === 'number') return r;
    buf.set(r);
    return r.length;
  }

  send(data: Uint8Array, flags: number): number | null {
    if (this.werr !== 0) return this.holdsError() ? -EAGAIN : -this.werr;
    if (this.wrShut) return -EPIPE;
    let idle = this.fill === 0;
    if (this.quiet && !idle) {
      // Blocking now: wait for the queue to go out, then the socket sends itself.
      this.host.flush(this, true);
      idle = this.fill === 0;
    }
    if (this.quiet) return idle ? null : -EAGAIN;
    if (armed) {
      const f = fault('send');
      if (f < 0) return f;
    }
    // Flags (MSG_OOB) and a closed ring: the socket sends itself, once nothing queued is ahead.
    if (flags !== 0 || this.host.closed) return idle ? null : -EAGAIN;
    if (data.length === 0) return idle ? null : 0;
    if (this.chunk === null) {
      this.chunk = this.host.takeChunk();
      if (this.chunk === null) return idle ? null : -EAGAIN;
    }
    const room = SEND_CAP - this.fill;
    if (room === 0) return -EAGAIN;
    const m = Math.min(room, data.length);
    this.chunk.bytes.set(m === data.length ? data : data.subarray(0, m), this.fill);
    this.fill += m;
    if (this.inFlight === 0) this.host.submitSend(this);
    return m;
  }

  shutdown(how: number): boolean {
    if (how !== SHUT_RD) this.wrShut = true;
    if (how === SHUT_RD || this.fill === 0 || this.host.closed) return false;
    this.shutHow = how;
    return true;
  }

  close(fd: number): boolean {
    this.unbind();
    if (this.host.closed) return false;
    this.host.cancelRecv(this);
    if (this.fill > 0) {
      // The descriptor stays open until the queue is out (settle() closes it), as the kernel
      // keeps sending what a closed socket had buffered.
      this.lingerFd = fd;
      this.host.flush(this, false);
      return true;
    }
    // The cancellation must run before close(2): a live recv holds the socket, and the FIN.
    if (this.recvLive > 0) this.host.flush(this, false);
    this.host.drop(this);
    return false;
  }

  quiesce(detached: boolean): void {
    if (this.host.closed) {
      if (detached) this.discard();
      else if (this.queued === 0) this.unbind(); // a leftover queue is still served first
      return;
    }
    this.quiet = true;
    this.owner = null;
    this.host.cancelRecv(this);
    this.host.flush(this, false);
    if (detached) {
      this.discard();
      if (this.fill === 0) this.host.drop(this);
    }
  }

  /** The descriptor moves on (detach): what was received for it here cannot follow. */
  private discard(): void {
    if (this.queued > 0) {
      process.emitWarning(`${this.queued} bytes received on fd ${this.fd} before its descriptor was detached (wrapped for TLS?) were discarded: ` +
        'a peer that sends before the handshake (RFC 3207 section 4) is not trusted', { code: 'ASYNCORE_URING_DISCARDED' });
    }
    this.unbind();
  }

  /** The ring closed: data still queued is served by recv() until it is read. */
  orphan(): void {
    if (this.queued === 0) this.unbind();
    else this.markLeftover();
  }

  /** No ring reports this stream's queue any more: the Driver asks for it (driver.ts). */
  markLeftover(): void {
    if (this.queued > 0 && !this.leftover) {
      this.leftover = true;
      leftovers++;
    }
  }

  /** Its ring serves it again. */
  reclaim(): void {
    if (this.leftover) {
      this.leftover = false;
      leftovers--;
    }
  }

  /** Detach from the Socket: drop what was received, keep the queued sends. */
  unbind(): void {
    this.reclaim();
    if (this.socket !== null && this.socket._stream === this) this.socket._stream = null;
    this.socket = null;
    this.owner = null;
    this.host.queuedTotal -= this.queued;
    this.queue = [];
    this.qHead = this.qLen = this.qOff = this.queued = 0;
  }

  /** Serve up to `n` queued bytes (a view of the one chunk when it can, else a copy). */
  private take(n: number, peek: boolean): Buffer {
    const first = this.queue[this.qHead]!;
    const avail = first.length - this.qOff;
    if (!peek && this.qOff === 0 && avail <= n && this.qHead === this.qLen - 1) {
      // The whole of the only chunk (a request-response exchange): no view, no copy.
      this.consume(avail);
      return first;
    }
    let out: Buffer;
    if (avail >= n || this.qHead === this.qLen - 1) {
      const m = Math.min(n, avail);
      out = peek ? Buffer.from(first.subarray(this.qOff, this.qOff + m)) : first.subarray(this.qOff, this.qOff + m);
    } else {
      out = Buffer.allocUnsafe(Math.min(n, this.queued));
      let o = 0, i = this.qHead, off = this.qOff;
      while (o < out.length) {
        const b = this.queue[i++]!;
        const m = Math.min(b.length - off, out.length - o);
        out.set(b.subarray(off, off + m), o);
        o += m;
        off = 0;
      }
    }
    if (!peek) this.consume(out.length);
    return out;
  }

  private consume(m: number): void {
    this.queued -= m;
    this.host.queuedTotal -= m;
    while (m > 0) {
      const b = this.queue[this.qHead]!;
      const left = b.length - this.qOff;
      if (m < left) {
        this.qOff += m;
        return;
      }
      m -= left;
      this.queue[this.qHead++] = EMPTY;
      this.qOff = 0;
    }
    if (this.qHead === this.qLen) {
      this.qHead = this.qLen = 0;
      if (this.leftover) {
        // The last of the left-over data: the socket reads itself now (and sends itself once
        // the ring is gone; a retired ring still sends what was queued on it).
        this.reclaim();
        if (this.host.closed) this.unbind();
      }
    } else if (this.qHead > 64) {
      const q = this.queue;
      q.copyWithin(0, this.qHead, this.qLen);
      q.fill(EMPTY, this.qLen - this.qHead, this.qLen);
      this.qLen -= this.qHead;
      this.qHead = 0;
    }
  }
}

/**
 * The fault seam (src/sys/faults.ts) for the data path: a planned failure of `recv` or `send`
 * is what the stream's recv() or send() returns, as the system call would (EINTR retried).
 */
function fault(name: string): number {
  let r: number;
  do r = takeFault(name); while (r === -EINTR);
  return r;
}
