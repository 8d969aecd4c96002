// DispatcherWithSend: a Dispatcher with simple output buffering (Python's
// asyncore.dispatcher_with_send).
import { asBuffer, requireBytes } from '../validate.js';
import { Dispatcher } from './dispatcher.js';
import { reprBytes } from './repr.js';

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

  /** What is still to be sent. */
  get outBuffer(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
    return this.#chunks[0] ?? EMPTY;
  }

  set outBuffer(data: Uint8Array) {
    const b = asBuffer(requireBytes(data, 'outBuffer'));
    this.#chunks = b.length > 0 ? [b] : [];
    this.#size = b.length;
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
      this.#size -= sent;
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
    this.#size += data.length;
    this.initiateSend();
    const last = this.#chunks.length - 1;
    if (last >= 0 && this.#chunks[last]!.buffer === view.buffer) this.#chunks[last] = Buffer.from(this.#chunks[last]!);
    return data.length;
  }
}
