// npm run soak [-- --seconds S --connections N --poller epoll|uring]: 10,000 echoing connections
// for 60 s by default, served by loop() with epoll unless told.
// Reports the server's RSS, heap and fd count before and after; fails if memory is not flat,
// fds do not return to their baseline, or any echo came back wrong.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '10000' },
    poller: { type: 'string', default: 'epoll' },
  },
});
const seconds = Number(values.seconds);
let conns = Number(values.connections);
if (!(seconds > 0) || !(conns > 0)) {
  console.error('soak: --seconds and --connections must be positive numbers');
  process.exit(2);
}
// Each side needs one fd per connection plus a few; stay within this process's soft limit.
const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
if (conns > limit - 64) {
  console.log(`soak: fd limit ${limit} allows ${limit - 64} connections, not ${conns}; using ${limit - 64}`);
  conns = limit - 64;
}

type Line = Record<string, number | string>;
function lines(child: ChildProcess, onLine: (l: Line) => void): void {
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try { onLine(JSON.parse(text) as Line); } catch { process.stdout.write(`  ${text}\n`); }
  });
}

const tsx = ['--import', 'tsx'];
const server = spawn(process.execPath, ['--expose-gc', ...tsx, join(here, 'soak-server.ts'), values.poller!], { stdio: ['pipe', 'pipe', 'inherit'] });
const reports = new Map<string, Line>();
const waiters = new Map<string, (l: Line) => void>();
lines(server, (l) => {
  reports.set(String(l.tag), l);
  waiters.get(String(l.tag))?.(l);
});
const next = (tag: string): Promise<Line> => new Promise((res) => {
  const have = reports.get(tag);
  if (have) res(have); else waiters.set(tag, res);
});
const timeout = setTimeout(() => { console.error('soak: timed out'); server.kill('SIGKILL'); process.exit(1); }, (seconds + 180) * 1000);

const { port } = await next('listening');
server.stdin!.write('report start\n');
const base = await next('start');
const t0 = performance.now();
const client = spawn(process.execPath, [...tsx, join(here, 'soak-client.ts'), String(port), String(conns), String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
let done: Line | undefined;
let ticks = 0;
const warmAt = Math.max(1, Math.floor(seconds / 4));
lines(client, (l) => {
  if (l.tag === 'connected') console.log(`soak: ${l.connected} connections up after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (l.tag === 'tick' && ++ticks === warmAt) server.stdin!.write('report warm\n');
  if (l.tag === 'deadline') {
    // Measure the server with every connection still open, then let the client go.
    server.stdin!.write('report end\n');
    void next('end').then(() => client.stdin!.end('go\n'));
  }
  if (l.tag === 'done') done = l;
});
await new Promise((res) => client.on('exit', res));
const warm = await next('warm');
const end = await next('end');
// Give the server a moment to see every client close, then measure fds again.
let after: Line = end;
for (let i = 0; i < 50 && Number(after.channels) > 2 /* listener + stdin */; i++) {
  await new Promise((r) => setTimeout(r, 100));
  reports.delete('after');
  server.stdin!.write('report after\n');
  after = await next('after');
}
server.stdin!.write('quit\n');
await new Promise((res) => server.on('exit', res));
clearTimeout(timeout);

const mb = (n: number | string): string => `${(Number(n) / 1048576).toFixed(1)} MiB`;
console.log(`soak: ${conns} connections, ${seconds} s, ${done?.roundTrips ?? 0} round trips (${Math.round(Number(done?.roundTrips ?? 0) / seconds)}/s)`);
console.log('            rss        heap       fds   channels');
for (const [name, l] of [['start', base], ['warm', warm], ['end', end], ['after', after]] as const) {
  console.log(`  ${name.padEnd(6)} ${mb(l.rss).padStart(10)} ${mb(l.heapUsed).padStart(10)} ${String(l.fds).padStart(7)} ${String(l.channels).padStart(8)}`);
}
const problems: string[] = [];
if (!done) problems.push('the client did not finish');
else {
  if (Number(done.connected) < conns) problems.push(`only ${done.connected}/${conns} connections were established`);
  if (Number(done.corrupt) > 0) problems.push(`${done.corrupt} echoes came back wrong`);
  if (Number(done.closedEarly) > 0) problems.push(`${done.closedEarly} connections closed early`);
}
const heapGrowth = Number(end.heapUsed) - Number(warm.heapUsed);
const rssGrowth = Number(end.rss) - Number(warm.rss);
if (heapGrowth > 16 * 1048576) problems.push(`heap grew by ${mb(heapGrowth)} between warm-up and end`);
if (rssGrowth > Math.max(64 * 1048576, Number(warm.rss) * 0.25)) problems.push(`RSS grew by ${mb(rssGrowth)} between warm-up and end`);
if (Number(after.fds) !== Number(base.fds)) problems.push(`server fds ${after.fds} after the clients left, ${base.fds} at start`);
console.log(`soak: heap ${heapGrowth >= 0 ? '+' : ''}${mb(heapGrowth)}, rss ${rssGrowth >= 0 ? '+' : ''}${mb(rssGrowth)} from warm-up to end`);
if (problems.length) {
  for (const p of problems) console.error(`soak: FAIL: ${p}`);
  process.exit(1);
}
console.log('soak: ok');
