// AsyncChat, SimpleProducer and findPrefixAtEnd: CPython 3.11's asynchat, call for call.
//
// handleRead makes the same collectIncomingData/foundTerminator calls as CPython for the same
// reads, but it never re-copies the unconsumed input: the pending bytes are a (buffer, offset)
// view that advances as terminators are found, so many messages in one read cost O(read), and
// the only bytes carried from one read to the next are a possible terminator prefix (shorter
// than the terminator). Output is a FIFO of views: push() copies its argument once, sending
// advances views, and SimpleProducer hands out views instead of re-slicing its data.
import { SocketError, BlockingIOError } from '../errors.js';
import { asBuffer, describe, rangeError, typeError } from '../validate.js';
import { Dispatcher } from './dispatcher.js';
import { OUT_HIGH_WATER, sendQExceeded } from './backpressure.js';
import { encodeText } from './encoding.js';
import { setting } from './settings.js';
import { Fifo, type FifoItem } from './fifo.js';
import { type Producer, prefixAtEnd } from './producer.js';
import { findTerminator } from './find.js';
import { libraryPredicates, touch } from '../reactor/stamp.js';

export { SimpleProducer, findPrefixAtEnd } from './producer.js';
export type { Producer } from './producer.js';

const EMPTY = Buffer.alloc(0);


/** What `setTerminator` accepts. */
export type Terminator = Uint8Array | string | number | null;

/**
 * A Dispatcher for command/response protocols (Python's `asynchat.async_chat`). Set a
 * terminator with `setTerminator()`; input arrives through `collectIncomingData(data)` and
 * `foundTerminator()` marks each terminator. Output queued with `push()`/`pushWithProducer()`
 * is written as the socket accepts it. Subclass it and implement the two input handlers.
 */
export class AsyncChat extends Dispatcher {
  // Python ports set these as class attributes. The defaults live on the prototype and are
  // read at use, never in the constructor, so a subclass field initialiser, a prototype
  // assignment and `declare` all work; an own value of undefined (a subclass's `encoding!:
  // string;` under useDefineForClassFields) falls back to the inherited one.
  /** How much `handleRead` asks `recv` for (an instance or subclass may change it). */
  declare acInBufferSize: number;
  /** The largest piece `push` queues and `initiateSend` sends at once. */
  declare acOutBufferSize: number;
  /** How strings given to `push`, `setTerminator` and `pushWithProducer` are encoded: a Python codec name (default 'latin1'). */
  declare encoding: string;
  /**
   * The terminator in force (what `getTerminator()` returns). A numeric terminator counts down
   * as bytes arrive. **(beyond)** Python has no default; here it is `null` (collect everything).
   */
  declare terminator: Buffer | number | null;
  /** What `_collectIncomingData` gathers and `_getData` joins and empties. */
  incoming: Buffer[] = [];

