// The libc seam: every system call the package makes goes through this file (and only this
// file loads koffi for calls). Each wrapper returns a result >= 0 or -errno; it never throws,
// never allocates, reads errno right after the call, and retries EINTR in place.
import koffi from 'koffi';
import { C } from './constants.js';
import { EINTR, EISCONN, EALREADY, EINPROGRESS } from './errno.js';
import { armed, takeFault } from './faults.js';

// Linux only (package.json's "os"): glibc's soname.
const lib = koffi.load('libc.so.6');

// Pointers are declared `void *` so Buffers and typed arrays pass with no copy.
const raw = {
  socket: lib.func('int socket(int, int, int)'),
  socketpair: lib.func('int socketpair(int, int, int, void *)'),
  bind: lib.func('int bind(int, void *, uint32_t)'),
  listen: lib.func('int listen(int, int)'),
  accept4: lib.func('int accept4(int, void *, void *, int)'),
  connect: lib.func('int connect(int, void *, uint32_t)'),
  send: lib.func('long send(int, void *, unsigned long, int)'),
  recv: lib.func('long recv(int, void *, unsigned long, int)'),
  // The per-message receive: a Number address of native memory (uintptr_t) is koffi's fast
  // path, cheaper than a Buffer for `void *` (bench/micro/ffi-forms.ts).
  recvAt: lib.func('long recv(int, uintptr_t, unsigned long, int)'),
  readAt: lib.func('long read(int, uintptr_t, unsigned long)'),
  sendto: lib.func('long sendto(int, void *, unsigned long, int, void *, uint32_t)'),
  recvfrom: lib.func('long recvfrom(int, void *, unsigned long, int, void *, void *)'),
  shutdown: lib.func('int shutdown(int, int)'),
  close: lib.func('int close(int)'),
  getsockopt: lib.func('int getsockopt(int, int, int, void *, void *)'),
  setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)'),
  getsockname: lib.func('int getsockname(int, void *, void *)'),
  getpeername: lib.func('int getpeername(int, void *, void *)'),
  fcntl: lib.func('int fcntl(int, int, ...)'),
  dup: lib.func('int dup(int)'),
  read: lib.func('long read(int, void *, unsigned long)'),
  write: lib.func('long write(int, void *, unsigned long)'),
  pipe2: lib.func('int pipe2(void *, int)'),
  getaddrinfo: lib.func('int getaddrinfo(const char *, const char *, void *, _Out_ void **)'),
  freeaddrinfo: lib.func('void freeaddrinfo(void *)'),
  gai_strerror: lib.func('const char *gai_strerror(int)'),
  strerror: lib.func('const char *strerror(int)'),
  select: lib.func('int select(int, void *, void *, void *, void *)'),
  poll: lib.func('int poll(void *, unsigned long, int)'),
  epoll_create1: lib.func('int epoll_create1(int)'),
  epoll_ctl: lib.func('int epoll_ctl(int, int, int, void *)'),
  epoll_wait: lib.func('int epoll_wait(int, void *, int, int)'),
  memcpy: lib.func('void *memcpy(void *, void *, unsigned long)'),
  gethostname: lib.func('int gethostname(void *, unsigned long)'),
};

type Ptr = Uint8Array | Int32Array | null;

/**
 * The one wrapper every call goes through: an injected fault if one is planned, else the call;
 * -errno on failure; EINTR retried in place. Fixed parameters (koffi ignores the unused
 * ones), so a call allocates no argument array.
 */
function wrap<F extends (...args: any[]) => number>(name: string, f: (...args: any[]) => number): F {
  const w = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, g?: unknown): number => {
    for (;;) {
      let r = armed ? takeFault(name) : 0;
      if (r === 0 && (r = f(a, b, c, d, e, g)) < 0) r = -koffi.errno();
      if (r !== -EINTR) return r;
    }
  };
  return w as unknown as F;
}

