#!/usr/bin/env node
// The `asyncore` command: a demo of the seed's two programs, the example servers, the seed's
// HTTP client and the benchmark suite. Exit codes: 0 ok, 1 failure, 2 usage error; every error
// is one line on stderr.
import { isMain } from '../examples/cli-common.js';
import { UsageError, describeError } from './args.js';
import { bench } from './bench.js';
import { chatServer } from './chat-server.js';
import { demo } from './demo.js';
import { echoServer } from './echo-server.js';
import { forward } from './forward.js';
import { HELP, PROG } from './help.js';
import { httpGet } from './http-get.js';
import { version } from './package-info.js';
import { smtpServer } from './smtp-server.js';

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  demo,
  'echo-server': echoServer,
  'http-get': httpGet,
  'chat-server': chatServer,
  'smtp-server': smtpServer,
  forward,
  bench,
};

/** Run the command line `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  let cmd = '';
  try {
    if (first === undefined) throw new UsageError(`missing command (one of ${Object.keys(COMMANDS).join(', ')}); see '${PROG} --help'`);
    if (first === '-h' || first === '--help' || first === 'help') {
      process.stdout.write(`${HELP['']}\n`);
      return 0;
    }
    if (first === '-V' || first === '--version') {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    const run = COMMANDS[first];
    if (run === undefined) {
      throw new UsageError(first.startsWith('-')
        ? `unknown option '${first}'; see '${PROG} --help'`
        : `unknown command '${first}' (one of ${Object.keys(COMMANDS).join(', ')}); see '${PROG} --help'`);
    }
    cmd = first;
    return await run(rest);
  } catch (e) {
    const where = cmd ? `${PROG} ${cmd}` : PROG;
    if (e instanceof UsageError) {
      const hint = cmd && !e.message.includes('--help') ? ` (see '${PROG} ${cmd} --help')` : '';
      process.stderr.write(`${where}: ${e.message}${hint}\n`);
      return 2;
    }
    process.stderr.write(`${where}: ${describeError(e)}\n`);
    return 1;
  }
}

if (isMain(import.meta.url)) {
  // `asyncore echo-server | head -1`: a reader that went away is not an error, and must not
  // stop a server (exiting 0 here told a supervisor the server had finished). What would have
  // gone to that stream is dropped; the process goes on.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
      throw e;
    });
  }
  process.exit(await main(process.argv.slice(2)));
}
