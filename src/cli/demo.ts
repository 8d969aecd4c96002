// asyncore demo: the documentation's two programs in one process, with a transcript.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as asyncore from '../index.js';
import { EchoServer } from '../examples/echo-server.js';
import { formatAddress } from '../examples/cli-common.js';
import { CliError, describeError, parse } from './args.js';
import { version } from './package-info.js';
import { ReportingHTTPClient } from './http-get.js';
import { loopUntil } from './serve.js';

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

export async function demo(args: string[]): Promise<number> {
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
    if (c.error !== null) throw new CliError(`echo demo: ${describeError(c.error)}`);
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
    if (http.error !== null) throw new CliError(`HTTP demo: ${describeError(http.error)}`);
    const served = await waitForLine(childLines, /^served (\S+) (\S+)$/, 5000, 'the node:http server');
    console.log(`  the server answered ${served[1]} ${served[2]}; connection closed by the server, client closed.\n`);
  } finally {
    child.stdin!.end();
    await exited;
  }
  console.log('demo finished: every channel closed, the HTTP server stopped.');
  return 0;
}

