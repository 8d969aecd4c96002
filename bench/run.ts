// `npm run bench` (and `asyncore bench`): every scenario of bench/suite/ against every server
// row, one table. `npm run bench -- --quick` is a smoke test (< 1 minute); see
// bench/suite/harness.ts for the other options. A scenario file also runs alone:
// `node --import tsx bench/suite/bulk.ts`.
import { runScenarios } from './suite/harness.js';
import { scenario as pingpong10 } from './suite/pingpong-10.js';
import { scenario as pingpong50 } from './suite/pingpong-50.js';
import { scenario as pingpong1000 } from './suite/pingpong-1000.js';
import { scenario as idle } from './suite/idle-10k.js';
import { scenario as bulk } from './suite/bulk.js';
import { scenario as connectRate } from './suite/connect-rate.js';
import { scenario as asynchat } from './suite/asynchat-lines.js';

try {
  await runScenarios([pingpong10, pingpong50, pingpong1000, idle, bulk, connectRate, asynchat], process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}
