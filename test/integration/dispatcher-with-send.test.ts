// DispatcherWithSend over real sockets: 1 MiB through a slow reader, ordering of many small
// sends, what outBuffer and writable() report, and its small API surface.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { argError, checkLeaks, runUntil, tempDir, unixPath, usePrivateMap, map, POLLERS } from '../helpers.js';
import {
  Dispatcher, DispatcherWithSend, Socket, loop, AF_INET, AF_UNIX,
  type Address,
} from '../../src/index.js';

const { sockets: extra } = usePrivateMap();
/** Bulk transfers take many 10 ms passes. */
const MAX_PASSES = 5000;
checkLeaks();

const tmp = tempDir();
after(() => tmp.cleanup());
let n = 0;

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A listening socket (not a channel) and a DispatcherWithSend-side pair: [sender, peer socket]. */
function connectedPair<T extends DispatcherWithSend>(family: number, make: (sock: Socket) => T): [T, Socket] {
  const l = new Socket(family);
  extra.push(l);
  const addr: Address = family === AF_UNIX ? unixPath(tmp.dir, `d${n++}`) : ['127.0.0.1', 0];
  l.bind(addr);
  l.listen(1);
  const c = new Socket(family);
  c.connect(l.getsockname());
  const [s] = l.accept();
  return [make(s), c];
}

