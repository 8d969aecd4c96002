// AsyncChat's input and output state machines, driven without sockets: chunk sequences go
// straight into handleRead through an overridden recv(), and output goes to an overridden
// send(). A property test checks that chunking never changes what the handlers see (the
// differential test against CPython 3.11's asynchat is test/process/chat-differential.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { argError, checkLeaks } from '../helpers.js';
import {
  type Ev, C, F, bytes, Feeder, feeder, merged, bytesTermArb, numTermArb, termArb, streamArb, cutsArb, chunk, run,
} from '../fixtures/chat-feeder.js';
import {
  AsyncChat, SimpleProducer, findPrefixAtEnd, BlockingIOError, SocketError, errno,
  type Producer, type Terminator,
} from '../../src/index.js';

checkLeaks();


describe('AsyncChat input: terminators', () => {
  it('bytes terminator: several messages in one read, and empty messages', () => {
    const f = feeder(bytes('\r\n'));
    assert.deepEqual(f.feed('hello\r\nworld\r\n\r\nlast'), [C('hello'), F, C('world'), F, F, C('last')]);
    assert.equal(f.acInBuffer.length, 0);
  });

  it('a string terminator is encoded with `encoding` and comes back as a Buffer', () => {
    const f = feeder('é'); // latin1 by default: one byte 0xE9
    assert.deepEqual(f.getTerminator(), Buffer.from([0xe9]));
    assert.deepEqual(f.feed(Buffer.from([0x61, 0xe9, 0x62])), [C('a'), F, C('b')]);

    const g = new Feeder();
    g.encoding = 'utf8';
    g.setTerminator('é');
    assert.deepEqual(g.getTerminator(), Buffer.from('é', 'utf8'));
    assert.deepEqual(merged(g.feed(Buffer.from('xéy', 'utf8'))), [C('x'), F, C('y')]);

    const h = new Feeder();
    h.encoding = 'latin-1'; // Python's codec name is accepted too
    h.setTerminator('\n');
    assert.deepEqual(h.getTerminator(), bytes('\n'));
  });

  it('a numeric terminator counts down across reads, then collects everything', () => {
    const f = feeder(10);
    f.feed('abc');
    assert.equal(f.getTerminator(), 7);
    f.feed('defg');
    assert.equal(f.getTerminator(), 3);
    f.feed('hijKLM');
    assert.deepEqual(f.events, [C('abc'), C('defg'), C('hij'), F, C('KLM')]);
    assert.equal(f.getTerminator(), 0);
  });

  it('a numeric terminator that fits a read exactly, and several counts in one read', () => {
    const f = feeder(3, [2, 1]);
    assert.deepEqual(f.feed('abcdefghi'), [C('abc'), F, C('de'), F, C('f'), F, C('gh'), F, C('i'), F]);
    assert.equal(f.getTerminator(), 2); // the schedule set it after the last one
  });

  for (const [label, term] of [['null', null], ['0', 0], ["''", ''], ['empty bytes', new Uint8Array(0)]] as [string, Terminator][]) {
    it(`terminator ${label} means: collect everything, never foundTerminator`, () => {
      const f = feeder(term);
      assert.deepEqual(f.feed('a\r\nb', '\n', 'c'), [C('a\r\nb'), C('\n'), C('c')]);
    });
  }

  it('a terminator split across reads is found, and its prefix is carried (only the prefix)', () => {
    const msg = 'body line\r\n.\r\nnext';
    const term = '\r\n.\r\n';
    for (let cut = 1; cut < msg.length; cut++) {
      const f = feeder(term);
      f.feed(msg.slice(0, cut));
      const pending = f.acInBuffer.toString('latin1');
      // What is held back is exactly the longest terminator prefix at the end of the first read.
      const head = msg.slice(0, cut);
      const unconsumed = head.includes(term) ? head.slice(head.indexOf(term) + term.length) : head;
      assert.equal(pending, unconsumed.slice(unconsumed.length - findPrefixAtEnd(unconsumed, term)), `cut ${cut}`);
      assert.ok(pending.length < term.length && term.startsWith(pending), `cut ${cut}: carried ${JSON.stringify(pending)}`);
      f.feed(msg.slice(cut));
      assert.deepEqual(merged(f.events), [C('body line'), F, C('next')], `cut ${cut}`);
    }
  });

  it('a prefix that turns out not to be the terminator is delivered as data', () => {
    const f = feeder('\r\n.\r\n');
    f.feed('abc\r\n.');
    assert.deepEqual(f.events, [C('abc')]);
    assert.equal(f.acInBuffer.toString('latin1'), '\r\n.');
    f.feed('x\r\n.\r\n');
    assert.deepEqual(f.events, [C('abc'), C('\r\n.x'), F]);
    assert.equal(f.acInBuffer.length, 0);
  });

  it('only the unconsumed prefix is kept between reads (the pending buffer never grows)', () => {
    const f = feeder('\r\n.\r\n');
    for (let i = 0; i < 200; i++) {
      f.feed('x'.repeat(1000) + '\r\n');
      assert.ok(f.acInBuffer.length <= 4, `pending ${f.acInBuffer.length} bytes after read ${i}`);
    }
  });

  it('the terminator changed inside foundTerminator applies to the rest of the same read', () => {
    // A header line announcing a length, then that many bytes, then lines again.
    class Framed extends Feeder {
      current = '';
      override collectIncomingData(data: Buffer): void {
        super.collectIncomingData(data);
        this.current += data.toString('latin1');
      }
      override foundTerminator(): void {
        this.events.push(['f']);
        const m = /^LEN (\d+)$/.exec(this.current);
        this.current = '';
        if (Buffer.isBuffer(this.getTerminator())) {
          if (m) this.setTerminator(Number(m[1]));
        } else {
          this.setTerminator('\n');
        }
      }
    }
    const stream = 'LEN 5\nab\ncdLEN 2\n\n\nend\n';
    const expected: Ev[] = [C('LEN 5'), F, C('ab\ncd'), F, C('LEN 2'), F, C('\n\n'), F, C('end'), F];
    const whole = new Framed();
    whole.setTerminator('\n');
    assert.deepEqual(whole.feed(stream), expected);
    for (let cut = 1; cut < stream.length; cut++) {
      const f = new Framed();
      f.setTerminator('\n');
      f.feed(stream.slice(0, cut), stream.slice(cut));
      assert.deepEqual(merged(f.events), expected, `cut ${cut}`);
    }
  });

  it('bytes left after a switch to "collect everything" are collected in the same read', () => {
    const f = feeder('\n', [null]);
    assert.deepEqual(f.feed('head\nrest\nmore'), [C('head'), F, C('rest\nmore')]);
  });

  it('collectIncomingData always receives a Buffer (recv may return a Uint8Array or a string)', () => {
    const f = feeder('\n');
    f.chunks.push(new Uint8Array([0x61, 0x0a, 0x62]));
    f.handleRead();
    f.chunks.push('c\n');
    f.handleRead();
    assert.ok(f.received.length > 0);
    for (const d of f.received) assert.ok(Buffer.isBuffer(d), 'a Buffer');
    assert.deepEqual(f.events, [C('a'), F, C('b'), C('c'), F]);
  });

  it('pieces of one read are views of it, not copies (no quadratic re-copying)', () => {
    const f = feeder('\n');
    const read = bytes('a\nbb\nccc\nd');
    f.feed(read);
    assert.equal(f.received.length, 4);
    for (const d of f.received) assert.equal((d as Buffer).buffer, read.buffer);
  });

  it('handleRead reads acInBufferSize bytes (an instance may change it)', () => {
    const sizes: number[] = [];
    const f = feeder('\n');
    f.recv = (n: number) => {
      sizes.push(n);
      return bytes('x\n');
    };
    f.handleRead();
    f.acInBufferSize = 10;
    f.handleRead();
    assert.deepEqual(sizes, [65536, 10]);
  });

  it('a BlockingIOError from recv is ignored; another SocketError goes to handleError', () => {
    const f = feeder('\n');
    f.handleRead(); // no chunk queued: recv raises BlockingIOError
    assert.deepEqual(f.errors, []);
    f.recv = () => {
      throw new SocketError(errno.ECONNRESET!, 'recv');
    };
    f.handleRead();
    assert.equal(f.errors.length, 1);
    assert.equal((f.errors[0] as SocketError).code, 'ECONNRESET');
    assert.deepEqual(f.events, []);
  });

  it('an error thrown by foundTerminator leaves the rest of the read pending (as CPython)', () => {
    const f = feeder('\n');
    let boom = true;
    f.foundTerminator = function (this: Feeder) {
      this.events.push(['f']);
      if (boom) {
        boom = false;
        throw new Error('handler failed');
      }
    };
    f.chunks.push(bytes('a\nb\nc'));
    assert.throws(() => f.handleRead(), /handler failed/);
    assert.equal(f.acInBuffer.toString('latin1'), 'b\nc');
    f.feed('\n');
    assert.deepEqual(f.events, [C('a'), F, C('b'), F, C('c'), F]);
  });

  it('discardBuffers inside a handler ends the read; acInBuffer can be set (Python ac_in_buffer)', () => {
    const f = feeder('\n');
    f.foundTerminator = function (this: Feeder) {
      this.events.push(['f']);
      this.discardBuffers();
    };
    assert.deepEqual(f.feed('a\nb\nc'), [C('a'), F]);
    assert.equal(f.acInBuffer.length, 0);

    const g = feeder('\n');
    g.acInBuffer = 'pre';
    assert.deepEqual(g.feed('fix\n'), [C('prefix'), F]);
  });

  it('the default handlers: collectIncomingData/foundTerminator must be overridden; _collectIncomingData/_getData', () => {
    const c = new AsyncChat();
    assert.throws(() => c.collectIncomingData(bytes('x')), { name: 'NotImplementedError', message: /subclass/ });
    assert.throws(() => c.foundTerminator(), { name: 'NotImplementedError' });
    c._collectIncomingData(bytes('ab'));
    c._collectIncomingData(bytes('cd'));
    assert.equal(c.incoming.length, 2);
    assert.deepEqual(c._getData(), bytes('abcd'));
    assert.deepEqual(c.incoming, []);
    assert.deepEqual(c._getData(), Buffer.alloc(0));
  });

  it('a subclass using _collectIncomingData gathers a message however it is chunked', () => {
    class Lines extends AsyncChat {
      lines: string[] = [];
      override collectIncomingData(d: Buffer): void {
        this._collectIncomingData(d);
      }
      override foundTerminator(): void {
        this.lines.push(this._getData().toString());
      }
    }
    const l = new Lines();
    l.setTerminator('\r\n');
    let n = 0;
    l.recv = () => bytes(['one\r', '\ntw', 'o\r\nthree', '\r\n'][n++]!);
    for (let i = 0; i < 4; i++) l.handleRead();
    assert.deepEqual(l.lines, ['one', 'two', 'three']);
  });
});

