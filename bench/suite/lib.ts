// Shared machinery of the benchmark: building the C programs and the servers, the server rows,
// starting a server in its own process (fd limit raised, pinned to CPU 1), running the load
// generator in another (pinned to CPU 0), and reading its JSON result.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SUITE = dirname(fileURLToPath(import.meta.url));
export const BENCH = dirname(SUITE);
export const ROOT = dirname(BENCH);
export const BUILD = join(BENCH, '.build');
export const JS = join(BUILD, 'js');
export const RESULTS = join(BENCH, 'results');

export type ServerMode = 'echo' | 'chat';

/** One benchmark scenario (one file in bench/suite/ each). */
export interface Scenario {
  id: string;
  /** Column heading in the table. */
  title: string;
  /** What is measured, for the notes and the JSON. */
  description: string;
  unit: 'rt/s' | 'MB/s' | 'conn/s' | 'lines/s';
  /** The load result field that holds the measurement. */
  metric: 'rate' | 'mbps';
  serverMode: ServerMode;
  /** Rows left out of this scenario, with the reason (shown in the notes). */
  exclude?: Record<string, string>;
  /** Rows left out unless named in --servers (too slow for the default run), with the reason. */
  optional?: Record<string, string>;
  /** Load generator arguments (without -p/-d/-w/-P). */
  loadArgs(cfg: Config): string[];
  /** Descriptors the server and the client need (the runner raises the limit to this). */
  nofile?(cfg: Config): number;
}

export interface Config {
  quick: boolean;
  runs: number;
  secs: number;
  warmup: number;
  /** Idle connections in the idle scenario. */
  idle: number;
  tsClient: boolean;
  pin: boolean;
  profile: boolean;
}

export interface Env {
  /** The C programs are built: the reference row runs. */
  cc: boolean;
  /** The load generator is the C one (else bench/suite/load-ts.ts). */
  cClient: boolean;
  taskset: boolean;
  nproc: number;
  nofileHard: number;
  python: string | null;
  pythonSkip: string;
  notes: string[];
}

export interface ServerDef {
  id: string;
  label: string;
  /** null: available; otherwise why this row is skipped. */
  skip(env: Env, mode: ServerMode): string | null;
  argv(env: Env, mode: ServerMode, cfg: Config): string[];
}

const node = process.execPath;

/** Server and load generator processes still running (killed if the runner is stopped). */
export const live = new Set<ChildProcess>();

function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

function has(cmd: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function newer(src: string[], out: string): boolean {
  if (!existsSync(out)) return true;
  const t = statSync(out).mtimeMs;
  return src.some((s) => statSync(s).mtimeMs > t);
}

export const SERVERS: ServerDef[] = [
  {
    id: 'c', label: 'C reference (epoll)',
    skip: (env) => (env.cc ? null : 'no C compiler (cc) found'),
    argv: () => [join(BUILD, 'echo-server'), '-b', '1024'],
  },
  ...(['epoll', 'uring', 'poll', 'select'] as const).map((p): ServerDef => ({
    id: p, label: `asyncore ${p}`,
    skip: () => null,
    argv: (_env, mode, cfg) => [node, ...(cfg.profile ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS, 'profiles'), '--cpu-prof-name', `${p}-${mode}-${Date.now()}.cpuprofile`] : []),
      join(JS, 'bench/servers/asyncore-server.js'), '--poller', p, '--mode', mode, ...(cfg.profile ? ['--exit-on-eof'] : [])],
  })),
  {
    id: 'async', label: 'asyncore loopAsync',
    skip: () => null,
    argv: (_env, mode, cfg) => [node, ...(cfg.profile ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS, 'profiles'), '--cpu-prof-name', `async-${mode}-${Date.now()}.cpuprofile`] : []),
      join(JS, 'bench/servers/asyncore-server.js'), '--poller', 'async', '--mode', mode, ...(cfg.profile ? ['--exit-on-eof'] : [])],
  },
  {
    id: 'async-uring', label: 'asyncore loopAsync uring',
    skip: () => null,
    argv: (_env, mode, cfg) => [node, ...(cfg.profile ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS, 'profiles'), '--cpu-prof-name', `async-uring-${mode}-${Date.now()}.cpuprofile`] : []),
      join(JS, 'bench/servers/asyncore-server.js'), '--poller', 'async-uring', '--mode', mode, ...(cfg.profile ? ['--exit-on-eof'] : [])],
  },
  {
    id: 'node', label: 'Node net',
    skip: () => null,
    argv: (_env, mode) => [node, join(JS, 'bench/servers/node-net-server.js'), '--mode', mode],
  },
  ...(['select', 'poll'] as const).map((p): ServerDef => ({
    id: `py-${p}`, label: `CPython asyncore ${p}`,
    skip: (env) => (env.python ? null : env.pythonSkip),
    argv: (env, mode) => [env.python!, join(BENCH, 'servers/asyncore_server.py'), '--poller', p, '--mode', mode],
  })),
];

