// The package as a user gets it: `npm pack` (which runs the build) → a tarball with dist/,
// types, README, LICENSE, CHANGELOG and no tests; installed into a fresh project, its
// `asyncore` command runs and a TypeScript program importing 'asyncore' type-checks against
// the shipped declarations, compiles and runs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

interface Run { code: number; stdout: string; stderr: string }

/** Run a command to completion (bounded), never throwing on a non-zero exit. */
function run(cmd: string, args: string[], cwd: string, timeout = 60000): Promise<Run> {
  // npm, when it runs `npm test`, exports its own settings to children; the nested npm
  // commands here must behave as a user's would.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: err && code === 1 && !stderr ? String(err.message) : stderr });
    });
  });
}

const CONSUMER_TS = `import {
  AsyncChat, SocketError, Dispatcher, loop, socketpair, socketMap, MSG_DONTWAIT,
  type SocketMap, type Address, type Socket,
} from 'asyncore';
import { SimpleProducer } from 'asyncore/chat';
import { Socket as SubpathSocket, AF_UNIX } from 'asyncore/socket';

// An upper-casing line server on one end of a socketpair, driven by loop() passes.
class Shout extends AsyncChat {
  constructor(sock: Socket, map: SocketMap) {
    super(sock, map);
    this.setTerminator('\\n');
  }
  override collectIncomingData(data: Buffer): void {
    this._collectIncomingData(data);
  }
  override foundTerminator(): void {
    this.push(this._getData().toString('latin1').toUpperCase() + '\\n');
  }
}

const map: SocketMap = new Map();
const [a, b] = socketpair();
const server = new Shout(a, map);
b.sendall(Buffer.from('hello, package\\n'));
let reply = '';
for (let i = 0; i < 100 && !reply.endsWith('\\n'); i++) {
  loop({ map, timeout: 0.05, count: 1 });
  try {
    reply += b.recv(100, MSG_DONTWAIT).toString('latin1');
  } catch (e) {
    if (!(e instanceof SocketError) || e.code !== 'EAGAIN') throw e;
  }
}
server.close();
b.close();
const refused = new SocketError(111, 'connect', ['127.0.0.1', 1] as Address);
const base: typeof Dispatcher = Dispatcher;
const probe = new SubpathSocket(AF_UNIX);
const subpaths = typeof SimpleProducer === 'function' && probe.family === AF_UNIX;
probe.close();
console.log(JSON.stringify({ reply, code: refused.code, message: refused.message, mapSize: map.size, globalSize: socketMap.size, base: base.name, subpaths }));
`;

// A program the declarations must reject: loop() returns void, and timeouts are numbers.
const WRONG_TS = `import { loop } from 'asyncore';
const n: number = loop({ timeout: 'soon' });
console.log(n);
`;

