// AsyncChat's terminator search (its own module: chat.ts is at the size limit).

/**
 * Where `term` first occurs in `buf` at or after `pos`, or -1. Searching for a number is the
 * cheapest form of Buffer#indexOf (about 20 ns on a 64-byte line, against about 80 ns for a
 * Buffer needle), so a one-byte terminator is found that way, and a longer one by its first
 * byte and a compare in JavaScript while the rest of the read is short. A long read of a
 * multi-byte terminator (an SMTP body) takes one Buffer search.
 */
export function findTerminator(buf: Buffer, pos: number, term: Buffer): number {
  const first = term[0]!;
  const tl = term.length;
  if (tl === 1) return buf.indexOf(first, pos);
  if (buf.length - pos > 512) return buf.indexOf(term, pos);
  const last = buf.length - tl;
  for (let i = buf.indexOf(first, pos); i !== -1 && i <= last; i = buf.indexOf(first, i + 1)) {
    let j = 1;
    while (j < tl && buf[i + j] === term[j]) j++;
    if (j === tl) return i;
  }
  return -1;
}
