// FileWrapper and FileDispatcher: duplicated descriptors, regular files, pipes through loop(),
// close semantics (idempotent, never closing a reused number), and the ResourceWarning.
import { describe, it, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeFileSync, readFileSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { argError, checkLeaks, isOpen, tempDir, usePrivateMap, map, POLLERS } from '../helpers.js';
import {
  FileWrapper, FileDispatcher, SocketError, pipe, errno, loop, SOL_SOCKET, SO_ERROR, SO_TYPE,
} from '../../src/index.js';
import { C } from '../../src/sys/constants.js';
import * as libc from '../../src/sys/libc.js';


const wrappers: FileWrapper[] = [];
afterEach(() => {
  for (const w of wrappers.splice(0)) {
    try { w.close(); } catch { /* closed behind its back on purpose */ }
  }
});
const { fds } = usePrivateMap(); // hooks run in order: the wrappers close before the raw fds
checkLeaks();

const tmp = tempDir();
after(() => tmp.cleanup());
let fileCounter = 0;

const TEXT = Buffer.from("It's not dead, it's sleeping!");

/** A temp file holding TEXT. */
function textFile(): string {
  const p = join(tmp.dir, `f${fileCounter++}`);
  writeFileSync(p, TEXT);
  return p;
}

function wrap(fd: number): FileWrapper {
  const w = new FileWrapper(fd);
  wrappers.push(w);
  return w;
}

function isEbadf(e: unknown): boolean {
  return e instanceof SocketError && e.code === 'EBADF' && e.errno === errno.EBADF;
}

describe('FileWrapper', () => {
  it('duplicates the descriptor: its fd differs and survives closing the original', () => {
    const fd = openSync(textFile(), 'r');
    const w = wrap(fd);
    closeSync(fd);
    assert.notEqual(w.fd, fd);
    assert.equal(w.fileno(), w.fd);
    assert.ok(w.fd >= 0 && isOpen(w.fd));
    assert.equal(libc.fcntl(w.fd, C.F_GETFD, 0) & C.FD_CLOEXEC, C.FD_CLOEXEC, 'the dup is close-on-exec');
    assert.deepEqual(w.recv(13), Buffer.from("It's not dead"));
    assert.deepEqual(w.read(6), Buffer.from(", it's"));
    assert.deepEqual(w.recv(100), Buffer.from(' sleeping!'));
    assert.deepEqual(w.recv(100), Buffer.alloc(0), 'end of file: an empty Buffer');
  });

  it('recv returns right-sized copies that later reads do not overwrite', () => {
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    const w = wrap(r);
    libc.write(wfd, Buffer.from('first'), 5);
    const a = w.recv(65536);
    libc.write(wfd, Buffer.from('SECOND'), 6);
    const b = w.recv(65536);
    assert.equal(a.toString(), 'first');
    assert.equal(a.length, 5);
    assert.equal(b.toString(), 'SECOND');
  });

  it('send/write append to a file opened O_APPEND', () => {
    const p = textFile();
    const fd = openSync(p, fsc.O_WRONLY | fsc.O_APPEND);
    const w = wrap(fd);
    closeSync(fd);
    assert.equal(w.write(Buffer.from('Come again?')), 11);
    assert.equal(w.send(new Uint8Array(Buffer.from('I want to buy some cheese.'))), 26);
    w.close();
    assert.equal(readFileSync(p, 'latin1'), `${TEXT.toString('latin1')}Come again?I want to buy some cheese.`);
  });

  it('close() is idempotent and sets fd to -1', () => {
    const fd = openSync(textFile(), 'r');
    const w = wrap(fd);
    closeSync(fd);
    const dup = w.fd;
    w.close();
    assert.equal(w.fd, -1);
    assert.equal(w.fileno(), -1);
    assert.ok(!isOpen(dup));
    w.close();
    assert.equal(w.fd, -1);
  });

  it('closing twice never closes a descriptor someone else now owns', () => {
    const fd = openSync(textFile(), 'r');
    const w = wrap(fd);
    closeSync(fd);
    const old = w.fd;
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    w.close();
    // Someone else now owns the number: F_DUPFD gives the lowest free one >= old, i.e. old.
    const other = libc.fcntl(r, 0 /* F_DUPFD */, old);
    fds.push(other);
    assert.equal(other, old);
    w.close();
    assert.ok(isOpen(other), 'the new owner\'s descriptor is still open');
    assert.throws(() => w.recv(1), isEbadf, 'and the wrapper does not read from it either');
  });

  it('a descriptor closed behind its back: close() reports EBADF once, fd is -1, then quiet', () => {
    const fd = openSync(textFile(), 'r');
    const w = wrap(fd);
    closeSync(fd);
    libc.close(w.fd);
    assert.throws(() => w.close(), isEbadf);
    assert.equal(w.fd, -1);
    w.close();
  });

  it('after close(), recv/read/send/write throw SocketError EBADF', () => {
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    const rw = wrap(r);
    const ww = wrap(wfd);
    rw.close();
    ww.close();
    assert.throws(() => rw.recv(1), isEbadf);
    assert.throws(() => rw.read(1), isEbadf);
    assert.throws(() => ww.send(Buffer.from('x')), isEbadf);
    assert.throws(() => ww.write(Buffer.from('x')), isEbadf);
  });

  it('getsockopt: only SOL_SOCKET/SO_ERROR (always 0)', () => {
    const fd = openSync(textFile(), 'r');
    const w = wrap(fd);
    closeSync(fd);
    assert.equal(w.getsockopt(SOL_SOCKET, SO_ERROR), 0);
    assert.throws(() => w.getsockopt(SOL_SOCKET, SO_TYPE), /only SOL_SOCKET\/SO_ERROR/);
    assert.throws(() => w.getsockopt(SOL_SOCKET, SO_ERROR, 4), /only SOL_SOCKET\/SO_ERROR/);
  });

  it('bad input: TypeError/RangeError/SocketError naming the fix', () => {
    for (const bad of ['3', -1, 1.5, null, undefined]) {
      assert.throws(() => new FileWrapper(bad as unknown as number), argError(TypeError, /file descriptor/), String(bad));
    }
    // A number that is not an open descriptor.
    const [r, wfd] = pipe();
    libc.close(r);
    libc.close(wfd);
    assert.throws(() => new FileWrapper(r), isEbadf);
    const [r2, w2] = pipe();
    fds.push(r2, w2);
    const w = wrap(r2);
    assert.throws(() => w.recv(-1), argError(RangeError));
    assert.throws(() => w.recv(1.5), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }); // one recv-size check everywhere: as Python's recv(1.5)
    assert.throws(() => wrap(w2).send('text' as unknown as Uint8Array), argError(TypeError));
  });

  it('toString and inspect show the fd', () => {
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    const w = wrap(r);
    assert.equal(String(w), `<FileWrapper fd=${w.fd}>`);
    w.close();
    assert.equal(String(w), '<FileWrapper fd=-1>');
  });
});

