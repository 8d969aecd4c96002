// `npm run bench` (and `asyncore bench`): every scenario of bench/suite/ against every server
// row, one table; then the TLS, port-forwarder and io_uring runners, each its own table (they
// have their own server rows: Node `tls`, CPython asyncore+ssl, a Node pipe forwarder, the C
// epoll reference). `npm run bench -- --quick` is a smoke test; `--only id,id` picks suite
// scenarios and/or `tls`, `forward`, `uring`; see bench/suite/harness.ts for the other options.
// A scenario file also runs alone: `node --import tsx bench/suite/bulk.ts`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runScenarios } from './suite/harness.js';
import { scenario as pingpong10 } from './suite/pingpong-10.js';
import { scenario as pingpong50 } from './suite/pingpong-50.js';
import { scenario as pingpong1000 } from './suite/pingpong-1000.js';
import { scenario as idle } from './suite/idle-10k.js';
import { scenario as bulk } from './suite/bulk.js';
import { scenario as connectRate } from './suite/connect-rate.js';
import { scenario as asynchat } from './suite/asynchat-lines.js';

/** The runners with tables of their own, and their arguments for a full run and for --quick. */
const RUNNERS: Record<string, { file: string; full: string[]; quick: string[] }> = {
  tls: { file: 'tls/run.ts', full: [], quick: ['--rounds', '1', '--seconds', '1'] },
  forward: { file: 'forward/run.ts', full: [], quick: ['--rounds', '1', '--mib', '64'] },
  uring: { file: 'uring/run.ts', full: ['--strace'], quick: ['--rounds', '1', '--secs', '1'] },
};

const argv = process.argv.slice(2);
const at = argv.indexOf('--only');
const only = at >= 0 ? (argv[at + 1] ?? '').split(',').filter(Boolean) : null;
const runners = Object.keys(RUNNERS).filter((id) => (only === null ? !argv.includes('--profile') : only.includes(id)));
const scenarioIds = only?.filter((id) => !(id in RUNNERS)) ?? null;
const suiteArgv = at >= 0 && scenarioIds !== null ? [...argv.slice(0, at), '--only', scenarioIds.join(','), ...argv.slice(at + 2)] : argv;

try {
  if (scenarioIds === null || scenarioIds.length > 0) {
    await runScenarios([pingpong10, pingpong50, pingpong1000, idle, bulk, connectRate, asynchat], suiteArgv);
  }
  const quick = argv.includes('--quick');
  for (const id of runners) {
    const r = RUNNERS[id]!;
    process.stdout.write(`\n== ${id} (bench/${r.file}) ==\n`);
    const res = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, r.file), ...(quick ? r.quick : r.full)], { stdio: 'inherit' });
    if (res.status !== 0) throw new Error(`bench/${r.file} failed (exit ${res.status ?? res.signal})`);
  }
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}
