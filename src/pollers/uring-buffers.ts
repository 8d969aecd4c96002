// Native memory of the uring data path: the provided-buffer ring multishot recv fills (one
// group per ring, recycled as soon as a completion's bytes are copied out), and the chunks
// that hold each stream's queued sends. Both are bounded: RECV_BUFFERS * RECV_BUFFER_SIZE per
// ring, and one SEND_CAP chunk per stream with unsent data, returned once it is out.
import * as U from '../sys/uring.js';
import { SEND_CAP, type SendChunk } from './uring-stream.js';

/** One completion's worth of received bytes at most. */
export const RECV_BUFFER_SIZE = 16 * 1024;
/** Buffers in the ring (a power of two): what the kernel can fill before the loop copies out. */
export const RECV_BUFFERS = 256;
/** The buffer group id (one ring, one group). */
export const BGID = 0;

const CHUNKS_PER_SLAB = 16;

export class ProvidedBuffers {
  private readonly entries: U.NativeBlock;
  private readonly data: U.NativeBlock;
  private readonly w32: Uint32Array;
  private readonly w16: Uint16Array;
  private tail = 0;

  private constructor(entries: U.NativeBlock, data: U.NativeBlock) {
    this.entries = entries;
    this.data = data;
    this.w32 = new Uint32Array(entries.bytes.buffer, entries.bytes.byteOffset, entries.len / 4);
    this.w16 = new Uint16Array(entries.bytes.buffer, entries.bytes.byteOffset, entries.len / 2);
    for (let bid = 0; bid < RECV_BUFFERS; bid++) this.recycle(bid);
    this.publish();
  }

  /** Map and register the group on `ringFd`; -errno when this kernel cannot (no data path then). */
  static open(ringFd: number): ProvidedBuffers | number {
    const entries = U.mapAnon(RECV_BUFFERS * 16);
    if (typeof entries === 'number') return entries;
    const data = U.mapAnon(RECV_BUFFERS * RECV_BUFFER_SIZE);
    if (typeof data === 'number') {
      U.unmapAnon(entries);
      return data;
    }
    const r = U.registerBufRing(ringFd, entries, RECV_BUFFERS, BGID);
    if (r < 0) {
      U.unmapAnon(entries);
      U.unmapAnon(data);
      return r;
    }
    return new ProvidedBuffers(entries, data);
  }

  /** A copy of the first `len` bytes of buffer `bid` (the buffer itself goes back to the ring). */
  copy(bid: number, len: number): Buffer {
    // allocUnsafe takes small copies from Node's pool (Buffer.copyBytesFrom mallocs each one).
    const off = bid * RECV_BUFFER_SIZE;
    const b = Buffer.allocUnsafe(len);
    b.set(this.data.bytes.subarray(off, off + len));
    return b;
  }

  /** Give buffer `bid` back to the kernel (visible after publish()). */
  recycle(bid: number): void {
    const i = this.tail & (RECV_BUFFERS - 1);
    const addr = this.data.addr + bid * RECV_BUFFER_SIZE;
    this.w32[i * 4] = addr % 0x100000000;
    this.w32[i * 4 + 1] = Math.floor(addr / 0x100000000);
    this.w32[i * 4 + 2] = RECV_BUFFER_SIZE;
    this.w16[i * 8 + 6] = bid;
    this.tail = (this.tail + 1) & 0xffff;
  }

  /** Publish the recycled buffers: the ring's tail lives in entry 0's reserved field. */
  publish(): void {
    this.w16[7] = this.tail;
  }

  close(ringFd: number): void {
    U.unregisterBufRing(ringFd, BGID);
    U.unmapAnon(this.entries);
    U.unmapAnon(this.data);
  }
}

/** SEND_CAP-byte chunks of native memory for queued sends, mapped CHUNKS_PER_SLAB at a time. */
export class ChunkPool {
  private free: SendChunk[] = [];
  private slabs: U.NativeBlock[] = [];

  take(): SendChunk | null {
    if (this.free.length === 0) {
      const slab = U.mapAnon(CHUNKS_PER_SLAB * SEND_CAP);
      if (typeof slab === 'number') return null; // out of memory: the socket sends itself
      this.slabs.push(slab);
      for (let i = CHUNKS_PER_SLAB - 1; i >= 0; i--) {
        this.free.push({ addr: slab.addr + i * SEND_CAP, bytes: slab.bytes.subarray(i * SEND_CAP, (i + 1) * SEND_CAP) });
      }
    }
    return this.free.pop()!;
  }

  give(c: SendChunk): void {
    this.free.push(c);
  }

  close(): void {
    for (const s of this.slabs) U.unmapAnon(s);
    this.slabs = [];
    this.free = [];
  }
}
