#!/usr/bin/env node
// The `asyncore` command: a demo of the seed's two programs, the example servers, the seed's
// HTTP client and the benchmark suite. Exit codes: 0 ok, 1 failure, 2 usage error; every error
// is one line on stderr.
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import * as asyncore from './index.js';
// The same relative path works from src/ (tsx) and from dist/src/ (the build compiles both).
import { EchoServer } from '../examples/echo-server.js';
import { HTTPClient } from '../examples/http-client.js';
import { SMTPServer } from '../examples/smtp-server.js';
import { ChatServer } from '../examples/chat-server.js';

const PROG = 'asyncore';
const POLLERS = ['select', 'poll', 'epoll'] as const;

/** Bad arguments: exit 2. */
class UsageError extends Error {}

/** A failure worth one line on stderr: exit 1. */
class CliError extends Error {}

// ---- package facts ----

const here = dirname(fileURLToPath(import.meta.url));

/** The directory of asyncore's package.json: `..` from src/, `../..` from dist/src/. */
function packageRoot(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'asyncore') return dir;
      } catch {
        // not ours: keep walking up
      }
    }
    if (dirname(dir) === dir) throw new CliError(`cannot find asyncore's package.json above ${here}`);
  }
}

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

// ---- help texts ----

const HELP: Record<string, string> = {
  '': `Usage: ${PROG} <command> [options]

Python's asyncore and asynchat for Node: the seed programs, example servers and benchmarks.

Commands:
  demo              run the echo server + client and the HTTP client against a local
                    HTTP server, in one process, and print the transcript
  echo-server       the documentation's echo server (Ctrl-C stops it)
  http-get URL      the documentation's HTTP/1.0 client: prints headers and body
  chat-server       a line-based chat room built on AsyncChat
  smtp-server       a small SMTP server that stores each message in a directory
  bench             run the benchmark suite and print its table (from a clone)

Options:
  -h, --help        show this help (every command has --help too)
  -V, --version     print the version

Exit status: 0 ok, 1 failure, 2 usage error.`,
  demo: `Usage: ${PROG} demo

Runs the asyncore documentation's two programs in one process and prints the transcript:
  1. the echo server (examples/echo-server.ts) on 127.0.0.1, an ephemeral port, and a
     client that sends a few lines and prints what comes back;
  2. the HTTP client (examples/http-client.ts) against a node:http server started in a
     child process on 127.0.0.1 (asyncore's loop() owns this process's thread).
Everything it starts is closed before it exits. This is what \`npm start\` runs.`,
  'echo-server': `Usage: ${PROG} echo-server [--host HOST] [--port PORT] [--poller NAME] [--idle-timeout SECONDS]

The asyncore documentation's echo server. The first line of output is the bound address.
Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0.

Options:
  --host HOST              address to bind (default: localhost)
  --port PORT              port to bind, 0 for any free port (default: 8080)
  --poller NAME            run loop() with select, poll or epoll (default: loopAsync)
  --idle-timeout SECONDS   close a connection after this long without input (callLater;
                           default: never)
  -h, --help               show this help`,
  'http-get': `Usage: ${PROG} http-get URL [--timeout SECONDS]

The asyncore documentation's HTTP client: sends "GET path HTTP/1.0" to an http:// URL and
prints the response as it arrives, headers and body. IPv4 and host names; no TLS.

Options:
  --timeout SECONDS   give up after this long (default: 30)
  -h, --help          show this help`,
  'chat-server': `Usage: ${PROG} chat-server [--host HOST] [--port PORT] [--poller NAME] [--name NAME]

A multi-user line chat (examples/chat-server.ts, built on AsyncChat): what one user says
goes to everyone else; /nick NAME, /who, /quit and /help are commands. The first line of
output is the bound address. Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0.

Options:
  --host HOST     address to bind (default: localhost)
  --port PORT     port to bind, 0 for any free port (default: 7777)
  --poller NAME   run loop() with select, poll or epoll (default: loopAsync)
  --name NAME     the room's name in the welcome line
  -h, --help      show this help`,
  'smtp-server': `Usage: ${PROG} smtp-server --dir DIR [--host HOST] [--port PORT] [--poller NAME]

A small SMTP server (examples/smtp-server.ts, built on AsyncChat, in the manner of Python's
smtpd) that stores each message it accepts as a file in DIR. The first line of output is the bound address.
Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0.

Options:
  --dir DIR       directory for received messages (required; created if missing)
  --host HOST     address to bind (default: localhost)
  --port PORT     port to bind, 0 for any free port (default: 8025)
  --poller NAME   run loop() with select, poll or epoll (default: loopAsync)
  -h, --help      show this help`,
  bench: `Usage: ${PROG} bench [--quick]

Runs the benchmark suite (bench/run.ts) and prints its table. The suite is part of the
repository, not of the installed package: run it from a clone after \`npm ci\`.

Options:
  --quick       a short run (seconds, not minutes); numbers are rougher
  -h, --help    show this help`,
};

