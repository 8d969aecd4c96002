// io_uring(7) through syscall(2): io_uring_setup, io_uring_enter and io_uring_register, the
// mmap of the submission and completion rings, and the feature probe. This is the only file
// that touches koffi for io_uring; the backend (src/pollers/uring.ts) sees typed arrays over
// the shared rings and calls enter() once per pass.
//
// glibc has no wrappers for these calls, so they go through syscall(2). It is variadic; each
// call shape is declared as a fixed prototype of its own, which on the Linux ABIs this package
// supports (x86-64, arm64) passes integer and pointer arguments exactly as the variadic call.
import koffi from 'koffi';
import { errno as E } from './errno.js';
import { armed, takeFault } from './faults.js';

const lib = koffi.load('libc.so.6');

// The io_uring system call numbers are the same on every architecture since Linux 5.1.
const NR_SETUP = 425;
const NR_ENTER = 426;
const NR_REGISTER = 427;

const raw = {
  setup: lib.func('long syscall(long nr, uint32_t entries, void *params)'),
  enter: lib.func('long syscall(long nr, uint32_t fd, uint32_t toSubmit, uint32_t minComplete, uint32_t flags, void *arg, unsigned long argsz)'),
  register: lib.func('long syscall(long nr, uint32_t fd, uint32_t opcode, void *arg, uint32_t nrArgs)'),
  mmap: lib.func('void *mmap(void *addr, unsigned long len, int prot, int flags, int fd, long off)'),
  munmap: lib.func('int munmap(void *addr, unsigned long len)'),
  close: lib.func('int close(int)'),
  eventfd: lib.func('int eventfd(unsigned int, int)'),
};

// ---- constants (include/uapi/linux/io_uring.h) ----

export const SETUP_SUBMIT_ALL = 1 << 7;
export const SETUP_CQSIZE = 1 << 3;
export const SETUP_COOP_TASKRUN = 1 << 8;
export const SETUP_SINGLE_ISSUER = 1 << 12;
export const SETUP_DEFER_TASKRUN = 1 << 13;

export const FEAT_SINGLE_MMAP = 1 << 0;
export const FEAT_NODROP = 1 << 1;
export const FEAT_EXT_ARG = 1 << 8;
export const FEAT_CQE_SKIP = 1 << 11;

export const ENTER_GETEVENTS = 1 << 0;
export const ENTER_EXT_ARG = 1 << 3;

export const OP_POLL_ADD = 6;
export const OP_POLL_REMOVE = 7;
export const OP_ASYNC_CANCEL = 14;
export const OP_SEND = 26;
export const OP_RECV = 27;

/** sqe->flags: take the receive buffer from the provided-buffer group in sqe->buf_group. */
export const SQE_BUFFER_SELECT = 1 << 5;
/** sqe->ioprio of OP_RECV: keep receiving (one completion per buffer) until an error or EOF. */
export const RECV_MULTISHOT = 1 << 1;
export const CQE_F_BUFFER = 1 << 0;
export const CQE_BUFFER_SHIFT = 16;

export const SQE_CQE_SKIP_SUCCESS = 1 << 6;
export const POLL_UPDATE_EVENTS = 1 << 1;
export const POLL_UPDATE_USER_DATA = 1 << 2;
export const ASYNC_CANCEL_ANY = 1 << 2;
export const CQE_F_MORE = 1 << 1;
/** The SQ ring's flags word: the kernel holds completions the CQ ring had no room for. */
export const SQ_CQ_OVERFLOW = 1 << 1;

const REGISTER_EVENTFD = 4;
const REGISTER_PROBE = 8;
const REGISTER_PBUF_RING = 22;
const UNREGISTER_PBUF_RING = 23;
const PROBE_OPS = 64;
const OP_SUPPORTED = 1;

const PROT_READ_WRITE = 0x1 | 0x2;
const MAP_SHARED_POPULATE = 0x01 | 0x8000;
const MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
const OFF_SQ_RING = 0;
const OFF_CQ_RING = 0x8000000;
const OFF_SQES = 0x10000000;
const MAP_FAILED = 0xffffffffffffffffn;

/** Bytes of one submission queue entry and one completion queue entry. */
export const SQE_SIZE = 64;
export const CQE_SIZE = 16;

/** A set-up ring: its descriptor, what the kernel granted, and the shared memory as typed arrays. */
export interface Ring {
  fd: number;
  /** The setup flags the kernel accepted. */
  flags: number;
  features: number;
  sqEntries: number;
  cqEntries: number;
  /** The SQ ring (head, tail, mask, flags, array) as 32-bit words; indexes below are in words. */
  sq: Uint32Array;
  sqHead: number;
  sqTail: number;
  sqFlags: number;
  /** The CQ ring as 32-bit words (signed view in cqi); CQEs start at word cqes. */
  cq: Uint32Array;
  cqi: Int32Array;
  cqHead: number;
  cqTail: number;
  cqes: number;
  /** The SQE array: 32-bit words and a byte view. */
  sqe32: Uint32Array;
  sqe8: Uint8Array;
  /** Mappings to undo in unmapRing(). */
  maps: { ptr: unknown; len: number }[];
}

