// Issue 13 (hostile clients) against `asyncore chat-server` in a child process: a member who
// never reads while others talk, /who floods, control bytes in relayed text, --idle-timeout.
// Memory is the child's VmRSS from /proc.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KiB, MiB, connect, flood, memKiB, sleep, startServer, type Client } from './hostile-common.js';

async function members(port: number, n: number): Promise<Client[]> {
  const out: Client[] = [];
  for (let i = 0; i < n; i++) {
    const c = await connect(port);
    await c.until((t) => t.includes('* welcome'), 'the welcome');
    out.push(c);
  }
  return out;
}

describe('chat-server against hostile clients', { timeout: 60000 }, () => {
  it('one member never reads while 4 talk: bounded RSS, the silent member is disconnected with a notice, the others get every line', async () => {
    const srv = await startServer('chat-server');
    const all: Client[] = [];
    try {
      const talkers = await members(srv.port, 4);
      all.push(...talkers);
      const deaf = await connect(srv.port, '127.0.0.1', { read: false });
      all.push(deaf);
      await talkers[0]!.until((t) => /\* guest5 joined/.test(t), 'the deaf member to join');
      const before = memKiB(srv.child.pid!);
      // 4 x 4 MiB of chat: the old server queued all 16 MiB for the member who never reads.
      const line = Buffer.from(`${'x'.repeat(1000)}\n`);
      const lines = 4096;
      for (let k = 0; k < lines; k += 256) {
        for (const t of talkers) t.sock.write(Buffer.concat(Array(256).fill(line)));
        await sleep(1);
      }
      const want = 3 * lines; // each talker sees the other three, among a few notices
      // Count relayed lines, not all lines: the notices ("joined", "disconnected") are lines too,
      // so a count of all lines can reach `want` while the last few relayed lines are in flight.
      const relayed = (text: string): number => text.match(/^<guest\d> x{1000}\r$/gm)?.length ?? 0;
      for (const t of talkers) await t.until((text) => t.lines >= want && relayed(text) >= want, 'every relayed line', 15000);
      for (const t of talkers) assert.equal(relayed(t.text()), want);
      const grown = (memKiB(srv.child.pid!) - before) / KiB;
      assert.ok(grown < 48, `server RSS grew by ${grown.toFixed(1)} MiB`);
      await talkers[0]!.until((t) => /\* guest5 was disconnected: not reading/.test(t), 'the notice about the deaf member');
      deaf.sock.resume(); // a paused socket never sees the close
      await deaf.until(() => deaf.closed, 'the deaf member to be closed');
    } finally {
      for (const c of all) c.sock.destroy();
      await srv.stop();
    }
  });

  it('/who sent over and over without reading, 50 members: memory does not multiply, and the others are served', async () => {
    const srv = await startServer('chat-server');
    const all: Client[] = [];
    try {
      all.push(...(await members(srv.port, 49)));
      const before = memKiB(srv.child.pid!);
      const flooder = await connect(srv.port, '127.0.0.1', { read: false });
      all.push(flooder);
      // 2 MiB of "/who": the old server answered each with the 50 nicks, about 190 MiB. Now
      // the flooder's input waits in TCP once 64 KiB of replies are queued (or, past 256 KiB,
      // the flooder is disconnected).
      await flood(flooder.sock, Buffer.from('/who\n'.repeat(13107)), 4000, 2 * MiB);
      // The old server took seconds to answer it all, growing as it went: watch for 2 s.
      let peak = 0;
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        peak = Math.max(peak, memKiB(srv.child.pid!));
      }
      const grown = (peak - before) / KiB;
      assert.ok(grown < 48, `server RSS grew by ${grown.toFixed(1)} MiB`);
      all[1]!.sock.write('are you there\n');
      await all[0]!.until((t) => t.includes('<guest2> are you there'), 'a line between two others');
    } finally {
      for (const c of all) c.sock.destroy();
      await srv.stop();
    }
  });

  it('control bytes (C0 but TAB, and DEL) in relayed text are escaped', async () => {
    const srv = await startServer('chat-server');
    const all: Client[] = [];
    try {
      all.push(...(await members(srv.port, 2)));
      all[0]!.sock.write(Buffer.from('hi\r* fake notice\x1b[2J\x00\ttab\x7f end\r\n', 'latin1'));
      await all[1]!.until((t) => t.includes('end\r\n'), 'the relayed line');
      const line = all[1]!.text().split('\r\n').find((l) => l.startsWith('<guest1>'));
      assert.equal(line, '<guest1> hi\\x0d* fake notice\\x1b[2J\\x00\ttab\\x7f end');
    } finally {
      for (const c of all) c.sock.destroy();
      await srv.stop();
    }
  });

  it('--idle-timeout closes a silent member, with a notice to them and to the others', async () => {
    const srv = await startServer('chat-server', ['--idle-timeout', '0.5']);
    const all: Client[] = [];
    try {
      const [quiet] = await members(srv.port, 1);
      all.push(quiet!);
      const talker = await connect(srv.port);
      all.push(talker);
      for (let i = 0; i < 8; i++) {
        talker.sock.write(`still talking ${i}\n`);
        await sleep(150);
      }
      await quiet!.until(() => quiet!.closed, 'the quiet member to be closed');
      assert.match(quiet!.text(), /\* idle for 0\.5 s: closing\r\n$/);
      assert.match(talker.text(), /\* guest1 left \(idle for 0\.5 s\)/);
      assert.equal(talker.closed, false, 'a member who talks stays');
    } finally {
      for (const c of all) c.sock.destroy();
      await srv.stop();
    }
  });
});
