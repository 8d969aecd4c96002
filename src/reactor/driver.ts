// The Driver: one loop pass over a map with one poller. A pass is declare() (ask every
// channel readable()/writable() once), a wait, then dispatch(); run() does all three, and
// loopAsync() splits them around Node's event loop.
import { C } from '../sys/constants.js';
import { poll as pollSyscall } from '../sys/libc.js';
import { socketError } from '../errors.js';
import { type Poller, type StandingPoller, SELECT_EXPT, standingPoller } from '../pollers/types.js';
import { selectRangeError } from '../pollers/select.js';
import { writeStdio } from '../io/stdio.js';
import type { SocketMap } from './map.js';
import { type Channel, exception, read, readwriteIn, write } from './routing.js';
import { generation } from './generation.js';
import { LIBRARY_PREDICATE, log, logBase, predicateEpoch } from './stamp.js';
import { leftovers } from '../pollers/uring-stream.js';

const { POLLIN, POLLPRI, POLLOUT, FD_SETSIZE } = C;

type Marked = { [LIBRARY_PREDICATE]?: boolean };
type Tracked = Channel & { outHighWater?: unknown };
type WithStream = { socket?: { _stream?: { leftover?: boolean } | null } | null };

/**
 * A poller plus the per-pass bookkeeping for one map. A pass is declare() (ask every channel),
 * a wait, then dispatch(); run() does all three, loopAsync() splits them around Node's loop.
 */
export class Driver {
  readonly poller: Poller;
  private pass = 0;
  /** The channel each fd had when this pass declared it, and in which pass. */
  private owners: object[] = [];
  private ownerPass = new Int32Array(256);
  private snapFds: number[] = [];
  private snapObjs: Channel[] = [];
  private snapLength = 0;
  #closed = false;
  /** Channels declared this pass whose fd select(2) cannot watch; true while an episode lasts. */
  private tooBig: Channel[] = [];
  #tooBigEpisode = false;
  // Incremental passes of a poller whose registrations persist (epoll, uring; stamp.ts): the snapshot's map generation and predicate epoch,
  // how far the touch log has been read, the channels asked on every pass, and the snapshot's
  // channel per fd.
  private snapGen = 0;
  private snapEpoch = 0;
  private snapMap: SocketMap | null = null;
  private cursor = 0;
  private forceFull = false;
  private custom: Tracked[] = [];
  private customFds: number[] = [];
  private snapOwner: (object | undefined)[] = [];
  private askedAt = new Int32Array(256);
  /** The last declare() was incremental: registrations made in earlier passes stand. */
  private standing = false;
  /**
   * Readable channels whose socket holds data a closed io_uring received (pollers/uring-stream.ts,
   * `leftovers`): no poller can see it, so the pass does not wait and dispatch() reads them.
   */
  private extra: number[] = [];

  /** Channels this pass reads from a closed ring's queues (the pass must not wait). */
  get pending(): number {
    return this.extra.length;
  }

  constructor(poller: Poller) {
    this.poller = poller;
  }

  /**
   * One pass: ask every channel, wait up to `timeout` seconds (null: forever), dispatch.
   * `roundUp`: round the wait up to whole milliseconds (a timer's due time: never early).
   */
  run(timeout: number | null, map: SocketMap, roundUp = false): void {
    this.busy++;
    try {
      this.runPass(timeout, map, roundUp);
    } finally {
      this.busy--;
    }
  }

  /**
   * Passes in progress: a handler that calls loop()/poll() on the same map gets a transient
   * Driver of its own (Reactor.driver), so the outer pass's snapshot and ready list stay intact.
   */
  busy = 0;
  /** Not cached by its Reactor: close it when the call that made it returns. */
  transient = false;

  private runPass(timeout: number | null, map: SocketMap, roundUp: boolean): void {
    const poller = this.poller;
    const isSelect = poller.name === 'select';
    const interested = this.declare(map);
    if (this.#closed) {
      // The map emptied while its channels were asked (Reactor.release closed us): nothing
      // declared this pass can get an event, and a closed epoll set cannot be waited on.
      poller.reset();
      return;
    }
    const ms = timeout === null ? -1 : isSelect ? timeout * 1000 : roundUp ? Math.ceil(timeout * 1000) : Math.trunc(timeout * 1000);
    if (interested === 0 && isSelect) {
      sleep(ms); // CPython's select pass sleeps when there is nothing to wait for
      return;
    }
    const k = poller.poll(this.extra.length > 0 ? 0 : ms);
    if (k < 0) throw socketError(-k, poller.name === 'epoll' ? 'epoll_wait' : poller.name);
    this.dispatch(k, map);
  }