function failed(r: number): number {
  return r < 0 ? -koffi.errno() : r;
}

function mmapRing(fd: number, len: number, off: number): {} | null {
  const p = raw.mmap(null, len, PROT_READ_WRITE, MAP_SHARED_POPULATE, fd, off);
  if (p === null || koffi.address(p) === MAP_FAILED) return null;
  return p;
}

/**
 * io_uring_setup(2) with `flags`, then map the rings. Returns the ring, or -errno (the
 * descriptor is closed again when a mapping fails).
 */
export function setupRing(entries: number, cqEntries: number, flags: number): Ring | number {
  const fault = armed ? takeFault('io_uring_setup') : 0;
  if (fault < 0) return fault;
  const p = new Uint8Array(120); // struct io_uring_params
  const v = new DataView(p.buffer);
  v.setUint32(4, cqEntries, true);
  v.setUint32(8, flags | SETUP_CQSIZE, true);
  const fd = failed(raw.setup(NR_SETUP, entries, p));
  if (fd < 0) return fd;
  const u32 = (off: number): number => v.getUint32(off, true);
  const sqEntries = u32(0), cqN = u32(4), features = u32(20);
  const SQ = 40, CQ = 80; // io_sqring_offsets, io_cqring_offsets
  const sqLen = u32(SQ + 24) + sqEntries * 4;
  const cqLen = u32(CQ + 20) + cqN * CQE_SIZE;
  const maps: { ptr: unknown; len: number }[] = [];
  const single = (features & FEAT_SINGLE_MMAP) !== 0;
  const undo = (e: number): number => {
    for (const m of maps) raw.munmap(m.ptr, m.len);
    raw.close(fd);
    return e;
  };
  const sqRingLen = single ? Math.max(sqLen, cqLen) : sqLen;
  const sqPtr = mmapRing(fd, sqRingLen, OFF_SQ_RING);
  if (sqPtr === null) return undo(-koffi.errno());
  maps.push({ ptr: sqPtr, len: sqRingLen });
  let cqPtr: {} | null = sqPtr;
  if (!single) {
    cqPtr = mmapRing(fd, cqLen, OFF_CQ_RING);
    if (cqPtr === null) return undo(-koffi.errno());
    maps.push({ ptr: cqPtr, len: cqLen });
  }
  const sqesLen = sqEntries * SQE_SIZE;
  const sqesPtr = mmapRing(fd, sqesLen, OFF_SQES);
  if (sqesPtr === null) return undo(-koffi.errno());
  maps.push({ ptr: sqesPtr, len: sqesLen });
  const sqBuf = koffi.view(sqPtr, sqRingLen);
  const cqBuf = single ? sqBuf : koffi.view(cqPtr, cqLen);
  const sqesBuf = koffi.view(sqesPtr, sqesLen);
  const ring: Ring = {
    fd, flags: u32(8), features, sqEntries, cqEntries: cqN,
    sq: new Uint32Array(sqBuf), sqHead: u32(SQ) / 4, sqTail: u32(SQ + 4) / 4, sqFlags: u32(SQ + 16) / 4,
    cq: new Uint32Array(cqBuf), cqi: new Int32Array(cqBuf), cqHead: u32(CQ) / 4, cqTail: u32(CQ + 4) / 4,
    cqes: u32(CQ + 20) / 4,
    sqe32: new Uint32Array(sqesBuf), sqe8: new Uint8Array(sqesBuf),
    maps,
  };
  // The SQ array indirection is kept as the identity: SQE slot i is submitted as entry i.
  const array = u32(SQ + 24) / 4;
  for (let i = 0; i < sqEntries; i++) ring.sq[array + i] = i;
  return ring;
}

/** Unmap the rings and close the ring descriptor. The typed arrays must not be touched after. */
export function closeRing(ring: Ring): void {
  for (const m of ring.maps) raw.munmap(m.ptr, m.len);
  ring.maps = [];
  raw.close(ring.fd);
}

// struct io_uring_getevents_arg { u64 sigmask; u32 sigmask_sz; u32 min_wait_usec; u64 ts; }
// followed by the struct __kernel_timespec it points to, in native memory of its own: `ts` is
// an address, so it cannot live in a movable JavaScript buffer.
const EXT_ARG_SIZE = 24;
const extArg = koffi.alloc('uint8_t', EXT_ARG_SIZE + 16);
const extWords = new Uint32Array(koffi.view(extArg, EXT_ARG_SIZE + 16));
{
  extWords.fill(0);
  const ts = koffi.address(extArg) + BigInt(EXT_ARG_SIZE);
  extWords[4] = Number(ts & 0xffffffffn);
  extWords[5] = Number(ts >> 32n);
}

