// The seed's two example programs, end to end in child processes: the echo server against real
// clients (node:net here, python3.11 when installed), and the HTTP client against a local
// node:http server in another process.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket as NetSocket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { checkLeaks, findPython, POLLERS } from '../helpers.js';

checkLeaks();

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const python = findPython();
const hasPython = python !== null;

/** A child process whose stdout is collected line by line. */
interface Child {
  proc: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves with the first line matching `re` (bounded by `ms`). */
  waitLine(re: RegExp, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  // 'close', not 'exit': the stdio pipes are closed too, so no descriptor is left behind.
  const exited = new Promise<number | null>((res) => proc.on('close', (code) => {
    if (partial) lines.push(partial);
    partial = '';
    for (const w of waiters.splice(0)) w();
    res(code);
  }));
  function waitLine(re: RegExp, ms = 15000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; stdout: ${lines.join('\n')}; stderr: ${err}`)), ms);
      const check = (): void => {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`child exited (${proc.exitCode ?? proc.signalCode}) before a line matching ${re}; stdout: ${lines.join('\n')}; stderr: ${err}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  }
  return { proc, lines, stderr: () => err, waitLine, exited };
}

/** Send `data` over a node:net connection and resolve with what comes back once `want` bytes did. */
function echoRoundTrip(port: number, data: Buffer): Promise<{ echoed: Buffer; localPort: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const sock: NetSocket = connect({ host: '127.0.0.1', port }, () => sock.write(data));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`echo of ${data.length} bytes: only ${size} came back`));
    }, 10000);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size >= data.length) {
        clearTimeout(timer);
        const localPort = sock.localPort!;
        // Resolve once the descriptor is really closed (the per-test fd check counts it).
        sock.once('close', () => resolve({ echoed: Buffer.concat(chunks), localPort }));
        sock.destroy();
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('src/examples/echo-server.ts', () => {
  const servers = new Map<string, { child: Child; port: number }>();

  before(async () => {
    // Start one server per poller, concurrently.
    await Promise.all(POLLERS.map(async (poller) => {
      const child = start(['--import', 'tsx', 'src/examples/echo-server.ts', '--host', '127.0.0.1', '--port', '0', '--poller', poller]);
      const first = await child.waitLine(/./);
      const m = /^Echo server listening on .*'127\.0\.0\.1',\s*(\d+)/.exec(first);
      assert.ok(m, `first line names the bound address: ${first}`);
      servers.set(poller, { child, port: Number(m[1]) });
    }));
  });

  after(() => {
    for (const { child } of servers.values()) child.proc.kill('SIGTERM');
  });

  for (const poller of POLLERS) {
    it(`${poller}: echoes a node:net client and logs the incoming connection`, async () => {
      const { child, port } = servers.get(poller)!;
      assert.ok(port > 0);
      const payload = randomBytes(300 * 1024);
      const { echoed, localPort } = await echoRoundTrip(port, payload);
      assert.equal(echoed.length, payload.length);
      assert.ok(echoed.equals(payload), 'the echo is byte for byte what was sent');
      const line = await child.waitLine(new RegExp(`^Incoming connection from .*'127\\.0\\.0\\.1',\\s*${localPort}\\b`));
      assert.match(line, /^Incoming connection from /);
    });
  }

  it('serves several clients at once', async () => {
    const { port } = servers.get('epoll')!;
    const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(10000 + i * 1000));
    const results = await Promise.all(payloads.map((p) => echoRoundTrip(port, p)));
    results.forEach((r, i) => assert.ok(r.echoed.equals(payloads[i]!)));
  });

  it('echoes a python3.11 client', { skip: hasPython ? false : 'python3.11 is not installed' }, async () => {
    const { child, port } = servers.get('select')!;
    const script = [
      'import socket, sys',
      `s = socket.create_connection(('127.0.0.1', ${port}), timeout=10)`,
      "msg = b'hello from python ' * 1000",
      's.sendall(msg)',
      "got = b''",
      'while len(got) < len(msg):',
      '    chunk = s.recv(65536)',
      '    if not chunk: break',
      '    got += chunk',
      'print(s.getsockname()[1], got == msg)',
      's.close()',
    ].join('\n');
    const py = spawn(python!, ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(py);
    let out = '';
    let err = '';
    py.stdout.on('data', (d) => (out += d));
    py.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((res) => py.on('close', res));
    assert.equal(code, 0, err);
    const [pyPort, ok] = out.trim().split(' ');
    assert.equal(ok, 'True', `python got its echo back: ${out} ${err}`);
    await child.waitLine(new RegExp(`^Incoming connection from .*'127\\.0\\.0\\.1',\\s*${pyPort}\\b`));
  });
});

describe('src/examples/http-client.ts', () => {
  let http: Child;
  let port = 0;

  before(async () => {
    const script = `
      const http = require('node:http');
      const server = http.createServer((req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.setHeader('X-Request-Version', req.httpVersion);
        res.end('hello from node:http, you asked for ' + req.url + ' on ' + req.headers.host + '\\n' + 'x'.repeat(50000) + '\\nEND\\n');
      });
      server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
    `;
    http = start(['-e', script]);
    const line = await http.waitLine(/^port \d+$/);
    port = Number(line.split(' ')[1]);
  });

  after(() => {
    http?.proc.kill('SIGTERM');
  });

  it('GETs a page over HTTP/1.0, prints the response, and exits when the server closes', async () => {
    const client = start(['--import', 'tsx', 'src/examples/http-client.ts', '127.0.0.1', '/some/path?q=1', String(port)]);
    const timer = setTimeout(() => client.proc.kill('SIGKILL'), 15000);
    const code = await client.exited;
    clearTimeout(timer);
    assert.equal(code, 0, `the client ends by itself when the map is empty; stderr: ${client.stderr()}`);
    const out = client.lines.join('\n');
    assert.match(out, /^HTTP\/1\.[01] 200 OK\r?$/m);
    assert.match(out, /^X-Request-Version: 1\.0\r?$/mi, 'the request was HTTP/1.0');
    assert.match(out, /hello from node:http, you asked for \/some\/path\?q=1 on 127\.0\.0\.1\n/);
    assert.ok(out.includes(`${'x'.repeat(50000)}\nEND`), 'the whole body was printed, across several reads');
  });
});