  /**
   * Start a pass: ask every channel readable()/writable() once and register its interest.
   * Beyond CPython, an epoll or uring pass over an unchanged map asks only the channels with predicates
   * of their own and those whose library-owned state changed since (stamp.ts): the others'
   * answers are what they were, and the kernel's set already holds them.
   */
  declare(map: SocketMap): number {
    const poller = this.poller;
    const isSelect = poller.name === 'select';
    const pass = ++this.pass;
    const epoll = standingPoller(poller);
    const gen = epoll === null ? 0 : generation(map);
    if (this.tooBig.length !== 0) this.tooBig.length = 0;
    if (this.extra.length !== 0) this.extra.length = 0;
    if (leftovers > 0) this.forceFull = true; // a channel whose answer did not change may hold some
    this.standing = gen !== 0 && gen === this.snapGen && this.snapMap === map && !this.forceFull &&
      this.snapEpoch === predicateEpoch() && this.cursor >= logBase();
    if (this.standing) return this.declareChanged(map, epoll!, pass);
    // A snapshot, as CPython's list(map.items()): channels added by readable() wait a pass.
    const n = this.snapshot(map, gen);
    const fds = this.snapFds, objs = this.snapObjs;
    let interested = 0;
    try {
      for (let i = 0; i < n; i++) {
        const fd = fds[i]!, obj = objs[i]! as Tracked;
        interested += this.ask(fd, obj, map, pass, isSelect, epoll);
        // Asked on every pass: predicates of its own, state fields of its own that bypass the
        // stamping accessors, or an interest the kernel does not hold (register() synthesises).
        if (gen !== 0 && ((obj.readable as Marked)[LIBRARY_PREDICATE] !== true || (obj.writable as Marked)[LIBRARY_PREDICATE] !== true ||
          ownState(obj) || (this.ownerPass[fd] === pass && !epoll!.holds(fd, obj)))) {
          this.custom.push(obj);
          this.customFds.push(fd);
        }
      }
      if (isSelect) this.selectOverflow();
    } catch (e) {
      this.forceFull = true;
      poller.reset();
      throw e;
    }
    return interested;
  }

  /** An incremental pass: ask the channels of `custom` and those touched since the last pass. */
  private declareChanged(map: SocketMap, epoll: StandingPoller, pass: number): number {
    let interested = 0;
    const base = logBase();
    try {
      const custom = this.custom, customFds = this.customFds;
      for (let i = 0; i < custom.length; i++) interested += this.ask(customFds[i]!, custom[i]!, map, pass, false, epoll);
      // Touches made while asking count too: the log is read to its end as it grows.
      for (let j = this.cursor - base; j < log.length; j++) {
        const obj = log[j] as Tracked;
        const fd = obj._fileno;
        // Only channels of this pass's snapshot, each once.
        if (typeof fd !== 'number' || this.snapOwner[fd] !== obj || this.askedAt[fd] === pass) continue;
        interested += this.ask(fd, obj, map, pass, false, epoll);
        if (this.ownerPass[fd] === pass && !epoll.holds(fd, obj)) {
          this.custom.push(obj);
          this.customFds.push(fd);
        }
      }
    } catch (e) {
      this.forceFull = true;
      throw e;
    }
    if (logBase() !== base) this.forceFull = true; // the log was dropped while being read
    this.cursor = logBase() + log.length;
    epoll.keepDeclared();
    return interested;
  }

  /** Ask one channel and register its interest; 1 when it declared some. */
  private ask(fd: number, obj: Tracked, map: SocketMap, pass: number, isSelect: boolean, epoll: StandingPoller | null): number {
    if (fd >= this.ownerPass.length) {
      const size = Math.max(fd + 1, this.ownerPass.length * 2);
      const bigger = new Int32Array(size);
      bigger.set(this.ownerPass);
      this.ownerPass = bigger;
      const asked = new Int32Array(size);
      asked.set(this.askedAt);
      this.askedAt = asked;
    }
    this.askedAt[fd] = pass;
    // A listener that ran out of descriptors sits out a while (see Dispatcher.accept).
    const r = obj.readable() && obj.acceptPaused !== true;
    const w = obj.writable();
    let ev = 0;
    if (r) ev = isSelect ? POLLIN | SELECT_EXPT : POLLIN | POLLPRI;
    // Listening channels are never polled for writing.
    if (w && !obj.accepting) ev |= POLLOUT;
    if (isSelect && w) ev |= SELECT_EXPT;
    if (ev === 0) {
      if (epoll !== null) {
        // No sweep follows an incremental pass: a lost interest leaves the kernel's set here.
        if (this.standing && epoll.holds(fd, obj)) epoll.lose(fd);
        if (this.owners[fd] === obj) this.owners[fd] = undefined as unknown as object;
      }
      return 0;
    }
    // Skip a channel that its own readable()/writable() closed. A Dispatcher still in place
    // has _fileno === fd, which spares a map lookup per channel per pass.
    if (obj._fileno !== fd && map.get(fd) !== obj) return 0;
    if (r && leftovers > 0 && (obj as WithStream).socket?._stream?.leftover === true) this.extra.push(fd);
    if (isSelect && fd >= FD_SETSIZE) {
      this.tooBig.push(obj);
      return 0;
    }
    this.poller.register(fd, ev, obj);
    this.owners[fd] = obj;
    this.ownerPass[fd] = pass;
    return 1;
  }

