// Socket: Python's socket.socket over real non-blocking-capable BSD sockets, through src/sys.
import { inspect } from 'node:util';
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EAGAIN, EBADF, EINPROGRESS, EINVAL, ETIMEDOUT, errno as errnoTable } from '../sys/errno.js';
import { type Address, type AddressOf, decodeSockaddr } from '../sys/sockaddr.js';
import { SocketError, closedError, socketError } from '../errors.js';
import { describe, requireBytes, requireInt, requireSize, rangeError, typeError } from '../validate.js';
import { encodeAddress, saBuf, saLen } from './address.js';
import { type FdState, recvCopy, scratchFor, unclosedFdRegistry } from './fd.js';
import type { SocketStream } from './types.js';

export type { Address, AddressOf, InetAddress, Inet6Address } from '../sys/sockaddr.js';

const optBuf = new Uint8Array(4);
const optView = new DataView(optBuf.buffer);
const optLen = new Int32Array(1);

/** @internal A descriptor this module made itself (accept4, socketpair): its flags are known. */
interface OwnFd {
  fd: number;
  nonblocking: boolean;
}

const finalizer = unclosedFdRegistry('socket');

/**
 * A BSD socket (Python's `socket.socket`). Created close-on-exec and blocking; `send` never
 * raises SIGPIPE. Errors are `SocketError`s; a socket collected while open is closed with a
 * `ResourceWarning`.
 */
export class Socket<F extends number = number> {
  /** The address family; a literal type (AF_INET, AF_INET6, AF_UNIX) types the addresses. */
  readonly family: F;
  readonly type: number;
  readonly proto: number;
  /** @internal Shared with the finalizer, which closes the fd if the Socket is collected. */
  private readonly state: FdState;
  private blocking = true;
  /** Python's socket timeout: null (blocking), 0 (non-blocking) or seconds. */
  private timeout: number | null = null;
  /** @internal file status flags are known to be exactly O_NONBLOCK-or-not (our own fds). */
  private ownFlags: boolean;
  /** @internal The io_uring data path serving this socket (src/pollers/uring-stream.ts), or null. */
  _stream: SocketStream | null = null;

  constructor(family?: F, type?: number, proto?: number, fileno?: number);
  /** @internal Adopt a descriptor made by accept4/socketpair, whose flags are known. */
  constructor(family: F, type: number, proto: number, fileno: OwnFd);
  constructor(family: F = C.AF_INET as F, type: number = C.SOCK_STREAM, proto = 0, fileno?: number | OwnFd) {
    requireInt(family, 'Socket(): family');
    requireInt(type, 'Socket(): type');
    requireInt(proto, 'Socket(): proto');
    let fd: number;
    if (fileno === undefined) {
      fd = libc.socket(family, type | C.SOCK_CLOEXEC, proto);
      if (fd < 0) throw socketError(-fd, 'socket', undefined, fd === -errnoTable.EAFNOSUPPORT! || fd === -EINVAL ? 'use AF_INET, AF_INET6 or AF_UNIX with SOCK_STREAM or SOCK_DGRAM' : undefined);
      this.ownFlags = true;
    } else {
      if (typeof fileno === 'object' && fileno !== null) {
        fd = fileno.fd;
        this.blocking = !fileno.nonblocking;
        this.ownFlags = true;
      } else {
        fd = requireInt(fileno, 'Socket(): fileno');
        const fl = libc.fcntl(fd, C.F_GETFL, 0);
        if (fl < 0) throw socketError(-fl, 'fcntl', undefined, 'fileno must be an open descriptor');
        this.blocking = (fl & C.O_NONBLOCK) === 0;
        this.ownFlags = false;
      }
    }
    this.family = family;
    this.type = type & ~(C.SOCK_NONBLOCK | C.SOCK_CLOEXEC);
    this.proto = proto;
    if (fileno === undefined && (type & C.SOCK_NONBLOCK) !== 0) this.blocking = false;
    this.timeout = this.blocking ? null : 0;
    this.state = { fd };
    finalizer.register(this, this.state, this);
  }

