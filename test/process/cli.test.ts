// The `asyncore` command, run as a user runs it: `node --import tsx src/cli/main.ts ...` in a
// child process, over loopback: what needs a process of its own (servers stopped by SIGINT, the
// demo's child, clients of servers in this process, exit statuses). --help, --version and usage
// errors run in-process through main(): test/unit/cli-main.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Socket as NetSocket, type Server as NetServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { assertOneLine, checkLeaks, tempDir, POLLERS } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run the CLI to completion (bounded: killed after `ms`). Async, so this process can serve it. */
async function cli(args: string[], ms = 15000): Promise<Result> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** A long-running CLI server: resolves once its first line (the bound address) is out. */
async function startServer(args: string[]): Promise<{ child: ChildProcess; first: string; port: number; out: () => string; err: () => string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  child.stdout!.setEncoding('utf8');
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no first line from ${args.join(' ')}; stderr: ${stderr}`)); }, 10000);
    child.stdout!.on('data', (d: string) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(stdout.slice(0, nl)); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${args.join(' ')} exited ${code} before printing an address; stderr: ${stderr}`)); });
  });
  const m = /127\.0\.0\.1:(\d+)/.exec(first);
  assert.ok(m, `the first line names the bound address: ${first}`);
  return { child, first, port: Number(m[1]), out: () => stdout, err: () => stderr };
}

/** SIGINT, then the exit status (bounded). */
async function interrupt(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  const r = await closed;
  clearTimeout(timer);
  return r;
}

