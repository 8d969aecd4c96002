// The asyncore loop: socketMap, one pass per poll()/poll2() call, event routing (read, write,
// exception, readwrite), closeAll, compactTraceback, ExitNow.
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { C } from './sys/constants.js';
import { DISCONNECTED, EBADF } from './sys/errno.js';
import { poll as pollSyscall } from './sys/libc.js';
import { SocketError, socketError } from './errors.js';
import { type Poller, type PollerName, SELECT_EXPT } from './pollers/types.js';
import { SelectPoller } from './pollers/select.js';
import { PollPoller } from './pollers/poll.js';
import { EpollPoller } from './pollers/epoll.js';
import { scheduler, monotonic } from './scheduler.js';

export type { PollerName } from './pollers/types.js';

/** What a map holds: anything with the handlers a pass calls (Dispatcher and subclasses). */
export interface Channel {
  readable(): boolean;
  writable(): boolean;
  accepting?: boolean;
  /** True while a listener backs off after EMFILE/ENFILE: it is not polled for reading. */
  acceptPaused?: boolean;
  /** A Dispatcher's registered fd (null once it left its map). */
  _fileno?: number | null;
  handleReadEvent(): void;
  handleWriteEvent(): void;
  handleExptEvent(): void;
  handleClose(): void;
  handleError(err: unknown): void;
}

/** fd → channel. */
export type SocketMap = Map<number, any>;

/** The global map, used when no map is given. One live Map, never replaced. */
export const socketMap: SocketMap = new Map();

/** Thrown from a handler, it leaves `loop()` (it is not routed to `handleError`). */
export class ExitNow extends Error {
  constructor(message?: string) {
    super(message);
  }

  override get name(): string {
    return 'ExitNow';
  }
}

export const { POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL } = C;

// ---- Event routing ----

/** What read() needs of a channel (any object with these methods). */
export type ReadTarget = { handleReadEvent(): void; handleError(err: unknown): void };
/** What write() needs of a channel. */
export type WriteTarget = { handleWriteEvent(): void; handleError(err: unknown): void };
/** What exception() needs of a channel. */
export type ExptTarget = { handleExptEvent(): void; handleError(err: unknown): void };
/** What readwrite() needs of a channel. */
export type RWTarget = ReadTarget & WriteTarget & ExptTarget & { handleClose(): void };

/** Call `obj.handleReadEvent()`, routing failures to `obj.handleError(err)` (ExitNow escapes). */
export function read(obj: ReadTarget): void {
  try {
    obj.handleReadEvent();
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    obj.handleError(e); // everything else, BlockingIOError included, as CPython
  }
}

/** Call `obj.handleWriteEvent()`, routing failures to `obj.handleError(err)` (ExitNow escapes). */
export function write(obj: WriteTarget): void {
  try {
    obj.handleWriteEvent();
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    obj.handleError(e); // everything else, BlockingIOError included, as CPython
  }
}

/** Call `obj.handleExptEvent()`, routing failures to `obj.handleError(err)` (CPython's `_exception`). */
export function exception(obj: ExptTarget): void {
  try {
    obj.handleExptEvent();
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    obj.handleError(e); // everything else, BlockingIOError included, as CPython
  }
}

/**
 * Deliver poll(2) flags to a channel: POLLIN → read, POLLOUT → write, POLLPRI → expt, then
 * HUP/ERR/NVAL → `handleClose()`. A disconnect errno closes instead of reporting an error.
 */
export function readwrite(obj: RWTarget, flags: number): void {
  if (typeof flags !== 'number' || !Number.isInteger(flags)) {
    throw new TypeError(`readwrite(): flags must be an integer of poll flags such as POLLIN | POLLOUT, not ${typeof flags === 'number' ? flags : typeof flags}`);
  }
  readwriteIn(null, 0, obj, flags);
}

/**
 * readwrite() for a loop pass over `map`: once a handler has closed (or replaced) the channel
 * on `fd`, its remaining events of the pass are dropped, so HUP/ERR after a read that closed it
 * does not call handleClose() a second time. With a null map, CPython's readwrite exactly.
 */
