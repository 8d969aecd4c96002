// DispatcherWithSend: a Dispatcher with simple output buffering (Python's
// asyncore.dispatcher_with_send).
import { asBuffer, requireBytes } from '../validate.js';
import { Dispatcher } from './dispatcher.js';
import { libraryPredicates, touch } from '../reactor/stamp.js';
import { reprBytes } from './repr.js';
import { OUT_HIGH_WATER, sendQExceeded } from './backpressure.js';

const EMPTY = Buffer.alloc(0);

/** Sends at most this much per send(2), as CPython's dispatcher_with_send. */
const SEND_CHUNK = 65536;


/**
 * A Dispatcher with simple output buffering: `send()` queues, and the loop writes the queue
 * out as the socket accepts it (Python's `asyncore.dispatcher_with_send`).
 */
export class DispatcherWithSend extends Dispatcher {
  // Chunks are kept unjoined so that many small sends to a slow reader stay linear.
  #chunks: Buffer[] = [];
  #size = 0;
  /**
   * **(beyond)** While more than this many bytes are queued, `readable()` answers false, so
   * TCP pushes back on a peer that sends and never reads. Settable per instance or prototype.
   */
  declare outHighWater: number;
  /**
   * **(beyond)** Past this many queued bytes the channel is closed with a logged reason
   * ("SendQ exceeded"); null (the default): no cap. Settable per instance or prototype.
   */
  declare outHardCap: number | null;

  // Every change of the queued byte count goes through here: the one place back-pressure
  // state (readable() against outHighWater) can change.
  #queued(size: number): void {
    this.#size = size;
    touch(this);
  }

  // Past outHardCap: drop the queue (that memory is the point) and close, saying why.
  #overflow(): boolean {
    const cap = this.outHardCap;
    if (cap === null || cap === undefined || this.#size <= cap) return false;
    const size = this.#size;
    this.#chunks = [];
    this.#queued(0);
    sendQExceeded(this, size, cap);
    return true;
  }

  /** **(beyond)** How many bytes are still to be sent (`outBuffer.length` without joining the queue). */
  get outQueuedBytes(): number {
    return this.#size;
  }

  /** What is still to be sent. */
  get outBuffer(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
    return this.#chunks[0] ?? EMPTY;
  }

  set outBuffer(data: Uint8Array) {
    const b = asBuffer(requireBytes(data, 'outBuffer'));
    this.#chunks = b.length > 0 ? [b] : [];
    this.#queued(b.length);
  }

  initiateSend(): void {
    if (this.#size === 0) {
      Dispatcher.prototype.send.call(this, EMPTY);
      return;
    }
    let head = this.#chunks[0]!;
    if (head.length < SEND_CHUNK && this.#chunks.length > 1) {
      // Coalesce small chunks into one send of up to SEND_CHUNK bytes.
      const parts: Buffer[] = [];
      let n = 0;
      while (this.#chunks.length > 0 && n < SEND_CHUNK) {
        const c = this.#chunks[0]!;
        if (n + c.length <= SEND_CHUNK) {
          parts.push(c);
          n += c.length;
          this.#chunks.shift();
        } else {
          parts.push(c.subarray(0, SEND_CHUNK - n));
          this.#chunks[0] = c.subarray(SEND_CHUNK - n);
          n = SEND_CHUNK;
        }
      }
      head = Buffer.concat(parts, n);
      this.#chunks.unshift(head);
    }
    const sent = Dispatcher.prototype.send.call(this, head.length > SEND_CHUNK ? head.subarray(0, SEND_CHUNK) : head);
    if (sent > 0) {
      this.#queued(this.#size - sent);
      if (sent === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(sent);
    }
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  override writable(): boolean {
    return !this.connected || this.#size > 0;
  }

  /** **(beyond)** False while more than `outHighWater` bytes are queued (CPython: always true). */
  override readable(): boolean {
    return !(this.#size > this.outHighWater);
  }

  /** Queue `data` and try to send it now. Returns `data.length` (everything is queued). */
  override send(data: Uint8Array): number {
    requireBytes(data, 'send()');
    if (this.debug) this.logInfo(`sending ${reprBytes(data)}`);
    if (data.length === 0) {
      this.initiateSend();
      return 0;
    }
    // Queue the caller's bytes without copying; whatever initiateSend() leaves of them is
    // copied below, since the caller may reuse its buffer once send() returns.
    const view = asBuffer(data);
    this.#chunks.push(view);
    this.#queued(this.#size + data.length);
    this.initiateSend();
    if (this.#overflow()) return data.length;
    const last = this.#chunks.length - 1;
    if (last >= 0 && this.#chunks[last]!.buffer === view.buffer) this.#chunks[last] = Buffer.from(this.#chunks[last]!);
    return data.length;
  }
}

DispatcherWithSend.prototype.outHighWater = OUT_HIGH_WATER;
DispatcherWithSend.prototype.outHardCap = null;
libraryPredicates(DispatcherWithSend.prototype, 'outHighWater');
