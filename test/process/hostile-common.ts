// Shared by the hostile-*.test.ts files (issue 13): start an `asyncore` CLI server in a child
// process, read its memory from /proc, and talk to it with node:net clients.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export const ROOT = join(import.meta.dirname, '../..');
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
export const KiB = 1024;
export const MiB = 1024 * KiB;

export interface Server {
  child: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  host: string;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<number | null>;
}

/**
 * Start `asyncore <cmd> --host 127.0.0.1 --port 0 ...args` (or under `wrap`, a shell prefix such
 * as `ulimit -f 1024;`) and wait for its "listening on" line.
 */
export async function startServer(cmd: string, args: string[] = [], opts: { host?: string; wrap?: string } = {}): Promise<Server> {
  const host = opts.host ?? '127.0.0.1';
  const argv = [...CLI, cmd, '--host', host, '--port', '0', ...args];
  const child = opts.wrap
    ? spawn('bash', ['-c', `${opts.wrap} exec "$0" "$@"`, process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { err += d; });
  child.stdout.setEncoding('utf8');
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no address line; stdout: ${out} stderr: ${err}`)), 15000);
    const onData = (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(out.split('\n')[0]!);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  child.stdout.resume(); // keep reading: a full pipe must not be what holds the server back
  const m = /listening on (?:\[[^\]]+\]|[^ ]+?):(\d+)/.exec(first);
  assert.ok(m, first);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    return child.exitCode;
  };
  return { child, port: Number(m[1]), host, stderr: () => err, stop };
}

/** A field of /proc/PID/status in KiB (VmRSS: now, VmHWM: the peak). */
export function memKiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  assert.ok(m, `no ${field} for ${pid}`);
  return Number(m[1]);
}

/** Open descriptors of process `pid`. */
export function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Wait, in 10 ms steps, until `pred()` holds, or fail after `ms` naming `what` (and `detail()`):
 * the server works at its own pace on a loaded machine, so tests wait on its state, not a clock.
 */
export async function waitUntil(pred: () => boolean, what: string, ms = 8000, detail = (): string => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${detail()}`);
    await sleep(10);
  }
}

/** A node:net client that collects what it receives as latin1 text. */
export interface Client {
  sock: net.Socket;
  text(): string;
  /** How many '\n' bytes arrived. */
  lines: number;
  closed: boolean;
  /** Wait until `pred(text)` holds (or fail after `ms`). */
  until(pred: (text: string) => boolean, what: string, ms?: number): Promise<void>;
}

export async function connect(port: number, host = '127.0.0.1', opts: { read?: boolean } = {}): Promise<Client> {
  const sock = net.connect(port, host);
  await once(sock, 'connect');
  let text = '';
  const c: Client = {
    sock,
    text: () => text,
    lines: 0,
    closed: false,
    until: (pred, what, ms = 8000) => waitUntil(() => pred(text), what, ms, () => `; got ${JSON.stringify(text.slice(-300))}`),
  };
  sock.on('error', () => {});
  sock.on('close', () => { c.closed = true; });
  if (opts.read === false) {
    sock.pause();
  } else {
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) c.lines++;
    });
  }
  return c;
}

/**
 * Write `chunk` repeatedly for up to `ms` (or `limit` bytes), as fast as the socket drains,
 * never reading; returns how much the kernel accepted.
 */
export async function flood(sock: net.Socket, chunk: Buffer, ms: number, limit = Infinity): Promise<number> {
  const end = Date.now() + ms;
  let queued = 0;
  while (Date.now() < end && queued < limit && !sock.destroyed) {
    if (!sock.write(chunk)) {
      await Promise.race([once(sock, 'drain'), sleep(Math.max(1, end - Date.now()))]);
    }
    queued += chunk.length;
  }
  return sock.bytesWritten - sock.writableLength;
}