/** A socketless channel that pretends to be connected and records what it sends. */
class Sink extends AsyncChat {
  sent: string[] = [];
  take = Infinity; // bytes send() takes per call
  closed = 0;
  errors: unknown[] = [];

  constructor() {
    super();
    this.connected = true;
  }

  override send(data: Uint8Array): number {
    const n = Math.min(this.take, data.length);
    this.sent.push(Buffer.from(data.subarray(0, n)).toString('latin1'));
    return n;
  }

  override handleClose(): void {
    this.closed++;
    super.handleClose();
  }

  override handleError(err: unknown): void {
    this.errors.push(err);
  }

  drain(limit = 100): void {
    for (let i = 0; i < limit && this.writable() && this.connected; i++) this.initiateSend();
  }
}

describe('AsyncChat output', () => {
  it('push splits by acOutBufferSize and sends one piece per initiateSend', () => {
    const s = new Sink();
    s.connected = false; // queue only
    s.acOutBufferSize = 4;
    s.push(bytes('0123456789'));
    assert.deepEqual(s.producerFifo.map((b) => (b as Buffer).toString('latin1')), ['0123', '4567', '89']);
    s.connected = true;
    s.initiateSend();
    assert.deepEqual(s.sent, ['0123']);
    s.drain();
    assert.deepEqual(s.sent, ['0123', '4567', '89']);
    assert.equal(s.writable(), false);
  });

  it('push sends at once when connected; strings are encoded with `encoding`; the data is copied', () => {
    const s = new Sink();
    const b = bytes('abc');
    s.take = 0; // the socket takes nothing yet
    s.push(b);
    b[0] = 0x7a; // the caller reuses its buffer
    s.push('é');
    s.encoding = 'utf8';
    s.push('é');
    s.take = Infinity;
    s.drain();
    assert.deepEqual(s.sent.filter((x) => x.length > 0), ['abc', '\xe9', 'Ã©']);
  });

  it('a partial send keeps the rest at the head of the queue', () => {
    const s = new Sink();
    s.take = 3;
    s.push(bytes('abcdefgh'));
    s.drain();
    assert.deepEqual(s.sent, ['abc', 'def', 'gh']);
  });

  it('initiateSend sends nothing before the connection is made; writable() is true then', () => {
    const s = new Sink();
    s.connected = false;
    assert.equal(s.writable(), true);
    s.push('x');
    assert.deepEqual(s.sent, []);
    s.connected = true;
    assert.equal(s.writable(), true);
    s.initiateSend();
    assert.deepEqual(s.sent, ['x']);
    assert.equal(s.writable(), false);
    assert.equal(s.readable(), true);
  });

  it('an empty push is dropped with an empty send, as CPython', () => {
    const s = new Sink();
    s.connected = false;
    s.push(new Uint8Array(0));
    s.push('z');
    s.connected = true;
    s.initiateSend();
    assert.deepEqual(s.sent, ['']);
    s.initiateSend();
    assert.deepEqual(s.sent, ['', 'z']);
  });

  it('producers: more() until empty; output is sliced by acOutBufferSize', () => {
    const s = new Sink();
    s.connected = false;
    s.acOutBufferSize = 5;
    const parts = ['first-part-long', 'second', ''];
    const p: Producer = { more: () => parts.shift() ?? '' };
    s.pushWithProducer(p);
    s.pushWithProducer(bytes('BYTES'));
    s.pushWithProducer(new SimpleProducer(bytes('abcdefg'), 3));
    s.push('end');
    s.connected = true;
    s.drain();
    assert.deepEqual(s.sent, ['first', '-part', '-long', 'secon', 'd', 'BYTES', 'abc', 'def', 'g', 'end']);
    assert.deepEqual(s.producerFifo, []);
  });

  it('SimpleProducer hands out views of its data, then empty', () => {
    const data = bytes('abcdefghij');
    const p = new SimpleProducer(data, 4);
    const a = p.more() as Buffer;
    assert.equal(a.toString(), 'abcd');
    assert.equal(a.buffer, data.buffer);
    assert.equal(p.more().toString(), 'efgh');
    assert.equal(p.more().toString(), 'ij');
    assert.equal(p.more().length, 0);
    assert.equal(new SimpleProducer('xyz').more(), 'xyz');
    assert.equal(new SimpleProducer(bytes('q')).bufferSize, 512);
  });

  it('closeWhenDone closes after everything queued before it is sent', () => {
    const s = new Sink();
    s.take = 2;
    s.push('hello');
    s.closeWhenDone();
    s.push('never'); // after the marker: dropped with the channel, as CPython
    assert.equal(s.closed, 0);
    s.drain();
    assert.deepEqual(s.sent, ['he', 'll', 'o']);
    assert.equal(s.closed, 1);
    assert.equal(s.connected, false);
  });

  it('discardBuffers drops queued output, pending input and incoming', () => {
    const s = new Sink();
    s.connected = false;
    s.push('queued');
    s.closeWhenDone();
    s.incoming.push(bytes('in'));
    s.acInBuffer = 'pending';
    s.discardBuffers();
    assert.deepEqual(s.producerFifo, []);
    assert.deepEqual(s.incoming, []);
    assert.equal(s.acInBuffer.length, 0);
    s.connected = true;
    assert.equal(s.writable(), false);
  });

  it('a SocketError from send goes to handleError; other errors propagate', () => {
    const s = new Sink();
    s.send = () => {
      throw new SocketError(errno.EPIPE!, 'send');
    };
    s.push('x');
    assert.equal(s.errors.length, 1);
    s.send = () => {
      throw new Error('bug in send');
    };
    assert.throws(() => s.initiateSend(), /bug in send/);
  });

  it('many pushes of small pieces to a slow socket stay cheap (no re-copying of the queue)', () => {
    const s = new Sink();
    s.take = 0;
    for (let i = 0; i < 20000; i++) s.push('x');
    assert.equal(s.producerFifo.length, 20000);
    s.take = Infinity;
    s.drain(30000);
    assert.equal(s.sent.filter((x) => x === 'x').length, 20000);
  });
});

