// asynchat input buffering is linear: the same bytes in small or large reads cost the same per
// byte, plus a small fixed cost per read. handleRead is driven directly, with recv()
// overridden to hand out views of a prepared stream, so only AsyncChat is timed (no sockets,
// no copies in recv).
//
//   body:  a 16 MiB message ending in '\r\n.\r\n' (terminator '\r\n.\r\n'), as an SMTP DATA
//          phase receives it.
//   lines: 16 MiB of 64-byte '\r\n' lines, so each 64 KiB read holds ~1000 messages (CPython
//          re-copies the rest of its buffer after each one).
//
// Two collectors: "scan" counts the bytes handed to collectIncomingData (AsyncChat's own work:
// buffering, searching, slicing); "+join" keeps them with _collectIncomingData and joins each
// message with _getData, as a real protocol does. With python3.11 on PATH, CPython's asynchat
// runs the "+join" workload too (--no-python to skip).
//
// Run: node --import tsx bench/micro/asynchat-buffering.ts [--quick] [--no-python]
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AsyncChat } from '../../src/channels/chat.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const withPython = !process.argv.includes('--no-python');
const SIZE = (quick ? 4 : 16) * MiB;
const RUNS = quick ? 3 : 7;
const READS = [1024, 4096, 16384, 65536];

// A full collection before each timed run, so one run's 16 MiB message is not collected inside
// the next run's timing (which would land on whichever row comes next).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function bodyStream(size: number): Buffer {
  const b = Buffer.alloc(size, 'x');
  // 80-byte lines, so the scanner keeps meeting the terminator's first bytes.
  for (let i = 78; i < size - 5; i += 80) b.write('\r\n', i - 2, 'latin1');
  b.write('\r\n.\r\n', size - 5, 'latin1');
  return b;
}

function linesStream(size: number): Buffer {
  const line = Buffer.from('y'.repeat(62) + '\r\n');
  return Buffer.concat(Array.from({ length: size / line.length }, () => line));
}

class Bench extends AsyncChat {
  stream: Buffer = Buffer.alloc(0);
  pos = 0;
  readSize = 65536;
  keep = true;
  messages = 0;
  bytes = 0;

  override recv(_n: number): Buffer {
    const chunk = this.stream.subarray(this.pos, this.pos + this.readSize);
    this.pos += chunk.length;
    return chunk;
  }

  override collectIncomingData(data: Buffer): void {
    if (this.keep) this._collectIncomingData(data);
    else this.bytes += data.length;
  }

  override foundTerminator(): void {
    if (this.keep) this.bytes += this._getData().length;
    this.messages++;
  }
}

function runOnce(stream: Buffer, terminator: string, readSize: number, keep: boolean): { ms: number; messages: number; bytes: number } {
  const c = new Bench();
  c.setTerminator(terminator);
  c.stream = stream;
  c.readSize = readSize;
  c.acInBufferSize = readSize;
  c.keep = keep;
  gc();
  const t0 = performance.now();
  while (c.pos < stream.length) c.handleRead();
  const ms = performance.now() - t0;
  return { ms, messages: c.messages, bytes: c.bytes };
}

/**
 * Best time per (read size, collector), the configurations interleaved round by round so that
 * background load hits every row alike.
 */
function bestTimes(stream: Buffer, term: string, reads: number[], keeps: boolean[], expectMessages: number, expectBytes: number): number[][] {
  const best = reads.map(() => keeps.map(() => Infinity));
  const run = (read: number, keep: boolean) => {
    const r = runOnce(stream, term, read, keep);
    if (r.messages !== expectMessages || r.bytes !== expectBytes) {
      throw new Error(`${read}-byte reads: ${r.messages} messages of ${r.bytes} bytes, expected ${expectMessages} of ${expectBytes}`);
    }
    return r.ms;
  };
  for (const read of reads) for (const keep of keeps) run(read, keep); // warm up every path
  for (let round = 0; round < RUNS; round++) {
    reads.forEach((read, i) => keeps.forEach((keep, j) => {
      best[i]![j] = Math.min(best[i]![j]!, run(read, keep));
    }));
  }
  return best;
}

