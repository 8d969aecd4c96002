// asynchat's producers and find_prefix_at_end.
import { asBuffer, describe, rangeError, typeError } from '../validate.js';

const EMPTY = Buffer.alloc(0);

/**
 * What `pushWithProducer` accepts besides bytes: `more()` returns the next piece of output, and
 * an empty result means the producer is exhausted. **(beyond)** a string result is encoded with
 * the channel's `encoding`.
 */
export interface Producer {
  more(): Uint8Array | string;
}

/** Hands out `data` in pieces of at most `bufferSize` (Python's `asynchat.simple_producer`). */
export class SimpleProducer implements Producer {
  data: Buffer | string;
  bufferSize: number;

  constructor(data: Uint8Array | string, bufferSize = 512) {
    if (typeof data === 'string') this.data = data;
    else if (data instanceof Uint8Array) this.data = asBuffer(data);
    else throw typeError(`SimpleProducer: data must be bytes (Buffer or Uint8Array) or a string, not ${describe(data)}`);
    if (!Number.isInteger(bufferSize) || bufferSize <= 0) {
      throw rangeError(`SimpleProducer: bufferSize must be a positive integer, not ${String(bufferSize)}`);
    }
    this.bufferSize = bufferSize;
  }

  /** The next piece; empty when exhausted. Pieces are views of `data`, never re-copies. */
  more(): Buffer | string {
    const d = this.data;
    if (d.length > this.bufferSize) {
      const result = typeof d === 'string' ? d.slice(0, this.bufferSize) : d.subarray(0, this.bufferSize);
      this.data = typeof d === 'string' ? d.slice(this.bufferSize) : d.subarray(this.bufferSize);
      return result;
    }
    this.data = typeof d === 'string' ? '' : EMPTY;
    return d;
  }
}

// The longest proper prefix of `needle` that `hay[from..]` ends with (0 if none). Plain loops:
// terminators are short, and this runs once per read, where a native call per candidate
// length would cost more than scanning a small read.
export function prefixAtEnd(hay: Uint8Array, from: number, needle: Uint8Array): number {
  const end = hay.length;
  const first = needle[0];
  for (let l = Math.min(needle.length - 1, end - from); l > 0; l--) {
    const start = end - l;
    if (hay[start] !== first) continue;
    let i = 1;
    while (i < l && hay[start + i] === needle[i]) i++;
    if (i === l) return l;
  }
  return 0;
}

/**
 * How many characters (or bytes) of a prefix of `needle` end `haystack`: the length of the
 * longest proper prefix of `needle` that is a suffix of `haystack`, or 0. Assumes `haystack`
 * does not end with the whole of `needle`. As CPython, an empty `needle` gives -1.
 */
export function findPrefixAtEnd(haystack: string, needle: string): number;
export function findPrefixAtEnd(haystack: Uint8Array, needle: Uint8Array): number;
export function findPrefixAtEnd(haystack: string | Uint8Array, needle: string | Uint8Array): number {
  if (typeof haystack === 'string' && typeof needle === 'string') {
    if (needle.length === 0) return -1;
    for (let l = needle.length - 1; l > 0; l--) {
      if (haystack.endsWith(needle.slice(0, l))) return l;
    }
    return 0;
  }
  if (haystack instanceof Uint8Array && needle instanceof Uint8Array) {
    if (needle.length === 0) return -1;
    return prefixAtEnd(haystack, 0, needle);
  }
  throw typeError(`findPrefixAtEnd(): pass two strings or two Uint8Arrays, not ${describe(haystack)} and ${describe(needle)}`);
}
