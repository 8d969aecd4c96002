// asyncore bench: runs the repository's benchmark suite.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, parse } from './args.js';
import { packageRoot } from './package-info.js';

export async function bench(args: string[]): Promise<number> {
  const p = parse('bench', args, { quick: { type: 'boolean' } });
  if (!p) return 0;
  const root = packageRoot();
  const runner = join(root, 'bench', 'run.ts');
  if (!existsSync(runner)) {
    throw new CliError('the benchmark suite is not in this installation (bench/run.ts is missing): run `npm run bench` in a clone of the repository');
  }
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...(p.values.quick ? ['--quick'] : [])], { cwd: root, stdio: 'inherit' });
  // The suite handles Ctrl-C itself; we only wait for it.
  const onInt = () => {};
  process.on('SIGINT', onInt);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r, j) => {
      child.once('error', j);
      child.once('exit', (c, s) => r([c, s]));
    });
    if (signal !== null) throw new CliError(`the benchmark suite was stopped by ${signal}`);
    if (code !== 0) throw new CliError(`the benchmark suite failed (exit ${code})`);
  } finally {
    process.off('SIGINT', onInt);
  }
  return 0;
}

