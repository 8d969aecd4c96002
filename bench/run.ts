// `npm run bench`: every scenario against every server, one table. `npm run bench -- --quick`
// is a smoke test (< 1 minute); see bench/harness.ts for the other options. A scenario file
// also runs alone: `node --import tsx bench/bulk.ts`.
import { runScenarios } from './harness.js';
import { scenario as pingpong50 } from './pingpong-50.js';
import { scenario as pingpong1000 } from './pingpong-1000.js';
import { scenario as idle } from './idle-10k.js';
import { scenario as bulk } from './bulk.js';
import { scenario as connectRate } from './connect-rate.js';
import { scenario as asynchat } from './asynchat-lines.js';

try {
  await runScenarios([pingpong50, pingpong1000, idle, bulk, connectRate, asynchat], process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}