/** A loopback TCP client that collects what it receives. */
async function tcpClient(port: number): Promise<{ sock: NetSocket; received: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string>; end: () => Promise<void> }> {
  const sock = netConnect({ port, host: '127.0.0.1', timeout: 5000 });
  sock.once('timeout', () => sock.destroy(new Error(`connect to 127.0.0.1:${port} timed out`)));
  await once(sock, 'connect');
  sock.setTimeout(0);
  let got = '';
  sock.setEncoding('utf8').on('data', (d: string) => { got += d; });
  return {
    sock,
    received: () => got,
    waitFor: async (re, ms = 5000) => {
      const deadline = Date.now() + ms;
      while (!re.test(got)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; received ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got;
    },
    end: async () => {
      if (!sock.destroyed) {
        const closed = once(sock, 'close');
        sock.destroy();
        await closed;
      }
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('asyncore demo', { timeout: 30000 }, () => {
  checkLeaks();

  it('runs the echo server + client and the HTTP client, prints the transcript, exits 0, leaves nothing running', async () => {
    const r = await cli(['demo']);
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    const out = r.stdout;
    assert.match(out, /== 1\. Echo server \(examples\/echo-server\.ts\)/);
    assert.match(out, /echo server listening on 127\.0\.0\.1:\d+/);
    assert.match(out, /^Incoming connection from \[ '127\.0\.0\.1', \d+ \]$/m, "EchoServer.handleAccepted's own line");
    for (const line of ['hello, asyncore', 'goodbye']) {
      assert.ok(out.includes(`client → ${line}\n`), `sent ${line}`);
      assert.ok(out.includes(`client ← ${line}\n`), `echoed ${line}`);
    }
    assert.match(out, /3 lines sent, 3 echoed back unchanged: yes/);
    assert.match(out, /== 2\. HTTP client \(examples\/http-client\.ts\)/);
    assert.match(out, /^HTTP\/1\.1 200 OK\r$/m, 'the raw response status line, as the client prints it');
    assert.match(out, /^Content-Length: \d+\r$/m);
    assert.ok(out.includes('Hello from node:http! You sent GET /demo HTTP/1.0.\n'), 'the response body');
    assert.match(out, /the server answered GET \/demo/);
    assert.match(out, /demo finished/);
    assert.equal(r.stderr, '');
    const pid = Number(/child process (\d+)/.exec(out)?.[1]);
    assert.ok(pid > 0, 'the transcript names the HTTP server process');
    assert.equal(alive(pid), false, 'the HTTP server child process is gone');
  });
});

describe('asyncore echo-server', { timeout: 30000 }, () => {
  checkLeaks();

  for (const poller of [undefined, ...POLLERS]) {
    const how = poller === undefined ? 'loop: loopAsync' : `poller: ${poller}`;
    it(`${poller === undefined ? 'loopAsync (no --poller)' : `--poller ${poller}`}: prints its address first, echoes, and SIGINT closes everything with exit 0`, async () => {
      const s = await startServer(['echo-server', '--host', '127.0.0.1', '--port', '0', ...(poller ? ['--poller', poller] : [])]);
      try {
        assert.equal(s.first.replace(/:\d+ /, ':PORT '), `echo server listening on 127.0.0.1:PORT (${how})`);
        const a = await tcpClient(s.port);
        const b = await tcpClient(s.port);
        a.sock.write('hello from a\n');
        b.sock.write('and from b\n');
        await a.waitFor(/hello from a\n/);
        await b.waitFor(/and from b\n/);
        assert.equal(a.received(), 'hello from a\n');
        // Ctrl-C with two connections open: every channel is closed, the clients see EOF.
        const aClosed = once(a.sock, 'close');
        const [code, signal] = await interrupt(s.child);
        assert.equal(signal, null);
        assert.equal(code, 0, `exit status; stderr: ${s.err()}`);
        await aClosed;
        assert.match(s.err(), /SIGINT: closing 3 channels/);
        await a.end();
        await b.end();
      } finally {
        s.child.kill('SIGKILL');
      }
    });
  }

  for (const poller of [undefined, 'poll']) {
    it(`--idle-timeout closes a silent connection and keeps serving (${poller ?? 'loopAsync'})`, async () => {
      const s = await startServer(['echo-server', '--host', '127.0.0.1', '--port', '0', '--idle-timeout', '0.3', ...(poller ? ['--poller', poller] : [])]);
      try {
        const a = await tcpClient(s.port);
        const t0 = Date.now();
        a.sock.write('x\n');
        await a.waitFor(/x\n/);
        await once(a.sock, 'close');
        const idle = Date.now() - t0;
        assert.ok(idle >= 250, `closed after ${idle} ms, not before the idle timeout`);
        assert.match(s.out(), /^Closing idle connection from \[ '127\.0\.0\.1', \d+ \]$/m);
        const b = await tcpClient(s.port);
        b.sock.write('still there\n');
        await b.waitFor(/still there\n/);
        await b.end();
        const [code] = await interrupt(s.child);
        assert.equal(code, 0, s.err());
      } finally {
        s.child.kill('SIGKILL');
      }
    });
  }

  it('a port in use is one line and exit 1', async () => {
    const busy: NetServer = createNetServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await cli(['echo-server', '--host', '127.0.0.1', '--port', String(port)]);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, new RegExp(`^asyncore echo-server: bind EADDRINUSE 127\\.0\\.0\\.1:${port}`));
    } finally {
      busy.close();
      await once(busy, 'close');
    }
  });
});

describe('asyncore http-get', { timeout: 30000 }, () => {
  checkLeaks();

  it('GETs with HTTP/1.0 and prints headers and body', async () => {
    const seen: string[] = [];
    const server = createHttpServer((req: IncomingMessage, res) => {
      seen.push(`${req.method} ${req.url} HTTP/${req.httpVersion} host=${req.headers.host}`);
      res.writeHead(200, { 'X-Test': 'yes', 'Content-Type': 'text/plain' });
      res.end('body line 1\nbody line 2\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const r = await cli(['http-get', `http://127.0.0.1:${port}/some/path?q=1`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(seen, ['GET /some/path?q=1 HTTP/1.0 host=127.0.0.1']);
      assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(r.stdout, /\r\nX-Test: yes\r\n/);
      assert.ok(r.stdout.endsWith('\r\n\r\nbody line 1\nbody line 2\n'), JSON.stringify(r.stdout));
      assert.equal(r.stderr, '');
    } finally {
      server.close();
      await once(server, 'close');
    }
  });

  it('a server that never answers: --timeout gives up with one line and exit 1', async () => {
    const held: NetSocket[] = [];
    const server = createNetServer((s) => { held.push(s); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const r = await cli(['http-get', `http://127.0.0.1:${port}/`, '--timeout', '0.5']);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, new RegExp(`^asyncore http-get: no complete response from 127\\.0\\.0\\.1:${port} after 0\\.5 s$`));
    } finally {
      for (const s of held) s.destroy();
      server.close();
      await once(server, 'close');
    }
  });

  it('a refused connection is one line with the error code, exit 1', async () => {
    const probe = createNetServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    probe.close();
    await once(probe, 'close');
    const r = await cli(['http-get', `http://127.0.0.1:${port}/`]);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, new RegExp(`^asyncore http-get: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
  });
});

describe('asyncore chat-server', { timeout: 30000 }, () => {
  checkLeaks();

  it('serves a chat room until SIGINT', async () => {
    const s = await startServer(['chat-server', '--host', '127.0.0.1', '--port', '0']);
    try {
      assert.match(s.first, /^chat server listening on 127\.0\.0\.1:\d+ \(loop: loopAsync\)$/);
      const a = await tcpClient(s.port);
      const b = await tcpClient(s.port);
      // Both are in the room once welcomed; then a line from one reaches the other.
      await a.waitFor(/\* welcome/);
      await b.waitFor(/\* welcome/);
      a.sock.write('hello room\r\n');
      await b.waitFor(/hello room/);
      const [code] = await interrupt(s.child);
      assert.equal(code, 0, s.err());
      await a.end();
      await b.end();
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});

describe('asyncore smtp-server', { timeout: 30000 }, () => {
  checkLeaks();

  it('accepts a message into --dir until SIGINT', async () => {
    const { dir, cleanup } = tempDir('asyncore-cli-smtp-');
    const s = await startServer(['smtp-server', '--dir', dir, '--host', '127.0.0.1', '--port', '0']);
    try {
      assert.match(s.first, /^smtp server listening on 127\.0\.0\.1:\d+ \(loop: loopAsync\), writing messages to /);
      const c = await tcpClient(s.port);
      await c.waitFor(/^220 /m);
      const step = async (line: string, re: RegExp) => {
        const before = c.received().length;
        c.sock.write(`${line}\r\n`);
        const deadline = Date.now() + 5000;
        while (!re.test(c.received().slice(before))) {
          if (Date.now() > deadline) throw new Error(`no ${re} after ${line}; got ${JSON.stringify(c.received())}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await step('HELO test.example', /^250/m);
      await step('MAIL FROM:<a@test.example>', /^250/m);
      await step('RCPT TO:<b@test.example>', /^250/m);
      await step('DATA', /^354/m);
      await step('Subject: cli test\r\n\r\nhello over smtp\r\n.', /^250/m);
      await step('QUIT', /^221/m);
      await c.end();
      const files = readdirSync(dir);
      assert.equal(files.length, 1, `one message file in ${dir}: ${files.join(', ')}`);
      assert.match(readFileSync(`${dir}/${files[0]}`, 'utf8'), /hello over smtp/);
      const [code] = await interrupt(s.child);
      assert.equal(code, 0, s.err());
    } finally {
      s.child.kill('SIGKILL');
      cleanup();
    }
  });
});
