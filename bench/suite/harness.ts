// The benchmark runner: runs scenarios against every server row in rounds (each measurement a
// fresh server process; the order of the servers is shuffled in every round of every
// scenario), prints one table and checks the issue's targets, and writes everything to
// bench/results/<date>.json.
//
// Ratios are the median, over rounds, of the ratio within a round: on a shared VM neighbours
// slow whole stretches of a run down, and two servers measured in the same round share the
// stretch. Figures per server CPU second (rate / (utime+stime of the server process over the
// load window, from /proc/PID/stat)) come first; wall rates are beside them.
//
// Options: --quick (1 short round, 2,000 idle connections: a smoke test, not a measurement),
// --runs N, --secs S, --warmup S, --idle N, --only id,id (scenarios), --servers id,id,
// --ts-client (the TypeScript load generator even when cc exists), --no-pin,
// --profile (only this package's rows, under `node --cpu-prof`; prints where time goes).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Config, type Env, type LoadResult, type Scenario, type ServerDef,
  RESULTS, ROOT, SERVERS, live, median, nofileFor, prepare, runLoad, startServer,
} from './lib.js';

interface Measurement {
  scenario: string;
  server: string;
  run: number;
  result?: LoadResult;
  value?: number;
  error?: string;
}

export function parseConfig(argv: string[]): Config & { only?: string[]; servers?: string[] } {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const num = (name: string, dflt: number): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!(n > 0)) throw new RangeError(`${name} needs a positive number, not ${v}`);
    return n;
  };
  const list = (name: string): string[] | undefined => get(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(['--quick', '--profile', '--ts-client', '--no-pin', '--runs', '--secs', '--warmup', '--idle', '--only', '--servers']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    if (!known.has(a)) throw new RangeError(`unknown option ${a}; options: ${[...known].join(' ')}`);
  }
  return {
    quick, profile,
    runs: num('--runs', quick || profile ? 1 : 7),
    secs: num('--secs', quick ? 0.4 : profile ? 5 : 1.5),
    warmup: num('--warmup', quick ? 0.2 : 0.5),
    idle: num('--idle', quick ? 2000 : 10000),
    tsClient: argv.includes('--ts-client'),
    pin: !argv.includes('--no-pin'),
    only: list('--only'),
    servers: list('--servers') ?? (profile ? ['epoll', 'poll', 'select', 'async'] : undefined),
  };
}

const fmt = (v: number | undefined): string => {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  return v.toFixed(1);
};