  // Python's ac_in_buffer, as a view: the unconsumed input is #inBuf[#inPos..].
  #inBuf: Buffer = EMPTY;
  #inPos = 0;
  // Python's producer_fifo: Buffers, producers, and null for closeWhenDone.
  #fifo = new Fifo();
  // Bytes queued in #fifo (producers count once they have produced).
  #outBytes = 0;
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
    this.#outBytes = size;
    touch(this);
  }

  // Past outHardCap: drop the output (that memory is the point) and close, saying why.
  #overflow(): boolean {
    const cap = this.outHardCap;
    if (cap === null || cap === undefined || this.#outBytes <= cap) return false;
    const size = this.#outBytes;
    this.#fifo.clear();
    this.#queued(0);
    sendQExceeded(this, size, cap);
    return true;
  }

  /** Received bytes not yet handed to `collectIncomingData` (Python's `ac_in_buffer`). */
  get acInBuffer(): Buffer {
    return this.#inBuf.subarray(this.#inPos);
  }

  set acInBuffer(data: Uint8Array | string) {
    this.#inBuf = this.#toBytes(data, 'acInBuffer');
    this.#inPos = 0;
  }

  /** **(beyond)** How many bytes of output are queued (producers count once they have produced). */
  get outQueuedBytes(): number {
    return this.#outBytes;
  }

  /** A snapshot of the output queue (Python's `producer_fifo`): Buffers, producers, and `null` for closeWhenDone. */
  get producerFifo(): ReadonlyArray<Buffer | Producer | null> {
    return this.#fifo.toArray();
  }

  /** Called with each piece of input; a subclass must implement it (often as `_collectIncomingData`). */
  collectIncomingData(_data: Buffer): void {
    const err = new Error(`collectIncomingData() must be implemented in a subclass of AsyncChat (${this.constructor.name} does not override it)`);
    err.name = 'NotImplementedError';
    throw err;
  }

  /** A ready-made collector: appends `data` to `incoming`. */
  _collectIncomingData(data: Buffer): void {
    this.incoming.push(data);
  }

  /** Joins and empties `incoming`. */
  _getData(): Buffer {
    const d = this.incoming.length === 1 ? this.incoming[0]! : Buffer.concat(this.incoming);
    this.incoming.length = 0;
    return d;
  }

  /** Called when the terminator is seen; a subclass must implement it. */
  foundTerminator(): void {
    const err = new Error(`foundTerminator() must be implemented in a subclass of AsyncChat (${this.constructor.name} does not override it)`);
    err.name = 'NotImplementedError';
    throw err;
  }

  /**
   * Set the input delimiter: bytes, a string (encoded with `encoding`), a byte count (a
   * non-negative integer), or `null`. Empty bytes, `''`, `0` and `null` mean: no terminator,
   * collect everything.
   */
  setTerminator(term: Terminator): void {
    this.terminator = this.#checkTerminator(term, 'setTerminator()');
  }

  /** The terminator in force: a Buffer, the bytes still to count, or null. */
  getTerminator(): Buffer | number | null {
    return setting(this, 'terminator');
  }

  #checkTerminator(term: unknown, where: string): Buffer | number | null {
    if (term === null || term === undefined) return null;
    if (typeof term === 'number') {
      if (!Number.isInteger(term) || term < 0) {
        throw rangeError(`${where}: a numeric terminator must be a non-negative integer byte count, not ${term}`);
      }
      return term;
    }
    if (typeof term === 'string') return encodeText(term, setting(this, 'encoding'));
    // Copied: bytes in Python are immutable, and a caller reusing its buffer must not move the goalposts.
    if (term instanceof Uint8Array) return Buffer.from(term);
    throw typeError(`${where}: the terminator must be bytes, a string, a non-negative integer or null, not ${describe(term)}`);
  }

  #toBytes(data: unknown, where: string): Buffer {
    if (data instanceof Uint8Array) return asBuffer(data);
    if (typeof data === 'string') return encodeText(data, setting(this, 'encoding'));
    throw typeError(`${where}: data must be bytes (Buffer or Uint8Array) or a string, not ${describe(data)}`);
  }

  // Python's `ac_in_buffer = ac_in_buffer[k:]`, applied to whatever the buffer is now (a
  // handler may have discarded or replaced it).
  #consume(k: number): void {
    this.#inPos = Math.min(this.#inPos + k, this.#inBuf.length);
  }

  /**
   * Read what is there and feed it to `collectIncomingData`, calling `foundTerminator` at each
   * terminator (re-reading the terminator after each one, so a handler may change it).
   */
  override handleRead(): void {
    let data: Buffer;
    try {
      data = this.recv(setting(this, 'acInBufferSize')) as Buffer;
    } catch (e) {
      if (e instanceof BlockingIOError) return;
      if (e instanceof SocketError) {
        this.handleError(e);
        return;
      }
      throw e;
    }
    // An overridden recv may hand back a plain Uint8Array or a string.
    data = this.#toBytes(data, 'handleRead(): recv()');
    if (this.#inPos < this.#inBuf.length) {
      // Only a terminator prefix (or what a handler left) is pending: a short copy.
      this.#inBuf = Buffer.concat([this.#inBuf.subarray(this.#inPos), data]);
    } else {
      this.#inBuf = data;
    }
    this.#inPos = 0;
    try {
      this.#process();
    } finally {
      // Keep the carry small and detached from the (possibly large) read buffer.
      const rest = this.#inBuf.length - this.#inPos;
      if (rest === 0) {
        this.#inBuf = EMPTY;
        this.#inPos = 0;
      } else if (this.#inPos > 0) {
        this.#inBuf = Buffer.from(this.#inBuf.subarray(this.#inPos));
        this.#inPos = 0;
      }
    }
  }

  #process(): void {
    while (this.#inPos < this.#inBuf.length) {
      const buf = this.#inBuf;
      const pos = this.#inPos;
      const lb = buf.length - pos;
      const terminator = this.#normalizeTerminator(this.getTerminator());
      if (terminator === null) {
        // No terminator: everything is data.
        this.collectIncomingData(pos === 0 ? buf : buf.subarray(pos));
        this.#inBuf = EMPTY;
        this.#inPos = 0;
      } else if (typeof terminator === 'number') {
        const n = terminator;
        if (lb < n) {
          this.collectIncomingData(buf.subarray(pos));
          this.#inBuf = EMPTY;
          this.#inPos = 0;
          // As CPython: count down what is in force now (a handler may have set a new count).
          const t = setting(this, 'terminator');
          if (typeof t === 'number') this.terminator = t - lb;
        } else {
          this.collectIncomingData(buf.subarray(pos, pos + n));
          this.#consume(n);
          this.terminator = 0;
          this.foundTerminator();
        }
      } else {
        const tl = terminator.length;
        const index = findTerminator(buf, pos, terminator);
        if (index !== -1) {
          // Nothing is reported for an empty piece before the terminator (as CPython).
          if (index > pos) this.collectIncomingData(buf.subarray(pos, index));
          this.#consume(index - pos + tl);
          // The loop re-reads the terminator, so foundTerminator may change it.
          this.foundTerminator();
        } else {
          const keep = prefixAtEnd(buf, pos, terminator);
          if (keep > 0) {
            if (keep !== lb) {
              this.collectIncomingData(buf.subarray(pos, buf.length - keep));
              // Python's ac_in_buffer[-keep:], on the buffer as it is now.
              this.#inPos = Math.max(this.#inPos, this.#inBuf.length - keep);
            }
            break;
          } else {
            // The common case for a long body: the whole read, passed on without a new view.
            this.collectIncomingData(pos === 0 ? buf : buf.subarray(pos));
            this.#inBuf = EMPTY;
            this.#inPos = 0;
          }
        }
      }
    }
  }

  // What getTerminator() returned, in the form the scanner needs; a subclass may return a
  // string or a Uint8Array, or assign one to `terminator` directly.
  #normalizeTerminator(t: unknown): Buffer | number | null {
    if (Buffer.isBuffer(t)) return t.length === 0 ? null : t;
    if (typeof t === 'number' && Number.isInteger(t) && t >= 0) return t === 0 ? null : t;
    if (t === null || t === undefined || t === '') return null;
    if (t instanceof Uint8Array) return t.length === 0 ? null : asBuffer(t);
    const checked = this.#checkTerminator(t, 'handleRead(): getTerminator()');
    return checked === null || checked === 0 || (Buffer.isBuffer(checked) && checked.length === 0) ? null : checked;
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  override handleClose(): void {
    this.close();
  }

  /**
   * Queue `data` (bytes, or a string encoded with `encoding`) in pieces of at most
   * `acOutBufferSize` bytes, and try to send now. The data is copied: the caller may reuse it.
   */
  push(data: Uint8Array | string): void {
    let buf: Buffer;
    // The caller's bytes are queued as views and only what is still queued once initiateSend()
    // returns is copied (a reply that goes out at once is never copied).
    const caller = data instanceof Uint8Array;
    if (caller) buf = asBuffer(data);
    else if (typeof data === 'string') buf = encodeText(data, setting(this, 'encoding'));
    else throw typeError(`push(): data must be bytes (Buffer or Uint8Array) or a string, not ${describe(data)}`);
    const sabs = this.#outBufferSize('push()');
    let pieces = 1;
    if (buf.length > sabs) {
      pieces = 0;
      for (let i = 0; i < buf.length; i += sabs, pieces++) this.#fifo.push(buf.subarray(i, i + sabs));
    } else {
      this.#fifo.push(buf);
    }
    this.#queued(this.#outBytes + buf.length);
    if (this.#overflow()) return;
    try {
      this.initiateSend();
    } finally {
      if (caller) this.#detach(buf.buffer, pieces);
    }
  }

  // Copy the queued views of `ab` (the caller's memory) among the last `pieces` entries: sending
  // only ever removes entries from the head, so what is left of one push() is at the tail.
  #detach(ab: ArrayBufferLike, pieces: number): void {
    const fifo = this.#fifo, items = fifo.items;
    for (let i = items.length - 1, n = 0; i >= fifo.head && n < pieces; i--, n++) {
      const it = items[i];
      if (Buffer.isBuffer(it) && it.buffer === ab) items[i] = Buffer.from(it);
    }
  }

  /** Queue a producer (its `more()` is called until it returns nothing) or bytes, and try to send now. */
  pushWithProducer(producer: Producer | Uint8Array | string): void {
    let item: FifoItem;
    if (producer instanceof Uint8Array) item = Buffer.from(producer); // copied, as push() does
    else if (typeof producer === 'string') item = this.#toBytes(producer, 'pushWithProducer()');
    else if (producer !== null && typeof producer === 'object' && typeof (producer as Producer).more === 'function') item = producer;
    else throw typeError(`pushWithProducer(): expected a producer (an object with a more() method) or bytes, not ${describe(producer)}`);
    this.#fifo.push(item);
    touch(this);
    if (Buffer.isBuffer(item)) {
      this.#queued(this.#outBytes + item.length);
      if (this.#overflow()) return;
    }
    this.initiateSend();
  }

  #outBufferSize(where: string): number {
    const obs = setting(this, 'acOutBufferSize');
    if (!Number.isInteger(obs) || obs <= 0) {
      throw rangeError(`${where}: acOutBufferSize must be a positive integer, not ${String(obs)}`);
    }
    return obs;
  }

  /**
   * True unless more than `outHighWater` bytes of output are queued **(beyond)**; CPython
   * always answers true.
   */
  override readable(): boolean {
    return !(this.#outBytes > this.outHighWater);
  }

  /** True while output is queued, or before the connection is made. */
  override writable(): boolean {
    return this.#fifo.length > 0 || !this.connected;
  }

  /** Close the channel once everything queued so far has been sent. */
  closeWhenDone(): void {
    touch(this);
    this.#fifo.push(null);
  }

  /**
   * Send from the head of the output queue: at most one `send()` per call. A producer at the
   * head is asked for more; the closeWhenDone marker closes the channel.
   */
  initiateSend(): void {
    touch(this); // the queue may change below (a producer's end, closeWhenDone's marker)
    const fifo = this.#fifo;
    while (fifo.length > 0 && this.connected) {
      const first = fifo.first();
      if (first === null) {
        fifo.shift();
        this.handleClose();
        return;
      }
      let data: Buffer;
      if (Buffer.isBuffer(first)) {
        if (first.length === 0) {
          // As CPython: an empty entry is dropped, and this call's one send is an empty one.
          fifo.shift();
        }
        const obs = this.#outBufferSize('initiateSend()');
        data = first.length === 0 ? EMPTY : first.length > obs ? first.subarray(0, obs) : first;
      } else {
        const more: unknown = first.more();
        if (more === null || more === undefined || (more as { length?: number }).length === 0) {
          fifo.shift();
        } else {
          if (!(more instanceof Uint8Array) && typeof more !== 'string') {
            throw typeError(`initiateSend(): a producer's more() must return bytes (Buffer or Uint8Array) or a string, not ${describe(more)}`);
          }
          const produced = this.#toBytes(more, 'initiateSend()');
          fifo.unshift(produced);
          this.#queued(this.#outBytes + produced.length);
        }
        continue;
      }
      let numSent: number;
      try {
        numSent = this.send(data);
      } catch (e) {
        if (e instanceof SocketError) {
          this.handleError(e);
          return;
        }
        throw e;
      }
      if (numSent > 0) {
        // The head may have been discarded by a handler during send (handleClose, discardBuffers).
        if (fifo.length > 0 && fifo.first() === first) {
          if (numSent < first.length) fifo.setFirst(first.subarray(numSent));
          else fifo.shift();
          this.#queued(Math.max(0, this.#outBytes - numSent));
        }
      }
      return;
    }
  }

  /** Drop all pending input and output (emergencies only). */
  discardBuffers(): void {
    this.#inBuf = EMPTY;
    this.#inPos = 0;
    this.incoming.length = 0;
    this.#fifo.clear();
    this.#queued(0);
  }
}

AsyncChat.prototype.outHighWater = OUT_HIGH_WATER;
AsyncChat.prototype.outHardCap = null;
libraryPredicates(AsyncChat.prototype, 'outHighWater');
AsyncChat.prototype.acInBufferSize = 65536;
AsyncChat.prototype.acOutBufferSize = 65536;
AsyncChat.prototype.encoding = 'latin1';
AsyncChat.prototype.terminator = null;