  /** A new Socket on a duplicate (close-on-exec) of `fd`, as Python's `socket.fromfd`. */
  static fromFd<G extends number>(fd: number, family: G, type: number, proto = 0): Socket<G> {
    requireInt(fd, 'Socket.fromFd(): fd');
    const dupFd = libc.fcntl(fd, C.F_DUPFD_CLOEXEC, 0);
    if (dupFd < 0) throw socketError(-dupFd, 'dup', undefined, dupFd === -EBADF ? `fd ${fd} is not open; pass an open descriptor` : undefined);
    try {
      return new Socket(family, type, proto, dupFd);
    } catch (e) {
      libc.close(dupFd);
      throw e;
    }
  }

  /** The descriptor, or -1 after close(). */
  fileno(): number {
    return this.state.fd;
  }

  /** @internal The open fd, or a SocketError EBADF naming `syscall`. */
  private fdFor(syscall: string): number {
    const fd = this.state.fd;
    if (fd < 0) throw closedError(syscall);
    return fd;
  }

  /** Close the socket. Idempotent: a second call does nothing (and never touches a reused fd). */
  close(): void {
    const fd = this.state.fd;
    if (fd < 0) return;
    this.state.fd = -1;
    finalizer.unregister(this);
    // Sends the uring poller still holds go out first: it closes the descriptor after them.
    if (this._stream !== null && this._stream.close(fd)) return;
    const r = libc.close(fd);
    // EBADF would mean someone closed our fd behind our back; nothing else is worth raising.
    if (r < 0 && r !== -EBADF) throw socketError(-r, 'close');
  }

  /** Forget the descriptor without closing it and return it (Python's `detach`). */
  detach(): number {
    this._stream?.quiesce(true);
    const fd = this.state.fd;
    this.state.fd = -1;
    finalizer.unregister(this);
    return fd;
  }

  /** A new Socket on a duplicate of this one's descriptor. */
  dup(): Socket {
    return Socket.fromFd(this.fdFor('dup'), this.family, this.type, this.proto);
  }

  setblocking(flag: boolean): void {
    const fd = this.fdFor('setblocking');
    const want = !!flag;
    if (want) this._stream?.quiesce(false);
    if (this.ownFlags) {
      // No early return on an unchanged flag: a dup() shares O_NONBLOCK and may have changed it.
      const r = libc.fcntl(fd, C.F_SETFL, want ? 0 : C.O_NONBLOCK);
      if (r < 0) throw socketError(-r, 'fcntl');
    } else {
      const fl = libc.fcntl(fd, C.F_GETFL, 0);
      if (fl < 0) throw socketError(-fl, 'fcntl');
      const r = libc.fcntl(fd, C.F_SETFL, want ? fl & ~C.O_NONBLOCK : fl | C.O_NONBLOCK);
      if (r < 0) throw socketError(-r, 'fcntl');
    }
    this.blocking = want;
    this.timeout = want ? null : 0;
  }

  getblocking(): boolean {
    this.fdFor('getblocking');
    return this.timeout !== 0;
  }

  /**
   * Python's timeout mode: null blocks, 0 is non-blocking, a positive number of seconds makes
   * blocking calls (accept, connect, send, sendall, recv, recvInto, sendto, recvfrom) give up
   * with SocketError ETIMEDOUT ('timed out') after that long.
   */
  settimeout(value: number | null): void {
    if (value !== null && (typeof value !== 'number' || Number.isNaN(value))) {
      throw typeError(`settimeout(): value must be a number of seconds or null (blocking), not ${describe(value)}`);
    }
    if (value !== null && value < 0) throw rangeError(`settimeout(): timeout must be >= 0 seconds or null, not ${value}`);
    if (value !== null && value > 2147483) throw rangeError('settimeout(): timeout must be at most 2147483 seconds; use null to wait forever');
    this.setblocking(value === null);
    this.timeout = value;
  }

  /** The timeout in seconds, 0 when non-blocking, null when blocking. */
  gettimeout(): number | null {
    return this.timeout;
  }

  /** @internal The uring poller may serve it through its data path: a non-blocking stream socket. */
  get _streamable(): boolean {
    return this.type === C.SOCK_STREAM && this.timeout === 0;
  }

