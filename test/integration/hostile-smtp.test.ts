// Issue 13, the SMTP example in process: a message streams to its temporary file as it arrives
// (exact bytes after dot-unstuffing across reads), SIZE is enforced while streaming (the partial
// file goes at once), and closing the server mid-message removes the temporary file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { checkLeaks, pumpLoop, tempDir } from '../helpers.js';
import { closeAll, type SocketMap } from '../../src/index.js';
import { SMTPServer } from '../../src/examples/smtp-server.js';
import { MESSAGE } from '../fixtures/smtp.js';

checkLeaks();

async function session(opts: { dataSizeLimit?: number } = {}) {
  const map: SocketMap = new Map();
  const t = tempDir('asyncore-hostile-smtp-');
  const server = new SMTPServer(['127.0.0.1', 0], { dir: t.dir, map, fqdn: 'mx.test', ...opts });
  const pump = pumpLoop(map);
  const sock = net.connect((server.address() as [string, number])[1], '127.0.0.1');
  sock.on('error', () => {});
  let text = '';
  sock.on('data', (d) => { text += d.toString('latin1'); });
  const finals = () => (text.match(/^\d{3}(?: .*)?\r\n/gm) ?? []).length;
  const send = async (data: string | Buffer) => {
    const n = finals();
    sock.write(data);
    await pump(() => finals() > n, 'a reply', 5000);
    return text.trimEnd().split('\r\n').at(-1)!;
  };
  await pump(() => finals() === 1, 'the greeting');
  for (const line of ['EHLO s.test', 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.com>']) assert.match(await send(`${line}\r\n`), /^250 /);
  assert.match(await send('DATA\r\n'), /^354 /);
  const files = () => readdirSync(t.dir).sort();
  const done = () => {
    sock.destroy();
    closeAll(map);
    t.cleanup();
  };
  return { server, map, pump, sock, send, files, dir: t.dir, done };
}

/** Dot-stuff `msg` (RFC 5321 4.5.2) and add the end-of-data marker. */
function stuffed(msg: Buffer): Buffer {
  return Buffer.from(`${msg.toString('latin1').replace(/^\./gm, '..')}.\r\n`, 'latin1');
}

describe('SMTP example: DATA streams to its file', () => {
  it('the stored file is the message byte for byte, sent in 1..7-byte pieces across many reads', async () => {
    const s = await session();
    try {
      const wire = stuffed(MESSAGE);
      for (let i = 0, k = 1; i < wire.length - 3; i += k, k = (k % 7) + 1) {
        s.sock.write(wire.subarray(i, Math.min(i + k, wire.length - 3)));
        if (i % 500 < 7) await s.pump(() => true, 'a pass');
      }
      await s.pump(() => s.files().some((f) => f.endsWith('.tmp')), 'the temporary file while the message arrives');
      assert.equal(await s.send(wire.subarray(wire.length - 3)), '250 OK');
      const eml = s.files().filter((f) => f.endsWith('.eml'));
      assert.equal(eml.length, 1);
      assert.deepEqual(s.files(), eml, 'no temporary file left');
      assert.ok(readFileSync(join(s.dir, eml[0]!)).equals(MESSAGE));
      assert.equal(s.server.stored, 1);
    } finally {
      s.done();
    }
  });

  it('SIZE is enforced while streaming: past the limit the partial file is removed at once, then 552', async () => {
    const s = await session({ dataSizeLimit: 64 * 1024 });
    try {
      s.sock.write(`${'z'.repeat(998)}\r\n`.repeat(40));
      await s.pump(() => s.files().length === 1, 'the temporary file');
      s.sock.write(`${'z'.repeat(998)}\r\n`.repeat(200));
      await s.pump(() => s.files().length === 0, 'the partial file to go before the end of the message');
      assert.equal(await s.send('.\r\n'), '552 Error: Too much mail data');
      assert.deepEqual(s.files(), []);
      assert.match(await s.send('NOOP\r\n'), /^250 /);
    } finally {
      s.done();
    }
  });

  it('closing every channel mid-message (shutdown) removes the temporary file', async () => {
    const s = await session();
    try {
      s.sock.write('Subject: cut\r\n\r\nhalf');
      await s.pump(() => s.files().length === 1, 'the temporary file');
      closeAll(s.map);
      assert.deepEqual(s.files(), []);
    } finally {
      s.done();
    }
  });
});
