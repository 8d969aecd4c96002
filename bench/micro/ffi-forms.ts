// The receive path's argument forms, per call, on an idle socketpair (EAGAIN: the call cost
// without data) and with 64 bytes waiting: recv(2) declared `void *` and given a Buffer,
// against `uintptr_t` given the Number address of native scratch (libc.recvScratch), and the
// two ways to copy a small read out. CPU time per call (user + system); the variants alternate
// in rounds and the ratio is the median of the within-round ratios.
//
// Run: node --import tsx bench/micro/ffi-forms.ts [--calls N]
import { parseArgs } from 'node:util';
import * as libc from '../../src/sys/libc.js';
import { C } from '../../src/sys/constants.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '1000000' } } });
const N = Number(values.calls);
const fds = new Int32Array(2);
if (libc.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0, fds) < 0) throw new Error('socketpair failed');
const [a, b] = [fds[0]!, fds[1]!];
const js = Buffer.allocUnsafe(65536);
const native = libc.scratchOf(65536);
const msg = Buffer.alloc(64, 0x61);
let sink: unknown;

function cpuNs(f: () => void, calls: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) f();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / calls;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

/**
 * `base` and `alt` alternate in 15 short rounds (the machine is shared: a slow stretch hits
 * both); prints each one's median cost and the median of alt/base within a round.
 */
function compare(what: string, base: [string, () => void], alt: [string, () => void]): void {
  const per = Math.max(1000, Math.round(N / 15));
  cpuNs(base[1], per / 10);
  cpuNs(alt[1], per / 10);
  const xs: number[] = [], ys: number[] = [], rs: number[] = [];
  for (let k = 0; k < 15; k++) {
    const first = k % 2 === 0;
    const x = first ? cpuNs(base[1], per) : 0;
    const y = cpuNs(alt[1], per);
    const x2 = first ? x : cpuNs(base[1], per);
    xs.push(x2);
    ys.push(y);
    rs.push(y / x2);
  }
  process.stdout.write(`${what}\n  ${base[0].padEnd(40)} ${median(xs).toFixed(0).padStart(6)} ns\n  ${alt[0].padEnd(40)} ${median(ys).toFixed(0).padStart(6)} ns   ratio ${median(rs).toFixed(3)}\n`);
}

compare('recv(8192) on an empty socket (EAGAIN)',
  ['void * + Buffer', () => { sink = libc.recv(a, js, 8192, 0); }],
  ['uintptr_t + native scratch', () => { sink = libc.recvScratch(a, 8192, 0); }]);
compare('send(64) + recv(8192)',
  ['recv void * + Buffer', () => { libc.send(b, msg, 64, 0); sink = libc.recv(a, js, 8192, 0); }],
  ['recv uintptr_t + native scratch', () => { libc.send(b, msg, 64, 0); sink = libc.recvScratch(a, 8192, 0); }]);
compare('copy 64 bytes out of the scratch',
  ['allocUnsafe + Buffer#copy', () => { const o = Buffer.allocUnsafe(64); native.copy(o, 0, 0, 64); sink = o; }],
  ['allocUnsafe + TypedArray#set', () => { const o = Buffer.allocUnsafe(64); o.set(native.subarray(0, 64)); sink = o; }]);
void sink;
libc.close(a);
libc.close(b);
