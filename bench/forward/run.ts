// Bulk throughput through a port forwarder, per forwarder CPU second: `asyncore forward`
// (loop() on epoll, and loopAsync) against a Node net forwarder (a.pipe(b); b.pipe(a)).
// Each round sends BYTES client → upstream through every forwarder, in a shuffled order; the
// forwarder's CPU time is read from /proc/PID/stat around each transfer. Reported: MiB per
// forwarder CPU second and wall MiB/s, and the median over rounds of the within-round ratio
// to the net forwarder (within a round the machine's load is about the same for all).
// Usage: node --import tsx bench/forward/run.ts [--rounds N] [--mib N]
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import net from 'node:net';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, mib: { type: 'string', default: '256' } } });
const ROUNDS = Number(values.rounds);
const BYTES = Number(values.mib) * 1024 * 1024;
const ROOT = join(import.meta.dirname, '../..');
const TICK = 100; // USER_HZ on Linux

type Child = ChildProcessByStdio<null, Readable, null>;

/** Upstream: counts what arrives on each connection and reports it at EOF. */
const upstream = net.createServer((s) => {
  let n = 0;
  s.on('data', (d: Buffer) => { n += d.length; });
  s.on('end', () => { s.end(); s.emit('counted', n); });
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const upPort = (upstream.address() as net.AddressInfo).port;
let lastUpstream: Promise<number> = Promise.resolve(0);
upstream.on('connection', (s) => {
  lastUpstream = new Promise((r) => s.once('counted', r));
});

async function start(args: string[]): Promise<{ child: Child; port: number }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string];
  child.stdout.resume();
  return { child, port: Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]) };
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICK; // utime, stime
}

/** `p`, or a rejection naming `what` after `seconds`: a stalled forwarder fails the run. */
async function withTimeout<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const CHUNK = Buffer.alloc(1024 * 1024, 0x61);
async function transfer(port: number): Promise<void> {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  for (let sent = 0; sent < BYTES; sent += CHUNK.length) {
    if (!c.write(CHUNK)) await once(c, 'drain');
  }
  c.end();
  c.resume();
  await once(c, 'close');
  const got = await lastUpstream;
  if (got !== BYTES) throw new Error(`upstream got ${got} of ${BYTES} bytes`);
}

const cli = ['--import', 'tsx', 'src/cli/main.ts', 'forward', '--listen', '127.0.0.1:0', '--to', `127.0.0.1:${upPort}`];
const subjects: Record<string, { child: Child; port: number }> = {
  'asyncore forward (epoll)': await start([...cli, '--poller', 'epoll']),
  'asyncore forward (loopAsync)': await start(cli),
  'node net pipe': await start(['--import', 'tsx', 'bench/forward/net-forwarder.ts', String(upPort)]),
};
const names = Object.keys(subjects);
const perCpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const wall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const MiB = BYTES / 1024 / 1024;

for (const name of names) await withTimeout(transfer(subjects[name]!.port), 120, `${name}, warm-up`); // JIT
for (let r = 0; r < ROUNDS; r++) {
  const order = [...names].sort(() => Math.random() - 0.5);
  for (const name of order) {
    const { child, port } = subjects[name]!;
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = performance.now();
    await withTimeout(transfer(port), 120, `${name}, round ${r + 1}`);
    const secs = (performance.now() - t0) / 1000;
    const cpu = Math.max(cpuSeconds(child.pid!) - cpu0, 1 / TICK);
    perCpu[name]!.push(MiB / cpu);
    process.stderr.write(`round ${r + 1} ${name}: ${(MiB / secs).toFixed(0)} MiB/s, ${cpu.toFixed(2)} CPU-s\n`);
    wall[name]!.push(MiB / secs);
  }
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const base = 'node net pipe';
console.log(`bulk ${MiB} MiB client → upstream through a forwarder, ${ROUNDS} rounds (median)`);
console.log('forwarder                       MiB/CPU-s   wall MiB/s   ratio to net (per CPU-s)');
for (const name of names) {
  const ratios = perCpu[name]!.map((v, i) => v / perCpu[base]![i]!);
  console.log(`${name.padEnd(30)}  ${median(perCpu[name]!).toFixed(0).padStart(9)}   ${median(wall[name]!).toFixed(0).padStart(10)}   ${median(ratios).toFixed(2).padStart(6)}`);
}
for (const { child } of Object.values(subjects)) {
  child.kill('SIGTERM');
  await once(child, 'exit');
}
upstream.close();
