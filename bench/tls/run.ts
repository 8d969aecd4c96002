// TLS benchmark: handshakes/s, 64-byte ping-pong and bulk echo, per server CPU second, for
// the asyncore sslChannel server, Node's tls and CPython asyncore with ssl. Each round starts
// every server afresh in a shuffled order; a server's CPU (utime+stime from /proc/PID/stat)
// is read around the load window; the table shows the median of the rounds' ratios.
// Usage: node --import tsx bench/tls/run.ts [--rounds N] [--seconds S] [--only handshake,pingpong,bulk]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { makePki } from '../../test/fixtures/tls-ca.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' }, only: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const pki = makePki();
const ca = readFileSync(pki.caCert);
const here = import.meta.dirname;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

interface ServerRow { name: string; cmd: string; args: string[] }
const SERVERS: ServerRow[] = [
  { name: 'asyncore sslChannel', cmd: process.execPath, args: ['--import', 'tsx', join(here, 'asyncore-tls-server.ts'), pki.serverCert, pki.serverKey] },
  { name: 'Node tls', cmd: process.execPath, args: ['--import', 'tsx', join(here, 'node-tls-server.ts'), pki.serverCert, pki.serverKey] },
];
if (spawnSync('python3.11', ['-c', 'import asyncore, ssl'], { stdio: 'ignore' }).status === 0) {
  SERVERS.push({ name: 'CPython asyncore+ssl', cmd: 'python3.11', args: [join(here, 'asyncore_tls_server.py'), pki.serverCert, pki.serverKey] });
}

async function start(row: ServerRow): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(row.cmd, row.args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (c) => reject(new Error(`${row.name} exited ${c}`)));
  });
  return { child, port };
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

function connect(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }, () => resolve(s));
    s.once('error', reject);
  });
}

type Load = (port: number, running: () => boolean) => Promise<number>;

// Handshakes: 16 loops of connect, handshake, one byte echoed, close.
const handshake: Load = async (port, running) => {
  let n = 0;
  const one = async (): Promise<void> => {
    while (running()) {
      const s = await connect(port);
      await new Promise<void>((resolve) => { s.once('data', () => resolve()); s.write('x'); });
      s.destroy();
      n++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, one));
  return n;
};

// Ping-pong: 16 connections, one 64-byte message in flight each.
const pingpong: Load = async (port, running) => {
  let n = 0;
  const msg = Buffer.alloc(64, 0x61);
  const one = async (): Promise<void> => {
    const s = await connect(port);
    s.setNoDelay(true);
    await new Promise<void>((resolve) => {
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got < 64) return;
        got -= 64;
        n++;
        if (running()) s.write(msg);
        else { s.destroy(); resolve(); }
      });
      s.write(msg);
    });
  };
  await Promise.all(Array.from({ length: 16 }, one));
  return n;
};

// Bulk: 4 connections each keeping up to 4 MiB in flight in 256 KiB writes; bytes echoed back.
const bulk: Load = async (port, running) => {
  let bytes = 0;
  const chunk = Buffer.alloc(256 * 1024, 0x62);
  const one = async (): Promise<void> => {
    const s = await connect(port);
    await new Promise<void>((resolve) => {
      let sent = 0, got = 0;
      const pump = (): void => {
        while (running() && sent - got < 4 * 1024 * 1024) { sent += chunk.length; if (!s.write(chunk)) break; }
      };
      s.on('drain', pump);
      s.on('data', (d: Buffer) => {
        got += d.length;
        bytes += d.length;
        if (running()) pump();
        else if (got >= sent) { s.destroy(); resolve(); }
      });
      pump();
    });
  };
  await Promise.all(Array.from({ length: 4 }, one));
  return bytes;
};

const SCENARIOS: Array<[string, Load, (n: number, cpu: number) => string]> = [
  ['handshake', handshake, (n, cpu) => `${(n / cpu).toFixed(0)} handshakes/CPU-s`],
  ['pingpong', pingpong, (n, cpu) => `${(n / cpu).toFixed(0)} round trips/CPU-s`],
  ['bulk', bulk, (n, cpu) => `${(n / cpu / 1048576).toFixed(1)} MiB/CPU-s`],
];

function shuffle<T>(a: T[]): T[] {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [b[i], b[j]] = [b[j]!, b[i]!]; }
  return b;
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

const only = values.only?.split(',');
for (const [name, load, fmt] of SCENARIOS) {
  if (only && !only.includes(name)) continue;
  const perRound: Array<Map<string, number>> = [];
  const raw = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    const rates = new Map<string, number>();
    for (const row of shuffle(SERVERS)) {
      const { child, port } = await start(row);
      try {
        // Warm-up (JIT, first handshakes), then the measured window.
        let warm = true;
        setTimeout(() => { warm = false; }, 500);
        await load(port, () => warm);
        const c0 = cpuSeconds(child.pid!);
        let on = true;
        setTimeout(() => { on = false; }, SECONDS * 1000);
        const n = await load(port, () => on);
        const cpu = cpuSeconds(child.pid!) - c0;
        rates.set(row.name, n / cpu);
        (raw.get(row.name) ?? raw.set(row.name, []).get(row.name)!).push(n / cpu);
        process.stderr.write(`  ${name} round ${r + 1} ${row.name}: ${fmt(n, cpu)} (${n} in ${SECONDS} s, server CPU ${cpu.toFixed(2)} s)\n`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((res) => child.once('exit', res));
      }
    }
    perRound.push(rates);
  }
  const ours = 'asyncore sslChannel';
  console.log(`\n${name}: median per server CPU second, and the median of within-round ratios`);
  for (const row of SERVERS) {
    const ratio = row.name === ours ? '' : `   asyncore/${row.name} = ${median(perRound.map((m) => m.get(ours)! / m.get(row.name)!)).toFixed(2)}x`;
    const unit = fmt(median(raw.get(row.name)!), 1);
    console.log(`  ${row.name.padEnd(22)} ${unit}${ratio}`);
  }
}
