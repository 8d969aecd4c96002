// Dispatcher: CPython 3.11's asyncore.dispatcher, handler for handler, plus timers that belong
// to the channel (they run in its map's loop, report to its handleError and die with it).
import { inspect } from 'node:util';
import { C } from '../sys/constants.js';
import {
  ACCEPT_EXHAUSTED, ACCEPT_NOTHING, CONNECT_PENDING, DISCONNECTED, EBADF, EINVAL, EISCONN, ENOTCONN, EWOULDBLOCK,
  WOULD_BLOCK, errnoName,
} from '../sys/errno.js';
import { type Address, Socket } from '../io/socket.js';
import type { ChannelSocket } from '../io/types.js';
import { writeStdio } from '../io/stdio.js';
import { SocketError, closedError, socketError } from '../errors.js';
import { compactTraceback } from '../traceback.js';
import { describe, requireBytes, requireSize, typeError } from '../validate.js';
import { type SocketMap, checkMap } from '../reactor/map.js';
import { reactorFor } from '../reactor/reactor.js';
import type { TimerHandle, TimerOwner } from '../reactor/timers.js';
import { defineChannelState, libraryPredicates } from '../reactor/stamp.js';
import { _strerror, reprAddress } from './repr.js';

export { reprBytes, _strerror } from './repr.js';

const EMPTY = Buffer.alloc(0);
let nextId = 1;

function isSocketLike(x: unknown): boolean {
  return typeof x === 'object' && x !== null && typeof (x as Socket).fileno === 'function' && typeof (x as Socket).setblocking === 'function';
}

/** The socket-like objects a Dispatcher drives (Socket, FileWrapper, SSLSocket): a structural type. */
export type DispatcherSocket = ChannelSocket;

/** A channel timer's callback runs with the channel as `this`. */
type ChannelCallback<T, A extends unknown[]> = (this: T, ...args: A) => unknown;

/**
 * A thin wrapper around a non-blocking socket whose handlers the loop calls (Python's
 * `asyncore.dispatcher`). Subclass it and override `handleRead()`, `handleWrite()`, ...
 */
export class Dispatcher implements TimerOwner {
  debug = false;
  declare connected: boolean; // these four are accessors that stamp the channel (defineChannelState)
  declare accepting: boolean;
  declare connecting: boolean;
  closing = false;
  addr: Address | null = null;
  /** Log types `logInfo` does not print (default: warnings). */
  ignoreLogTypes: Set<string> = new Set(['warning']);
  socket: DispatcherSocket | null = null;
  /** The family and type given to createSocket(). */
  familyAndType?: [family: number, type: number];
  /** @internal The map this channel adds itself to. */
  _map: SocketMap;
  /** @internal The fd this channel is registered under (null when not in a map). */
  _fileno: number | null = null;
  readonly #id = nextId++;
  /** True while accepts are paused after the process ran out of descriptors (beyond CPython). */
  declare acceptPaused: boolean;
  #acceptBackoff = 0;
  /** Live timers made by this.callLater/callEvery: close() cancels them. */
  #timers: Set<TimerHandle> | null = null;

  constructor(sock?: Socket | null, map?: SocketMap) {
    this._map = checkMap(map, 'Dispatcher()');
    if (sock !== undefined && sock !== null && !isSocketLike(sock)) {
      throw typeError(`Dispatcher(): sock must be a Socket (e.g. from accept()), or omitted and created with createSocket(), not ${describe(sock)}`);
    }
    if (sock) {
      // Non-blocking, in case the socket came from a blocking source (accept()).
      sock.setblocking(false);
      this.setSocket(sock, map);
      this.connected = true;
      try {
        this.addr = sock.getpeername();
      } catch (err) {
        if (err instanceof SocketError && (err.errno === ENOTCONN || err.errno === EINVAL)) {
          this.connected = false; // an unconnected socket is fine
        } else {
          // Broken in some unknown way: keep it out of the map so it is never polled.
          this.delChannel(map);
          throw err;
        }
      }
    }
  }