/**
 * io_uring_enter(2): submit `toSubmit` entries and, with ENTER_GETEVENTS, wait until
 * `minComplete` completions are posted or `timeoutNs` passes (< 0: no timeout). Returns the
 * number submitted or -errno (-ETIME: the wait timed out with nothing submitted). Not retried
 * on EINTR: the caller recomputes its deadline.
 */
export function enter(fd: number, toSubmit: number, minComplete: number, flags: number, timeoutNs: number): number {
  const fault = armed ? takeFault('io_uring_enter') : 0;
  if (fault < 0) return fault;
  if (timeoutNs < 0 || minComplete === 0) return failed(raw.enter(NR_ENTER, fd, toSubmit, minComplete, flags, null, 0));
  const sec = Math.floor(timeoutNs / 1e9);
  const nsec = Math.round(timeoutNs - sec * 1e9);
  extWords[6] = sec % 0x100000000;
  extWords[7] = Math.floor(sec / 0x100000000);
  extWords[8] = nsec;
  extWords[9] = 0;
  return failed(raw.enter(NR_ENTER, fd, toSubmit, minComplete, flags | ENTER_EXT_ARG, extArg, EXT_ARG_SIZE));
}

/** IORING_REGISTER_PROBE: which opcodes below 64 this kernel supports, or -errno. */
export function probeOps(fd: number): boolean[] | number {
  const buf = new Uint8Array(16 + PROBE_OPS * 8);
  const r = failed(raw.register(NR_REGISTER, fd, REGISTER_PROBE, buf, PROBE_OPS));
  if (r < 0) return r;
  const ops: boolean[] = [];
  const n = Math.min(buf[1]!, PROBE_OPS);
  for (let i = 0; i < n; i++) {
    const off = 16 + i * 8;
    ops[buf[off]!] = (new DataView(buf.buffer).getUint16(off + 2, true) & OP_SUPPORTED) !== 0;
  }
  return ops;
}

/** Anonymous native memory the kernel may read and write (buffers, the provided-buffer ring). */
export interface NativeBlock {
  /** Its address, for SQEs and the buffer ring (below 2^53 on every supported ABI). */
  addr: number;
  bytes: Uint8Array;
  ptr: unknown;
  len: number;
}

/** mmap(2) `len` bytes of page-aligned, zeroed, private memory; -errno on failure. */
export function mapAnon(len: number): NativeBlock | number {
  const p = raw.mmap(null, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0);
  if (p === null || koffi.address(p) === MAP_FAILED) return -koffi.errno();
  return { addr: Number(koffi.address(p)), bytes: new Uint8Array(koffi.view(p, len)), ptr: p, len };
}

/** Release a block from mapAnon(); its `bytes` must not be touched after. */
export function unmapAnon(b: NativeBlock): void {
  raw.munmap(b.ptr, b.len);
}

/**
 * IORING_REGISTER_PBUF_RING (Linux 5.19): `block` (page-aligned, entries * 16 bytes) becomes
 * the ring of provided buffers of group `bgid`. Returns 0 or -errno.
 */
export function registerBufRing(fd: number, block: NativeBlock, entries: number, bgid: number): number {
  const reg = new Uint8Array(40); // struct io_uring_buf_reg
  const v = new DataView(reg.buffer);
  v.setBigUint64(0, BigInt(block.addr), true);
  v.setUint32(8, entries, true);
  v.setUint16(12, bgid, true);
  return failed(raw.register(NR_REGISTER, fd, REGISTER_PBUF_RING, reg, 1));
}

/** IORING_UNREGISTER_PBUF_RING: 0 or -errno. */
export function unregisterBufRing(fd: number, bgid: number): number {
  const reg = new Uint8Array(40);
  new DataView(reg.buffer).setUint16(12, bgid, true);
  return failed(raw.register(NR_REGISTER, fd, UNREGISTER_PBUF_RING, reg, 1));
}

const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;

/**
 * An eventfd (non-blocking, close-on-exec) registered with the ring: the kernel signals it when
 * completions or deferred work arrive, which wakes a watcher (libuv) that never enters the ring.
 * Returns the eventfd, or -errno (nothing is left open then).
 */
export function ringEventfd(ringFd: number): number {
  const efd = failed(raw.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (efd < 0) return efd;
  const r = failed(raw.register(NR_REGISTER, ringFd, REGISTER_EVENTFD, new Int32Array([efd]), 1));
  if (r < 0) {
    raw.close(efd);
    return r;
  }
  return efd;
}

export const { ETIME, ECANCELED, ENOSYS, EBUSY, EINVAL, ENOBUFS } = E as Record<string, number>;