  /** Copy the map's entries (two plain walks cost about half of one over [fd, obj] pairs). */
  private snapshot(map: SocketMap, gen: number): number {
    const fds = this.snapFds, objs = this.snapObjs, owner = this.snapOwner;
    if (this.snapGen !== 0) for (let i = 0; i < this.snapLength; i++) owner[fds[i]!] = undefined;
    let n = 0;
    for (const fd of map.keys()) fds[n++] = fd;
    n = 0;
    for (const obj of map.values()) objs[n++] = obj;
    // Drop references to channels that left since the last snapshot; the rest are overwritten.
    if (this.snapLength > n) objs.fill(undefined as unknown as Channel, n, this.snapLength);
    this.snapLength = n;
    this.snapGen = gen;
    this.snapMap = map;
    this.forceFull = false;
    this.custom.length = 0;
    this.customFds.length = 0;
    if (gen !== 0) {
      this.snapEpoch = predicateEpoch();
      this.cursor = logBase() + log.length;
      for (let i = 0; i < n; i++) owner[fds[i]!] = objs[i];
    }
    return n;
  }

  /**
   * Beyond CPython, whose select() raised ValueError out of loop() for every channel: a
   * channel select(2) cannot watch gets the RangeError through its own handleError (the default
   * closes it), everyone else is served, and one warning per episode names the fix.
   */
  private selectOverflow(): void {
    const tooBig = this.tooBig;
    if (tooBig.length === 0) {
      this.#tooBigEpisode = false;
      return;
    }
    if (!this.#tooBigEpisode) {
      this.#tooBigEpisode = true;
      writeStdio(2, `warning: select() cannot watch descriptors at or above FD_SETSIZE (${FD_SETSIZE}); ` +
        "closing those channels: use loop({ usePoll: true }) or loop({ poller: 'epoll' }) to serve more connections\n");
    }
    this.tooBig = [];
    for (const obj of tooBig) obj.handleError(selectRangeError(obj._fileno ?? FD_SETSIZE));
  }

  /** End a pass: deliver the poller's `k` ready events to the channels declared this pass. */
  dispatch(k: number, map: SocketMap): void {
    const poller = this.poller;
    const isSelect = poller.name === 'select';
    const pass = this.pass;
    const readyFds = poller.readyFds, readyEvents = poller.readyEvents;
    for (let i = 0; i < k; i++) {
      const fd = readyFds[i]!;
      // Declared this pass, or (after an incremental pass) registered earlier and standing.
      if (this.ownerPass[fd] !== pass && !this.standing) continue;
      const obj = this.owners[fd] as Channel | undefined;
      // Closed during this pass, or its fd number now belongs to someone else: no events.
      // (`undefined`: the map emptied mid-pass and close() dropped the owners.)
      if (obj === undefined || map.get(fd) !== obj) continue;
      const ev = readyEvents[i]!;
      if (isSelect) {
        if (ev === POLLIN) read(obj);
        else if (ev === POLLOUT) write(obj);
        else exception(obj);
      } else {
        readwriteIn(map, fd, obj, ev);
      }
    }
    for (let i = 0; i < this.extra.length; i++) {
      const fd = this.extra[i]!;
      const obj = this.owners[fd] as Channel | undefined;
      if (obj !== undefined && map.get(fd) === obj) readwriteIn(map, fd, obj, POLLIN);
    }
    if (this.extra.length !== 0) this.extra.length = 0;
  }

  close(): void {
    this.#closed = true;
    this.poller.close();
    this.owners = [];
    this.snapObjs = [];
    this.snapLength = 0;
    this.snapMap = null;
    this.custom = [];
    this.customFds = [];
    this.snapOwner = [];
  }

  /** Closed by Reactor.release() (its map emptied): take a fresh one from Reactor.driver(). */
  get closed(): boolean {
    return this.#closed;
  }
}

const noFds = new Uint8Array(8);
function sleep(ms: number): void {
  if (ms === 0) return;
  // poll(2) on no descriptors: a sleep that resumes with the time left after EINTR.
  pollSyscall(noFds, 0, ms < 0 ? -1 : Math.ceil(ms));
}

/** A field of its own named like the library's state bypasses the stamping accessors. */
function ownState(o: object): boolean {
  // Fields are made by constructors, before a channel reaches a pass: checked once per channel.
  const c = o as { _ownState?: boolean };
  return c._ownState ??= Object.hasOwn(o, 'connected') || Object.hasOwn(o, 'accepting') ||
    Object.hasOwn(o, 'connecting') || Object.hasOwn(o, 'acceptPaused') || Object.hasOwn(o, 'outHighWater');
}