  toString(): string {
    const status = [this.constructor.name];
    if (this.accepting && this.addr) status.push('listening');
    else if (this.connected) status.push('connected');
    if (this.addr !== null && this.addr !== undefined) status.push(reprAddress(this.addr));
    return `<${status.join(' ')} at 0x${this.#id.toString(16)}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  addChannel(map?: SocketMap): void {
    if (this._fileno === null) throw typeError('addChannel(): the channel has no socket; call createSocket() or setSocket() first');
    const m = map ?? this._map;
    m.set(this._fileno, this);
    reactorFor(m).added(); // a loopAsync() waiting on `m` must start a pass to see it
  }

  delChannel(map?: SocketMap): void {
    const fd = this._fileno;
    const m = map ?? this._map;
    // Only our own entry: the fd number may already belong to a newer channel.
    if (fd !== null && m.get(fd) === this) {
      m.delete(fd);
      reactorFor(m).removed(fd);
    }
    this._fileno = null;
  }

  /** Create a non-blocking socket and register the channel (AF_INET, SOCK_STREAM by default). */
  createSocket(family: number = C.AF_INET, type: number = C.SOCK_STREAM): void {
    this.familyAndType = [family, type];
    const sock = new Socket(family, type | C.SOCK_NONBLOCK);
    this.setSocket(sock);
  }

  setSocket(sock: DispatcherSocket, map?: SocketMap): void {
    if (sock === null || typeof sock !== 'object' || typeof sock.fileno !== 'function') {
      throw typeError(`setSocket(): sock must be a Socket or FileWrapper, not ${describe(sock)}`);
    }
    // An fd of -1 would become a map key that no poller can watch.
    if (sock.fileno() < 0) throw closedError('setSocket');
    this.socket = sock;
    this._fileno = sock.fileno();
    this.addChannel(map);
  }

  /** Set SO_REUSEADDR so a server can rebind its port at once; failures are ignored. */
  setReuseAddr(): void {
    const sock = this.socket;
    if (sock === null) return;
    try {
      sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, sock.getsockopt(C.SOL_SOCKET, C.SO_REUSEADDR) | 1);
    } catch (e) {
      if (!(e instanceof SocketError)) throw e;
    }
  }

  // ---- predicates for the poller ----

  /** Ask for read events this pass (default: true). */
  readable(): boolean {
    return true;
  }

  /** Ask for write events this pass (default: true). */
  writable(): boolean {
    return true;
  }

  // ---- socket methods ----

  private requireSocket(op: string): DispatcherSocket {
    const s = this.socket;
    if (s === null) throw typeError(`${op}(): the channel has no socket; call createSocket() first`);
    return s;
  }

  listen(backlog: number): void {
    this.accepting = true;
    this.requireSocket('listen').listen(backlog);
  }

  bind(addr: Address): void {
    this.addr = addr;
    this.requireSocket('bind').bind(addr);
  }

  /** Start a non-blocking connect; `handleConnect()` runs when it completes. */
  connect(address: Address): void {
    this.connected = false;
    this.connecting = true;
    let err: number;
    try {
      err = this.requireSocket('connect').connectEx(address);
    } catch (e) {
      // Beyond CPython: a connect that never started is not pending, so no spurious
      // handleConnect() when the unconnected socket later polls writable.
      this.connecting = false;
      throw e;
    }
    if (CONNECT_PENDING.has(err)) {
      this.addr = address;
      return;
    }
    if (err === 0 || err === EISCONN) {
      this.addr = address;
      this.handleConnectEvent();
    } else {
      this.connecting = false;
      throw socketError(err, 'connect', address);
    }
  }

  /** Accept a connection: `[sock, addr]`, or null when there was nothing to accept after all. */
  accept(): [Socket, Address] | null {
    const sock = this.requireSocket('accept');
    let r: [Socket, Address] | number;
    if (sock instanceof Socket) {
      r = sock.acceptRaw(false);
    } else {
      try {
        r = sock.accept() as [Socket, Address];
      } catch (e) {
        if (e instanceof TypeError) return null;
        if (!(e instanceof SocketError)) throw e;
        r = -e.errno;
      }
    }
    if (typeof r === 'number') {
      if (ACCEPT_NOTHING.has(-r)) return null;
      if (ACCEPT_EXHAUSTED.has(-r)) {
        this.backOffAccepting(-r);
        return null;
      }
      throw -r === EBADF && sock.fileno() < 0 ? closedError('accept') : socketError(-r, 'accept');
    }
    this.#acceptBackoff = 0; // any episode is over
    return r;
  }

  /**
   * Beyond CPython, which sent EMFILE to handleError and so closed the listener: keep it open,
   * stop polling it for a while (0.05 s, doubling up to 1 s while the shortage lasts) so the
   * loop does not spin on a connection it cannot take, and warn once per episode. The pending
   * clients wait in the backlog and are served once descriptors are free again.
   */
  private backOffAccepting(err: number): void {
    if (this.#acceptBackoff === 0) {
      this.logInfo(`accept() failed with ${errnoName(err)} (${_strerror(err)}) on ${this.toString()}: ` +
        'pausing accepts until descriptors are free; raise the limit (ulimit -n) or close idle channels', 'error');
    }
    this.#acceptBackoff = Math.min(1, this.#acceptBackoff === 0 ? 0.05 : this.#acceptBackoff * 2);
    this.acceptPaused = true;
    this.callLater(this.#acceptBackoff, () => {
      this.acceptPaused = false;
    }).unref();
  }

  /** Send what the socket takes now; 0 if it would block or the peer is gone (handleClose ran). */
  send(data: Uint8Array): number {
    const sock = this.requireSocket('send');
    let r: number;
    if (typeof sock.sendRaw === 'function') {
      r = sock.sendRaw(requireBytes(data, 'send()'), 0);
    } else {
      try {
        r = sock.send(data);
      } catch (e) {
        if (!(e instanceof SocketError) || 'library' in e) throw e; // an SSLError: its errno is an SSL_ERROR_*
        r = -e.errno;
      }
    }
    if (r >= 0) return r;
    const e = -r;
    if (e === EWOULDBLOCK) return 0;
    if (DISCONNECTED.has(e)) {
      this.handleClose();
      return 0;
    }
    throw socketError(e, 'send');
  }

  /**
   * Receive up to `bufferSize` bytes. An empty Buffer means the peer closed (or the connection
   * broke) and `handleClose()` has run. Raises BlockingIOError when nothing is there after all.
   */
  recv(bufferSize: number): Buffer {
    const sock = this.requireSocket('recv');
    let r: Buffer | number;
    if (typeof sock.recvRaw === 'function') {
      r = sock.recvRaw(requireSize(bufferSize, 'recv(): bufferSize'), 0);
    } else {
      try {
        r = sock.recv(bufferSize);
      } catch (e) {
        if (!(e instanceof SocketError) || 'library' in e) throw e; // an SSLError: its errno is an SSL_ERROR_*
        r = -e.errno;
      }
    }
    if (typeof r === 'number') {
      if (DISCONNECTED.has(-r)) {
        this.handleClose();
        return EMPTY;
      }
      throw socketError(-r, 'recv');
    }
    if (r.length === 0) {
      // A closed connection shows up as readable with nothing to read.
      this.handleClose();
      return EMPTY;
    }
    return r;
  }

  /** Close the socket and leave the map, cancelling the channel's timers. Safe to call more than once. */
  close(): void {
    this.connected = false;
    this.accepting = false;
    this.connecting = false;
    if (this.#timers !== null) {
      const timers = this.#timers;
      this.#timers = null;
      for (const t of timers) t.cancel();
    }
    this.delChannel();
    if (this.socket !== null) {
      try {
        this.socket.close();
      } catch (e) {
        if (!(e instanceof SocketError) || (e.errno !== ENOTCONN && e.errno !== EBADF)) throw e;
      }
    }
  }

  // ---- timers (beyond CPython; pyftpdlib's habit: a channel's timers die with it) ----

  /**
   * **(beyond)** Call `fn(...args)` (with the channel as `this`) once, `seconds` from now, in
   * the loop of this channel's map. What it throws goes to `handleError` (ExitNow escapes the
   * loop); `close()` cancels it.
   */
  callLater<A extends unknown[]>(seconds: number, fn: ChannelCallback<this, A>, ...args: A): TimerHandle {
    return this.#addTimer('callLater', seconds, false, fn, args);
  }

  /** **(beyond)** `callLater`, repeated every `seconds` (> 0) until cancelled or the channel closes. */
  callEvery<A extends unknown[]>(seconds: number, fn: ChannelCallback<this, A>, ...args: A): TimerHandle {
    return this.#addTimer('callEvery', seconds, true, fn, args);
  }

  #addTimer(name: string, seconds: number, repeat: boolean, fn: unknown, args: unknown[]): TimerHandle {
    const t = reactorFor(this._map).timers.add(name, seconds, repeat, fn, args, this);
    (this.#timers ??= new Set()).add(t);
    return t;
  }

  /** @internal One of this channel's timers ran its last call or was cancelled. */
  _timerDone(t: TimerHandle): void {
    this.#timers?.delete(t);
  }

  // ---- logging ----

  /** 'Hit' logging: writes `log: message` to stderr (synchronously **(beyond)**: see io/stdio.ts). */
  log(message: unknown): void {
    writeStdio(2, `log: ${String(message)}\n`);
  }

  /** Informational, warning and error logging: `type: message` to stdout unless ignored. */
  logInfo(message: unknown, type = 'info'): void {
    const ignored = this.ignoreLogTypes as Set<string> | readonly string[] | null | undefined;
    const hidden = ignored instanceof Set ? ignored.has(type) : Array.isArray(ignored) ? ignored.includes(type) : false;
    if (!hidden) writeStdio(1, `${type}: ${String(message)}\n`);
  }

  // ---- events: the loop calls these ----

  handleReadEvent(): void {
    if (this.accepting) {
      // Listening channels never connect; they spawn connected sockets.
      this.handleAccept();
    } else if (!this.connected) {
      if (this.connecting) this.handleConnectEvent();
      this.handleRead();
    } else {
      this.handleRead();
    }
  }

  handleConnectEvent(): void {
    const err = this.requireSocket('connect').getsockopt(C.SOL_SOCKET, C.SO_ERROR);
    if (err !== 0) throw socketError(err, 'connect', this.addr ?? undefined);
    this.handleConnect();
    this.connected = true;
    this.connecting = false;
  }

  handleWriteEvent(): void {
    // A listening channel has nothing to write; pretend the event did not happen.
    if (this.accepting) return;
    if (!this.connected && this.connecting) this.handleConnectEvent();
    this.handleWrite();
  }

  handleExptEvent(): void {
    // An error condition first (close, as a read of nothing would); otherwise OOB data.
    const err = this.requireSocket('getsockopt').getsockopt(C.SOL_SOCKET, C.SO_ERROR);
    if (err !== 0) this.handleClose();
    else this.handleExpt();
  }

  /** An uncaught error in a handler: logs a compact traceback at type 'error', then closes. */
  handleError(err: unknown): void {
    // Beyond CPython: readiness that turned out spurious (EAGAIN from recv) is harmless, so the
    // default handler keeps the channel; CPython logged it and closed the channel.
    if (err instanceof SocketError && WOULD_BLOCK.has(err.errno)) return;
    const [, name, message, info] = compactTraceback(err);
    let self: string;
    try {
      self = this.toString();
    } catch {
      self = `<toString() failed for object at 0x${this.#id.toString(16)}>`;
    }
    this.logInfo(`uncaptured exception, closing channel ${self} (${name}:${message} ${info})`, 'error');
    this.handleClose();
  }

  handleExpt(): void {
    this.logInfo('unhandled incoming priority event', 'warning');
  }

  handleRead(): void {
    this.logInfo('unhandled read event', 'warning');
  }

  handleWrite(): void {
    this.logInfo('unhandled write event', 'warning');
  }

  handleConnect(): void {
    this.logInfo('unhandled connect event', 'warning');
  }

  /** A listening channel is readable: accept and pass the connection to handleAccepted. */
  handleAccept(): void {
    const pair = this.accept();
    if (pair !== null) this.handleAccepted(pair[0], pair[1]);
  }

  handleAccepted(sock: Socket, _addr: Address): void {
    sock.close();
    this.logInfo('unhandled accepted event', 'warning');
  }

  handleClose(): void {
    this.logInfo('unhandled close event', 'warning');
    this.close();
  }
}
defineChannelState(Dispatcher.prototype);
libraryPredicates(Dispatcher.prototype);