/** Build what the benchmark runs and find out which rows can run here. */
export function prepare(cfg: Config): Env {
  const notes: string[] = [];
  mkdirSync(BUILD, { recursive: true });
  let cc = has('cc');
  if (cc) {
    for (const name of ['echo-server', 'load']) {
      const src = join(BENCH, 'c', `${name}.c`), out = join(BUILD, name);
      if (!newer([src], out)) continue;
      const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
      if (r.status !== 0) {
        notes.push(`cc failed on bench/c/${name}.c, falling back: ${r.stderr.trim().split('\n')[0]}`);
        cc = false;
      }
    }
  }
  const cClient = cc && !cfg.tsClient;
  if (!cc) notes.push('no C compiler (cc): no C reference row');
  if (!cClient) {
    notes.push('the load generator is the TypeScript client on raw sockets (bench/load-ts.ts); it costs more CPU per message than the C one, so the top rows may be client-bound (see client CPU in the JSON)');
  }

  // Compile the servers (and src/ with them) to plain JS: no loader thread, fewer fds, fast start.
  const inputs = ['bench/servers/asyncore-server.ts', 'bench/servers/node-net-server.ts'];
  const tsc = spawnSync(node, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--ignoreConfig', '--outDir', JS, '--rootDir', ROOT,
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node',
    '--sourceMap', ...inputs], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(join(JS, 'bench/servers/asyncore-server.js'))) {
    throw new Error(`could not compile the benchmark servers:\n${tsc.stdout}${tsc.stderr}`);
  }
  if (tsc.status !== 0) notes.push(`tsc reported errors while compiling the servers (the JS was still emitted): ${tsc.stdout.trim().split('\n')[0]}`);

  let python: string | null = null, pythonSkip = '';
  if (!has('python3.11')) {
    pythonSkip = 'python3.11 not found';
  } else if (spawnSync('python3.11', ['-W', 'ignore', '-c', 'import asyncore, asynchat'], { stdio: 'ignore' }).status !== 0) {
    pythonSkip = 'python3.11 has no asyncore/asynchat';
  } else {
    python = execFileSync('bash', ['-c', 'command -v python3.11'], { encoding: 'utf8' }).trim();
  }
  if (!python) notes.push(`CPython rows skipped: ${pythonSkip}`);

  const nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
  const taskset = cfg.pin && has('taskset') && nproc >= 2;
  if (!taskset) notes.push(cfg.pin ? (nproc < 2 ? 'one CPU: server and load generator share it' : 'taskset not found: server and load generator are not pinned') : 'not pinned (--no-pin)');
  const nofileHard = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || 1024;
  return { cc, cClient, taskset, nproc, nofileHard, python, pythonSkip, notes };
}

export interface Running {
  pid: number;
  port: number;
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** The limit a process started with `ulimit -n` gets: what it needs, within the hard limit. */
export function nofileFor(env: Env, need: number): number {
  return Math.min(env.nofileHard, Math.max(need, 1024));
}

function wrap(env: Env, cpu: number, nofile: number, argv: string[]): string[] {
  const pin = env.taskset ? ['taskset', '-c', String(cpu)] : [];
  return ['-c', `ulimit -n ${nofile} && exec "$@"`, 'bench', ...pin, ...argv];
}

/** Start a server in its own process (CPU 1) and wait for its "PORT n" line. */
export function startServer(env: Env, argv: string[], nofile: number, timeoutMs = 20000): Promise<Running> {
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', wrap(env, 1, nofile, argv), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    track(proc);
    let out = '', err = '', done = false;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const stop = async (): Promise<void> => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.stdin!.end(); // --exit-on-eof servers leave their loop and write their profile
      const t = setTimeout(() => proc.kill('SIGTERM'), argv.includes('--exit-on-eof') ? 5000 : 0);
      const k = setTimeout(() => proc.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(t);
      clearTimeout(k);
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      proc.kill('SIGKILL');
      reject(new Error(`server did not print its port within ${timeoutMs} ms: ${err.trim().slice(-300)}`));
    }, timeoutMs);
    proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ pid: proc.pid!, port: Number(m[1]), proc, stderr: () => err, stop });
      }
      if (out.length > 4096) out = out.slice(-100);
    });
    proc.once('exit', (code, sig) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? sig}) before listening: ${err.trim().slice(-300)}`));
    });
  });
}

export interface LoadResult {
  mode: string; conns: number; idle: number; size: number; secs: number; ops: number; rate: number;
  bytes: number; mbps: number; p50_us: number; p99_us: number; server_cpu: number; server_user: number; client_cpu: number;
  errors: number; error: string;
}

/** Run the load generator (CPU 0) against `port` and return its result, or throw. */
export function runLoad(env: Env, cfg: Config, args: string[], server: Running, nofile: number): Promise<LoadResult> {
  const argv = env.cClient
    ? [join(BUILD, 'load')]
    : [node, '--import', 'tsx', join(SUITE, 'load-ts.ts')];
  const all = [...argv, '-p', String(server.port), '-d', String(cfg.secs), '-w', String(cfg.warmup), '-P', String(server.pid), ...args];
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', wrap(env, 0, nofile, all), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    track(proc);
    let out = '', err = '';
    const limit = setTimeout(() => proc.kill('SIGKILL'), (cfg.secs + cfg.warmup) * 1000 + 120000);
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    proc.once('exit', (code, sig) => {
      clearTimeout(limit);
      const line = out.trim().split('\n').pop() ?? '';
      let res: LoadResult | null = null;
      try {
        res = JSON.parse(line) as LoadResult;
      } catch { /* reported below */ }
      if (res && (code === 0 || res.ops > 0 || res.bytes > 0)) {
        resolve(res);
      } else {
        const why = res?.error || err.trim().split('\n').pop() || `exit ${code ?? sig}`;
        reject(new Error(`load generator failed: ${why}${server.stderr() ? `; server stderr: ${server.stderr().trim().split('\n').slice(-3).join(' | ')}` : ''}`));
      }
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