function readwriteIn(map: SocketMap | null, fd: number, obj: RWTarget, flags: number): void {
  try {
    if (flags & POLLIN) {
      obj.handleReadEvent();
      if (map !== null && map.get(fd) !== obj) return;
    }
    if (flags & POLLOUT) {
      obj.handleWriteEvent();
      if (map !== null && map.get(fd) !== obj) return;
    }
    if (flags & POLLPRI) {
      obj.handleExptEvent();
      if (map !== null && map.get(fd) !== obj) return;
    }
    if (flags & (POLLERR | POLLNVAL)) obj.handleClose();
    // Beyond CPython: a hang-up that arrives with data (a pipe whose writer exited) waits until
    // the data is read: recv() then finds end of file and closes, as under select. CPython
    // closed at once and dropped what was still buffered.
    else if ((flags & POLLHUP) && (map === null || !(flags & POLLIN))) obj.handleClose();
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    if (e instanceof SocketError && DISCONNECTED.has(e.errno)) obj.handleClose();
    else obj.handleError(e);
  }
}

// ---- Passes ----

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

  constructor(name: PollerName | Poller) {
    this.poller = typeof name !== 'string' ? name
      : name === 'select' ? new SelectPoller() : name === 'poll' ? new PollPoller() : new EpollPoller();
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
   * Driver of its own (driverFor), so the outer pass's snapshot and ready list stay intact.
   */
  busy = 0;
  /** Not cached by driverFor(): close it when the call that made it returns. */
  transient = false;

  private runPass(timeout: number | null, map: SocketMap, roundUp: boolean): void {
    const poller = this.poller;
    const isSelect = poller.name === 'select';
    const interested = this.declare(map);
    if (this.#closed) {
      // The map emptied while its channels were asked (releasePollers closed us): nothing
      // declared this pass can get an event, and a closed epoll set cannot be waited on.
      poller.reset();
      return;
    }
    const ms = timeout === null ? -1 : isSelect ? timeout * 1000 : roundUp ? Math.ceil(timeout * 1000) : Math.trunc(timeout * 1000);
    if (interested === 0 && isSelect) {
      sleep(ms); // CPython's select pass sleeps when there is nothing to wait for
      return;
    }
    const k = poller.poll(ms);
    if (k < 0) throw socketError(-k, poller.name === 'epoll' ? 'epoll_wait' : poller.name);
    this.dispatch(k, map);
  }

  /** Start a pass: ask every channel readable()/writable() once and register its interest. */
  declare(map: SocketMap): number {
    const poller = this.poller;
    const isSelect = poller.name === 'select';
    const pass = ++this.pass;
    // A snapshot, as CPython's list(map.items()): channels added by readable() wait a pass.
    const fds = this.snapFds, objs = this.snapObjs;
    // Two plain walks cost about half of one walk over [fd, obj] entries.
    let n = 0;
    for (const fd of map.keys()) fds[n++] = fd;
    n = 0;
    for (const obj of map.values()) objs[n++] = obj;
    let interested = 0;
    try {
      for (let i = 0; i < n; i++) {
        const fd = fds[i]!, obj = objs[i]!;
        // A listener that ran out of descriptors sits out a while (see Dispatcher.accept).
        const r = obj.readable() && obj.acceptPaused !== true;
        const w = obj.writable();
        let ev = 0;
        if (r) ev = isSelect ? POLLIN | SELECT_EXPT : POLLIN | POLLPRI;
        // Listening channels are never polled for writing.
        if (w && !obj.accepting) ev |= POLLOUT;
        if (isSelect && w) ev |= SELECT_EXPT;
        if (ev === 0) continue;
        // Skip a channel that its own readable()/writable() closed. A Dispatcher still in place
        // has _fileno === fd, which spares a map lookup per channel per pass.
        if (obj._fileno !== fd && map.get(fd) !== obj) continue;
        poller.register(fd, ev, obj);
        if (fd >= this.ownerPass.length) {
          const bigger = new Int32Array(Math.max(fd + 1, this.ownerPass.length * 2));
          bigger.set(this.ownerPass);
          this.ownerPass = bigger;
        }
        this.owners[fd] = obj;
        this.ownerPass[fd] = pass;
        interested++;
      }
    } catch (e) {
      poller.reset();
      throw e;
    } finally {
      // Drop references to channels that left since the last pass; the rest are overwritten
      // by the next snapshot (clearing all n each pass would cost a store per channel).
      if (this.snapLength > n) objs.fill(undefined as unknown as Channel, n, this.snapLength);
      this.snapLength = n;
    }
    return interested;
  }

  /** End a pass: deliver the poller's `k` ready events to the channels declared this pass. */
  dispatch(k: number, map: SocketMap): void {
    const poller = this.poller;
    const isSelect = poller.name === 'select';
    const pass = this.pass;
    const readyFds = poller.readyFds, readyEvents = poller.readyEvents;
    for (let i = 0; i < k; i++) {
      const fd = readyFds[i]!;
      if (this.ownerPass[fd] !== pass) continue;
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
  }

  close(): void {
    this.#closed = true;
    this.poller.close();
    this.owners = [];
    this.snapObjs = [];
    this.snapLength = 0;
  }

  /** Closed by releasePollers() (its map emptied): take a fresh one from driverFor(). */
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

const drivers = new WeakMap<SocketMap, Map<PollerName, Driver>>();

function cachedDriver(map: SocketMap, name: PollerName): Driver {
  let byName = drivers.get(map);
  if (!byName) drivers.set(map, (byName = new Map()));
  let d = byName.get(name);
  if (!d) byName.set(name, (d = new Driver(name)));
  return d;
}

/** The map's Driver for `name`, or a transient one while that Driver is mid-pass (re-entry). */
function driverFor(map: SocketMap, name: PollerName): Driver {
  const d = cachedDriver(map, name);
  if (d.busy === 0) return d;
  const nested = new Driver(name);
  nested.transient = true;
  return nested;
}

/** One pass with the map's Driver for `name` (poll() and poll2()). */
function onePass(map: SocketMap, name: PollerName, timeout: number | null, fn: string): void {
  if (asyncServed.has(map)) throw servedError(fn);
  if (map.size === 0) return;
  const d = driverFor(map, name);
  try {
    d.run(timeout, map);
  } finally {
    if (d.transient) d.close();
  }
}

function servedError(fn: string): Error {
  return new Error(`${fn}: this map is being served by loopAsync(); await it (or use another map) instead of calling ${fn} on it`);
}

/** Release the pollers kept for `map` (the epoll descriptor). Called when a map empties. */
export function releasePollers(map: SocketMap): void {
  asyncServers.get(map)?.changed(); // a loopAsync() waiting on an emptied map can finish now
  const byName = drivers.get(map);
  if (!byName) return;
  for (const d of byName.values()) d.close();
  drivers.delete(map);
}

/** A channel left `map`: persistent pollers must drop `fd` before its number is reused. */
export function channelRemoved(map: SocketMap, fd: number): void {
  asyncServers.get(map)?.removed(fd);
  const byName = drivers.get(map);
  if (!byName) return;
  if (map.size === 0) {
    releasePollers(map);
    return;
  }
  for (const d of byName.values()) d.poller.unregister(fd);
}

const MAX_TIMEOUT = Math.floor(0x7fffffff / 1000);

/** Validate loop()/loopAsync() options: the timeout (default 30 s), map and count. */
export function checkLoopOptions(opts: LoopOptions, fn: string): { timeout: number | null; map: SocketMap; count: number | null | undefined } {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`${fn}: options must be an object such as { timeout: 30, count: 1 }`);
  }
  const timeout = checkTimeout(opts.timeout === undefined ? 30 : opts.timeout, fn);
  const map = checkMap(opts.map, fn);
  const count = opts.count;
  if (count !== undefined && count !== null && (typeof count !== 'number' || Number.isNaN(count))) {
    throw new TypeError(`${fn}: count must be a number of passes (or null for no limit), not ${Number.isNaN(count) ? 'NaN' : typeof count}`);
  }
  choosePoller(opts); // validates poller and ASYNCORE_POLLER, so a typo is never ignored
  return { timeout, map, count };
}

