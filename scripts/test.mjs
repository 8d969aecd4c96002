// npm test: every test/**/*.test.ts under Node's test runner, TypeScript loaded by tsx.
// Usage: node scripts/test.mjs [unit|integration|<file>...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const files = args.length === 0
  ? collect('test')
  : args.flatMap((a) => (a === 'unit' || a === 'integration' ? collect(join('test', a)) : [a]));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=60000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
