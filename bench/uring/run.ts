// io_uring vs epoll vs the C epoll reference: 64-byte ping-pong, measured per server CPU second.
//
//   node --import tsx bench/uring/run.ts [--rounds 5] [--secs 3] [--conns 50,10] [--strace]
//
// Each round runs every server once per connection count, in a shuffled order, against the C
// load generator (bench/c/load.c, which reads the server's utime+stime from /proc/PID/stat over
// the measured window). A server's score is round trips per server CPU second; the result is
// the median over rounds of the within-round ratio to the C epoll server (bench/c/echo-server.c),
// so drift in the machine's load between rounds cancels out. With --strace (and strace on PATH),
// one more short run per server under `strace -c -f` gives system calls per message.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

const HERE = import.meta.dirname;
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    secs: { type: 'string', default: '3' },
    conns: { type: 'string', default: '50,10' },
    strace: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'uring,epoll,c' },
  },
});
const ROUNDS = Number(values.rounds);
const SECS = Number(values.secs);
const CONNS = values.conns!.split(',').map(Number);
const SERVERS = values.servers!.split(',');

const tmp = mkdtempSync(join(tmpdir(), 'uring-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function compile(name: string): string {
  const src = join(HERE, '..', 'c', `${name}.c`);
  if (!existsSync(src)) throw new Error(`bench/c/${name}.c not found (moved? update bench/uring/run.ts)`);
  const out = join(tmp, name);
  const r = spawnSync('cc', ['-O2', '-o', out, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${src}: ${r.stderr}`);
  return out;
}
const LOAD = compile('load');
const CECHO = compile('echo-server');

type Child = ChildProcessByStdio<null, Readable, Readable>;

function startServer(kind: string, wrap: string[] = []): Promise<{ child: Child; port: number }> {
  const cmd = kind === 'c' ? [CECHO] : [process.execPath, '--import', 'tsx', join(HERE, 'server.ts'), kind];
  const argv = [...wrap, ...cmd];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${kind} server exited (${code}): ${err}`)));
  });
}

async function stop(child: Child): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

interface LoadResult { rate: number; server_cpu: number; ops: number; secs: number; p50_us: number }

function load(port: number, conns: number, pid: number, secs: number, warmup = 1): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(LOAD, ['-p', String(port), '-m', 'pingpong', '-c', String(conns), '-s', '64', '-d', String(secs), '-w', String(warmup), '-P', String(pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load failed (${code}): ${err}${out}`))));
  });
}

function shuffle<T>(a: T[]): T[] {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [b[i], b[j]] = [b[j]!, b[i]!];
  }
  return b;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function measure(kind: string, conns: number): Promise<LoadResult & { perCpu: number }> {
  const { child, port } = await startServer(kind);
  try {
    const r = await load(port, conns, child.pid!, SECS);
    return { ...r, perCpu: r.rate / r.server_cpu };
  } finally {
    await stop(child);
  }
}

/** System calls per round trip: the server under strace -c -f for a short run. */
async function syscallsPerMessage(kind: string, conns: number): Promise<{ perMsg: number; top: string }> {
  const out = join(tmp, `strace-${kind}-${conns}.txt`);
  const { child, port } = await startServer(kind, ["strace", "-c", "-f", "-o", out]);
  let r: LoadResult;
  try {
    r = await load(port, conns, child.pid!, 2, 0);
  } finally {
    // End the traced server itself: strace then writes its summary and exits.
    const done = new Promise((res) => child.once('exit', res));
    const kids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of kids) process.kill(Number(pid), 'SIGKILL');
    if (kids.length === 0) child.kill('SIGTERM');
    await done;
  }
  const text = readFileSync(out, 'utf8');
  const msgs = r.ops; // no warm-up: every round trip of the run is counted
  const calls = new Map<string, number>();
  for (const l of text.split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length >= 5 && /^\d/.test(f[0]!) && f[f.length - 1] !== 'total') calls.set(f[f.length - 1]!, Number(f[3]));
  }
  // The calls of the message path; the rest is mostly Node's start-up and its worker threads.
  const IO = ['recvfrom', 'sendto', 'epoll_wait', 'epoll_pwait', 'epoll_ctl', 'io_uring_enter', 'poll', 'ppoll', 'accept4'];
  let io = 0;
  const parts: string[] = [];
  for (const name of IO) {
    const n = calls.get(name) ?? 0;
    io += n;
    if (n / msgs >= 0.005) parts.push(`${name} ${(n / msgs).toFixed(2)}`);
  }
  return { perMsg: io / msgs, top: parts.join(', ') };
}

async function main(): Promise<void> {
  console.log(`uring bench: ${ROUNDS} rounds x ${SECS} s, 64-byte ping-pong, conns ${CONNS.join('/')}, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`);
  for (const conns of CONNS) {
    const ratios: Record<string, number[]> = {};
    const perCpu: Record<string, number[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const res: Record<string, number> = {};
      for (const kind of shuffle(SERVERS)) {
        const m = await measure(kind, conns);
        res[kind] = m.perCpu;
        (perCpu[kind] ??= []).push(m.perCpu);
      }
      const line = SERVERS.map((k) => `${k} ${Math.round(res[k]!)}/cpu-s`).join('  ');
      for (const k of SERVERS) if (k !== 'c' && res.c) (ratios[k] ??= []).push(res[k]! / res.c);
      console.log(`  conns ${conns} round ${round + 1}: ${line}`);
    }
    for (const k of ROUNDS > 0 ? SERVERS : []) {
      const rel = ratios[k] ? `  ${median(ratios[k]!).toFixed(2)}x C epoll (rounds: ${ratios[k]!.map((x) => x.toFixed(2)).join(' ')})` : '';
      console.log(`conns ${conns} ${k.padEnd(6)} median ${Math.round(median(perCpu[k]!))} round trips per server CPU second${rel}`);
    }
  }
  if (values.strace) {
    if (spawnSync('strace', ['-V']).status !== 0) {
      console.log('strace not found: no system call counts');
      return;
    }
    for (const conns of CONNS) {
      for (const kind of SERVERS) {
        const s = await syscallsPerMessage(kind, conns);
        console.log(`conns ${conns} ${kind.padEnd(6)} ${s.perMsg.toFixed(2)} message-path syscalls per round trip (${s.top})`);
      }
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