export function checkTimeout(timeout: unknown, fn: string): number | null {
  if (timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`${fn}: timeout must be a number of seconds (or null to wait forever), not ${Number.isNaN(timeout) ? 'NaN' : typeof timeout}`);
  }
  if (timeout < 0) throw new RangeError(`${fn}: timeout must be >= 0 seconds, not ${timeout}`);
  // poll(2)/epoll_wait take an int of milliseconds, and a longer one would wrap (or, under
  // select, not convert at all).
  if (timeout > MAX_TIMEOUT) {
    throw new RangeError(`${fn}: timeout must be at most ${MAX_TIMEOUT} seconds (about 24 days), not ${timeout}; use null to wait forever`);
  }
  return timeout;
}

export function checkMap(map: unknown, fn: string): SocketMap {
  if (map === undefined || map === null) return socketMap;
  if (!(map instanceof Map)) throw new TypeError(`${fn}: map must be a Map of fd to channel (or omitted for socketMap)`);
  return map;
}

/** One select(2) pass over `map` (default socketMap), waiting up to `timeout` seconds. */
export function poll(timeout: number | null = 0, map?: SocketMap): void {
  const t = checkTimeout(timeout, 'poll()');
  const m = checkMap(map, 'poll()');
  onePass(m, 'select', t, 'poll()');
}