export const socket = wrap<(domain: number, type: number, proto: number) => number>('socket', raw.socket);
export const socketpair = wrap<(domain: number, type: number, proto: number, fds: Int32Array) => number>('socketpair', raw.socketpair);
export const bind = wrap<(fd: number, addr: Uint8Array, len: number) => number>('bind', raw.bind);
export const listen = wrap<(fd: number, backlog: number) => number>('listen', raw.listen);
export const accept4 = wrap<(fd: number, addr: Ptr, len: Ptr, flags: number) => number>('accept4', raw.accept4);
export const send = wrap<(fd: number, buf: Uint8Array, n: number, flags: number) => number>('send', raw.send);
export const recv = wrap<(fd: number, buf: Uint8Array, n: number, flags: number) => number>('recv', raw.recv);
export const sendto = wrap<(fd: number, buf: Uint8Array, n: number, flags: number, addr: Uint8Array, len: number) => number>('sendto', raw.sendto);
export const recvfrom = wrap<(fd: number, buf: Uint8Array, n: number, flags: number, addr: Ptr, len: Ptr) => number>('recvfrom', raw.recvfrom);
// Native scratch memory that receives land in (JavaScript is single-threaded: one serves every
// socket and file). `scratch` views it; a caller copies out what it keeps before the next call.
let scratchMem: unknown = null;
let scratchAddr = 0;
/** A view of the native receive scratch (valid until the next recvScratch/readScratch/scratchFor). */
export let scratch: Buffer = Buffer.alloc(0);
// A grown-out-of block is freed once no view of it is reachable.
const freeOld = new FinalizationRegistry<unknown>((mem) => koffi.free(mem));

/** Make the native scratch at least `n` bytes (64 KiB to start) and return its view. */
export function scratchOf(n: number): Buffer {
  if (n > scratch.length || scratchMem === null) {
    const size = Math.max(n, 65536, scratch.length * 2);
    const mem = koffi.alloc('uint8_t', size);
    const view = Buffer.from(koffi.view(mem, size));
    if (scratchMem !== null) freeOld.register(scratch.buffer, scratchMem);
    scratchMem = mem;
    scratchAddr = Number(koffi.address(mem));
    scratch = view;
  }
  return scratch;
}

/** recv(2) of up to `n` bytes into `scratch` (grown as needed): the count, or -errno. */
export function recvScratch(fd: number, n: number, flags: number): number {
  if (n > scratch.length || scratchMem === null) scratchOf(n);
  for (;;) {
    let r = armed ? takeFault('recv') : 0;
    if (r === 0 && (r = raw.recvAt(fd, scratchAddr, n, flags)) < 0) r = -koffi.errno();
    if (r !== -EINTR) return r;
  }
}

/** read(2) of up to `n` bytes into `scratch` (grown as needed): the count, or -errno. */
export function readScratch(fd: number, n: number): number {
  if (n > scratch.length || scratchMem === null) scratchOf(n);
  for (;;) {
    let r = armed ? takeFault('read') : 0;
    if (r === 0 && (r = raw.readAt(fd, scratchAddr, n)) < 0) r = -koffi.errno();
    if (r !== -EINTR) return r;
  }
}

export const shutdown = wrap<(fd: number, how: number) => number>('shutdown', raw.shutdown);
export const getsockopt = wrap<(fd: number, level: number, opt: number, val: Uint8Array, len: Int32Array) => number>('getsockopt', raw.getsockopt);
export const setsockopt = wrap<(fd: number, level: number, opt: number, val: Uint8Array, len: number) => number>('setsockopt', raw.setsockopt);
export const getsockname = wrap<(fd: number, addr: Uint8Array, len: Int32Array) => number>('getsockname', raw.getsockname);
export const getpeername = wrap<(fd: number, addr: Uint8Array, len: Int32Array) => number>('getpeername', raw.getpeername);
export const dup = wrap<(fd: number) => number>('dup', raw.dup);
export const read = wrap<(fd: number, buf: Uint8Array, n: number) => number>('read', raw.read);
export const write = wrap<(fd: number, buf: Uint8Array, n: number) => number>('write', raw.write);
export const pipe2 = wrap<(fds: Int32Array, flags: number) => number>('pipe2', raw.pipe2);
export const epollCreate1 = wrap<(flags: number) => number>('epoll_create1', raw.epoll_create1);
export const epollCtl = wrap<(epfd: number, op: number, fd: number, ev: Uint8Array | null) => number>('epoll_ctl', raw.epoll_ctl);

const fcntlRaw = (fd: number, cmd: number, arg: number): number => raw.fcntl(fd, cmd, 'int', arg);
/** fcntl(fd, cmd, int arg). */
export const fcntl = wrap<(fd: number, cmd: number, arg: number) => number>('fcntl', fcntlRaw);