describe('findPrefixAtEnd', () => {
  it('returns the length of the longest terminator prefix ending the haystack', () => {
    assert.equal(findPrefixAtEnd('qwerty\r', '\r\n'), 1);
    assert.equal(findPrefixAtEnd('qwertydkjf', '\r\n'), 0);
    assert.equal(findPrefixAtEnd('data\r\n.', '\r\n.\r\n'), 3);
    assert.equal(findPrefixAtEnd('aa', 'aab'), 2);
    assert.equal(findPrefixAtEnd('', '\r\n'), 0);
    assert.equal(findPrefixAtEnd(bytes('x\r\n.\r'), bytes('\r\n.\r\n')), 4);
    assert.equal(findPrefixAtEnd(new Uint8Array([1, 2]), new Uint8Array([2, 3])), 1);
    assert.equal(findPrefixAtEnd('abc', ''), -1); // as CPython
  });

  it('rejects mixed or non-byte arguments with a TypeError', () => {
    assert.throws(() => findPrefixAtEnd('abc' as never, bytes('c') as never), argError(TypeError, /two strings or two Uint8Arrays/));
    assert.throws(() => findPrefixAtEnd(1 as never, 2 as never), argError(TypeError));
  });
});

describe('bad input', () => {
  it('push of anything but bytes or a string is a TypeError', () => {
    const s = new Sink();
    for (const bad of [10, null, undefined, {}, [1, 2]]) {
      assert.throws(() => s.push(bad as never), argError(TypeError, /push\(\): data must be bytes/));
    }
    assert.deepEqual(s.producerFifo, []);
  });

  it('a negative or non-integer numeric terminator is a RangeError; other types a TypeError', () => {
    const c = new AsyncChat();
    for (const bad of [-1, 1.5, NaN, Infinity]) {
      assert.throws(() => c.setTerminator(bad), argError(RangeError, /non-negative integer/));
    }
    assert.throws(() => c.setTerminator({} as never), argError(TypeError, /terminator must be/));
    assert.equal(c.getTerminator(), null, 'a rejected terminator leaves the old one');
  });

  it('bad producers, buffer sizes and encodings name the fix', () => {
    const s = new Sink();
    assert.throws(() => s.pushWithProducer(5 as never), argError(TypeError, /more\(\) method/));
    assert.throws(() => new SimpleProducer(bytes('x'), 0), argError(RangeError));
    assert.throws(() => new SimpleProducer(42 as never), argError(TypeError));
    s.acOutBufferSize = 0;
    assert.throws(() => s.push('x'), argError(RangeError, /acOutBufferSize/));
    s.acOutBufferSize = 4;
    s.encoding = 'klingon';
    assert.throws(() => s.push('x'), argError(RangeError, /encoding/));
    assert.throws(() => s.setTerminator('x'), argError(RangeError));
    s.encoding = 'latin1';
    assert.throws(() => s.pushWithProducer({ more: () => 42 as never }), argError(TypeError, /more\(\) must return bytes/));
  });
});