describe('the npm package', { timeout: 120000 }, () => {
  const tmp = tempDir('asyncore-pack-');
  const project = join(tmp.dir, 'consumer');
  let tarball = '';
  let entries: string[] = [];

  before(async () => {
    // Pack a staged copy of the sources, so the build that `npm pack` runs never rewrites the
    // working tree's dist/ under another process (a concurrent test run, an editor's build).
    const stage = join(tmp.dir, 'stage');
    mkdirSync(stage);
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'src', 'scripts']) {
      cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
    const pack = await run('npm', ['pack', '--pack-destination', tmp.dir], stage, 90000);
    assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}\n${pack.stdout}`);
    const tgz = readdirSync(tmp.dir).filter((f) => f.endsWith('.tgz'));
    assert.equal(tgz.length, 1, `one tarball in ${tmp.dir}: ${tgz.join(', ')}`);
    tarball = join(tmp.dir, tgz[0]!);
    const list = await run('tar', ['-tzf', tarball], tmp.dir);
    assert.equal(list.code, 0, list.stderr);
    entries = list.stdout.split('\n').filter(Boolean).map((e) => e.replace(/^package\//, ''));
  });

  after(() => tmp.cleanup());

  it('the tarball has dist/ with types and the command, README, LICENSE, CHANGELOG', () => {
    for (const f of [
      'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md',
      'dist/index.js', 'dist/index.d.ts', 'dist/exports/socket.js', 'dist/exports/chat.d.ts',
      'dist/cli/main.js', 'dist/channels/chat.d.ts', 'dist/reactor/loop.d.ts',
      'dist/examples/echo-server.js', 'dist/examples/http-client.js',
    ]) {
      assert.ok(entries.includes(f), `${f} is in the tarball`);
    }
  });

  it('the tarball has no tests, no TypeScript sources, no bench and no scripts', () => {
    const unwanted = entries.filter((e) =>
      /(^|\/)test\//.test(e) || /\.test\./.test(e) || /(^|\/)bench\//.test(e) || /^scripts\//.test(e) ||
      /^(src|examples)\//.test(e) || (e.endsWith('.ts') && !e.endsWith('.d.ts')) || e.startsWith('node_modules/'));
    assert.deepEqual(unwanted, []);
  });

  it('installs into a fresh project: `npx asyncore --help` and `npx asyncore demo` work, `bench` says it is absent', async () => {
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
    // koffi comes from npm's cache when it can; from the registry otherwise.
    let install = await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--offline'], project, 60000);
    if (install.code !== 0) install = await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], project, 90000);
    assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stderr}`);

    const help = await run('npx', ['--no', '--', 'asyncore', '--help'], project);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: asyncore <command>/);

    const demo = await run('npx', ['--no', '--', 'asyncore', 'demo'], project);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /3 lines sent, 3 echoed back unchanged: yes/);
    assert.match(demo.stdout, /^HTTP\/1\.1 200 OK\r$/m);

    // The benchmark suite stays in the repository: one line saying so, exit 1.
    const bench = await run('npx', ['--no', '--', 'asyncore', 'bench', '--quick'], project);
    assert.equal(bench.code, 1, bench.stderr);
    assert.match(bench.stderr, /^asyncore bench: the benchmark suite is not in this installation .*\n$/);
    assert.equal(bench.stderr.trim().split('\n').length, 1);
  });

  it("a TypeScript program importing 'asyncore' type-checks, compiles and runs; README's example type-checks; a wrong one is rejected", async () => {
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
        outDir: 'out', types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
        // The shipped declarations are checked too.
        skipLibCheck: false,
      },
    };
    writeFileSync(join(project, 'main.ts'), CONSUMER_TS);
    // README's short example is checked against the shipped declarations too (it serves
    // forever, so it is compiled, not run).
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = /^## A short example\n[\s\S]*?^```ts\n([\s\S]*?)^```$/m.exec(readme)?.[1];
    assert.ok(example?.includes("from 'asyncore'"), "README's short example imports 'asyncore'");
    writeFileSync(join(project, 'readme-example.ts'), example!);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['main.ts', 'readme-example.ts'] }, null, 2));
    const tsc = await run(TSC, ['-p', 'tsconfig.json'], project);
    assert.equal(tsc.code, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
    const out = await run(process.execPath, [join('out', 'main.js')], project);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), {
      reply: 'HELLO, PACKAGE\n', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1', mapSize: 0, globalSize: 0, base: 'Dispatcher', subpaths: true,
    });

    writeFileSync(join(project, 'wrong.ts'), WRONG_TS);
    writeFileSync(join(project, 'tsconfig.wrong.json'), JSON.stringify({ ...tsconfig, compilerOptions: { ...tsconfig.compilerOptions, noEmit: true }, files: ['wrong.ts'] }, null, 2));
    const bad = await run(TSC, ['-p', 'tsconfig.wrong.json'], project);
    assert.notEqual(bad.code, 0, 'tsc must reject a program that misuses the API');
    assert.match(bad.stdout + bad.stderr, /wrong\.ts\(2,\d+\): error TS2322/);
  });
});