/** One poll(2) pass over `map` (default socketMap), waiting up to `timeout` seconds. */
export function poll2(timeout: number | null = 0, map?: SocketMap): void {
  const t = checkTimeout(timeout, 'poll2()');
  const m = checkMap(map, 'poll2()');
  onePass(m, 'poll', t, 'poll2()');
}

/** Alias of poll2, as in CPython. */
export const poll3 = poll2;

const POLLERS: readonly PollerName[] = ['select', 'poll', 'epoll'];

export interface LoopOptions {
  /** Seconds each pass may wait (default 30; null: forever). */
  timeout?: number | null;
  /** Use poll(2) instead of select(2). */
  usePoll?: boolean;
  /** The channels to serve (default socketMap). */
  map?: SocketMap;
  /** Passes to run; undefined/null: until the map is empty. */
  count?: number | null;
  /** Backend, overriding usePoll and ASYNCORE_POLLER. */
  poller?: PollerName;
}

/** The backend `loop()` would use for these options. */
export function choosePoller(opts: LoopOptions = {}): PollerName {
  if (opts.poller !== undefined) {
    if (!POLLERS.includes(opts.poller)) {
      throw new RangeError(`loop(): poller must be one of ${POLLERS.map((p) => `'${p}'`).join(', ')}, not ${String(opts.poller)}`);
    }
    return opts.poller;
  }
  if (opts.usePoll) return 'poll';
  const env = process.env.ASYNCORE_POLLER;
  if (env) {
    if (!POLLERS.includes(env as PollerName)) {
      throw new RangeError(`ASYNCORE_POLLER must be one of ${POLLERS.join(', ')}, not '${env}'`);
    }
    return env as PollerName;
  }
  return 'select';
}

/** Maps currently served by a loopAsync(); loop() refuses them. */
export const asyncServed = new WeakSet<SocketMap>();

/** What a running loopAsync() must hear about its map while it waits inside Node's loop. */
export interface AsyncServer {
  /** `fd` left the map: drop it from the persistent set before its number is reused. */
  removed(fd: number): void;
  /** A channel joined the map, or the map emptied: end the current wait so a pass sees it. */
  changed(): void;
}

const asyncServers = new WeakMap<SocketMap, AsyncServer>();

/** Mark `map` as served by a loopAsync() (a second one, or loop(), is refused). */
export function serveAsync(map: SocketMap, server: AsyncServer): void {
  if (asyncServed.has(map)) {
    throw new Error('loopAsync(): this map is already served by another loopAsync(); await that one (or use another map)');
  }
  asyncServed.add(map);
  asyncServers.set(map, server);
}

/** The loopAsync() serving `map` settled. */
export function unserveAsync(map: SocketMap): void {
  asyncServed.delete(map);
  asyncServers.delete(map);
}

/** A channel joined `map` (Dispatcher.addChannel): a loopAsync() waiting on it must declare it. */
export function channelAdded(map: SocketMap, _fd: number): void {
  asyncServers.get(map)?.changed();
}

/**
 * One loop() pass with timers: the wait ends by the next due time (rounded up, never early)
 * and the timers due run after the channels' events.
 */