describe('chunking invariance (property)', () => {
  const check = (name: string, first: fc.Arbitrary<Terminator>, schedule: fc.Arbitrary<Terminator[]>) => {
    it(name, () => {
      fc.assert(
        fc.property(first, schedule, streamArb, cutsArb, (t, sched, stream, cuts) => {
          const whole = run(t, sched, [stream]);
          const pieces = run(t, sched, chunk(stream, cuts));
          assert.deepEqual(pieces, whole);
          // Every byte is accounted for: delivered as data, consumed as a terminator, or pending.
          const data = whole.events.filter((e) => e[0] === 'c').map((e) => e[1]).join('');
          assert.ok(data.length + whole.pending.length <= stream.length);
        }),
        { numRuns: 400, seed: 4242 },
      );
    });
  };
  check('bytes terminators (incl. multi-byte)', bytesTermArb, fc.constant([]));
  check('numeric terminators', numTermArb, fc.constant([]));
  check('terminators changed inside foundTerminator (bytes, numbers, null)', termArb,
    fc.array(fc.oneof(termArb, fc.constant(null)), { minLength: 1, maxLength: 4 }));

  it('single-byte reads give the same events as one read (a known stream)', () => {
    const stream = bytes('HELO x\r\nDATA\r\nline\r\n..dot\r\n.\r\nQUIT\r\n');
    const whole = run('\r\n', [], [stream]);
    const bytewise = run('\r\n', [], [...stream].map((b) => Buffer.from([b])));
    assert.deepEqual(bytewise, whole);
    assert.equal(whole.events.filter((e) => e[0] === "f").length, 6);
  });
});
