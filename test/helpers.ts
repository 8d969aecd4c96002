// Shared test helpers: fd-leak and map checks, temp paths, the address-family and poller
// matrices, a private socket map per test, and bounded loop passes.
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { beforeEach, afterEach } from 'node:test';
import {
  Dispatcher, Socket as SocketClass, closeAll, loop, AF_INET, AF_INET6, AF_UNIX, type Address, type PollerName, type Socket, type SocketMap,
} from '../src/index.js';
import { reactorFor } from '../src/reactor/reactor.js';
import { socketMap as globalMap } from '../src/reactor/map.js';
import { POLLER_NAMES } from '../src/pollers/names.js';
import { C } from '../src/sys/constants.js';
import * as libc from '../src/sys/libc.js';

/** The timers of socketMap (module-level callLater/callEvery). */
export const scheduler = reactorFor(globalMap).timers;

/** Open descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Install per-test checks: after every test no fd leaked (against the count before it) and the
 * global socketMap is empty (whatever is left is closed, then the test fails).
 */
export function checkLeaks(): void {
  let before = 0;
  beforeEach(() => {
    before = fdCount();
  });
  afterEach(() => {
    const left = [...globalMap.values()].map(String);
    for (const d of [...globalMap.values()]) {
      try { (d as { close(): void }).close(); } catch { /* already broken */ }
    }
    globalMap.clear();
    assert.deepEqual(left, [], 'socketMap must be empty after the test');
    assert.equal(fdCount(), before, 'file descriptors leaked by the test');
  });
}