const PY = String.raw`
import sys, time, warnings
warnings.simplefilter('ignore')
import asynchat
kind, size, read, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if kind == 'body':
    b = bytearray(b'x' * size)
    for i in range(78, size - 5, 80):
        b[i-2:i] = b'\r\n'
    b[size-5:] = b'\r\n.\r\n'
    stream, term = bytes(b), b'\r\n.\r\n'
else:
    stream, term = (b'y' * 62 + b'\r\n') * (size // 64), b'\r\n'
class B(asynchat.async_chat):
    def __init__(self):
        asynchat.async_chat.__init__(self)
        self.pos = 0
        self.n = 0
    def recv(self, n):
        c = stream[self.pos:self.pos + read]
        self.pos += len(c)
        return c
    def collect_incoming_data(self, d):
        self._collect_incoming_data(d)
    def found_terminator(self):
        self.n += len(self._get_data())
best = None
for _ in range(runs):
    c = B()
    c.set_terminator(term)
    t0 = time.perf_counter()
    while c.pos < len(stream):
        c.handle_read()
    dt = (time.perf_counter() - t0) * 1000
    best = dt if best is None else min(best, dt)
print(best)
`;

function python(): string | null {
  if (!withPython) return null;
  const r = spawnSync('python3.11', ['-c', 'import asynchat'], { stdio: 'ignore' });
  return r.status === 0 ? 'python3.11' : null;
}

function pyMs(exe: string, kind: string, readSize: number): number | null {
  const r = spawnSync(exe, ['-c', PY, kind, String(SIZE), String(readSize), String(quick ? 1 : 3)], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

const py = python();
const col = (n: number | null, w: number) => (n === null ? 'n/a' : n.toFixed(n >= 100 ? 0 : 1)).padStart(w);
const mbps = (ms: number, bytes = SIZE) => bytes / MiB / (ms / 1000);

for (const [kind, title, stream, term, messages, payload] of [
  ['body', `${SIZE / MiB} MiB body ending in \\r\\n.\\r\\n, terminator '\\r\\n.\\r\\n'`, bodyStream(SIZE), '\r\n.\r\n', 1, SIZE - 5],
  ['lines', `${SIZE / MiB} MiB of 64-byte lines, terminator '\\r\\n'`, linesStream(SIZE), '\r\n', SIZE / 64, (SIZE / 64) * 62],
] as const) {
  console.log(`\n${title}; MB/s of input, best of ${RUNS}${py ? ' (CPython: best of 3)' : ''}`);
  console.log(`     read     reads    scan ms   scan MB/s   +join ms  +join MB/s${py ? '  CPython ms  CPython MB/s' : ''}`);
  const best = bestTimes(stream, term, READS, [false, true], messages, payload);
  READS.forEach((read, i) => {
    const [scan, join] = best[i]! as [number, number];
    const pms = py ? pyMs(py, kind, read) : null;
    const pyCols = py ? `${col(pms, 12)} ${col(pms === null ? null : mbps(pms), 12)}` : '';
    console.log(`${String(read / 1024).padStart(5)} KiB ${String(Math.ceil(SIZE / read)).padStart(9)} ${col(scan, 10)} ${col(mbps(scan), 11)} ${col(join, 10)} ${col(mbps(join), 11)}${pyCols}`);
  });
}

// Linear means: twice the bytes in the same small reads take twice the time (a buffer re-joined
// or re-scanned on every read would take four times as long).
console.log(`\nscaling: the body in 1 KiB reads, growing (scan); best of ${RUNS}`);
console.log('     body       ms   ns/byte');
for (const mib of quick ? [1, 2, 4] : [4, 8, 16, 32]) {
  const [[ms]] = bestTimes(bodyStream(mib * MiB), '\r\n.\r\n', [1024], [false], 1, mib * MiB - 5) as [[number]];
  console.log(`${String(mib).padStart(5)} MiB ${col(ms, 8)} ${(ms * 1e6 / (mib * MiB)).toFixed(2).padStart(9)}`);
}
