// epoll(7) backend: a persistent interest set per map. Every pass still declares every
// channel's interest (the asyncore contract), but epoll_ctl runs only when an fd's interest
// or owner changed, or it left the map (pyftpdlib's ioloop habit). Level-triggered, so the
// delivered events match poll(2)'s.
import { C } from '../sys/constants.js';
import { EBADF, EEXIST, ENOENT, EPERM } from '../sys/errno.js';
import * as libc from '../sys/libc.js';
import { socketError } from '../errors.js';
import { type StandingPoller, grow } from './types.js';

const EV_SIZE = C.EPOLL_EVENT_SIZE;
const DATA_OFF = EV_SIZE - 8; // epoll_data_t sits at 4 (packed, x86-64) or 8 (arm64)
const MAX_EVENTS = 4096;

export class EpollPoller implements StandingPoller {
  readonly name = 'epoll' as const;
  readyFds = new Int32Array(64);
  readyEvents = new Int32Array(64);
  protected epfd: number;
  /** Interest the kernel holds per fd (0: not registered). */
  private interest = new Int32Array(256);
  /** The channel each registered fd belongs to. */
  private owners: (object | undefined)[] = [];
  /** The pass in which each fd was last declared. */
  private seen = new Int32Array(256);
  private pass = 1;
  private declared = 0;
  /** Registered fds, dense, with each fd's index in `slot` for O(1) removal. */
  private registered = new Int32Array(256);
  private slot = new Int32Array(256);
  private nregistered = 0;
  private readonly ctlBuf = new Uint8Array(EV_SIZE);
  private readonly ctlView = new DataView(this.ctlBuf.buffer);
  private events = new Uint8Array(64 * EV_SIZE);
  private eventsView = new DataView(this.events.buffer);
  /**
   * Events this pass reports without the kernel: POLLNVAL for fds epoll_ctl called EBADF, and
   * "always ready" for regular files, which epoll refuses (EPERM) but poll(2) reports ready.
   */
  private synthFds: number[] = [];
  private synthEvents: number[] = [];
  /** The channel on each fd that epoll refused with EPERM. */
  private plainOwners: (object | undefined)[] = [];

  constructor() {
    const fd = libc.epollCreate1(C.EPOLL_CLOEXEC);
    if (fd < 0) throw socketError(-fd, 'epoll_create1');
    this.epfd = fd;
  }

  private ctl(op: number, fd: number, events: number): number {
    this.ctlView.setUint32(0, events, true);
    this.ctlView.setInt32(DATA_OFF, fd, true);
    this.ctlView.setInt32(DATA_OFF + 4, 0, true);
    return libc.epollCtl(this.epfd, op, fd, this.ctlBuf);
  }

  register(fd: number, events: number, owner: object): void {
    if (fd >= this.interest.length) this.growTables(fd + 1);
    const had = this.interest[fd]!;
    if (had === events && this.owners[fd] === owner) {
      this.stamp(fd); // the common case: nothing changed, no system call
      return;
    }
    if (this.plainOwners[fd] === owner) {
      this.synth(fd, events & (C.POLLIN | C.POLLOUT));
      return;
    }
    let r: number;
    if (had === 0) {
      r = this.ctl(C.EPOLL_CTL_ADD, fd, events);
      // A closed fd leaves the kernel's set by itself, but a dup of it may keep it there.
      if (r === -EEXIST) r = this.ctl(C.EPOLL_CTL_MOD, fd, events);
    } else {
      r = this.ctl(C.EPOLL_CTL_MOD, fd, events);
      // The old owner's fd was closed (and maybe reused): the kernel forgot it.
      if (r === -ENOENT) r = this.ctl(C.EPOLL_CTL_ADD, fd, events);
    }
    if (r === -EBADF) {
      this.forget(fd);
      this.synth(fd, C.POLLNVAL);
      return;
    }
    if (r === -EPERM && had === 0) {
      this.plainOwners[fd] = owner;
      this.synth(fd, events & (C.POLLIN | C.POLLOUT));
      return;
    }
    if (r < 0) throw socketError(-r, 'epoll_ctl');
    if (had === 0) this.track(fd);
    this.interest[fd] = events;
    this.owners[fd] = owner;
    this.stamp(fd);
  }

