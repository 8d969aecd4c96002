// Running the loop for a command: servers until a signal closes every channel, clients until
// their result is in.
import * as asyncore from '../index.js';
import { CliError } from './args.js';
import { PROG } from './help.js';

/**
 * Serve the global map until it is empty. SIGINT/SIGTERM/SIGHUP close every channel, which empties
 * the map and ends the loop, so the command exits 0. Without a poller, `loopAsync` serves it
 * inside Node's event loop (libuv's epoll), where the signal listeners run at once. With an
 * explicit poller, the synchronous `loop()` runs with it one pass at a time, yielding to Node
 * between passes (at most `timeout` apart) so that the listeners run at all.
 *
 * `banner` (the bound address) is printed once the signal listeners are in place: whoever
 * reads that line may signal at once, and must find the server ready to stop cleanly.
 */
export async function serveUntilStopped(poller: asyncore.PollerName | undefined, banner: string): Promise<void> {
  const map = asyncore.socketMap;
  let stopped = false;
  const stop = (signal: string) => {
    if (stopped) {
      // A second Ctrl-C while closing: do not make the user wait any longer.
      process.stderr.write(`${PROG}: ${signal} again: exiting at once\n`);
      process.exit(130);
    }
    stopped = true;
    process.stderr.write(`${PROG}: ${signal}: closing ${map.size} channel${map.size === 1 ? '' : 's'}\n`);
    asyncore.closeAll(map, true);
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  // A closed terminal (SIGHUP) stops the server as SIGTERM does: channels closed, exit 0.
  const onHup = () => stop('SIGHUP');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  console.log(banner);
  try {
    if (poller === undefined) {
      await asyncore.loopAsync({ map });
    } else {
      while (map.size > 0) {
        asyncore.loop({ map, poller, timeout: 0.2, count: 1 });
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
  }
}

/** How a server's first line names the loop that serves it. */
export function loopName(poller: asyncore.PollerName | undefined): string {
  return poller === undefined ? 'loop: loopAsync' : `poller: ${poller}`;
}

/** Run loop() passes until `done()` or the deadline (seconds); the map is left as it is. */
export function loopUntil(done: () => boolean, seconds: number, what: string): void {
  const deadline = Date.now() + seconds * 1000;
  while (!done()) {
    if (asyncore.socketMap.size === 0) throw new CliError(`${what}: every channel closed before it finished`);
    if (Date.now() > deadline) throw new CliError(`${what}: no result after ${seconds} s`);
    asyncore.loop({ timeout: 0.05, count: 1 });
  }
}

