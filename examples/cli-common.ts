// The command-line plumbing the example servers share (chat-server.ts, smtp-server.ts): the
// --port check, how the bound address is printed, and running main() when started directly.
import type * as asyncore from '../src/index.js';

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
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  try {
    main();
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
