// Python's repr() of addresses and bytes, and asyncore._strerror: how channels print things.
import { strerror } from '../sys/libc.js';

/** Python's repr() of an address, for toString(). */
export function reprAddress(addr: unknown): string {
  if (Array.isArray(addr) && addr.length === 2 && typeof addr[0] === 'string' && typeof addr[1] === 'number') {
    return `${addr[0]}:${addr[1]}`;
  }
  if (Array.isArray(addr)) return `(${addr.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')})`;
  return typeof addr === 'string' ? `'${addr.replace(/\0/g, '\\x00')}'` : String(addr);
}

/** Python's repr() of bytes (`b'hi\\n'`), for debug logging as CPython prints it. */
export function reprBytes(data: Uint8Array): string {
  let hasSingle = false, hasDouble = false;
  for (const c of data) {
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
  }
  const q = hasSingle && !hasDouble ? '"' : "'";
  let out = `b${q}`;
  for (const c of data) {
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === q.charCodeAt(0)) out += `\\${q}`;
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out + q;
}

/** Python's strerror for an errno, never empty (CPython's asyncore._strerror). */
export function _strerror(err: number): string {
  const s = strerror(err);
  return s && s.length > 0 ? s : `Unknown error ${err}`;
}
