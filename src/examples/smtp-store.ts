// Where the SMTP example's messages go: a message streams into a temporary file in the mail
// directory as it arrives (dot-unstuffed on the way), and is renamed into place when the final
// dot arrives; on any failure (disk full, connection lost, shutdown) the temporary file is
// removed, so one failure never makes every later message fail. Also: creating and checking
// the directory up front, without Node's recursive mkdir (which spins on /proc/x/y).
import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const CRLF = Buffer.from('\r\n');
const DOT_LINE = Buffer.from('\r\n.');
let sequence = 0;

/** A fresh message file name: `<ms>.<pid>.<n>.eml`. */
export function messageName(): string {
  return `${Date.now()}.${process.pid}.${++sequence}.eml`;
}

/**
 * One message being received. The stream given to `write()` is what AsyncChat hands over
 * between DATA and the final dot, starting with the CRLF that ended the DATA line; AsyncChat
 * holds back a chunk's tail that could begin the terminator, so "\r\n." never straddles two
 * chunks and unstuffing chunk by chunk is exact.
 */
export class MessageFile {
  readonly tmp: string;
  readonly path: string;
  /** Bytes written to the file so far (after unstuffing). */
  bytes = 0;
  #fd: number | null;
  #skip = 2; // the CRLF of the DATA line

  constructor(dir: string) {
    const name = messageName();
    this.path = join(dir, name);
    this.tmp = join(dir, `.${name}.tmp`);
    this.#fd = openSync(this.tmp, 'wx', 0o644);
  }

  /** Append a chunk of the DATA stream; throws what write(2) throws (ENOSPC, EFBIG, ...). */
  write(chunk: Buffer): void {
    let start = 0;
    if (this.#skip > 0) {
      start = Math.min(this.#skip, chunk.length);
      this.#skip -= start;
    }
    // Each "\r\n." keeps its "\r\n" and loses the dot (RFC 5321 4.5.2).
    let from = start;
    for (let i = chunk.indexOf(DOT_LINE, Math.max(0, start - 2)); i !== -1; i = chunk.indexOf(DOT_LINE, i + 3)) {
      const dot = i + 2;
      if (dot < start) continue;
      this.#put(chunk.subarray(from, dot));
      from = dot + 1;
    }
    this.#put(chunk.subarray(from));
  }

  #put(b: Buffer): void {
    for (let off = 0; off < b.length;) off += writeSync(this.#fd!, b, off, b.length - off);
    this.bytes += b.length;
  }

  /** The final dot arrived: end the last line and move the file into place. */
  commit(): void {
    if (this.bytes > 0) this.#put(CRLF);
    const fd = this.#fd!;
    this.#fd = null;
    closeSync(fd);
    renameSync(this.tmp, this.path);
  }

  /** Give up: close and remove the temporary file (errors ignored: this is the cleanup). */
  abort(): void {
    const fd = this.#fd;
    if (fd === null) return;
    this.#fd = null;
    try {
      closeSync(fd);
    } catch {
      // already gone
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }

  /** True until commit() or abort(). */
  get open(): boolean {
    return this.#fd !== null;
  }
}

/**
 * Make `dir` (and missing parents) one level at a time, then prove it takes a file. Throws an
 * Error whose message is one line naming the directory and the reason.
 */
export function prepareMailDir(dir: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw dirError(abs, 'created', e);
      missing.push(d);
      continue;
    }
    if (!st.isDirectory()) throw new Error(`mail directory ${abs} cannot be created: ${d} is not a directory`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw dirError(abs, 'created', e);
    }
  }
  const probe = join(abs, `.probe.${process.pid}.${++sequence}.tmp`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
  } catch (e) {
    throw dirError(abs, 'written', e);
  }
}

function dirError(dir: string, what: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  return new Error(`mail directory ${dir} cannot be ${what}: ${err.code ?? ''} ${err.message.split(',')[0]?.replace(/^\w+: /, '') ?? ''}`.trim());
}