function timedPass(driver: Driver, timeout: number | null, map: SocketMap): void {
  const due = scheduler.pending > 0 ? scheduler.nextDue() - monotonic() : Infinity;
  if (timeout === null ? due < Infinity : due < timeout) driver.run(Math.max(0, due), map, true);
  else driver.run(timeout, map);
  scheduler.runDue();
}

/**
 * Serve the channels in `map` until it is empty or `count` passes have run. Synchronous, like
 * Python: it owns the thread (use `loopAsync` to share it with the rest of Node).
 *
 * Timers (callLater/callEvery) run here too: each pass waits at most until the next one is
 * due, and runs the due ones after the channels' events. Without a `count`, the loop also
 * keeps running while the map is empty but a timer is pending (an unref'd timer does not
 * count), so a timer can open the next connection; with a `count`, it stops after that many
 * passes (or sooner, once the map is empty and no timer is pending).
 */
export function loop(opts: LoopOptions = {}): void {
  const { timeout, map } = checkLoopOptions(opts, 'loop()');
  let count = opts.count;
  if (asyncServed.has(map)) throw servedError('loop()');
  const name = choosePoller(opts);
  if (map.size === 0 && scheduler.live === 0) return;
  let driver = driverFor(map, name);
  // When the map empties mid-loop its driver is released (closed); a handleClose that
  // reconnects, or a timer, may refill the map, and the next pass needs a live driver.
  const pass = (): void => {
    if (driver.closed) driver = driverFor(map, name);
    timedPass(driver, timeout, map);
  };
  try {
    if (count === undefined || count === null) {
      while (map.size > 0 || scheduler.live > 0) pass();
    } else {
      for (; (map.size > 0 || scheduler.live > 0) && count > 0; count--) pass();
    }
  } finally {
    if (driver.transient) driver.close();
    if (map.size === 0) releasePollers(map);
  }
}

/**
 * Close every channel in `map` (default socketMap) and clear it. EBADF is ignored; other
 * errors propagate unless `ignoreAll`. ExitNow always propagates.
 */
export function closeAll(map?: SocketMap, ignoreAll = false): void {
  const m = checkMap(map, 'closeAll()');
  try {
    for (const x of [...m.values()]) {
      try {
        x.close();
      } catch (e) {
        if (e instanceof ExitNow) throw e;
        if (e instanceof SocketError && e.errno === EBADF) continue;
        if (!ignoreAll) throw e;
      }
    }
    m.clear();
  } finally {
    if (m.size === 0) releasePollers(m);
  }
}

// ---- Tracebacks ----

const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

/**
 * CPython's compact_traceback for `err`: the innermost frame as [file, function, line], the
 * error's name and message, and '[file|function|line] ...' from outermost to innermost.
 * Node's own internal frames are left out.
 */
export function compactTraceback(err: unknown): [[file: string, fn: string, line: string], name: string, message: string, info: string] {
  // isNativeError: an Error from another realm (node:vm) is still an Error.
  const isErr = err instanceof Error || types.isNativeError(err);
  const name = isErr ? err.name : err === null ? 'null' : typeof err === 'object' ? (err.constructor?.name ?? 'Object') : typeof err;
  const message = isErr ? err.message : String(err);
  const frames: [string, string, string][] = [];
  const stack = isErr && typeof err.stack === 'string' ? err.stack.split('\n') : [];
  for (const line of stack) {
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[2]!;
    if (file.startsWith('node:') || file === 'native') continue;
    if (file.startsWith('file://')) {
      try { file = fileURLToPath(file); } catch { /* keep the URL */ }
    }
    let fn = m[1] ?? '<anonymous>';
    if (fn.startsWith('new ')) fn = fn.slice(4);
    const dot = fn.lastIndexOf('.');
    if (dot >= 0 && !fn.endsWith('>')) fn = fn.slice(dot + 1);
    else if (fn.endsWith('.<anonymous>')) fn = '<anonymous>';
    frames.push([file, fn, m[3]!]);
  }
  if (frames.length === 0) frames.push(['<unknown>', '<unknown>', '0']);
  frames.reverse(); // outermost first, as a Python traceback
  const innermost = frames[frames.length - 1]!;
  const info = frames.map(([f, fn, l]) => `[${f}|${fn}|${l}]`).join(' ');
  return [innermost, name, message, info];
}
