// Facts about the installed package: where its package.json is, and its version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The directory of asyncore's package.json, above src/cli/ or dist/cli/. */
export function packageRoot(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'asyncore') return dir;
      } catch {
        // not ours: keep walking up
      }
    }
    if (dirname(dir) === dir) throw new CliError(`cannot find asyncore's package.json above ${here}`);
  }
}

export function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