function machine(): Record<string, string | number> {
  const sh = (cmd: string): string => {
    try {
      return execFileSync('bash', ['-c', cmd], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  const model = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? '?';
  return {
    nproc: Number(sh('nproc')), cpu: model, kernel: sh('uname -sr'), node: process.version,
    python: sh('python3.11 --version 2>&1 || echo none'), cc: sh('cc --version 2>/dev/null | head -1 || echo none'),
  };
}

/** Self time per function in a .cpuprofile, heaviest first. */
export function summarizeProfile(file: string, top = 20): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[]; timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]!);
    const dt = prof.timeDeltas[i] ?? 0;
    if (!n) continue;
    total += dt;
    const { functionName, url, lineNumber } = n.callFrame;
    let where = url.replace(/^file:\/\//, '');
    where = where.startsWith(ROOT) ? relative(ROOT, where).replace(/^bench\/\.build\/js\//, '').replace(/\.js$/, '.ts(js)') : where;
    const key = `${functionName || '(anonymous)'}  ${where ? `${where}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const f = where || functionName;
    byFile.set(f, (byFile.get(f) ?? 0) + dt);
  }
  const pct = (x: number): string => `${((100 * x) / total).toFixed(1).padStart(5)}%`;
  const lines = [`  self time by function (${(total / 1e6).toFixed(1)} s sampled):`];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(v)}  ${k}`);
  lines.push('  self time by file:');
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 10)) lines.push(`    ${pct(v)}  ${k}`);
  return lines;
}

function newestProfile(prefix: string, since: number): string | null {
  const dir = join(RESULTS, 'profiles');
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f)).filter((f) => statSync(f).mtimeMs >= since);
  files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files[0] ?? null;
}

async function measure(env: Env, cfg: Config, sc: Scenario, def: ServerDef, run: number, log: (s: string) => void): Promise<Measurement> {
  const m: Measurement = { scenario: sc.id, server: def.id, run };
  const nofile = nofileFor(env, sc.nofile?.(cfg) ?? 1024);
  const started = Date.now();
  let server;
  try {
    server = await startServer(env, def.argv(env, sc.serverMode, cfg), nofile);
  } catch (e) {
    m.error = (e as Error).message;
    log(`    ${def.id}: ${m.error}`);
    return m;
  }
  try {
    const r = await runLoad(env, cfg, sc.loadArgs(cfg), server, nofile);
    m.result = r;
    m.value = r[sc.metric];
    if (r.errors > 0) m.error = `${r.errors} client error(s): ${r.error}`;
    log(`    ${def.id.padEnd(9)} ${fmt(m.value).padStart(8)} ${sc.unit}  server cpu ${(100 * r.server_cpu).toFixed(0)}% (user ${(100 * r.server_user).toFixed(0)}%)  client cpu ${(100 * r.client_cpu).toFixed(0)}%  (${((Date.now() - started) / 1000).toFixed(1)} s)${m.error ? `  (${m.error})` : ''}`);
  } catch (e) {
    m.error = (e as Error).message;
    log(`    ${def.id}: ${m.error}`);
  } finally {
    await server.stop();
  }
  if (cfg.profile) {
    const prefix = def.id === 'async' ? 'async-' : `${def.id}-`;
    const f = newestProfile(`${prefix}${sc.serverMode}-`, started);
    if (f) {
      log(`  profile of ${def.label} in ${sc.title}: ${relative(ROOT, f)}`);
      for (const line of summarizeProfile(f)) log(line);
    } else {
      log(`  (no profile written by ${def.id})`);
    }
  }
  return m;
}

interface Target {
  what: string;
  scenario: string;
  num: string;
  den: string;
  /** den in another scenario (for the idle drop). */
  denScenario?: string;
  goal: number;
}

// The issue's table (per server CPU second, median of within-round ratios).
const TARGETS: Target[] = [
  { what: 'ping-pong 50: epoll >= 0.9x C epoll', scenario: 'pingpong-50', num: 'epoll', den: 'c', goal: 0.9 },
  { what: 'ping-pong 50: epoll >= 1.3x CPython asyncore select', scenario: 'pingpong-50', num: 'epoll', den: 'py-select', goal: 1.3 },
  { what: 'ping-pong 50: epoll >= 2x Node net', scenario: 'pingpong-50', num: 'epoll', den: 'node', goal: 2 },
  { what: 'ping-pong 50: select >= 1.2x CPython asyncore select', scenario: 'pingpong-50', num: 'select', den: 'py-select', goal: 1.2 },
  { what: 'ping-pong 50: poll >= 1.2x CPython asyncore poll', scenario: 'pingpong-50', num: 'poll', den: 'py-poll', goal: 1.2 },
  { what: 'ping-pong 10: select >= 1.2x CPython asyncore select', scenario: 'pingpong-10', num: 'select', den: 'py-select', goal: 1.2 },
  { what: 'ping-pong 10: poll >= 1.2x CPython asyncore poll', scenario: 'pingpong-10', num: 'poll', den: 'py-poll', goal: 1.2 },
  { what: 'AsyncChat line echo: select >= 1.2x CPython asynchat select', scenario: 'asynchat-lines', num: 'select', den: 'py-select', goal: 1.2 },
  { what: 'AsyncChat line echo: epoll >= 1.2x CPython asynchat select', scenario: 'asynchat-lines', num: 'epoll', den: 'py-select', goal: 1.2 },
  { what: '50 active + idle: epoll >= 0.9x epoll with 50 alone', scenario: 'idle-10k', num: 'epoll', den: 'epoll', denScenario: 'pingpong-50', goal: 0.9 },
  { what: 'bulk recv(8192): epoll >= 0.8x C', scenario: 'bulk', num: 'epoll', den: 'c', goal: 0.8 },
  { what: 'loopAsync >= 0.95x loop() epoll (ping-pong 50)', scenario: 'pingpong-50', num: 'async', den: 'epoll', goal: 0.95 },
  // Issue 15: the uring poller against the C epoll reference, and at least epoll in every row.
  { what: 'ping-pong 50: uring >= 1.1x C epoll', scenario: 'pingpong-50', num: 'uring', den: 'c', goal: 1.1 },
  { what: 'ping-pong 10: uring >= 1.3x C epoll', scenario: 'pingpong-10', num: 'uring', den: 'c', goal: 1.3 },
  { what: 'ping-pong 50: loopAsync uring >= 1.0x loopAsync epoll', scenario: 'pingpong-50', num: 'async-uring', den: 'async', goal: 1 },
  ...['pingpong-10', 'pingpong-50', 'pingpong-1000', 'bulk', 'connect-rate', 'idle-10k', 'asynchat-lines'].map((scenario): Target => (
    { what: `${scenario}: uring >= 1.0x epoll`, scenario, num: 'uring', den: 'epoll', goal: 1 })),
];

/** Fisher-Yates, in place. */
function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

type Field = 'wall' | 'cpu';
/** A measurement's figure: the wall rate, or the rate per server CPU second. */
function figure(m: Measurement, f: Field): number {
  if (m.value === undefined || !(m.value > 0)) return NaN;
  if (f === 'wall') return m.value;
  return m.result && m.result.server_cpu > 0 ? m.value / m.result.server_cpu : NaN;
}

/** The median over rounds of num/den within each round (NaN when no round has both). */
function ratio(ms: Measurement[], numSc: string, num: string, denSc: string, den: string, f: Field): { r: number; n: number } {
  const pick = (sc: string, srv: string): Map<number, number> => {
    const out = new Map<number, number>();
    for (const m of ms) if (m.scenario === sc && m.server === srv && !m.error) out.set(m.run, figure(m, f));
    return out;
  };
  const a = pick(numSc, num), b = pick(denSc, den);
  const rs: number[] = [];
  for (const [run, v] of a) {
    const w = b.get(run);
    if (w !== undefined && Number.isFinite(v) && Number.isFinite(w) && w > 0) rs.push(v / w);
  }
  return { r: median(rs), n: rs.length };
}

export async function runScenarios(scenarios: Scenario[], argv: string[]): Promise<void> {
  const cfg = parseConfig(argv);
  const out: string[] = [];
  const log = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  const t0 = Date.now();
  // A server in loop() never returns by itself: stopping the runner must stop its children.
  const cleanup = (): void => {
    for (const p of live) p.kill('SIGKILL');
  };
  process.once('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  const env = prepare(cfg);
  const chosen = scenarios.filter((s) => !cfg.only || cfg.only.includes(s.id));
  if (chosen.length === 0) throw new RangeError(`--only matched no scenario; ids: ${scenarios.map((s) => s.id).join(', ')}`);
  const servers = SERVERS.filter((s) => !cfg.servers || cfg.servers.includes(s.id));
  // Node cannot call setrlimit: each process is started under `ulimit -n`, within the hard limit.
  const need = Math.max(...chosen.map((s) => s.nofile?.(cfg) ?? 1024));
  if (need > env.nofileHard) {
    const idle = Math.max(0, env.nofileHard - 1200);
    env.notes.push(`the fd hard limit (${env.nofileHard}) is below the ${need} descriptors needed: idle connections reduced from ${cfg.idle} to ${idle}`);
    cfg.idle = idle;
  } else if (need > 1024) {
    env.notes.push(`fd limit raised with ulimit -n (up to ${need}, hard limit ${env.nofileHard}) for the servers and the load generator`);
  }
  const skips = new Map<string, string>(); // "scenario/server" -> reason
  const load0 = loadavg()[0]!;
  const ms: Measurement[] = [];
  for (let run = 1; run <= cfg.runs; run++) {
    for (const sc of chosen) {
      log(`[round ${run}/${cfg.runs}] ${sc.title}: ${sc.description}`);
      for (const def of shuffle([...servers])) {
        const why = sc.exclude?.[def.id] ?? (cfg.servers?.includes(def.id) ? undefined : sc.optional?.[def.id]) ?? def.skip(env, sc.serverMode);
        if (why) {
          skips.set(`${sc.id}/${def.id}`, why);
          continue;
        }
        ms.push(await measure(env, cfg, sc, def, run, log));
      }
    }
  }
  const load1 = loadavg()[0]!;

  // ---- medians and the table ----
  const med = new Map<string, { value: number; cpuNorm: number; serverCpu: number; clientCpu: number; n: number; errors: string[] }>();
  for (const sc of chosen) {
    for (const def of servers) {
      const mine = ms.filter((m) => m.scenario === sc.id && m.server === def.id);
      const ok = mine.filter((m) => m.value !== undefined && m.value > 0);
      const errors = mine.filter((m) => m.error).map((m) => m.error!);
      if (ok.length === 0) {
        if (mine.length > 0) skips.set(`${sc.id}/${def.id}`, `failed: ${errors[0] ?? 'no result'}`);
        continue;
      }
      med.set(`${sc.id}/${def.id}`, {
        value: median(ok.map((m) => m.value!)),
        cpuNorm: median(ok.map((m) => figure(m, 'cpu')).filter(Number.isFinite)),
        serverCpu: median(ok.map((m) => m.result!.server_cpu)),
        clientCpu: median(ok.map((m) => m.result!.client_cpu)),
        n: ok.length,
        errors,
      });
    }
  }
  const rows = servers.filter((d) => chosen.some((sc) => med.has(`${sc.id}/${d.id}`) || skips.has(`${sc.id}/${d.id}`)));
  const labelW = Math.max(...rows.map((d) => d.label.length), 6) + 2;
  const colW = 17;
  const client = env.cClient ? 'C load generator' : 'TypeScript load generator';
  out.push('');
  out.push(`asyncore benchmark: ${cfg.runs} round${cfg.runs > 1 ? 's' : ''} of ${cfg.secs} s (after ${cfg.warmup} s warm-up) per cell, servers shuffled in every round; ` +
    `server ${env.taskset ? 'on CPU 1' : 'unpinned'}, ${client} ${env.taskset ? 'on CPU 0' : 'unpinned'}`);
  out.push('per CPU-s: median rate per server CPU second; wall: median rate. ratio (x): median over rounds of row / C reference within the round.');
  if (cfg.quick) out.push('QUICK MODE: one short round per cell, 2,000 idle connections: a smoke test, not a measurement.');
  out.push('');
  out.push(''.padEnd(labelW) + chosen.map((sc) => (sc.id === 'idle-10k' ? `50 + ${cfg.idle / 1000}k idle` : sc.title).padEnd(colW)).join(''));
  out.push(''.padEnd(labelW) + chosen.map((sc) => sc.unit.padEnd(colW)).join(''));
  let starred = false;
  const cell = (v: number | undefined, r: number, star: string): string =>
    `${fmt(v)}${star}`.padStart(7) + (Number.isFinite(r) ? `  ${r.toFixed(2)}x` : '');
  for (const def of rows) {
    let perCpu = def.label.padEnd(labelW), wall = '  wall'.padEnd(labelW);
    for (const sc of chosen) {
      const m = med.get(`${sc.id}/${def.id}`);
      if (!m) {
        perCpu += (skips.get(`${sc.id}/${def.id}`)?.startsWith('failed') ? 'failed' : 'n/a').padEnd(colW);
        wall += ''.padEnd(colW);
        continue;
      }
      const star = m.serverCpu >= 0 && m.serverCpu < 0.8 ? '*' : '';
      starred ||= star !== '';
      const rc = def.id === 'c' ? NaN : ratio(ms, sc.id, def.id, sc.id, 'c', 'cpu').r;
      const rw = def.id === 'c' ? NaN : ratio(ms, sc.id, def.id, sc.id, 'c', 'wall').r;
      perCpu += (Number.isFinite(m.cpuNorm) ? cell(m.cpuNorm, rc, ' ') : '-').padEnd(colW);
      wall += cell(m.value, rw, star).padEnd(colW);
    }
    out.push(perCpu.trimEnd());
    out.push(wall.trimEnd());
  }
  out.push('');
  out.push('per server CPU-s: each run\'s rate divided by the CPU share the server process used while measured, i.e. the rate it');
  out.push('  would reach if it had its CPU to itself; it is the steadier figure when other processes share the CPUs.');
  if (starred) out.push('* the server used < 80% of its CPU while measured: not server-bound (client-bound, latency-bound, or CPU taken by other processes)');
  out.push('');

  // ---- targets ----
  const targets: { what: string; cpuNorm: number | null; wall: number | null; rounds: number; goal: number; met: boolean | null }[] = [];
  const tgt = TARGETS.filter((t) => chosen.some((s) => s.id === t.scenario) && (!t.denScenario || chosen.some((s) => s.id === t.denScenario)));
  if (tgt.length > 0) {
    const verdict = (v: number, goal: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x ${v >= goal ? 'met' : `missed by ${(100 * (1 - v / goal)).toFixed(0)}%`}` : '-');
    out.push(`${'Targets (median of within-round ratios)'.padEnd(62)} ${'per server CPU-s'.padEnd(22)} wall`);
    for (const t of tgt) {
      const c = ratio(ms, t.scenario, t.num, t.denScenario ?? t.scenario, t.den, 'cpu');
      const w = ratio(ms, t.scenario, t.num, t.denScenario ?? t.scenario, t.den, 'wall');
      if (c.n === 0 && w.n === 0) {
        out.push(`  ${t.what.padEnd(60)} not measured`);
        targets.push({ what: t.what, cpuNorm: null, wall: null, rounds: 0, goal: t.goal, met: null });
        continue;
      }
      targets.push({ what: t.what, cpuNorm: Number.isFinite(c.r) ? c.r : null, wall: Number.isFinite(w.r) ? w.r : null, rounds: c.n, goal: t.goal, met: Number.isFinite(c.r) ? c.r >= t.goal : null });
      out.push(`  ${t.what.padEnd(60)} ${verdict(c.r, t.goal).padEnd(22)} ${verdict(w.r, t.goal)}`);
    }
    out.push('');
  }

  // ---- notes ----
  const notes = [...env.notes];
  for (const [k, why] of skips) {
    if (!why.startsWith('failed')) continue;
    notes.push(`${k}: ${why}`);
  }
  const reasons = new Map<string, Set<string>>();
  for (const [k, why] of skips) {
    if (why.startsWith('failed')) continue;
    const [scn, srv] = k.split('/');
    const key = `${srv}: ${why}`;
    if (!reasons.has(key)) reasons.set(key, new Set());
    reasons.get(key)!.add(scn!);
  }
  for (const [k, scs] of reasons) notes.push(`n/a ${k} (${[...scs].join(', ')})`);
  for (const [k, m] of med) if (m.errors.length > 0) notes.push(`${k}: ${m.errors.length} run(s) reported client errors, e.g. ${m.errors[0]}`);
  if (chosen.some((s) => s.id === 'asynchat-lines')) notes.push('asynchat column: the C reference is a byte echo (no line parsing), Node net splits on \\n');
  notes.push(`load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end (anything above ~0 means other processes shared the two CPUs)`);
  for (const n of notes) out.push(`note: ${n}`);

  const mach = machine();
  out.push(`machine: ${mach.nproc} CPUs, ${mach.cpu}, ${mach.kernel}, node ${mach.node}, ${mach.python}; took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS, `${cfg.profile ? 'profile' : cfg.quick ? 'quick' : 'bench'}-${stamp}.json`);
  writeFileSync(file, JSON.stringify({
    date: new Date().toISOString(), machine: mach, config: cfg, loadavg: [load0, load1], notes,
    scenarios: chosen.map(({ id, title, description, unit, metric, serverMode }) => ({ id, title, description, unit, metric, serverMode })),
    servers: rows.map(({ id, label }) => ({ id, label })),
    medians: Object.fromEntries(med), targets, skipped: Object.fromEntries(skips), measurements: ms,
  }, null, 2));
  out.push(`results: ${relative(process.cwd(), file)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Run `scenarios` when `url` is the program node was started with (a scenario file alone). */
export async function runIfMain(url: string, scenarios: Scenario[]): Promise<void> {
  if (process.argv[1] && fileURLToPath(url) === process.argv[1]) {
    await runScenarios(scenarios, process.argv.slice(2)).catch((e: unknown) => {
      process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    });
  }
}
