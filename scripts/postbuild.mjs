// npm run build, step 3: tsc compiled src/ to dist/ (rootDir src, so dist/index.js is the
// package root). Make the command executable.
import { chmodSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('postbuild: dist/cli/main.js is missing; did tsc -p tsconfig.build.json run?');
  process.exit(1);
}
chmodSync(cli, 0o755);
