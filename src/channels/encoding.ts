// Text ↔ bytes for AsyncChat: Python's codec names mapped to Node's encodings.
import { inspect } from 'node:util';
import { rangeError } from '../validate.js';

// Python spells codecs 'latin-1', 'utf-8'...; Node wants 'latin1', 'utf8'.
const ENCODING_ALIASES: Record<string, BufferEncoding> = {
  'latin-1': 'latin1', 'iso-8859-1': 'latin1', 'iso8859-1': 'latin1', l1: 'latin1', 'utf-8': 'utf8',
  'us-ascii': 'ascii', 'utf-16le': 'utf16le', 'utf-16-le': 'utf16le',
};

export function nodeEncoding(enc: unknown): BufferEncoding {
  if (typeof enc === 'string') {
    const lower = enc.toLowerCase();
    const e = ENCODING_ALIASES[lower] ?? lower;
    if (Buffer.isEncoding(e)) return e;
  }
  throw rangeError(`encoding ${inspect(enc)} is not supported; set encoding to a Node Buffer encoding such as 'latin1' or 'utf8'`);
}
