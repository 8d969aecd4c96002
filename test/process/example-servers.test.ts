// The example servers as programs: src/examples/{chat,smtp,echo}-server.ts started under tsx in
// child processes, printing their bound address first, serving real clients, and (echo) the
// idle timeout and SIGINT. Their protocol tests run in-process in test/integration/.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { checkLeaks, tempDir, spawnExample, firstLine, stopChild } from '../helpers.js';
import { monotonic } from '../../src/index.js';

const clients: net.Socket[] = [];
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  for (const d of dirs.splice(0)) d.cleanup();
});
checkLeaks(); // after the cleanup hook: hooks run in order

describe('src/examples/chat-server.ts', () => {
  it('the CLI prints the bound address first and serves', async () => {
    const child = spawnExample('chat-server', ['--host', '127.0.0.1', '--port', '0']);
    try {
      const first = await firstLine(child);
      const m = /^chat-server listening on 127\.0\.0\.1:(\d+)$/.exec(first);
      assert.ok(m, first);
      const sock = net.connect(Number(m[1]), '127.0.0.1');
      clients.push(sock);
      let got = '';
      sock.on('data', (d) => { got += d.toString(); });
      sock.write('/nick cli\n/who\n/quit\n');
      await once(sock, 'close');
      assert.equal(got, '* welcome to the asyncore chat, guest1; /nick NAME to change your nick, /help for more\r\n* you are now cli\r\n* here: cli\r\n* bye\r\n');
    } finally {
      await stopChild(child);
    }
  });
});

describe('src/examples/smtp-server.ts', () => {
  it('the CLI prints the bound address first and serves', async () => {
    const t = tempDir();
    dirs.push(t);
    const child = spawnExample('smtp-server', ['--host', '127.0.0.1', '--port', '0', '--dir', t.dir]);
    try {
      const first = await firstLine(child);
      const m = /^smtp-server listening on 127\.0\.0\.1:(\d+)$/.exec(first);
      assert.ok(m, first);
      // A whole session in one write; the server runs in the child, so plain async I/O here.
      const sock = net.connect(Number(m[1]), '127.0.0.1');
      clients.push(sock);
      let replies = '';
      sock.on('data', (d) => { replies += d.toString(); });
      sock.write('HELO cli.test\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n');
      await once(sock, 'close');
      assert.match(replies, /^220 .*\r\n250 .*\r\n250 OK\r\n250 OK\r\n354 .*\r\n250 OK\r\n221 Bye\r\n$/);
      const stored = readdirSync(t.dir).filter((f) => f.endsWith('.eml'));
      assert.equal(stored.length, 1);
      assert.equal(readFileSync(join(t.dir, stored[0]!), 'utf8'), 'hello\r\n');
    } finally {
      await stopChild(child);
    }
  });
});

describe('examples/echo-server.ts under loopAsync', () => {
  it('--idle-timeout closes a silent connection (activity resets it); SIGINT closes all and exits 0', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/examples/echo-server.ts', '--host', '127.0.0.1', '--port', '0', '--idle-timeout', '0.3'], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const lineWaiters: (() => void)[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (const w of lineWaiters.splice(0)) w();
    });
    const waitFor = (re: RegExp): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} within 15 s; stdout: ${out}; stderr: ${err}`)), 15_000);
      const check = (): void => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else {
          lineWaiters.push(check);
        }
      };
      check();
    });
    try {
      const port = Number((await waitFor(/^Echo server listening on .*'127\.0\.0\.1',\s*(\d+)/m))[1]);
      const sock = net.connect(port, '127.0.0.1');
      sock.setEncoding('utf8');
      let echoed = '';
      sock.on('data', (d: string) => (echoed += d));
      const ended = new Promise<number>((r) => sock.on('end', () => r(monotonic())));
      await new Promise<void>((r) => sock.on('connect', () => r()));
      const t0 = monotonic();
      // Activity every 0.1 s for 0.5 s: longer than the idle timeout, but never idle that long.
      let lastWrite = 0;
      for (let i = 0; i < 5; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        sock.write(`ping${i};`);
        lastWrite = monotonic();
      }
      const endedAt = await ended; // the server closes the now-silent connection
      sock.destroy();
      assert.equal(echoed, 'ping0;ping1;ping2;ping3;ping4;');
      assert.ok(lastWrite - t0 >= 0.35, 'the connection outlived the idle timeout while active');
      assert.ok(endedAt - lastWrite >= 0.25, `closed ${(endedAt - lastWrite).toFixed(3)} s after the last input (idle timeout 0.3 s)`);
      await waitFor(/^Closing idle connection from /m);
      // A second connection, left open: SIGINT must close it and exit 0.
      const sock2 = net.connect(port, '127.0.0.1');
      const ended2 = new Promise<void>((r) => sock2.on('close', () => r()));
      sock2.on('error', () => {});
      await new Promise<void>((r) => sock2.on('connect', () => r()));
      child.kill('SIGINT');
      assert.equal(await exited, 0, `exit code after SIGINT; stderr: ${err}`);
      await ended2;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
