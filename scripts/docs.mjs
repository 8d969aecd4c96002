// npm run docs: the API reference, generated from the JSDoc of the public surface
// (src/index.ts) by TypeDoc into docs/ (gitignored; never edited or committed by hand).
// TypeDoc needs TypeScript <= 6 as a peer while this repository compiles with TypeScript 7,
// so it runs from npx's cache with its own TypeScript, not from devDependencies (npm ci
// would refuse the peer conflict).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const args = [
  '--yes', '-p', 'typedoc@0.28', '-p', 'typescript@5.9',
  'typedoc',
  '--tsconfig', 'tsconfig.build.json',
  '--entryPoints', 'src/index.ts',
  '--out', 'docs',
  '--name', 'asyncore',
  '--readme', 'README.md',
  '--excludeInternal',
  '--excludePrivate',
  '--disableSources',
  '--skipErrorChecking',
  ...process.argv.slice(2),
];
const r = spawnSync(npx, args, { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`docs: could not run npx: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