// ---- argument helpers ----

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse(cmd: string, args: string[], options: OptionSpec, positionals = 0): { values: Record<string, string | boolean | undefined>; positionals: string[] } | null {
  let r;
  try {
    r = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    // Node's messages can run on with advice about '--'; the first sentence is the point.
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw new UsageError(msg);
  }
  if (r.values.help) {
    process.stdout.write(`${HELP[cmd]}\n`);
    return null;
  }
  if (r.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${r.positionals[positionals]}'`);
  }
  return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
}

function portOf(v: string | boolean | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, not '${s}'`);
  return Number(s);
}

function hostOf(v: string | boolean | undefined): string {
  const s = v === undefined ? 'localhost' : String(v);
  if (s === '') throw new UsageError("--host must not be empty (use 0.0.0.0 for every interface)");
  return s;
}

function secondsOf(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, not '${String(v)}'`);
  return n;
}

function pollerOf(v: string | boolean | undefined): asyncore.PollerName | undefined {
  if (v === undefined) return undefined;
  if (!(POLLERS as readonly string[]).includes(String(v))) throw new UsageError(`--poller must be one of ${POLLERS.join(', ')}, not '${String(v)}'`);
  return v as asyncore.PollerName;
}

function formatAddress(addr: asyncore.Address): string {
  if (typeof addr === 'string') return addr;
  return addr[0].includes(':') ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

function boundAddress(d: asyncore.Dispatcher): string {
  return formatAddress((d.socket as asyncore.Socket).getsockname());
}

// ---- running a loop ----

/**
 * Serve the global map until it is empty. SIGINT/SIGTERM close every channel, which empties
 * the map and ends the loop, so the command exits 0. Without a poller, `loopAsync` serves it
 * inside Node's event loop (libuv's epoll), where the signal listeners run at once. With an
 * explicit poller, the synchronous `loop()` runs with it one pass at a time, yielding to Node
 * between passes (at most `timeout` apart) so that the listeners run at all.
 */
async function serveUntilStopped(poller: asyncore.PollerName | undefined): Promise<void> {
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
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
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
  }
}

/** How a server's first line names the loop that serves it. */
function loopName(poller: asyncore.PollerName | undefined): string {
  return poller === undefined ? 'loop: loopAsync' : `poller: ${poller}`;
}

/** Run loop() passes until `done()` or the deadline (seconds); the map is left as it is. */
function loopUntil(done: () => boolean, seconds: number, what: string): void {
  const deadline = Date.now() + seconds * 1000;
  while (!done()) {
    if (asyncore.socketMap.size === 0) throw new CliError(`${what}: every channel closed before it finished`);
    if (Date.now() > deadline) throw new CliError(`${what}: no result after ${seconds} s`);
    asyncore.loop({ timeout: 0.05, count: 1 });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0]!;
  return String(err);
}

// ---- demo ----

/** The demo's echo client: sends one line at a time and waits for it to come back. */
class DemoEchoClient extends asyncore.Dispatcher {
  out: Buffer = Buffer.alloc(0);
  inbox = '';
  echoed: string[] = [];
  error: unknown = null;
  done = false;

  constructor(address: asyncore.Address, private readonly lines: string[]) {
    super();
    this.createSocket();
    this.connect(address);
  }

  private sendNext(): void {
    const line = this.lines[this.echoed.length]!;
    console.log(`  client → ${line}`);
    this.out = Buffer.from(`${line}\n`, 'utf8');
  }

  override handleConnect(): void {
    this.sendNext();
  }

  override writable(): boolean {
    return this.connecting || this.out.length > 0;
  }

  override handleWrite(): void {
    this.out = this.out.subarray(this.send(this.out));
  }

  override handleRead(): void {
    this.inbox += this.recv(8192).toString('utf8');
    let nl: number;
    while ((nl = this.inbox.indexOf('\n')) >= 0) {
      const line = this.inbox.slice(0, nl);
      this.inbox = this.inbox.slice(nl + 1);
      console.log(`  client ← ${line}`);
      this.echoed.push(line);
      if (this.echoed.length < this.lines.length) {
        this.sendNext();
      } else {
        this.done = true;
        this.close();
      }
    }
  }

