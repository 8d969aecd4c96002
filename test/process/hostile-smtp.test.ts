// Issue 13 (hostile clients) against `asyncore smtp-server` in a child process: pipelined HELP
// never read, many large messages at once (peak RSS from /proc VmHWM), a full disk (ulimit -f),
// shutdown mid-message, --timeout, and a --dir that cannot be created or written.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { CLI, KiB, MiB, ROOT, connect, flood, memKiB, sleep, startServer, waitUntil, type Client } from './hostile-common.js';

const dirs: { cleanup(): void }[] = [];
after(() => { for (const d of dirs) d.cleanup(); });
function mailDir(): string {
  const t = tempDir('asyncore-hostile-smtp-');
  dirs.push(t);
  return t.dir;
}
const entries = (dir: string) => readdirSync(dir).sort();

/** Send `line` and wait for the reply count to reach `n` final reply lines. */
async function command(c: Client, line: string): Promise<string> {
  const before = finals(c.text());
  c.sock.write(`${line}\r\n`);
  await c.until((t) => finals(t) > before, `the reply to ${line.slice(0, 20)}`, 15000);
  return c.text().trimEnd().split('\r\n').at(-1)!;
}
const finals = (t: string) => (t.match(/^\d{3}(?: .*)?\r\n/gm) ?? []).length;

async function envelope(c: Client): Promise<void> {
  await c.until((t) => t.startsWith('220 '), 'the greeting');
  assert.match(await command(c, 'HELO hostile.test'), /^250 /);
  assert.match(await command(c, 'MAIL FROM:<a@example.com>'), /^250 /);
  assert.match(await command(c, 'RCPT TO:<b@example.com>'), /^250 /);
  assert.match(await command(c, 'DATA'), /^354 /);
}

