// npm test: every test/**/*.test.ts under Node's test runner, TypeScript loaded by tsx.
// Usage: node scripts/test.mjs [unit|integration|process|<file>...]
//   test/unit/         no descriptors, no sockets
//   test/integration/  loopback sockets in this process
//   test/process/      spawns children (the CLI, the examples, the package, python3.11)
// TEST_LIST=1 prints the files it would run, and runs nothing.
// With no argument all three run in ONE runner, process/ first: its files are the slowest
// (each child starts tsx), so starting them first keeps them off the end of the run.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const TIERS = ['process', 'integration', 'unit'];

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const files = (args.length === 0 ? TIERS : args)
  .flatMap((a) => (TIERS.includes(a) ? collect(join('test', a)) : [a]));
// Anything outside the three tiers (a file not yet sorted into one) still runs.
if (args.length === 0) {
  for (const name of readdirSync('test').sort()) {
    if (TIERS.includes(name)) continue;
    const p = join('test', name);
    if (statSync(p).isDirectory()) files.push(...collect(p));
    else if (name.endsWith('.test.ts')) files.push(p);
  }
}
if (process.env.TEST_LIST) { console.log(files.join("\n")); process.exit(0); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=60000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
