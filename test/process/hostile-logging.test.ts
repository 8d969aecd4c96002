// Issue 13, logging: log()/logInfo() and the default handleError write synchronously, so what a
// synchronous loop() logs is neither delayed nor lost when the process exits right after, even
// through a pipe that fills up (EAGAIN waited out); a reader that went away (EPIPE) never ends
// the process. A child process logs; this process reads (slowly, or not at all).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { ROOT, sleep } from './hostile-common.js';

const t = tempDir('asyncore-hostile-log-');
after(() => t.cleanup());

// 4,000 info lines of 200 bytes (800 KB: far more than a pipe holds), a default handleError
// report, 1,000 log() lines, all from inside a synchronous loop(); then process.exit at once.
const CHILD = join(t.dir, 'child.mts');
writeFileSync(CHILD, `
import { Dispatcher, loop, callLater } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};
const d = new Dispatcher();
d.createSocket();
callLater(0, () => {
  for (let i = 0; i < 4000; i++) d.logInfo(String(i).padStart(6, '0') + ' ' + 'i'.repeat(191));
  for (let i = 0; i < 1000; i++) d.log('hit ' + i);
  d.handleError(new Error('boom'));
});
loop({ timeout: 0.01, count: 3 });
process.stderr.write('done\\n');
process.exit(0);
`);

function run() {
  return spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('logging from a synchronous loop()', { timeout: 30000 }, () => {
  it('nothing is lost at exit, even when the reader is slow (a full pipe: EAGAIN waited out)', async () => {
    const child = run();
    child.stdout.pause(); // nobody reads for a while: the pipe fills
    await sleep(1500);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdout.resume();
    const [code] = await once(child, 'close');
    assert.equal(code, 0, Buffer.concat(err).toString());
    const lines = Buffer.concat(out).toString().split('\n');
    const info = lines.filter((l) => l.startsWith('info: '));
    assert.equal(info.length, 4000);
    info.forEach((l, i) => assert.ok(l.startsWith(`info: ${String(i).padStart(6, '0')} `), `line ${i}: ${l.slice(0, 20)}`));
    assert.match(lines.find((l) => l.startsWith('error: ')) ?? '', /^error: uncaptured exception, closing channel .*Error:boom/);
    const errLines = Buffer.concat(err).toString().split('\n');
    assert.equal(errLines.filter((l) => /^log: hit \d+$/.test(l)).length, 1000);
    assert.equal(errLines.at(-2), 'done');
  });

  it('EPIPE on stdout (the reader went away) does not end the process', async () => {
    const child = run();
    child.stdout.destroy(); // closed before the first line
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const [code, signal] = await once(child, 'close');
    assert.equal(signal, null);
    assert.equal(code, 0, Buffer.concat(err).toString());
    const errLines = Buffer.concat(err).toString().split('\n');
    assert.equal(errLines.filter((l) => /^log: hit \d+$/.test(l)).length, 1000, 'stderr still got everything');
    assert.equal(errLines.at(-2), 'done');
  });
});
