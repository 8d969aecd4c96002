// npm run build, step 3: tsc compiled src/ and examples/ to dist/src/ and dist/examples/ (the
// CLI imports the examples by the same relative path in both trees). The package root,
// exports["."], is dist/index.js: write it and its types as re-exports of dist/src/index.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));

for (const f of ['src/index.js', 'src/index.d.ts', 'src/cli.js']) {
  if (!existsSync(dist(f))) {
    console.error(`postbuild: dist/${f} is missing; did tsc -p tsconfig.build.json run?`);
    process.exit(1);
  }
}
const banner = '// The package root: everything is exported by ./src/index.js.\n';
writeFileSync(dist('index.js'), `${banner}export * from './src/index.js';\n`);
writeFileSync(dist('index.d.ts'), `${banner}export * from './src/index.js';\n`);
chmodSync(dist('src/cli.js'), 0o755);