/** close(2). Not retried on EINTR: Linux has released the descriptor either way. */
export function close(fd: number): number {
  let r = armed ? takeFault('close') : 0;
  if (r === 0 && (r = raw.close(fd)) < 0) r = -koffi.errno();
  return r === -EINTR ? 0 : r;
}

const connectPoll = new Uint8Array(8);
const connectPollView = new DataView(connectPoll.buffer);
const soErr = new Uint8Array(4);
const soErrLen = new Int32Array(1);
/**
 * connect(2). A connect interrupted by a signal keeps going in the kernel, so calling it again
 * would report EALREADY; instead a non-blocking socket reports EINPROGRESS, and a blocking one
 * waits for the result and reads SO_ERROR, as CPython does (PEP 475).
 */
export function connect(fd: number, addr: Uint8Array, len: number): number {
  let r = armed ? takeFault('connect') : 0;
  if (r === 0) {
    if ((r = raw.connect(fd, addr, len)) < 0) r = -koffi.errno();
    if (r !== -EINTR) return r;
  } else if (r === -EINTR) {
    return connect(fd, addr, len); // an injected EINTR: nothing happened, so call again
  } else {
    return r;
  }
  const flags = raw.fcntl(fd, C.F_GETFL, 'int', 0);
  if (flags >= 0 && (flags & C.O_NONBLOCK)) return -EINPROGRESS;
  connectPollView.setInt32(0, fd, true);
  connectPollView.setInt16(4, C.POLLOUT, true);
  while (raw.poll(connectPoll, 1, -1) < 0 && koffi.errno() === EINTR);
  soErrLen[0] = 4;
  if (raw.getsockopt(fd, C.SOL_SOCKET, C.SO_ERROR, soErr, soErrLen) < 0) return -koffi.errno();
  const e = new DataView(soErr.buffer).getInt32(0, true);
  if (e === EISCONN || e === EALREADY) return 0;
  return e === 0 ? 0 : -e;
}

function now(): number {
  return performance.now();
}

/**
 * The one deadline loop of the waiting calls (select, poll, epoll_wait): `f(a, b, c, d, ms)`
 * with a timeout in milliseconds (< 0: forever); after EINTR it is called again with the time
 * that remains, after `restore()` (select rewrites its fd sets).
 */
function untilDeadline<A, B, D, E>(name: string, f: (a: A, b: B, c: D, d: E, ms: number) => number,
  a: A, b: B, c: D, d: E, timeoutMs: number, restore?: () => void): number {
  const deadline = timeoutMs >= 0 ? now() + timeoutMs : 0;
  let t = timeoutMs;
  for (;;) {
    let r = armed ? takeFault(name) : 0;
    if (r === 0 && (r = f(a, b, c, d, t)) < 0) r = -koffi.errno();
    if (r !== -EINTR) return r;
    restore?.();
    if (timeoutMs >= 0) t = Math.max(0, deadline - now());
  }
}

// struct timeval { time_t tv_sec; suseconds_t tv_usec; }: two little-endian 64-bit fields,
// written as 32-bit halves so a pass allocates no BigInts.
const tv = new Uint8Array(16);
const tvView = new DataView(tv.buffer);
function selectMs(nfds: number, r: Uint8Array | null, w: Uint8Array | null, x: Uint8Array | null, ms: number): number {
  if (ms < 0) return raw.select(nfds, r, w, x, null);
  const us = Math.max(0, Math.round(ms * 1000));
  const sec = Math.floor(us / 1e6);
  tvView.setUint32(0, sec % 0x100000000, true);
  tvView.setUint32(4, Math.floor(sec / 0x100000000), true);
  tvView.setUint32(8, us % 1e6, true);
  tvView.setUint32(12, 0, true);
  return raw.select(nfds, r, w, x, tv);
}
const pollMs = (fds: Uint8Array, nfds: number, _c: unknown, _d: unknown, ms: number): number =>
  raw.poll(fds, nfds, ms < 0 ? -1 : Math.ceil(ms));
const epollWaitMs = (epfd: number, events: Uint8Array, max: number, _d: unknown, ms: number): number =>
  raw.epoll_wait(epfd, events, max, ms < 0 ? -1 : Math.ceil(ms));

