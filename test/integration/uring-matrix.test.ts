// The io_uring poller (issue 15) through the core dispatch behaviours, over {IPv4, IPv6, Unix},
// plus what is particular to it: level-triggered readiness from one-shot polls, POLLPRI only
// for real out-of-band data, interest changes in place, fd reuse, a pass of more SQEs than
// the ring holds, the FIN going out at close(), and the ring's fd and mappings released.
// Skipped, with the reason, where io_uring cannot serve (the fallback has its own file).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import {
  checkLeaks, tempDir, hasIPv6, addressFamilies, usePrivateMap, map, FamilyServer, LINGER_RST, runUntil, track,
  type Family,
} from '../helpers.js';
import {
  Dispatcher, FileDispatcher, Socket, socketpair, loop, loopAsync, closeAll, type Address,
  SOL_SOCKET, SO_LINGER, MSG_OOB, POLLIN, POLLHUP,
} from '../../src/index.js';
import { UringPoller } from '../../src/pollers/uring.js';
import { openUring } from '../../src/pollers/uring-open.js';
import { SETUP_COOP_TASKRUN, SETUP_DEFER_TASKRUN } from '../../src/sys/uring.js';
import * as libc from '../../src/sys/libc.js';

usePrivateMap();
checkLeaks();

/** Why the matrix cannot run here, or false. */
function uringSkip(): string | false {
  const p = openUring();
  if (typeof p === 'string') return `io_uring unavailable: ${p}`;
  p.close();
  return false;
}
const SKIP = uringSkip();
const v6 = await hasIPv6();
const tmp = tempDir();
after(() => tmp.cleanup());
const FAMILIES = addressFamilies(v6, tmp.dir, 'u');
const P = 'uring' as const;

const until = (pred: () => boolean, what: string, passes = 300): number => runUntil(pred, P, what, passes);

/** poll(2) one descriptor; returns revents (0 after `timeoutMs`). */
function waitFd(fd: number, events: number, timeoutMs: number): number {
  const pfd = new Uint8Array(8);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, events, true);
  assert.ok(libc.poll(pfd, 1, timeoutMs) >= 0);
  return dv.getInt16(6, true);
}