  /** Mark `fd` as declared in this pass, so the sweep keeps it. */
  private stamp(fd: number): void {
    if (this.seen[fd] !== this.pass) {
      this.seen[fd] = this.pass;
      this.declared++;
    }
  }

  private synth(fd: number, events: number): void {
    this.synthFds.push(fd);
    this.synthEvents.push(events);
  }

  unregister(fd: number): void {
    if (fd >= 0) this.plainOwners[fd] = undefined;
    if (fd < 0 || fd >= this.interest.length || this.interest[fd] === 0) return;
    // ENOENT/EBADF: already gone with its descriptor; nothing else to undo.
    this.ctl(C.EPOLL_CTL_DEL, fd, 0);
    this.forget(fd);
  }

  poll(timeoutMs: number): number {
    // Channels that left the map or lost all interest since the last pass.
    if (this.nregistered > this.declared) this.sweep();
    this.pass++;
    this.declared = 0;
    const max = Math.min(MAX_EVENTS, Math.max(64, this.nregistered));
    if (this.events.length < max * EV_SIZE) {
      this.events = new Uint8Array(max * EV_SIZE);
      this.eventsView = new DataView(this.events.buffer);
    }
    let k = 0;
    let wait = timeoutMs;
    const nsynth = this.synthFds.length;
    if (nsynth > 0) {
      this.readyFds = grow(this.readyFds, nsynth);
      this.readyEvents = grow(this.readyEvents, nsynth);
      for (let i = 0; i < nsynth; i++) {
        this.readyFds[k] = this.synthFds[i]!;
        this.readyEvents[k++] = this.synthEvents[i]!;
      }
      this.synthFds.length = 0;
      this.synthEvents.length = 0;
      wait = 0;
    }
    const r = libc.epollWait(this.epfd, this.events, max, wait);
    if (r < 0) return k > 0 ? k : r;
    this.readyFds = grow(this.readyFds, k + r);
    this.readyEvents = grow(this.readyEvents, k + r);
    const v = this.eventsView;
    for (let i = 0, off = 0; i < r; i++, off += EV_SIZE) {
      this.readyEvents[k] = v.getUint32(off, true) & 0xffff;
      this.readyFds[k++] = v.getInt32(off + DATA_OFF, true);
    }
    return k;
  }

  reset(): void {
    // Registrations made so far stay valid: the kernel's set is persistent by design.
  }

  close(): void {
    if (this.epfd >= 0) {
      libc.close(this.epfd);
      this.epfd = -1;
    }
    this.nregistered = 0;
    this.plainOwners = [];
    this.synthFds.length = 0;
    this.synthEvents.length = 0;
    this.interest.fill(0);
    this.owners = [];
  }

  /** Treat every registration as declared this pass, so the next poll() sweeps nothing. */
  keepDeclared(): void {
    this.declared = this.nregistered;
  }

  /** `fd`'s channel lost its interest in an incremental pass. */
  lose(fd: number): void {
    this.unregister(fd);
  }

  /** True when the kernel's set holds `fd` for `owner` (so it needs no register() to stay). */
  holds(fd: number, owner: object): boolean {
    return fd < this.interest.length && this.interest[fd] !== 0 && this.owners[fd] === owner;
  }

  private sweep(): void {
    for (let i = this.nregistered - 1; i >= 0; i--) {
      const fd = this.registered[i]!;
      if (this.seen[fd] !== this.pass) this.unregister(fd);
    }
  }

  private track(fd: number): void {
    if (this.nregistered === this.registered.length) this.registered = grow(this.registered, this.nregistered + 1);
    this.slot[fd] = this.nregistered;
    this.registered[this.nregistered++] = fd;
  }

  private forget(fd: number): void {
    if (this.interest[fd] === 0) return;
    this.interest[fd] = 0;
    this.owners[fd] = undefined;
    const i = this.slot[fd]!;
    const last = this.registered[--this.nregistered]!;
    this.registered[i] = last;
    this.slot[last] = i;
  }

  private growTables(n: number): void {
    const size = Math.max(n, this.interest.length * 2);
    this.interest = grow(this.interest, size);
    this.seen = grow(this.seen, size);
    this.slot = grow(this.slot, size);
  }
}
