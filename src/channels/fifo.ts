// AsyncChat's output queue (Python's producer_fifo, a collections.deque).
import type { Producer } from './producer.js';

/** What the queue holds: Buffers, producers, and null for closeWhenDone. */
export type FifoItem = Buffer | Producer | null;

/** A minimal double-ended queue: O(1) push, shift and unshift (Python's collections.deque). */
export class Fifo {
  items: FifoItem[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  first(): FifoItem {
    return this.items[this.head]!;
  }

  setFirst(x: FifoItem): void {
    this.items[this.head] = x;
  }

  push(x: FifoItem): void {
    this.items.push(x);
  }

  shift(): void {
    this.items[this.head++] = null;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  unshift(x: FifoItem): void {
    if (this.head > 0) this.items[--this.head] = x;
    else this.items.unshift(x);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  toArray(): FifoItem[] {
    return this.items.slice(this.head);
  }
}