/** A fresh temporary directory (removed with `cleanup`). */
export function tempDir(prefix = 'asyncore-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh Unix socket path in a temp directory. */
export function unixPath(dir: string, name = 'sock'): string {
  return join(dir, name);
}

/** Whether IPv6 loopback works on this machine. */
export async function hasIPv6(): Promise<boolean> {
  const s = new SocketClass(AF_INET6);
  try {
    s.bind(['::1', 0]);
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

// ---- the integration matrix ----

/** The backends of the synchronous loop(): src/pollers/names.ts's one list. */
export const POLLERS: readonly PollerName[] = POLLER_NAMES;

/** One address family of the integration matrix. */
export interface Family {
  name: string;
  family: number;
  /** A fresh address to bind a server to. */
  addr(): Address;
  skip: boolean | string;
  tcp: boolean;
}

/**
 * {IPv4, IPv6, Unix}: loopback on port 0 (IPv6 skipped when `v6` is false, see hasIPv6()), and
 * for Unix a fresh path `${prefix}N` in `dir` each time.
 */
export function addressFamilies(v6: boolean, dir: string, prefix: string): Family[] {
  let n = 0;
  return [
    { name: 'IPv4', family: AF_INET, addr: () => ['127.0.0.1', 0], skip: false, tcp: true },
    { name: 'IPv6', family: AF_INET6, addr: () => ['::1', 0], skip: v6 ? false : 'no IPv6 loopback (::1)', tcp: true },
    { name: 'Unix', family: AF_UNIX, addr: () => unixPath(dir, `${prefix}${n++}`), skip: false, tcp: false },
  ];
}

/** A channel class an accepted socket is handed to. */
export type HandlerClass = new (sock: Socket) => Dispatcher;

/**
 * A listener on a fresh address of `fam`, in `m`: each accepted socket becomes
 * `new handler(sock)`, kept in `accepted`.
 */
export class FamilyServer extends Dispatcher {
  accepted: Dispatcher[] = [];
  constructor(fam: Family, m: SocketMap, readonly handler: HandlerClass) {
    super(null, m);
    this.createSocket(fam.family);
    this.setReuseAddr();
    this.bind(fam.addr());
    this.listen(5);
  }
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }
  override handleAccepted(sock: Socket): void {
    this.accepted.push(new this.handler(sock));
  }
}

/** SO_LINGER {l_onoff: 1, l_linger: 0}: close() then sends RST instead of FIN. */
export const LINGER_RST = Buffer.alloc(8);
LINGER_RST.writeInt32LE(1, 0);
LINGER_RST.writeInt32LE(0, 4);

// ---- a private socket map per test ----

/**
 * The running test's private socket map. A live binding: once usePrivateMap() has installed its
 * hooks, every test starts with a fresh Map here, so import it and use it as is
 * (`new Dispatcher(sock, map)`, `loop({ map })`).
 */
export let map: SocketMap = new Map();

/** What usePrivateMap() closes after each test, after the map's channels. */
export interface TestResources {
  /** Sockets outside the map, closed in order. */
  sockets: Socket[];
  /** Raw descriptors, closed in order. */
  fds: number[];
}

/**
 * Install the per-test hooks: before each test a fresh `map`; after it every channel in the map
 * closed (`closeAll(map, true)`), then the tracked sockets and descriptors, and with `timers`,
 * a check that the test left no timer pending (they are cleared either way). Call it before
 * checkLeaks(): hooks run in order, and the leak check must see the result.
 */
export function usePrivateMap(opts: { timers?: boolean } = {}): TestResources {
  const res: TestResources = { sockets: [], fds: [] };
  beforeEach(() => {
    map = new Map();
  });
  afterEach(() => {
    closeAll(map, true);
    for (const s of res.sockets.splice(0)) s.close();
    for (const fd of res.fds.splice(0)) libc.close(fd);
    closeTracked();
    if (opts.timers) {
      const left = scheduler.pending;
      scheduler.clear();
      assert.equal(left, 0, 'a test left timers pending');
    }
  });
  return res;
}

// ---- the example servers: loop passes interleaved with Node, and their command lines ----

/** `pump(done, what)`: loop passes over `m`, yielding to Node between them, until `done()` (bounded). */
export function pumpLoop(m: SocketMap): (done: () => boolean, what: string, limit?: number) => Promise<void> {
  return async (done, what, limit = 1000) => {
    for (let i = 0; i < limit && !done(); i++) {
      loop({ timeout: 0.005, count: 1, map: m });
      await tick();
    }
    assert.ok(done(), `timed out waiting for: ${what}`);
  };
}

/** A child process with its stdout and stderr piped. */
export type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Start `examples/<name>.ts` under tsx in a child process, with `args` on its command line. */
export function spawnExample(name: string, args: string[]): Child {
  const cli = join(import.meta.dirname, `../src/examples/${name}.ts`);
  return spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The first line `child` prints; rejects if it exits first or prints none within 15 s. */
export function firstLine(child: Child): Promise<string> {
  let out = '';
  child.stdout.setEncoding('utf8');
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address line; stdout: ${out}`)), 15000);
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

/** Kill `child` and wait for it to exit. */
export async function stopChild(child: Child): Promise<void> {
  child.kill();
  if (child.exitCode === null) await once(child, 'exit');
}

// ---- bounded passes, captured output, tracked resources, descriptors, python3.11 ----

/**
 * Run single loop() passes over `m` (default: the test's private `map`) with `poller` (undefined:
 * loop()'s default), each waiting at most 10 ms, until `pred()` holds; fail naming `what` after `maxPasses`.
 * Returns the passes it took.
 */
export function runUntil(pred: () => boolean, poller: PollerName | undefined, what = 'condition', maxPasses = 300, m: SocketMap = map): number {
  let i = 0;
  for (; i < maxPasses && !pred(); i++) loop({ timeout: 0.01, count: 1, map: m, poller });
  assert.ok(pred(), `${what}: not within ${maxPasses} passes`);
  return i;
}

/** Point process.stdout/stderr.write at buffers until `restore()`; what was written is in `text()`. */
function redirectOutput(): { text(): { out: string; err: string }; restore(): void } {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true; }) as typeof process.stderr.write;
  return {
    text: () => ({ out: out.join(''), err: err.join('') }),
    restore: () => {
      process.stdout.write = ow;
      process.stderr.write = ew;
    },
  };
}

/** Replace process.stdout/stderr.write while `fn` runs (synchronously); returns what was written. */
export function capture(fn: () => void): { out: string; err: string } {
  const r = redirectOutput();
  try {
    fn();
  } finally {
    r.restore();
  }
  return r.text();
}

/**
 * capture() for an async `fn` (such as the CLI's main()): stdout/stderr are replaced until it
 * settles, so nothing else may write meanwhile (tests in one file run one at a time).
 */
export async function captureAsync<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const r = redirectOutput();
  try {
    const value = await fn();
    return { value, ...r.text() };
  } finally {
    r.restore();
  }
}

const tracked: { close(): void }[] = [];

/**
 * Close `x` after the running test (last tracked first), before checkLeaks() counts
 * descriptors. Needs usePrivateMap() or useTracking() in the file: their afterEach closes them.
 */
export function track<T extends { close(): void }>(x: T): T {
  tracked.push(x);
  return x;
}

/** Close everything track() collected, last tracked first; every close runs, then the first error is thrown. */
export function closeTracked(): void {
  let first: unknown = null;
  for (const x of tracked.splice(0).reverse()) {
    try { x.close(); } catch (e) { first ??= e; }
  }
  if (first !== null) throw first;
}

/** For files without usePrivateMap(): close tracked resources after each test (call before checkLeaks()). */
export function useTracking(): void {
  afterEach(closeTracked);
}

/** poll(2) one descriptor with a bounded wait; returns revents (0 on timeout). */
export function waitFd(fd: number, events: number, timeoutMs = 2000): number {
  const pfd = new Uint8Array(8);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, events, true);
  const r = libc.poll(pfd, 1, timeoutMs);
  assert.ok(r >= 0, `poll failed: ${-r}`);
  return dv.getInt16(6, true);
}

/** Whether `fd` is an open descriptor of this process (fcntl F_GETFD). */
export function isOpen(fd: number): boolean {
  return libc.fcntl(fd, C.F_GETFD, 0) >= 0;
}

let pythonFound: string | null | undefined;

/**
 * The CPython 3.11 interpreter the differential tests run (`python3.11` on PATH, or pyenv's),
 * or null when there is none: those tests then skip.
 */
export function findPython(): string | null {
  if (pythonFound !== undefined) return pythonFound;
  pythonFound = null;
  for (const exe of ['python3.11', '/root/.pyenv/versions/3.11.7/bin/python3.11']) {
    const r = spawnSync(exe, ['-c', 'import sys; print(sys.version_info[:2] == (3, 11))'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'True') {
      pythonFound = exe;
      break;
    }
  }
  return pythonFound;
}

/** `stderr` is exactly one non-empty line, matching `re` (the CLI's error format). */
export function assertOneLine(stderr: string, re: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one line on stderr, got: ${JSON.stringify(stderr)}`);
  assert.match(lines[0]!, re);
}

/**
 * An assert.throws()/rejects() validator for an argument error: an instance of `kind` carrying
 * Node's code for it (TypeError: ERR_INVALID_ARG_TYPE, RangeError: ERR_OUT_OF_RANGE), whose
 * message matches `message` when given.
 */
export function argError(kind: TypeErrorConstructor | RangeErrorConstructor, message?: RegExp): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof kind, `expected a ${kind.name}, got ${String(e)}`);
    assert.equal((e as { code?: unknown }).code, kind === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE', `the code of: ${e.message}`);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  };
}