describe('FileDispatcher', () => {
  it('dups the descriptor, makes it non-blocking, accepts an object with fileno()', () => {
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    assert.equal(libc.fcntl(r, C.F_GETFL, 0) & C.O_NONBLOCK, 0);
    const d = new FileDispatcher(r, map);
    assert.ok(d.socket instanceof FileWrapper);
    assert.notEqual(d.socket!.fileno(), r);
    assert.equal(map.get(d.socket!.fileno()), d);
    assert.equal(d.connected, true);
    assert.notEqual(libc.fcntl(r, C.F_GETFL, 0) & C.O_NONBLOCK, 0, 'the shared file description is non-blocking');
    const d2 = new FileDispatcher({ fileno: () => wfd }, map);
    assert.equal(map.get(d2.socket!.fileno()), d2);
    assert.equal(map.size, 2);
    assert.throws(() => new FileDispatcher('0' as unknown as number, map), argError(TypeError));
    assert.equal(map.size, 2, 'a refused FileDispatcher is not in the map');
  });

  it('recv on an empty non-blocking pipe raises BlockingIOError (EAGAIN), as CPython', () => {
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    const d = new FileDispatcher(r, map);
    assert.throws(() => d.recv(10), (e: unknown) => e instanceof SocketError && e.code === 'EAGAIN');
  });

  for (const poller of POLLERS) {
    it(`${poller}: reads and writes a pipe through loop(), then EOF → handleClose`, () => {
      const payload = randomBytes(200 * 1024); // several pipe buffers' worth
      const [r, wfd] = pipe();
      fds.push(r);
      const got: Buffer[] = [];
      let closed = 0;
      class Reader extends FileDispatcher {
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          // Drain: under poll/epoll a pipe's POLLHUP comes with the last data, and handleClose
          // follows handleRead in the same pass (as in CPython).
          for (;;) {
            let b: Buffer;
            try {
              b = this.recv(8192);
            } catch (e) {
              if (e instanceof SocketError && e.code === 'EAGAIN') return;
              throw e;
            }
            if (b.length === 0) return; // end of file: handleClose has run
            got.push(b);
          }
        }
        override handleClose(): void {
          closed++;
          this.close();
        }
        override handleError(err: unknown): void {
          throw err;
        }
      }
      class Writer extends FileDispatcher {
        rest = payload;
        override readable(): boolean {
          return false;
        }
        override writable(): boolean {
          return this.rest.length > 0;
        }
        override handleWrite(): void {
          const n = this.send(this.rest.subarray(0, 65536));
          this.rest = this.rest.subarray(n);
          if (this.rest.length === 0) this.close();
        }
      }
      new Reader(r, map);
      new Writer(wfd, map);
      libc.close(wfd); // only the Writer's dup keeps the write end open now
      let passes = 0;
      while (map.size > 0 && passes++ < 2000) loop({ timeout: 0.01, count: 1, map, poller });
      assert.equal(map.size, 0, 'both channels finished');
      assert.equal(closed, 1);
      const all = Buffer.concat(got);
      assert.equal(all.length, payload.length);
      assert.equal(createHash('sha256').update(all).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    });
  }

  for (const poller of POLLERS) {
    it(`${poller}: a pipe's hang-up with data still buffered loses nothing`, () => {
      const [r, wfd] = pipe();
      fds.push(r);
      const events: string[] = [];
      class Reader extends FileDispatcher {
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          events.push(`read ${this.recv(10).length}`);
        }
        override handleClose(): void {
          events.push('close');
          this.close();
        }
      }
      new Reader(r, map);
      libc.write(wfd, Buffer.alloc(100, 1), 100);
      libc.close(wfd);
      loop({ timeout: 0.01, count: 1, map, poller });
      // One read per pass; the hang-up (poll/epoll: POLLIN|POLLHUP) does not cut it short.
      assert.deepEqual(events, ['read 10']);
      loop({ timeout: 0.01, count: 20, map, poller });
      // Drained: select reports end of file as readable (recv() runs handleClose and returns an
      // empty Buffer); poll/epoll report the bare hang-up, which closes.
      const end = poller === 'select' ? ['close', 'read 0'] : ['close'];
      assert.deepEqual(events, [...Array(10).fill('read 10'), ...end]);
      assert.equal(map.size, 0);
    });
  }

  for (const poller of ['select', 'poll'] as const) {
    it(`${poller}: reads a regular file (CPython's test_dispatcher)`, () => {
      const fd = openSync(textFile(), 'r');
      const data: Buffer[] = [];
      class Reader extends FileDispatcher {
        override handleRead(): void {
          data.push(this.recv(29));
        }
      }
      const d = new Reader(fd, map);
      closeSync(fd);
      loop({ timeout: 0.01, count: 2, map, poller });
      assert.deepEqual(Buffer.concat(data), TEXT);
      // The second pass read end of file: the default handleClose closed the channel.
      assert.equal(map.size, 0);
      assert.equal(d.socket!.fileno(), -1);
    });
  }

  it('epoll: a regular file is always ready, as poll(2) reports it (epoll_ctl refuses it with EPERM)', () => {
    const fd = openSync(textFile(), 'r');
    const data: Buffer[] = [];
    class Reader extends FileDispatcher {
      override handleRead(): void {
        data.push(this.recv(29));
      }
    }
    new Reader(fd, map);
    closeSync(fd);
    loop({ timeout: 0.01, count: 2, map, poller: 'epoll' });
    assert.deepEqual(Buffer.concat(data), TEXT);
    assert.equal(map.size, 0, 'end of file closed the channel');
  });

  it('setFile() replaces the wrapper', () => {
    const [r, wfd] = pipe();
    fds.push(r, wfd);
    const d = new FileDispatcher(r, map);
    const first = d.socket as FileWrapper;
    d.delChannel();
    first.close();
    d.setFile(wfd);
    assert.notEqual(d.socket, first);
    assert.equal(map.get(d.socket!.fileno()), d);
  });
});
