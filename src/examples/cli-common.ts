// The command-line plumbing the examples and the CLI share: the --port check, how the bound
// address is printed, and the one check of "was this module started directly".
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as asyncore from '../index.js';

let backlog: number | undefined;

/**
 * The listen backlog the servers use: the kernel's SOMAXCONN (/proc/sys/net/core/somaxconn),
 * else 4096. The classic examples' 5 turned most of a burst of connects away.
 */
export function listenBacklog(): number {
  if (backlog === undefined) {
    let n = NaN;
    try {
      n = Number(readFileSync('/proc/sys/net/core/somaxconn', 'latin1').trim());
    } catch {
      // not Linux, or /proc is not mounted
    }
    backlog = Number.isInteger(n) && n > 0 ? n : 4096;
  }
  return backlog;
}

/**
 * Make `d` a listening socket on `addr` with SO_REUSEADDR and a SOMAXCONN backlog; on failure
 * the socket is closed and the error thrown. The family follows the address: a path is
 * AF_UNIX, an IPv6 literal AF_INET6; a host name is tried as AF_INET, then as AF_INET6 when
 * getaddrinfo finds no IPv4 address for it (`family` forces one).
 */
export function listenOn(d: asyncore.Dispatcher, addr: asyncore.Address, family?: number): void {
  const families = family !== undefined ? [family]
    : typeof addr === 'string' ? [asyncore.AF_UNIX]
    : addr[0].includes(':') ? [asyncore.AF_INET6] : [asyncore.AF_INET, asyncore.AF_INET6];
  for (let i = 0; ; i++) {
    d.createSocket(families[i]);
    try {
      d.setReuseAddr();
      d.bind(addr);
      d.listen(listenBacklog()); // (beyond) the documentation's 5 turns a burst of connects away
      return;
    } catch (e) {
      d.close();
      const gai = e instanceof asyncore.SocketError && e.syscall === 'getaddrinfo';
      if (!gai || i + 1 >= families.length) throw e;
    }
  }
}

/** `host:port`, `[v6]:port` or the Unix path. */
export function formatAddress(addr: asyncore.Address): string {
  if (typeof addr === 'string') return addr;
  return addr[0].includes(':') ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

/** The value of `--port` as a port number (0: any free port). */
export function parsePort(value: string | undefined): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`--port must be an integer from 0 to 65535, not ${value}`);
  }
  return port;
}

/**
 * Run `main` if the module at `moduleUrl` is the program node was started with; an error it
 * throws is printed as `name: message` and the exit code is 1.
 */
export function runIfMain(moduleUrl: string, name: string, main: () => void): void {
  if (!isMain(moduleUrl)) return;
  try {
    main();
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

/**
 * True when the module at `moduleUrl` (its import.meta.url) is the program node was started
 * with: directly, through a symlink (npm's bin), or from a path with spaces (a file:// URL
 * escapes them, so comparing strings would not do).
 */
export function isMain(moduleUrl: string): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(resolve(argv1)) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * How an example serves socketMap when run directly: the synchronous loop() on `poller`, as in
 * Python (no graceful stop), or else loopAsync(), where SIGINT, SIGTERM or SIGHUP close every
 * channel (and so every channel's timers), loopAsync() resolves and the process exits 0.
 */
export async function serveMain(poller: string | undefined): Promise<void> {
  if (poller !== undefined) {
    asyncore.loop({ poller: poller as asyncore.PollerName });
    return;
  }
  const stop = (): void => asyncore.closeAll();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, stop);
  await asyncore.loopAsync();
  process.exit(0);
}