  override handleClose(): void {
    this.close();
  }

  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

/** The seed's HTTP client, unchanged but for keeping its error for the exit status. */
class ReportingHTTPClient extends HTTPClient {
  error: unknown = null;

  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

// A node:http server for the demo. It runs in a child process because loop() blocks this
// one; it exits when its stdin closes (so it cannot outlive us) or after 20 s in any case.
const HTTP_CHILD = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const body = 'Hello from node:http! You sent ' + req.method + ' ' + req.url + ' HTTP/' + req.httpVersion + '.\\n';
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body, () => process.stdout.write('served ' + req.method + ' ' + req.url + '\\n'));
});
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.stdout.on('error', () => process.exit(0));
setTimeout(() => process.exit(3), 20000).unref();
`;

/** Resolves with the first line of `child`'s stdout that matches, or rejects after `ms`. */
function waitForLine(lines: AsyncIterator<string>, re: RegExp, ms: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolveP, rejectP) => {
    const timer = setTimeout(() => rejectP(new CliError(`${what}: no answer after ${ms / 1000} s`)), ms);
    void (async () => {
      for (;;) {
        const r = await lines.next();
        if (r.done) throw new CliError(`${what}: it exited early`);
        const m = re.exec(r.value);
        if (m) return m;
      }
    })().then((m) => { clearTimeout(timer); resolveP(m); }, (e: unknown) => { clearTimeout(timer); rejectP(e); });
  });
}

async function demo(args: string[]): Promise<number> {
  if (!parse('demo', args, {})) return 0;
  const lines = ['hello, asyncore', 'readable() and writable() decide what select() watches', 'goodbye'];

  console.log(`asyncore ${version()} demo: the asyncore documentation's two example programs, ported to TypeScript\n`);
  console.log('(Below the == headings, indented lines are the demo talking; lines at the margin are printed by the example classes.)\n');
  console.log('== 1. Echo server (examples/echo-server.ts) and a client, one loop() ==');
  const server = new EchoServer('127.0.0.1', 0);
  let client: DemoEchoClient | null = null;
  try {
    const addr = (server.socket as asyncore.Socket).getsockname();
    console.log(`  echo server listening on ${formatAddress(addr)}`);
    client = new DemoEchoClient(addr, lines);
    const c = client;
    loopUntil(() => c.done || c.error !== null, 10, 'echo demo');
    if (c.error !== null) throw new CliError(`echo demo: ${describe(c.error)}`);
  } finally {
    client?.close();
    asyncore.closeAll();
  }
  console.log(`  ${lines.length} lines sent, ${client.echoed.length} echoed back unchanged: ${client.echoed.join('\n') === lines.join('\n') ? 'yes' : 'NO'}\n`);
  if (client.echoed.join('\n') !== lines.join('\n')) throw new CliError('echo demo: the echoes differ from what was sent');

  console.log('== 2. HTTP client (examples/http-client.ts) against a local node:http server ==');
  const child: ChildProcess = spawn(process.execPath, ['-e', HTTP_CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const childLines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<void>((r) => {
    child.once('exit', () => r());
    child.once('error', () => r());
  });
  try {
    const port = Number((await waitForLine(childLines, /^port (\d+)$/, 5000, 'the node:http server'))[1]);
    console.log(`  node:http server (child process ${child.pid}) listening on 127.0.0.1:${port}`);
    console.log(`  GET /demo HTTP/1.0 → 127.0.0.1:${port}; the response, as the client prints it:`);
    console.log('  ---');
    const http = new ReportingHTTPClient('127.0.0.1', '/demo', port);
    try {
      loopUntil(() => asyncore.socketMap.size === 0, 10, 'HTTP demo');
    } catch (e) {
      if (!(e instanceof CliError) || http.error === null) throw e;
    } finally {
      asyncore.closeAll();
    }
    console.log('  ---');
    if (http.error !== null) throw new CliError(`HTTP demo: ${describe(http.error)}`);
    const served = await waitForLine(childLines, /^served (\S+) (\S+)$/, 5000, 'the node:http server');
    console.log(`  the server answered ${served[1]} ${served[2]}; connection closed by the server, client closed.\n`);
  } finally {
    child.stdin!.end();
    await exited;
  }
  console.log('demo finished: every channel closed, the HTTP server stopped.');
  return 0;
}

// ---- echo-server ----

async function echoServer(args: string[]): Promise<number> {
  const p = parse('echo-server', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    poller: { type: 'string' },
    'idle-timeout': { type: 'string' },
  });
  if (!p) return 0;
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 8080);
  const poller = pollerOf(p.values.poller);
  const idle = secondsOf('idle-timeout', p.values['idle-timeout']);
  const server = new EchoServer(host, port);
  server.idleSeconds = idle ?? null; // the example's handlers close themselves with callLater
  console.log(`echo server listening on ${boundAddress(server)} (${loopName(poller)})`);
  await serveUntilStopped(poller);
  return 0;
}