/** select(2) with a timeout in milliseconds (< 0: forever); `restore` refills the fd sets after EINTR. */
export function select(nfds: number, r: Uint8Array | null, w: Uint8Array | null, x: Uint8Array | null,
  timeoutMs: number, restore?: () => void): number {
  return untilDeadline('select', selectMs, nfds, r, w, x, timeoutMs, restore);
}

/** poll(2) with a timeout in milliseconds (< 0: forever); EINTR resumes with the time left. */
export function poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
  return untilDeadline('poll', pollMs, fds, nfds, null, null, timeoutMs);
}

/** epoll_wait(2) with a timeout in milliseconds (< 0: forever); EINTR resumes with the time left. */
export function epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number {
  return untilDeadline('epoll_wait', epollWaitMs, epfd, events, maxEvents, null, timeoutMs);
}

/**
 * Copy `n` bytes of native memory at `src` (a pointer OpenSSL returned) into `dst`: a real
 * copy, unlike a koffi.view, which aliases memory that may be freed.
 */
export function copyFromNative(dst: Uint8Array, src: unknown, n: number): void {
  if (n > 0) raw.memcpy(dst, src, n);
}

/** gethostname(2): 0 or -errno; the name is NUL-terminated in `buf`. */
export const gethostname = wrap<(buf: Uint8Array, n: number) => number>('gethostname', raw.gethostname);

/** strerror(3): the C library's text for a positive errno. */
export function strerror(e: number): string {
  return raw.strerror(e) ?? `Unknown error ${e}`;
}

/** gai_strerror(3). */
export function gaiStrerror(e: number): string {
  return raw.gai_strerror(e) ?? `Unknown getaddrinfo error ${e}`;
}

const addrinfo = koffi.struct('asyncore_addrinfo', {
  ai_flags: 'int', ai_family: 'int', ai_socktype: 'int', ai_protocol: 'int',
  ai_addrlen: 'uint32_t', ai_addr: 'void *', ai_canonname: 'char *', ai_next: 'void *',
});

export interface AddrInfo { family: number; socktype: number; protocol: number; addr: Buffer; canonname: string }

/**
 * getaddrinfo(3): 0 and the results, or a negative EAI_* code (EAI_SYSTEM comes with errno).
 * Blocking, as in Python; not on the per-event path.
 */
export function getaddrinfo(host: string | null, service: string | null, family: number, socktype: number,
  flags: number): { code: number; errno: number; list: AddrInfo[] } {
  const hints = Buffer.alloc(C.AI_OFF.size);
  hints.writeInt32LE(flags, C.AI_OFF.flags);
  hints.writeInt32LE(family, C.AI_OFF.family);
  hints.writeInt32LE(socktype, C.AI_OFF.socktype);
  const out: unknown[] = [null];
  let code = armed ? takeFault('getaddrinfo') : 0;
  if (code < 0) return { code: C.EAI.EAI_AGAIN!, errno: -code, list: [] };
  code = raw.getaddrinfo(host, service, hints, out);
  if (code !== 0) return { code, errno: koffi.errno(), list: [] };
  const list: AddrInfo[] = [];
  const head = out[0];
  try {
    for (let p = head; p; ) {
      const ai = koffi.decode(p, addrinfo) as { ai_family: number; ai_socktype: number; ai_protocol: number; ai_addrlen: number; ai_addr: unknown; ai_canonname: string | null; ai_next: unknown };
      const bytes = koffi.decode(ai.ai_addr, koffi.array('uint8_t', ai.ai_addrlen)) as Uint8Array | number[];
      list.push({ family: ai.ai_family, socktype: ai.ai_socktype, protocol: ai.ai_protocol, addr: Buffer.from(bytes), canonname: ai.ai_canonname ?? '' });
      p = ai.ai_next;
    }
  } finally {
    raw.freeaddrinfo(head);
  }
  return { code: 0, errno: 0, list };
}

/** A libuv poll handle (uv_poll_t) that calls back on Node's event loop. */
export interface UvPollHandle {
  start(opts: { readable?: boolean; writable?: boolean }, callback: () => void): void;
  stop(): void;
  close(): void;
}

/**
 * Watch `fd` for readability with a libuv poll handle on Node's own loop (koffi.node.poll).
 * Returns null when libuv refuses the descriptor.
 */
export function uvPoll(fd: number, callback: () => void): UvPollHandle | null {
  return koffi.node.poll(fd, { readable: true }, callback) as UvPollHandle | null;
}