describe('smtp-server against hostile clients', { timeout: 90000 }, () => {
  it('pipelined HELP, never read: RSS stays bounded (the old server queued every reply)', async () => {
    const srv = await startServer('smtp-server', ['--dir', mailDir()]);
    try {
      const before = memKiB(srv.child.pid!);
      const c = await connect(srv.port, '127.0.0.1', { read: false });
      // 12 MiB of HELP: about 140 MiB of replies if all were queued.
      await flood(c.sock, Buffer.from('HELP\r\n'.repeat(10923)), 4000, 12 * MiB);
      await sleep(300);
      const grown = (memKiB(srv.child.pid!) - before) / KiB;
      assert.ok(grown < 40, `server RSS grew by ${grown.toFixed(1)} MiB`);
      c.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('10 clients with 6 MiB bodies at once: peak RSS stays bounded (bodies stream to their files), every message is stored', async () => {
    const dir = mailDir();
    const srv = await startServer('smtp-server', ['--dir', dir]);
    const clients: Client[] = [];
    try {
      const before = memKiB(srv.child.pid!, 'VmHWM');
      for (let i = 0; i < 10; i++) {
        const c = await connect(srv.port);
        clients.push(c);
        await envelope(c);
      }
      const line = `${'m'.repeat(998)}\r\n`;
      const body = Buffer.from(line.repeat(6 * 1024) + '..dot-stuffed\r\n');
      await Promise.all(clients.map(async (c) => {
        const n = finals(c.text());
        c.sock.write(body);
        c.sock.write('.\r\n');
        await c.until((t) => finals(t) > n, 'the reply to the message', 30000);
        assert.match(c.text().trimEnd().split('\r\n').at(-1)!, /^250 /);
      }));
      const peak = (memKiB(srv.child.pid!, 'VmHWM') - before) / KiB;
      // The old server held 10 x 6 MiB in memory at once, plus copies while finishing each.
      assert.ok(peak < 40, `peak RSS grew by ${peak.toFixed(1)} MiB`);
      const files = entries(dir);
      assert.equal(files.filter((f) => f.endsWith('.eml')).length, 10, files.join(' '));
      assert.equal(files.filter((f) => f.endsWith('.tmp')).length, 0);
      for (const f of files) assert.equal(statSync(join(dir, f)).size, body.length - 1, 'one stuffed dot removed');
    } finally {
      for (const c of clients) c.sock.destroy();
      await srv.stop();
    }
  });

  it('disk full (ulimit -f): 451, the temporary file is removed, and the next message is stored', async () => {
    const dir = mailDir();
    const srv = await startServer('smtp-server', ['--dir', dir], { wrap: 'ulimit -f 2048;' }); // 2 MiB
    try {
      const c = await connect(srv.port);
      await envelope(c);
      const n = finals(c.text());
      c.sock.write(`${'f'.repeat(1000)}\r\n`.repeat(3 * 1024));
      c.sock.write('.\r\n');
      await c.until((t) => finals(t) > n, 'the reply to the big message', 15000);
      assert.match(c.text().trimEnd().split('\r\n').at(-1)!, /^451 /);
      assert.deepEqual(entries(dir), [], 'no temporary file left behind');
      assert.match(await command(c, 'MAIL FROM:<a@example.com>'), /^250 /);
      assert.match(await command(c, 'RCPT TO:<b@example.com>'), /^250 /);
      assert.match(await command(c, 'DATA'), /^354 /);
      assert.match(await command(c, 'small\r\n.'), /^250 /);
      assert.equal(entries(dir).filter((f) => f.endsWith('.eml')).length, 1);
      c.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('connection lost mid-message and shutdown mid-message leave no temporary file', async () => {
    const dir = mailDir();
    const srv = await startServer('smtp-server', ['--dir', dir]);
    try {
      const lost = await connect(srv.port);
      await envelope(lost);
      lost.sock.write(`${'l'.repeat(1000)}\r\n`.repeat(512));
      await waitUntil(() => entries(dir).length > 0, 'the temporary file');
      assert.equal(entries(dir).filter((f) => f.endsWith('.tmp')).length, 1, 'the message streams to a temporary file');
      lost.sock.resetAndDestroy();
      await waitUntil(() => entries(dir).length === 0, 'the temporary file to be removed when the connection was lost', 5000,
        () => `; still there: ${entries(dir).join(', ')}`);
      const cut = await connect(srv.port);
      await envelope(cut);
      cut.sock.write('half a message\r\n');
      await waitUntil(() => entries(dir).length > 0, 'the temporary file');
      assert.equal(entries(dir).length, 1);
      srv.child.kill('SIGTERM');
      const [code] = await once(srv.child, 'exit');
      assert.equal(code, 0);
      assert.deepEqual(entries(dir), [], 'removed at shutdown');
    } finally {
      await srv.stop();
    }
  });

  it('--timeout: an idle client gets 421 and is closed, in command mode and in DATA (its temporary file removed)', async () => {
    const dir = mailDir();
    const srv = await startServer('smtp-server', ['--dir', dir, '--timeout', '0.5']);
    try {
      const idle = await connect(srv.port);
      await idle.until(() => idle.closed, 'the idle client to be closed', 5000);
      assert.match(idle.text(), /^220 .*\r\n421 .*timeout exceeded \(0\.5 s waiting for a command\); closing\r\n$/);
      const data = await connect(srv.port);
      await envelope(data);
      data.sock.write('a line, then silence\r\n');
      await data.until(() => data.closed, 'the client stuck in DATA to be closed', 5000);
      assert.match(data.text(), /421 .*timeout exceeded \(0\.5 s waiting for message data\); closing\r\n$/);
      assert.deepEqual(entries(dir), []);
      // A client that keeps talking is not timed out.
      const busy = await connect(srv.port);
      for (let i = 0; i < 6; i++) {
        assert.match(await command(busy, 'NOOP'), /^250 /);
        await sleep(100); // 6 x 100 ms outlasts the 0.5 s timeout, and no gap nears it
      }
      assert.equal(busy.closed, false);
      busy.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('the 101st recipient gets 452; EHLO comes back in one write', async () => {
    const srv = await startServer('smtp-server', ['--dir', mailDir()]);
    try {
      const c = await connect(srv.port);
      await c.until((t) => t.startsWith('220 '), 'the greeting');
      const chunks: string[] = [];
      c.sock.on('data', (d: Buffer) => chunks.push(d.toString('latin1')));
      assert.match(await command(c, 'EHLO hostile.test'), /^250 HELP$/);
      assert.equal(chunks.length, 1, `the EHLO reply came in ${chunks.length} pieces`);
      assert.match(chunks[0]!, /^250-.*\r\n250-SIZE \d+\r\n250-8BITMIME\r\n250 HELP\r\n$/);
      assert.match(await command(c, 'MAIL FROM:<a@example.com>'), /^250 /);
      for (let i = 0; i < 100; i++) assert.match(await command(c, `RCPT TO:<r${i}@example.com>`), /^250 /);
      assert.equal(await command(c, 'RCPT TO:<one.too.many@example.com>'), '452 Error: too many recipients');
      c.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  for (const dir of ['/proc/x/y', '/sys/kernel']) {
    it(`--dir ${dir}: exits 1 at once with one line`, () => {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [...CLI, 'smtp-server', '--dir', dir, '--port', '0'], { cwd: ROOT, encoding: 'utf8', timeout: 15000 });
      assert.equal(r.status, 1, `status ${r.status} signal ${r.signal} after ${Date.now() - t0} ms: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^asyncore smtp-server: mail directory ${dir} cannot be (created|written): \\w+ [^\\n]+\\n$`));
      assert.equal(r.stdout, '');
    });
  }
});