/** A reader channel taking at most `chunk` bytes per pass. */
class SlowReader extends Dispatcher {
  got: Buffer[] = [];
  size = 0;
  eof = false;
  constructor(sock: Socket, readonly chunk: number) {
    super(sock, map);
  }
  override writable(): boolean {
    return false;
  }
  override handleRead(): void {
    const b = this.recv(this.chunk);
    if (b.length > 0) {
      this.got.push(b);
      this.size += b.length;
    }
  }
  override handleClose(): void {
    this.eof = true;
    this.close();
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

class Sender extends DispatcherWithSend {
  constructor(sock: Socket) {
    super(sock, map);
  }
  override readable(): boolean {
    return false;
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

/** Collect what `sock` has now, without a channel (non-blocking reads until EAGAIN). */
function drain(sock: Socket): Buffer {
  const parts: Buffer[] = [];
  sock.setblocking(false);
  for (;;) {
    try {
      const b = sock.recv(65536);
      if (b.length === 0) break;
      parts.push(b);
    } catch {
      break;
    }
  }
  return Buffer.concat(parts);
}

for (const [fname, family] of [['TCP', AF_INET], ['Unix', AF_UNIX]] as const) {
  for (const poller of POLLERS) {
    describe(`${fname} × ${poller}`, () => {
      it('delivers 1 MiB intact through a reader taking 4 KiB per pass', () => {
        const payload = randomBytes(MiB);
        const expected = sha(payload);
        const [sender, peer] = connectedPair(family, (s) => new Sender(s));
        const reader = new SlowReader(peer, 4096);
        assert.equal(sender.send(payload), MiB);
        // One initiateSend writes at most 64 KiB (CPython's dispatcher_with_send).
        const pending0 = sender.outBuffer.length;
        assert.ok(pending0 >= MiB - 65536 && pending0 < MiB, `pending after send: ${pending0}`);
        assert.equal(sender.writable(), true);
        payload.fill(0); // send() copied: the caller may reuse its buffer at once
        const passes = runUntil(() => reader.size >= MiB, poller, '1 MiB received', MAX_PASSES);
        assert.ok(passes >= MiB / 4096 - 16, `a slow reader needs many passes (${passes})`);
        assert.equal(sender.outBuffer.length, 0);
        assert.equal(sender.writable(), false, 'connected with nothing to send');
        const all = Buffer.concat(reader.got);
        assert.equal(all.length, MiB);
        assert.equal(sha(all), expected);
        // Nothing more comes, and closing the sender is seen as end of file.
        sender.close();
        runUntil(() => reader.eof, poller, 'end of file', MAX_PASSES);
        assert.equal(reader.size, MiB);
      });

      it('many small sends stay in order; outBuffer holds exactly what is pending', () => {
        const [sender, peer] = connectedPair(family, (s) => new Sender(s));
        const reader = new SlowReader(peer, 65536);
        // A big send first fills the kernel's buffers, so the small ones queue behind it.
        const big = randomBytes(4 * MiB);
        sender.send(big);
        const parts: Buffer[] = [big];
        for (let i = 0; i < 20000; i++) {
          const b = Buffer.from(`${i},`);
          parts.push(Buffer.from(b));
          sender.send(b);
          b.fill(0x21); // reuse the caller's buffer: what was queued must not change
        }
        const want = Buffer.concat(parts);
        // The peer has not read anything yet: outBuffer is exactly the unsent tail.
        const pending = sender.outBuffer;
        assert.ok(pending.length > 0, 'the kernel cannot have taken 4 MiB unread');
        assert.deepEqual(pending, want.subarray(want.length - pending.length), 'outBuffer is the unsent tail');
        runUntil(() => reader.size >= want.length, poller, 'all small sends received', MAX_PASSES);
        assert.deepEqual(Buffer.concat(reader.got), want);
        assert.equal(sender.outBuffer.length, 0);
      });
    });
  }
}

describe('DispatcherWithSend', () => {
  it('an unconnected one is writable (to see its connect complete)', () => {
    const d = new DispatcherWithSend(null, map);
    d.createSocket();
    assert.equal(d.connected, false);
    assert.equal(d.writable(), true);
  });

  it('outBuffer can be assigned, as Python code does with out_buffer', () => {
    const [sender, peer] = connectedPair(AF_INET, (s) => new Sender(s));
    extra.push(peer);
    assert.equal(sender.writable(), false);
    sender.outBuffer = new Uint8Array(Buffer.from('assigned'));
    assert.ok(Buffer.isBuffer(sender.outBuffer));
    assert.equal(sender.writable(), true);
    loop({ timeout: 0.01, count: 2, map, poller: 'poll' });
    assert.equal(drain(peer).toString(), 'assigned');
    sender.send(Buffer.from('one'));
    sender.outBuffer = Buffer.alloc(0);
    assert.equal(sender.writable(), false);
  });

  it('send(): returns the length, rejects strings with a TypeError naming the fix, logs in debug', () => {
    const [sender, peer] = connectedPair(AF_INET, (s) => new Sender(s));
    extra.push(peer);
    assert.throws(() => sender.send('text' as unknown as Uint8Array), argError(TypeError, /Buffer\.from/));
    assert.equal(sender.send(Buffer.alloc(0)), 0);
    sender.debug = true;
    const out: string[] = [];
    const ow = process.stdout.write;
    process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
    try {
      assert.equal(sender.send(Buffer.from('hey')), 3);
      assert.equal(sender.send(Buffer.from("it's\n\x00")), 6);
    } finally {
      process.stdout.write = ow;
    }
    // As CPython's log_info('sending %s' % repr(data)).
    assert.equal(out.join(''), `info: sending b'hey'\ninfo: sending b"it's\\n\\x00"\n`);
    assert.equal(drain(peer).toString(), "heyit's\n\x00");
  });

  it('sending to a peer that is gone ends in handleClose, not an error', () => {
    let closes = 0;
    const errors: unknown[] = [];
    class S extends DispatcherWithSend {
      constructor(sock: Socket) {
        super(sock, map);
      }
      override readable(): boolean {
        return false;
      }
      override handleClose(): void {
        closes++;
        this.close();
      }
      override handleError(err: unknown): void {
        errors.push(err);
        this.close();
      }
    }
    const [sender, peer] = connectedPair(AF_UNIX, (s) => new S(s));
    peer.close();
    sender.send(Buffer.alloc(1000));
    runUntil(() => !map.size, 'poll', 'closed', MAX_PASSES);
    assert.equal(closes, 1);
    assert.deepEqual(errors, []);
  });
});