/** A channel whose unexpected handlers fail the test. */
class Strict extends Dispatcher {
  expts = 0;
  closes = 0;
  constructor(sock?: Socket | null) {
    super(sock, map);
  }
  override handleExpt(): void {
    throw new Error('handleExpt not supposed to be called');
  }
  override handleClose(): void {
    this.closes++;
    this.close();
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

/** Echoes everything, in whatever pieces recv() gives, reading at most `chunk` per event. */
class Echo extends Strict {
  static chunk = 4096;
  private out = Buffer.alloc(0);
  override handleRead(): void {
    const d = this.recv(Echo.chunk);
    if (d.length > 0) this.out = Buffer.concat([this.out, d]);
  }
  override writable(): boolean {
    return this.out.length > 0;
  }
  override handleWrite(): void {
    const n = this.send(this.out);
    this.out = this.out.subarray(n);
  }
}

class Server extends FamilyServer {
  constructor(fam: Family, handler: new (s: Socket) => Dispatcher = Echo) {
    super(fam, map, handler);
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

/** Sends `payload` (in slices of `slice` bytes, one per pass) and collects what comes back. */
class Sender extends Strict {
  got = Buffer.alloc(0);
  sent = 0;
  connects = 0;
  constructor(fam: Family, addr: Address, readonly payload: Buffer, readonly slice = payload.length) {
    super();
    this.createSocket(fam.family);
    this.connect(addr);
  }
  override handleConnect(): void {
    this.connects++;
  }
  override writable(): boolean {
    return !this.connected || this.sent < this.payload.length;
  }
  override handleWrite(): void {
    this.sent += this.send(this.payload.subarray(this.sent, Math.min(this.payload.length, this.sent + this.slice)));
  }
  override handleRead(): void {
    this.got = Buffer.concat([this.got, this.recv(65536)]);
  }
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

for (const fam of FAMILIES) {
  describe(`${fam.name} × uring`, { skip: SKIP || fam.skip }, () => {
    it('connect, accept and an echo round trip, with no handleExpt for plain data', () => {
      const server = new Server(fam);
      const c = new Sender(fam, server.address, Buffer.from('hello uring'));
      until(() => c.got.length === 11, 'echo');
      assert.equal(c.got.toString(), 'hello uring');
      assert.equal(c.connects, 1);
      assert.equal(server.accepted.length, 1);
    });

    it('level-triggered: 256 KiB read 1 KiB per event still arrives whole', () => {
      const saved = Echo.chunk;
      Echo.chunk = 1024; // the echo side leaves data behind on every event
      try {
        const payload = pattern(256 * 1024);
        const server = new Server(fam);
        const c = new Sender(fam, server.address, payload);
        until(() => c.got.length === payload.length, 'the whole payload echoed', 5000);
        assert.ok(c.got.equals(payload));
      } finally {
        Echo.chunk = saved;
      }
    });

    it('interest that changes every pass (writable toggling) is updated in place, data intact', () => {
      const payload = pattern(64 * 1024);
      const server = new Server(fam);
      const c = new Sender(fam, server.address, payload, 700);
      until(() => c.got.length === payload.length, 'echo in 700-byte slices', 5000);
      assert.ok(c.got.equals(payload));
    });

    it('handleClose runs once when the peer closes, and recv then returns empty', () => {
      let reads = 0;
      let eof = false;
      class H extends Strict {
        override handleRead(): void {
          reads++;
          const d = this.recv(100);
          if (d.length === 0) eof = true;
        }
      }
      const server = new Server(fam, H);
      const c = new Sender(fam, server.address, Buffer.alloc(0));
      until(() => server.accepted.length === 1 && c.connected, 'accepted');
      c.close();
      const h = server.accepted[0] as H;
      until(() => h.closes === 1, 'handleClose');
      for (let i = 0; i < 3; i++) loop({ map, timeout: 0, count: 1, poller: P });
      assert.equal(h.closes, 1);
      assert.ok(eof && reads >= 1);
    });

    it('a reset from the peer reaches handleClose, never handleError', { skip: fam.tcp ? false : 'SO_LINGER reset is TCP' }, () => {
      const server = new Server(fam, Strict);
      const raw = track(new Socket(fam.family));
      raw.connect(server.address);
      until(() => server.accepted.length === 1, 'accepted');
      const h = server.accepted[0]! as Strict;
      h.handleRead = function (this: Strict): void {
        this.recv(100);
      };
      raw.setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RST);
      raw.close();
      until(() => h.closes === 1, 'handleClose after RST');
    });

    it('out-of-band data runs handleExpt (POLLPRI checked, not taken from the wake-up hint)', { skip: fam.tcp ? false : 'no OOB on Unix sockets here' }, () => {
      let expts = 0;
      let data = '';
      class H extends Strict {
        override handleExpt(): void {
          expts++;
          assert.equal((this.socket as Socket).recv(1, MSG_OOB).toString(), '!');
        }
        override handleRead(): void {
          data += this.recv(100).toString();
        }
      }
      const server = new Server(fam, H);
      const raw = track(new Socket(fam.family));
      raw.connect(server.address);
      until(() => server.accepted.length === 1, 'accepted');
      raw.send(Buffer.from('plain'));
      until(() => data === 'plain', 'plain data');
      assert.equal(expts, 0, 'plain data is not out-of-band');
      raw.send(Buffer.from('!'), MSG_OOB);
      until(() => expts === 1, 'handleExpt');
    });

    it('close() lets the FIN out at once, with no further pass', () => {
      class Quiet extends Strict {
        override writable(): boolean {
          return false; // so a read poll stays armed in the kernel
        }
      }
      const server = new Server(fam, Quiet);
      const raw = track(new Socket(fam.family));
      raw.connect(server.address);
      until(() => server.accepted.length === 1, 'accepted');
      const h = server.accepted[0]!;
      loop({ map, timeout: 0, count: 2, poller: P }); // its read poll is armed now
      h.close(); // the listener stays in the map: the ring lives on, nothing runs another pass
      assert.ok(waitFd(raw.fileno(), POLLIN, 2000) & POLLIN, 'the peer sees end of file');
      assert.equal(raw.recv(10).length, 0);
    });
  });
}

describe('uring specifics', { skip: SKIP }, () => {
  it('a new channel on a reused fd number never gets the old socket\'s events', () => {
    const [a, b] = socketpair();
    track(b);
    let oldReads = 0;
    class Old extends Strict {
      override handleRead(): void {
        oldReads++;
      }
      override writable(): boolean {
        return false;
      }
    }
    const old = track(new Old(a));
    const fd = a.fileno();
    loop({ map, timeout: 0, count: 1, poller: P }); // arms a read poll on the old socket
    // Closed behind the channel's back: the poll still holds the old socket open.
    (old.socket as Socket).close();
    const [c, d] = socketpair();
    track(d);
    assert.equal(c.fileno(), fd, 'the kernel reused the fd number');
    let got = '';
    class New extends Strict {
      override handleRead(): void {
        got += this.recv(10).toString();
      }
    }
    new New(c); // replaces the old channel's map entry
    b.send(Buffer.from('old')); // wakes the old poll
    d.send(Buffer.from('new'));
    until(() => got === 'new', 'the new channel reads');
    loop({ map, timeout: 0.01, count: 2, poller: P });
    assert.equal(got, 'new');
    assert.equal(oldReads, 0);
    // The old poll is gone, so the old socket is closed for real: its peer sees the hang-up
    // (a reset, as the old socket died with 'old' unread).
    assert.ok(waitFd(b.fileno(), POLLIN, 2000) & (POLLIN | POLLHUP));
    assert.throws(() => b.recv(10), { code: 'ECONNRESET' });
  });

  it('a pass with more SQEs than the ring has entries (600 channels) serves every one', () => {
    const pairs: Socket[][] = [];
    const reads = new Map<number, number>();
    class R extends Strict {
      override handleRead(): void {
        const n = this.recv(16).length;
        reads.set(this._fileno!, (reads.get(this._fileno!) ?? 0) + n);
      }
    }
    for (let i = 0; i < 300; i++) {
      const [x, y] = socketpair();
      new R(x);
      new R(y);
      pairs.push([x, y]);
    }
    for (const [x] of pairs) x!.send(Buffer.from('ab'));
    for (const [, y] of pairs) y!.send(Buffer.from('c'));
    until(() => reads.size === 600, 'every channel read');
    for (const [x, y] of pairs) {
      assert.equal(reads.get(x!.fileno()), 1);
      assert.equal(reads.get(y!.fileno()), 2);
    }
  });

  it('a regular file is always ready, as poll(2) reports it', () => {
    const path = `${tmp.dir}/file.txt`;
    writeFileSync(path, 'file contents');
    const own = openSync(path, 'r');
    let text = '';
    let file: FileDispatcher;
    try {
      file = new FileDispatcher(own, map); // it reads a duplicate of `own`
    } finally {
      closeSync(own);
    }
    file.handleRead = function (this: FileDispatcher): void {
      const d = this.recv(4);
      if (d.length === 0) this.close();
      else text += d.toString();
    };
    until(() => map.size === 0, 'read to end of file');
    assert.equal(text, 'file contents');
  });

  it('rings are set up with DEFER_TASKRUN or COOP_TASKRUN', () => {
    const p = openUring();
    assert.ok(p instanceof UringPoller);
    try {
      assert.ok(p.setupFlags & (SETUP_DEFER_TASKRUN | SETUP_COOP_TASKRUN), `setup flags ${p.setupFlags.toString(16)}`);
    } finally {
      p.close();
    }
  });

  it('the ring fd and its mappings are released when the map empties', () => {
    const mappings = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('io_uring')).length;
    const before = mappings();
    const [a, b] = socketpair();
    track(b);
    const ch = new Strict(a);
    ch.handleRead = function (this: Strict): void {
      this.recv(10);
    };
    loop({ map, timeout: 0, count: 1, poller: P });
    assert.ok(mappings() > before, 'the rings are mapped while the map is served');
    closeAll(map);
    assert.equal(mappings(), before, 'munmapped once the map emptied');
  });

  it('loopAsync({ poller: "uring" }) serves the map through a libuv-watched ring', async () => {
    const fam = FAMILIES[0]!;
    const server = new Server(fam);
    const c = new Sender(fam, server.address, Buffer.from('async'));
    const orig = c.handleRead;
    c.handleRead = function (this: Sender): void {
      orig.call(this);
      if (this.got.length === 5) closeAll(map);
    };
    await loopAsync({ map, timeout: 1, poller: P, count: 500 });
    assert.equal(c.got.toString(), 'async');
  });
});

