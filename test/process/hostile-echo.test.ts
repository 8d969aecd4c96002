// Issue 13 (hostile clients) against `asyncore echo-server` in a child process, and the rows
// every server shares: memory against a client that never reads (RSS from /proc), queued output
// after a half-close, IPv6, --port -1, SIGHUP, a closed stdout, and select past FD_SETSIZE.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { hasIPv6 } from '../helpers.js';
import { CLI, KiB, MiB, ROOT, connect, flood, memKiB, sleep, startServer } from './hostile-common.js';

describe('echo-server against hostile clients', { timeout: 60000 }, () => {
  // uring: the same bounds with its data path (read-ahead and queued sends are bounded too).
  for (const poller of ['select', 'uring']) it(`a client that sends and never reads (${poller}): RSS stays bounded (the old server grew by all it was sent), then the reset frees it`, async () => {
    const srv = await startServer('echo-server', ['--poller', poller]);
    try {
      const probe = await connect(srv.port);
      probe.sock.write('warm up\n');
      await probe.until((t) => t === 'warm up\n', 'the first echo');
      const before = memKiB(srv.child.pid!);
      const hog = await connect(srv.port, '127.0.0.1', { read: false });
      const accepted = await flood(hog.sock, Buffer.alloc(256 * KiB, 0x61), 3000, 96 * MiB);
      const grown = (memKiB(srv.child.pid!) - before) / KiB;
      // The old server queued everything it read: 96 MiB in 3 s over loopback. Bounded now by
      // outHighWater (1 MiB) plus the kernel's buffers.
      assert.ok(grown < 40, `server RSS grew by ${grown.toFixed(1)} MiB while a client sent ${(accepted / MiB).toFixed(1)} MiB without reading`);
      hog.sock.resetAndDestroy();
      probe.sock.write('still here\n');
      await probe.until((t) => t.endsWith('still here\n'), 'an echo after the reset');
      probe.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  for (const poller of ['select', 'uring']) it(`after the peer half-closes, every queued byte is sent, then the connection closes (${poller})`, async () => {
    const srv = await startServer('echo-server', ['--poller', poller]);
    try {
      const c = await connect(srv.port, '127.0.0.1', { read: false });
      const data = randomBytes(8 * MiB);
      const got: Buffer[] = [];
      let n = 0;
      const ended = once(c.sock, 'end');
      c.sock.end(data); // write everything, then shut down our side
      // Read nothing for a while: the old server read all of it, queued the echo it could not
      // send, saw the EOF and closed, dropping the queue.
      await sleep(1000);
      c.sock.on('data', (d: Buffer) => { got.push(d); n += d.length; });
      c.sock.resume();
      await Promise.race([ended, sleep(15000)]);
      assert.equal(n, data.length, `got ${n} of ${data.length} bytes back`);
      assert.equal(createHash('sha256').update(Buffer.concat(got)).digest('hex'), createHash('sha256').update(data).digest('hex'));
      c.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('--host ::1 binds IPv6', async (t) => {
    if (!(await hasIPv6())) return t.skip('no IPv6 loopback');
    const srv = await startServer('echo-server', [], { host: '::1' });
    try {
      const c = await connect(srv.port, '::1');
      c.sock.write('six\n');
      await c.until((x) => x === 'six\n', 'an echo over IPv6');
      c.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('SIGHUP closes every channel and exits 0, as SIGTERM does', async () => {
    const srv = await startServer('echo-server');
    const c = await connect(srv.port);
    srv.child.kill('SIGHUP');
    const [code, signal] = await once(srv.child, 'exit');
    assert.equal(code, 0, `exit ${code} ${signal}; stderr: ${srv.stderr()}`);
    assert.match(srv.stderr(), /SIGHUP: closing 2 channels/);
    await c.until(() => c.closed, 'the client to be closed');
  });

  it('a closed stdout never stops the server (no EPIPE → exit 0)', async () => {
    const srv = await startServer('echo-server');
    try {
      srv.child.stdout.destroy(); // the reader goes away, as `| head -1` does
      for (let i = 0; i < 3; i++) {
        // Each connection makes the server print a line to the closed pipe.
        const c = await connect(srv.port);
        c.sock.write(`ping ${i}\n`);
        await c.until((x) => x === `ping ${i}\n`, `echo ${i}`);
        c.sock.destroy();
        await sleep(50);
      }
      assert.equal(srv.child.exitCode, null, `the server exited: ${srv.stderr()}`);
      srv.child.kill('SIGTERM');
      const [code] = await once(srv.child, 'exit');
      assert.equal(code, 0);
    } finally {
      await srv.stop();
    }
  });

  it('--poller select with 1,100 clients: those past FD_SETSIZE are closed, the server goes on serving the rest', async () => {
    const srv = await startServer('echo-server', ['--poller', 'select']);
    const clients = [];
    try {
      for (let i = 0; i < 1100; i++) clients.push(await connect(srv.port));
      // The server accepts one connection a pass and closes one past FD_SETSIZE the pass after:
      // once the last client (past it: nothing closed below it) is closed, every such close is
      // done. A fixed sleep was too short on a loaded machine, and then the "last open" client
      // picked below was one still waiting to be closed.
      const last = clients.at(-1)!;
      await last.until(() => last.closed, 'the server to close the last client (past FD_SETSIZE)', 20000);
      const closed = clients.filter((c) => c.closed).length;
      assert.equal(srv.child.exitCode, null, `the server exited: ${srv.stderr().slice(0, 500)}`);
      assert.ok(closed > 0 && closed < 150, `${closed} clients were closed`);
      const early = clients[10]!;
      early.sock.write('alive\n');
      await early.until((x) => x === 'alive\n', 'an echo on an early client');
      const fresh = clients.filter((c) => !c.closed).at(-1)!;
      fresh.sock.write('late\n');
      await fresh.until((x) => x === 'late\n', 'an echo on the last client still open');
      assert.match(srv.stderr(), /warning: select\(\) cannot watch descriptors at or above FD_SETSIZE \(1024\).*usePoll: true.*epoll/);
    } finally {
      for (const c of clients) c.sock.destroy();
      await srv.stop();
    }
  });
});

describe('every server: --port -1 and the listen backlog', { timeout: 60000 }, () => {
  for (const [cmd, extra] of [['echo-server', []], ['chat-server', []], ['smtp-server', ['--dir', '/tmp']]] as const) {
    for (const form of [['--port', '-1'], ['--port=-1']]) {
      it(`${cmd} ${form.join(' ')}: a usage error naming the range`, () => {
        const r = spawnSync(process.execPath, [...CLI, cmd, ...extra, ...form], { cwd: ROOT, encoding: 'utf8', timeout: 15000 });
        assert.equal(r.status, 2, r.stderr);
        assert.equal(r.stderr, `asyncore ${cmd}: --port must be an integer from 0 to 65535, not '-1' (see 'asyncore ${cmd} --help')\n`);
      });
    }
  }

  it('300 simultaneous connects to chat-server are all greeted (backlog SOMAXCONN, not 16)', async () => {
    const srv = await startServer('chat-server');
    const clients = [];
    try {
      const pending = [];
      for (let i = 0; i < 300; i++) pending.push(connect(srv.port));
      clients.push(...(await Promise.all(pending)));
      const end = Date.now() + 10000;
      while (Date.now() < end && clients.some((c) => !c.text().includes('* welcome'))) await sleep(50);
      const greeted = clients.filter((c) => c.text().includes('* welcome')).length;
      assert.equal(greeted, 300, `${greeted} of 300 greeted within 10 s`);
      // ss shows a listener's backlog as its Send-Q.
      const ss = spawnSync('ss', ['-Hltn', `sport = :${srv.port}`], { encoding: 'utf8' });
      if (ss.status === 0) {
        const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'latin1'));
        assert.equal(Number(ss.stdout.trim().split(/\s+/)[2]), somaxconn, ss.stdout);
      }
    } finally {
      for (const c of clients) c.sock.destroy();
      await srv.stop();
    }
  });
});
