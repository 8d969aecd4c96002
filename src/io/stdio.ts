// Synchronous writes to stdout/stderr for logging. A synchronous loop() never returns to
// Node's event loop, so text handed to a non-blocking pipe's stream would wait (or be lost
// at exit); write(2) here, waiting out EAGAIN with poll(2) so nothing is dropped. A reader
// that went away (EPIPE) is not an error: that stream's output is dropped from then on.
import { C } from '../sys/constants.js';
import { EAGAIN, EPIPE, EWOULDBLOCK } from '../sys/errno.js';
import * as libc from '../sys/libc.js';

type Stream = NodeJS.WriteStream;
const streams: Record<1 | 2, () => Stream> = { 1: () => process.stdout, 2: () => process.stderr };
const gone = { 1: false, 2: false };
const pollfd = new Uint8Array(8);
const pollView = new DataView(pollfd.buffer);

/** Write `text` to fd 1 (stdout) or 2 (stderr) before returning (see the file comment). */
export function writeStdio(fd: 1 | 2, text: string): void {
  const stream = streams[fd]();
  // write() replaced (a test capturing output: its own property, not the class's), or Node
  // still holds earlier text (keep the order): through the stream.
  if (stream.write !== Object.getPrototypeOf(stream).write || stream.writableLength > 0) {
    if (!stream.destroyed) stream.write(text);
    return;
  }
  if (gone[fd]) return;
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    const r = libc.write(fd, off === 0 ? buf : buf.subarray(off), buf.length - off);
    if (r >= 0) {
      off += r;
    } else if (-r === EAGAIN || -r === EWOULDBLOCK) {
      waitWritable(fd);
    } else {
      // EPIPE (the reader left) or a closed/bad descriptor: this stream is silent from now on.
      if (-r === EPIPE) gone[fd] = true;
      return;
    }
  }
}

function waitWritable(fd: number): void {
  pollView.setInt32(0, fd, true);
  pollView.setInt16(4, C.POLLOUT, true);
  pollView.setInt16(6, 0, true);
  libc.poll(pollfd, 1, 1000);
}