// ---- http-get ----

async function httpGet(args: string[]): Promise<number> {
  const p = parse('http-get', args, { timeout: { type: 'string' } }, 1);
  if (!p) return 0;
  const raw = p.positionals[0];
  if (raw === undefined) throw new UsageError('missing URL, e.g. http://127.0.0.1:8000/');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: '${raw}' (expected http://host[:port]/path)`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`only http:// URLs are supported (the documentation's client speaks plain HTTP/1.0), not ${url.protocol}//`);
  if (url.hostname === '') throw new UsageError(`the URL has no host: '${raw}'`);
  const timeout = secondsOf('timeout', p.values.timeout) ?? 30;
  if (url.hostname.startsWith('[')) throw new UsageError(`IPv6 addresses are not supported: the documentation's client makes an AF_INET socket; use an IPv4 address or a host name`);
  const host = url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  const client = new ReportingHTTPClient(host, `${url.pathname}${url.search}`, port);
  try {
    const deadline = Date.now() + timeout * 1000;
    while (asyncore.socketMap.size > 0) {
      if (Date.now() > deadline) throw new CliError(`no complete response from ${url.host} after ${timeout} s`);
      asyncore.loop({ timeout: Math.min(0.5, timeout), count: 1 });
    }
  } finally {
    asyncore.closeAll(undefined, true);
  }
  if (client.error !== null) throw new CliError(describe(client.error));
  return 0;
}

// ---- chat-server and smtp-server (the AsyncChat examples) ----

async function chatServer(args: string[]): Promise<number> {
  const p = parse('chat-server', args, { host: { type: 'string' }, port: { type: 'string' }, poller: { type: 'string' }, name: { type: 'string' } });
  if (!p) return 0;
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 7777);
  const poller = pollerOf(p.values.poller);
  const server = new ChatServer(host, port, { name: p.values.name === undefined ? undefined : String(p.values.name) });
  console.log(`chat server listening on ${formatAddress(server.address())} (${loopName(poller)})`);
  await serveUntilStopped(poller);
  return 0;
}

async function smtpServer(args: string[]): Promise<number> {
  const p = parse('smtp-server', args, { dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, poller: { type: 'string' } });
  if (!p) return 0;
  if (p.values.dir === undefined || p.values.dir === '') throw new UsageError('--dir DIR is required: the directory where received messages are written');
  const dir = resolve(String(p.values.dir));
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--dir: not a directory: ${dir}`);
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 8025);
  const poller = pollerOf(p.values.poller);
  const server = new SMTPServer([host, port], { dir });
  console.log(`smtp server listening on ${formatAddress(server.address())} (${loopName(poller)}), writing messages to ${dir}`);
  await serveUntilStopped(poller);
  return 0;
}

// ---- bench ----

async function bench(args: string[]): Promise<number> {
  const p = parse('bench', args, { quick: { type: 'boolean' } });
  if (!p) return 0;
  const root = packageRoot();
  const runner = join(root, 'bench', 'run.ts');
  if (!existsSync(runner)) {
    throw new CliError('the benchmark suite is not in this installation (bench/run.ts is missing): run `npm run bench` in a clone of the repository');
  }
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...(p.values.quick ? ['--quick'] : [])], { cwd: root, stdio: 'inherit' });
  // The suite handles Ctrl-C itself; we only wait for it.
  const onInt = () => {};
  process.on('SIGINT', onInt);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r, j) => {
      child.once('error', j);
      child.once('exit', (c, s) => r([c, s]));
    });
    if (signal !== null) throw new CliError(`the benchmark suite was stopped by ${signal}`);
    if (code !== 0) throw new CliError(`the benchmark suite failed (exit ${code})`);
  } finally {
    process.off('SIGINT', onInt);
  }
  return 0;
}

// ---- main ----

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  demo,
  'echo-server': echoServer,
  'http-get': httpGet,
  'chat-server': chatServer,
  'smtp-server': smtpServer,
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
    process.stderr.write(`${where}: ${describe(e)}\n`);
    return 1;
  }
}

// Run when executed (directly, or through npm's bin symlink), not when imported.
function isEntryPoint(argv1: string | undefined): boolean {
  if (argv1 === undefined) return false;
  try {
    return realpathSync(resolve(argv1)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint(process.argv[1])) {
  // `asyncore demo | head`: a reader that went away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  process.exit(await main(process.argv.slice(2)));
}