  /**
   * With a positive timeout, run `op` until it stops saying EAGAIN/EINPROGRESS, waiting for
   * `events` on the fd in between; without one, run it once.
   */
  private timed(fd: number, events: number, syscall: string, op: () => number, address?: Address): number {
    let r = op();
    const t = this.timeout;
    if (t === null || t === 0 || (r !== -EAGAIN && r !== -EINPROGRESS)) return r;
    const deadline = performance.now() + t * 1000;
    const pfd = new Uint8Array(8);
    const view = new DataView(pfd.buffer);
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw new SocketError(ETIMEDOUT, syscall, address, 'timed out');
      view.setInt32(0, fd, true);
      view.setInt16(4, events, true);
      view.setInt16(6, 0, true);
      const p = libc.poll(pfd, 1, Math.ceil(left));
      if (p < 0) throw socketError(-p, 'poll');
      if (p === 0) throw new SocketError(ETIMEDOUT, syscall, address, 'timed out');
      if (r === -EINPROGRESS) return -this.getsockopt(C.SOL_SOCKET, C.SO_ERROR);
      r = op();
      if (r !== -EAGAIN) return r;
    }
  }

  getInheritable(): boolean {
    const r = libc.fcntl(this.fdFor('getInheritable'), C.F_GETFD, 0);
    if (r < 0) throw socketError(-r, 'fcntl');
    return (r & C.FD_CLOEXEC) === 0;
  }

  setInheritable(flag: boolean): void {
    const fd = this.fdFor('setInheritable');
    const r = libc.fcntl(fd, C.F_GETFD, 0);
    if (r < 0) throw socketError(-r, 'fcntl');
    const s = libc.fcntl(fd, C.F_SETFD, flag ? r & ~C.FD_CLOEXEC : r | C.FD_CLOEXEC);
    if (s < 0) throw socketError(-s, 'fcntl');
  }

  bind(addr: Address): void {
    const fd = this.fdFor('bind');
    const len = encodeAddress(this.family, addr, 'bind');
    const r = libc.bind(fd, saBuf, len);
    if (r < 0) throw socketError(-r, 'bind', addr);
  }

  listen(backlog?: number): void {
    const fd = this.fdFor('listen');
    const n = backlog === undefined ? 128 : Math.max(0, requireInt(backlog, 'listen(): backlog'));
    const r = libc.listen(fd, n);
    if (r < 0) throw socketError(-r, 'listen');
  }

  /** Accept a connection: a new blocking, close-on-exec Socket and the peer's address. */
  accept(): [Socket<F>, AddressOf<F>] {
    const fd = this.fdFor('accept');
    let pair: [Socket, Address] | null = null;
    const r = this.timed(fd, C.POLLIN, 'accept', () => {
      const a = this.acceptRaw(false);
      if (typeof a === 'number') return a;
      pair = a;
      return 0;
    });
    if (pair === null) throw socketError(-r, 'accept');
    return pair;
  }

  /** @internal accept4 without throwing: the pair, or -errno. */
  acceptRaw(nonblocking: boolean): [Socket<F>, AddressOf<F>] | number {
    const fd = this.state.fd;
    if (fd < 0) return -EBADF;
    saLen[0] = saBuf.length;
    const nfd = libc.accept4(fd, saBuf, saLen, C.SOCK_CLOEXEC | (nonblocking ? C.SOCK_NONBLOCK : 0));
    if (nfd < 0) return nfd;
    const addr = (saLen[0]! > 0 ? decodeSockaddr(saBuf, saLen[0]!) : '') as AddressOf<F>;
    return [new Socket(this.family, this.type, this.proto, { fd: nfd, nonblocking }), addr];
  }

  /** Connect, raising SocketError (BlockingIOError EINPROGRESS for a non-blocking socket). */
  connect(addr: Address): void {
    const e = this.connectEx(addr);
    if (e !== 0) throw socketError(e, 'connect', addr);
  }

  /** Connect and return 0 or a positive errno (name resolution errors still raise). */
  connectEx(addr: Address): number {
    const fd = this.fdFor('connect');
    const len = encodeAddress(this.family, addr, 'connect');
    const r = this.timed(fd, C.POLLOUT, 'connect', () => libc.connect(fd, saBuf, len), addr);
    return r < 0 ? -r : 0;
  }

  /** Send; returns the number of bytes sent. Never raises SIGPIPE (MSG_NOSIGNAL). */
  send(data: Uint8Array, flags = 0): number {
    const buf = requireBytes(data, 'send()');
    const fd = this.fdFor('send');
    const f = requireInt(flags, 'send(): flags');
    const r = this.timed(fd, C.POLLOUT, 'send', () => this.sendRaw(buf, f));
    if (r < 0) throw socketError(-r, 'send');
    return r;
  }

  /** @internal send(2) without throwing: bytes sent or -errno. */
  sendRaw(data: Uint8Array, flags: number): number {
    const fd = this.state.fd;
    if (fd < 0) return -EBADF;
    const r = this._stream === null ? null : this._stream.send(data, flags);
    return r !== null ? r : libc.send(fd, data, data.length, flags | C.MSG_NOSIGNAL);
  }

  /** Send all of `data`, looping over partial sends. */
  sendall(data: Uint8Array, flags = 0): void {
    let buf = requireBytes(data, 'sendall()');
    requireInt(flags, 'sendall(): flags');
    const fd = this.fdFor('send');
    while (buf.length > 0) {
      const r = this.timed(fd, C.POLLOUT, 'send', () => this.sendRaw(buf, flags));
      if (r < 0) throw socketError(-r, 'send');
      buf = buf.subarray(r);
    }
  }

  /** Receive up to `n` bytes; an empty Buffer means the peer closed (for stream sockets). */
  recv(n: number, flags = 0): Buffer {
    requireSize(n, 'recv(): bufsize');
    const fd = this.fdFor('recv');
    const f = requireInt(flags, 'recv(): flags');
    let out: Buffer | null = null;
    const r = this.timed(fd, C.POLLIN, 'recv', () => {
      const got = this.recvRaw(n, f);
      if (typeof got === 'number') return got;
      out = got;
      return 0;
    });
    if (out === null) throw socketError(-r, 'recv');
    return out;
  }

  /** @internal recv(2) without throwing: a right-sized copy, or -errno. */
  recvRaw(n: number, flags: number): Buffer | number {
    const fd = this.state.fd;
    if (fd < 0) return -EBADF;
    const r = this._stream === null ? null : this._stream.recv(n, flags);
    return r !== null ? r : recvCopy(fd, n, flags);
  }

  /** Receive into `buffer`; returns the byte count. */
  recvInto(buffer: Uint8Array, nbytes = 0, flags = 0): number {
    const fd = this.fdFor('recv');
    const buf = requireBytes(buffer, 'recvInto()');
    const n = nbytes === 0 ? buf.length : Math.min(requireSize(nbytes, 'recvInto(): nbytes'), buf.length);
    const f = requireInt(flags, 'recvInto(): flags');
    const r = this.timed(fd, C.POLLIN, 'recv', () => this._stream?.recvInto(buf, n, f) ?? libc.recv(fd, buf, n, f));
    if (r < 0) throw socketError(-r, 'recv');
    return r;
  }

  sendto(data: Uint8Array, addr: Address): number;
  sendto(data: Uint8Array, flags: number, addr: Address): number;
  sendto(data: Uint8Array, a: number | Address, b?: Address): number {
    const buf = requireBytes(data, 'sendto()');
    const flags = b === undefined ? 0 : requireInt(a, 'sendto(): flags');
    const addr = (b === undefined ? a : b) as Address;
    const fd = this.fdFor('sendto');
    const len = encodeAddress(this.family, addr, 'sendto');
    const r = this.timed(fd, C.POLLOUT, 'sendto', () => libc.sendto(fd, buf, buf.length, flags | C.MSG_NOSIGNAL, saBuf, len), addr);
    if (r < 0) throw socketError(-r, 'sendto', addr);
    return r;
  }

  recvfrom(n: number, flags = 0): [Buffer, AddressOf<F>] {
    requireSize(n, 'recvfrom(): bufsize');
    const fd = this.fdFor('recvfrom');
    const buf = scratchFor(n);
    const f = requireInt(flags, 'recvfrom(): flags');
    const r = this.timed(fd, C.POLLIN, 'recvfrom', () => {
      saLen[0] = saBuf.length;
      return libc.recvfrom(fd, buf, n, f, saBuf, saLen);
    });
    if (r < 0) throw socketError(-r, 'recvfrom');
    const addr = (saLen[0]! > 0 ? decodeSockaddr(saBuf, saLen[0]!) : '') as AddressOf<F>;
    return [Buffer.from(buf.subarray(0, r)), addr];
  }

  shutdown(how: number): void {
    const fd = this.fdFor('shutdown');
    requireInt(how, 'shutdown(): how');
    if (how !== C.SHUT_RD && how !== C.SHUT_WR && how !== C.SHUT_RDWR) {
      throw rangeError(`shutdown(): how must be SHUT_RD, SHUT_WR or SHUT_RDWR, not ${how}`);
    }
    if (this._stream?.shutdown(how) === true) return; // after the sends the uring poller holds
    const r = libc.shutdown(fd, how);
    if (r < 0) throw socketError(-r, 'shutdown');
  }

  getsockopt(level: number, opt: number): number;
  getsockopt(level: number, opt: number, buflen: number): Buffer;
  getsockopt(level: number, opt: number, buflen?: number): number | Buffer {
    const fd = this.fdFor('getsockopt');
    requireInt(level, 'getsockopt(): level');
    requireInt(opt, 'getsockopt(): optname');
    if (buflen === undefined) {
      optLen[0] = 4;
      const r = libc.getsockopt(fd, level, opt, optBuf, optLen);
      if (r < 0) throw socketError(-r, 'getsockopt');
      return optView.getInt32(0, true);
    }
    const size = requireSize(buflen, 'getsockopt(): buflen');
    if (size < 1 || size > 1024) throw rangeError('getsockopt(): buflen must be 1-1024');
    const out = Buffer.alloc(size);
    const len = new Int32Array([size]);
    const r = libc.getsockopt(fd, level, opt, out, len);
    if (r < 0) throw socketError(-r, 'getsockopt');
    return out.subarray(0, len[0]);
  }

  /** Set an option: a number (C int) or bytes for struct options such as SO_LINGER. */
  setsockopt(level: number, opt: number, value: number | boolean | Uint8Array): void {
    const fd = this.fdFor('setsockopt');
    requireInt(level, 'setsockopt(): level');
    requireInt(opt, 'setsockopt(): optname');
    let r: number;
    if (value instanceof Uint8Array) {
      r = libc.setsockopt(fd, level, opt, value, value.length);
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      const v = typeof value === 'boolean' ? Number(value) : requireInt(value, 'setsockopt(): value');
      optView.setInt32(0, v, true);
      r = libc.setsockopt(fd, level, opt, optBuf, 4);
    } else {
      throw typeError(`setsockopt(): value must be an integer or bytes (Uint8Array), not ${describe(value)}`);
    }
    if (r < 0) throw socketError(-r, 'setsockopt');
  }

  getsockname(): AddressOf<F> {
    const fd = this.fdFor('getsockname');
    saLen[0] = saBuf.length;
    const r = libc.getsockname(fd, saBuf, saLen);
    if (r < 0) throw socketError(-r, 'getsockname');
    return decodeSockaddr(saBuf, saLen[0]!) as AddressOf<F>;
  }

  getpeername(): AddressOf<F> {
    const fd = this.fdFor('getpeername');
    saLen[0] = saBuf.length;
    const r = libc.getpeername(fd, saBuf, saLen);
    if (r < 0) throw socketError(-r, 'getpeername');
    return decodeSockaddr(saBuf, saLen[0]!) as AddressOf<F>;
  }

  toString(): string {
    const fd = this.state.fd;
    let s = `<Socket fd=${fd}, family=${this.family}, type=${this.type}, proto=${this.proto}`;
    if (fd >= 0) {
      try { s += `, laddr=${inspect(this.getsockname())}`; } catch { /* unbound */ }
      try { s += `, raddr=${inspect(this.getpeername())}`; } catch { /* unconnected */ }
    } else {
      s = `<Socket [closed] fd=-1, family=${this.family}, type=${this.type}, proto=${this.proto}`;
    }
    return `${s}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export { pipe, closeFd } from './fd.js';
