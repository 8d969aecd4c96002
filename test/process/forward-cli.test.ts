// `asyncore forward` as a program: exit codes and help, memory held bounded by back-pressure
// (the forwarder child's RSS, from /proc/PID/status), and curl through it to a Python
// http.server.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import net from 'node:net';
import { checkLeaks, tempDir, firstLine, stopChild, type Child } from '../helpers.js';
import { repeatedPatternHash } from '../fixtures/pattern.js';

const CLI = join(import.meta.dirname, '../../src/cli/main.ts');
const MiB = 1024 * 1024;

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
const children: ChildProcessByStdio<null, Readable, Readable>[] = [];
const dirs: { cleanup(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const c of children.splice(0)) {
    const closed = c.stdout.closed && c.stderr.closed ? Promise.resolve() : once(c, 'close');
    await stopChild(c);
    await closed; // the pipes' descriptors go with 'close', not 'exit'
  }
  for (const d of dirs.splice(0)) d.cleanup();
});
checkLeaks(); // after the cleanup hook: hooks run in order

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start `asyncore forward --listen 127.0.0.1:0 --to 127.0.0.1:PORT ...`; its port from the first line. */
async function startForwarder(toPort: number, extra: string[] = []): Promise<{ child: Child; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'forward', '--listen', '127.0.0.1:0', '--to', `127.0.0.1:${toPort}`, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const line = await firstLine(child);
  const m = /^port forwarder listening on 127\.0\.0\.1:(\d+), forwarding to 127\.0\.0\.1:(\d+) \(/.exec(line);
  assert.ok(m, line);
  assert.equal(Number(m[2]), toPort);
  return { child, port: Number(m[1]) };
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]);
}

const PATTERN = randomBytes(MiB + 7);

/** Write `total` bytes of the pattern to `sock`, honouring back-pressure; then end it. */
async function writePattern(sock: net.Socket, total: number, progress: { written: number }): Promise<void> {
  while (progress.written < total) {
    const off = progress.written % PATTERN.length;
    const chunk = PATTERN.subarray(off, off + Math.min(PATTERN.length - off, total - progress.written));
    progress.written += chunk.length;
    if (!sock.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          sock.off('drain', done);
          sock.off('close', done);
          resolve();
        };
        sock.on('drain', done);
        sock.on('close', done);
      });
      if (sock.destroyed) return;
    }
  }
  sock.end();
}

function patternHash(total: number): string {
  return repeatedPatternHash(PATTERN, total);
}

/** Count and hash what `sock` receives until it ends. */
function drainInto(sock: net.Socket): { got: number; hash: ReturnType<typeof createHash>; ended: Promise<unknown> } {
  const r = { got: 0, hash: createHash('sha256'), ended: once(sock, 'end') };
  sock.on('data', (d: Buffer) => {
    r.got += d.length;
    r.hash.update(d);
  });
  return r;
}

describe('asyncore forward: command line', () => {
  it('--help exits 0; a missing or malformed address exits 2; an address in use exits 1', async () => {
    const help = cli(['forward', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: asyncore forward --listen \[HOST:\]PORT --to HOST:PORT \[--poller NAME\]/);
    assert.match(cli(['--help']).stdout, /\n {2}forward {11}the classic port forwarder/);
    const missing = cli(['forward', '--listen', '0']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^asyncore forward: --to is required \(e\.g\. --to 127\.0\.0\.1:8000\)/);
    const bad = cli(['forward', '--listen', '0', '--to', '8000']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--to: '8000' is not HOST:PORT/);
    assert.equal(cli(['forward', '--listen', 'x:y', '--to', '127.0.0.1:1']).status, 2);
    assert.equal(cli(['forward', '--listen', '0', '--to', '127.0.0.1:1', '--poller', 'kqueue']).status, 2);
    const busy = net.createServer();
    servers.push(busy);
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as net.AddressInfo).port;
    const inUse = cli(['forward', '--listen', `127.0.0.1:${port}`, '--to', '127.0.0.1:1']);
    assert.equal(inUse.status, 1);
    assert.match(inUse.stderr, /^asyncore forward: .*EADDRINUSE/);
  });
});

describe('asyncore forward: a slow reader keeps the forwarder small', () => {
  for (const slow of ['client', 'upstream'] as const) {
    it(`${slow} not reading: the other side is held back and the forwarder's RSS stays bounded`, async () => {
      const total = 256 * MiB;
      const progress = { written: 0 };
      let upstream: net.Socket | null = null;
      const server = net.createServer((s) => {
        upstream = s;
        sockets.push(s);
      });
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const fwd = await startForwarder((server.address() as net.AddressInfo).port, ['--poller', 'epoll']);
      const client = net.connect(fwd.port, '127.0.0.1');
      sockets.push(client);
      await once(client, 'connect');
      for (let i = 0; i < 500 && upstream === null; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(upstream, 'the forwarder connected upstream');
      const [writer, reader] = slow === 'client' ? [upstream as net.Socket, client] : [client, upstream as net.Socket];
      reader.pause();
      const before = rssKiB(fwd.child.pid!);
      const writing = writePattern(writer, total, progress);
      let peak = before;
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setTimeout(r, 100));
        peak = Math.max(peak, rssKiB(fwd.child.pid!));
      }
      const heldAt = progress.written;
      // Without back-pressure the forwarder would read everything and hold most of 256 MiB.
      assert.ok(heldAt < 200 * MiB, `the writer was held back (wrote ${heldAt >> 20} MiB of 256)`);
      assert.ok(peak - before < 64 * 1024, `forwarder RSS grew by ${(peak - before) >> 10} MiB (from ${before >> 10} MiB)`);
      const r = drainInto(reader);
      reader.resume();
      await Promise.all([writing, r.ended]);
      assert.equal(r.got, total);
      assert.equal(r.hash.digest('hex'), patternHash(total));
      process.stderr.write(`# forward ${slow}-slow: held at ${(heldAt / MiB).toFixed(0)} MiB written, forwarder RSS ${before >> 10} -> peak ${peak >> 10} MiB\n`);
    });
  }
});

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
const hasCurl = spawnSync('curl', ['--version']).status === 0;

describe('asyncore forward: curl through it to python3 -m http.server', () => {
  it('a file and a directory listing arrive intact', { skip: (!hasPython && 'python3 not found') || (!hasCurl && 'curl not found') }, async () => {
    const tmp = tempDir('asyncore-forward-');
    dirs.push(tmp);
    const body = randomBytes(3 * MiB + 11);
    writeFileSync(join(tmp.dir, 'blob.bin'), body);
    const py = spawn('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', tmp.dir, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(py);
    const line = await firstLine(py);
    const m = /port (\d+)/.exec(line);
    assert.ok(m, line);
    const fwd = await startForwarder(Number(m[1]));
    const out = join(tmp.dir, 'out.bin');
    const curl = spawn('curl', ['-sS', '--fail', '-o', out, `http://127.0.0.1:${fwd.port}/blob.bin`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    curl.stderr.on('data', (d) => { err += d; });
    const [code] = await once(curl, 'close') as [number];
    assert.equal(code, 0, err);
    assert.ok(readFileSync(out).equals(body), 'the file came through byte-exact');
    const list = spawnSync('curl', ['-sS', '--fail', `http://127.0.0.1:${fwd.port}/`], { encoding: 'utf8', timeout: 30000 });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /blob\.bin/);
  });
});
