// The same reads and pushes through AsyncChat and through CPython 3.11's asynchat (a python3.11
// child per describe): identical handler call sequences and identical output. Skips cleanly
// without python3.11.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { checkLeaks, findPython } from '../helpers.js';
import { AsyncChat, SimpleProducer, type Producer, type Terminator } from '../../src/index.js';
import { bytes, feeder, termArb, streamArb, cutsArb, chunk } from '../fixtures/chat-feeder.js';

checkLeaks();

const python = findPython();

const PY_HARNESS = String.raw`
import sys, json, warnings
warnings.simplefilter('ignore')
import asynchat

def term(t):
    if t is None: return None
    if isinstance(t, int): return t
    return bytes.fromhex(t['hex'])

class Rec(asynchat.async_chat):
    def __init__(self, chunks, schedule):
        asynchat.async_chat.__init__(self)
        self.chunks = chunks
        self.schedule = schedule
        self.k = 0
        self.events = []
    def recv(self, n):
        return self.chunks.pop(0)
    def collect_incoming_data(self, data):
        self.events.append(['c', data.hex()])
    def found_terminator(self):
        self.events.append(['f'])
        if self.schedule:
            self.set_terminator(self.schedule[self.k % len(self.schedule)])
            self.k += 1

out = []
for case in json.load(sys.stdin):
    chunks = [bytes.fromhex(c) for c in case['chunks']]
    r = Rec(chunks, [term(t) for t in case['schedule']])
    r.set_terminator(term(case['term']))
    for _ in range(len(chunks)):
        r.handle_read()
    t = r.get_terminator()
    out.append({'events': r.events, 'pending': r.ac_in_buffer.hex(),
                'term': t if (t is None or isinstance(t, int)) else {'hex': t.hex()}})
json.dump(out, sys.stdout)
`;

describe('same calls as CPython 3.11 asynchat (differential)', { skip: python === null ? 'python3.11 is not installed' : false }, () => {
  it('identical collectIncomingData/foundTerminator sequences for the same reads', () => {
    const toJson = (t: Terminator) => (t === null || typeof t === 'number' ? t : { hex: Buffer.from(t as Uint8Array).toString('hex') });
    const caseArb = fc.record({
      term: termArb,
      schedule: fc.oneof(fc.constant([] as Terminator[]), fc.array(fc.oneof(termArb, fc.constant(null)), { minLength: 1, maxLength: 4 })),
      stream: streamArb,
      cuts: cutsArb,
    });
    const cases = fc.sample(caseArb, { numRuns: 300, seed: 11 });
    cases.push({ term: bytes('\r\n.\r\n'), schedule: [], stream: bytes('a\r\n.\r\r\n.\r\n\r\n.x\r\n.\r\n'), cuts: [3, 5, 6, 12, 14] });
    const payload = cases.map((c) => ({
      term: toJson(c.term),
      schedule: c.schedule.map(toJson),
      chunks: chunk(c.stream, c.cuts).map((b) => b.toString('hex')),
    }));
    const r = spawnSync(python!, ['-c', PY_HARNESS], { input: JSON.stringify(payload), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as { events: (['c', string] | ['f'])[]; pending: string; term: unknown }[];
    assert.equal(expected.length, cases.length);
    cases.forEach((c, i) => {
      const f = feeder(c.term, c.schedule);
      for (const piece of chunk(c.stream, c.cuts)) f.feed(piece);
      const got = {
        events: f.events.map((e) => (e[0] === 'c' ? ['c', Buffer.from(e[1], 'latin1').toString('hex')] : ['f'])),
        pending: f.acInBuffer.toString('hex'),
        term: toJson(f.getTerminator()),
      };
      assert.deepEqual(got, expected[i], `case ${i}: ${JSON.stringify(payload[i])}`);
    });
  });
});

const PY_OUTPUT_HARNESS = String.raw`
import sys, json, warnings
warnings.simplefilter('ignore')
import asynchat

class Out(asynchat.async_chat):
    def __init__(self):
        asynchat.async_chat.__init__(self)
        self.connected = True
        self.take = 0
        self.events = []
    def send(self, data):
        n = min(self.take, len(data))
        self.events.append(['s', bytes(data).hex(), n])
        return n
    def handle_close(self):
        self.events.append(['x'])
        self.connected = False

out = []
for ops in json.load(sys.stdin):
    o = Out()
    for op in ops:
        k = op[0]
        if k == 'push': o.push(bytes.fromhex(op[1]))
        elif k == 'simple': o.push_with_producer(asynchat.simple_producer(bytes.fromhex(op[1]), op[2]))
        elif k == 'bytes': o.push_with_producer(bytes.fromhex(op[1]))
        elif k == 'cwd': o.close_when_done()
        elif k == 'obs': o.ac_out_buffer_size = op[1]
        elif k == 'take': o.take = op[1]
        elif k == 'send': o.initiate_send()
    out.append(o.events)
json.dump(out, sys.stdout)
`;

describe('same output as CPython 3.11 asynchat (differential)', { skip: python === null ? 'python3.11 is not installed' : false }, () => {
  it('identical send()/handleClose() sequences for the same pushes, producers and socket', () => {
    class Out extends AsyncChat {
      take = 0;
      events: (['s', string, number] | ['x'])[] = [];
      constructor() {
        super();
        this.connected = true;
      }
      override send(data: Uint8Array): number {
        const n = Math.min(this.take, data.length);
        this.events.push(['s', Buffer.from(data).toString('hex'), n]);
        return n;
      }
      override handleClose(): void {
        this.events.push(['x']);
        this.connected = false;
      }
    }
    const hex = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('hex'));
    const op = fc.oneof(
      fc.tuple(fc.constant('push'), hex),
      fc.tuple(fc.constant('simple'), hex, fc.integer({ min: 1, max: 9 })),
      fc.tuple(fc.constant('bytes'), hex),
      fc.tuple(fc.constant('cwd')),
      fc.tuple(fc.constant('obs'), fc.integer({ min: 1, max: 16 })),
      fc.tuple(fc.constant('take'), fc.integer({ min: 0, max: 20 })),
      fc.tuple(fc.constant('send')),
      fc.tuple(fc.constant('send')),
    );
    const cases = fc.sample(fc.array(op, { maxLength: 30 }), { numRuns: 300, seed: 7 }) as unknown[][];
    const r = spawnSync(python!, ['-c', PY_OUTPUT_HARNESS], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as unknown[];
    cases.forEach((ops, i) => {
      const o = new Out();
      for (const step of ops as [string, ...unknown[]][]) {
        const [k, a, b] = step;
        if (k === 'push') o.push(Buffer.from(a as string, 'hex'));
        else if (k === 'simple') o.pushWithProducer(new SimpleProducer(Buffer.from(a as string, 'hex'), b as number));
        else if (k === 'bytes') o.pushWithProducer(Buffer.from(a as string, 'hex'));
        else if (k === 'cwd') o.closeWhenDone();
        else if (k === 'obs') o.acOutBufferSize = a as number;
        else if (k === 'take') o.take = a as number;
        else if (k === 'send') o.initiateSend();
      }
      assert.deepEqual(o.events, expected[i], `case ${i}: ${JSON.stringify(ops)}`);
    });
  });
});
