// The example SMTP server (src/examples/smtp-server.ts) against hand-written sessions over
// node:net, including malformed ones after which the server must still serve the next client.
// The loop runs in this process, in bounded passes interleaved with Node's event loop so the
// clients can run too. (smtplib as the client: test/process/smtp-smtplib.test.ts; the
// program's command line: test/process/example-servers.test.ts.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { checkLeaks, tempDir } from '../helpers.js';
import { SMTPServer, parsePath } from '../../src/examples/smtp-server.js';
import { clients, start, useSmtpCleanup } from '../fixtures/smtp.js';

useSmtpCleanup();
checkLeaks(); // after the cleanup hook: hooks run in order

/** A line-oriented SMTP client over node:net whose replies arrive while `pump` runs the loop. */
async function connect(port: number, pump: (done: () => boolean, what: string) => Promise<void>) {
  const sock = net.connect(port, '127.0.0.1');
  clients.push(sock);
  const lines: string[] = [];
  let partial = '';
  let closed = false;
  sock.on('data', (d) => {
    partial += d.toString('latin1');
    let i;
    while ((i = partial.indexOf('\r\n')) >= 0) {
      lines.push(partial.slice(0, i));
      partial = partial.slice(i + 2);
    }
  });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  /** The next complete reply (multi-line replies joined with '\n'). */
  const reply = async (): Promise<string> => {
    const complete = () => {
      const end = lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
      return end;
    };
    await pump(() => complete() >= 0, 'a reply');
    return lines.splice(0, complete() + 1).join('\n');
  };
  const send = async (data: string | Buffer): Promise<string> => {
    sock.write(data);
    return reply();
  };
  const cmd = (line: string) => send(`${line}\r\n`);
  const waitClosed = () => pump(() => closed, 'the server to close the connection');
  assert.match(await reply(), /^220 mx\.test /);
  return { sock, cmd, send, reply, waitClosed, lines };
}

describe('SMTP server: sessions over node:net', () => {
  it('a malformed session gets the right 5xx replies, and the server serves the next session', async () => {
    const { server, port, pump, files, file } = start();
    const c = await connect(port, pump);
    const expect: [string, string][] = [
      ['MAIL FROM:<a@example.com>', '503 Error: send HELO first'],
      ['RCPT TO:<b@example.com>', '503 Error: send HELO first'],
      ['DATA', '503 Error: send HELO first'],
      ['HELO', '501 Syntax: HELO hostname'],
      ['FROBNICATE now', '500 Error: command "FROBNICATE" not recognized'],
      ['', '500 Error: bad syntax'],
      ['HELO client.test', '250 mx.test'],
      ['HELO again', '503 Duplicate HELO/EHLO'],
      ['RCPT TO:<b@example.com>', '503 Error: need MAIL command'],
      ['DATA', '503 Error: need RCPT command'],
      ['MAIL TO:<a@example.com>', '501 Syntax: MAIL FROM: <address>'],
      ['MAIL FROM:<a@example.com', '501 Syntax: MAIL FROM: <address>'],
      ['MAIL FROM:<a@example.com> SIZE=10', '501 Syntax: MAIL FROM: <address>'], // parameters need EHLO
      ['MAIL FROM:<a@example.com>', '250 OK'],
      ['MAIL FROM:<a@example.com>', '503 Error: nested MAIL command'],
      ['DATA', '503 Error: need RCPT command'],
      ['RCPT TO:<>', '501 Syntax: RCPT TO: <address>'],
      ['RCPT FROM:<b@example.com>', '501 Syntax: RCPT TO: <address>'],
      ['NOOP please', '501 Syntax: NOOP'],
      ['RSET now', '501 Syntax: RSET'],
      ['VRFY', '501 Syntax: VRFY <address>'],
      ['EXPN list', '502 EXPN not implemented'],
      [`MAIL FROM:<${'a'.repeat(600)}@example.com>`, '500 Error: line too long'],
      [`NOOP ${'n'.repeat(100_000)}`, '500 Error: line too long'], // bigger than one read
      ['RSET', '250 OK'],
      ['RCPT TO:<b@example.com>', '503 Error: need MAIL command'], // RSET cleared the envelope
      ['NOOP', '250 OK'],
    ];
    for (const [command, want] of expect) {
      assert.equal(await c.cmd(command), want, `reply to ${JSON.stringify(command.slice(0, 40))}`);
    }
    // Input past the limit was dropped, not buffered.
    assert.equal(await c.cmd('QUIT'), '221 Bye');
    await c.waitClosed();
    assert.deepEqual(files(), []);

    // The server is still up: a clean session delivers.
    const d = await connect(port, pump);
    assert.equal(await d.cmd('EHLO client.test'), '250-mx.test\n250-SIZE 33554432\n250-8BITMIME\n250 HELP');
    assert.equal(await d.cmd('MAIL FROM:<a@example.com> SIZE=30 BODY=8BITMIME'), '250 OK');
    assert.equal(await d.cmd('RCPT TO:<b@example.com>'), '250 OK');
    assert.equal(await d.cmd('RCPT TO:<c@example.com> NOTIFY=NEVER'), '555 RCPT TO parameters not recognized or not implemented');
    assert.equal(await d.cmd('DATA'), '354 End data with <CR><LF>.<CR><LF>');
    assert.equal(await d.send('Subject: hi\r\n\r\n..dotted\r\nend\r\n.\r\n'), '250 OK');
    assert.equal(await d.cmd('QUIT'), '221 Bye');
    await d.waitClosed();
    assert.equal(files().length, 1);
    assert.equal(file(files()[0]!).toString(), 'Subject: hi\r\n\r\n.dotted\r\nend\r\n');
    assert.equal(server.deliveries[0]!.mailfrom, 'a@example.com');
    assert.deepEqual(server.deliveries[0]!.options.mailOptions, ['SIZE=30', 'BODY=8BITMIME']);
  });

  it('pipelined commands and several messages in one write; an empty message; the null sender', async () => {
    const { server, port, pump, files } = start();
    const c = await connect(port, pump);
    c.sock.write(
      'HELO p.test\r\nMAIL FROM:<>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n.\r\n' +
      'MAIL FROM:<y@example.com>\r\nRCPT TO:<x@example.com>\r\nDATA\r\none\r\n.\r\nQUIT\r\n',
    );
    await c.waitClosed();
    assert.deepEqual(c.lines, ['250 mx.test', '250 OK', '250 OK', '354 End data with <CR><LF>.<CR><LF>', '250 OK',
      '250 OK', '250 OK', '354 End data with <CR><LF>.<CR><LF>', '250 OK', '221 Bye']);
    assert.equal(files().length, 2);
    assert.deepEqual(server.deliveries.map((d) => [d.mailfrom, d.data.toString()]), [['<>', ''], ['y@example.com', 'one\r\n']]);
  });

  it('too much mail data gets 552, and the session goes on in command mode', async () => {
    const { port, pump, files } = start({ dataSizeLimit: 1000 });
    const c = await connect(port, pump);
    assert.equal(await c.cmd('EHLO big.test'), '250-mx.test\n250-SIZE 1000\n250-8BITMIME\n250 HELP');
    assert.equal(await c.cmd('MAIL FROM:<a@example.com> SIZE=5000'), '552 Error: message size exceeds fixed maximum message size');
    assert.equal(await c.cmd('MAIL FROM:<a@example.com>'), '250 OK');
    assert.equal(await c.cmd('RCPT TO:<b@example.com>'), '250 OK');
    assert.equal(await c.cmd('DATA'), '354 End data with <CR><LF>.<CR><LF>');
    assert.equal(await c.send(`${'y'.repeat(5000)}\r\n.\r\n`), '552 Error: Too much mail data');
    assert.equal(await c.cmd('NOOP'), '250 OK');
    assert.equal(await c.cmd('MAIL FROM:<a@example.com>'), '250 OK'); // the envelope was reset
    assert.deepEqual(files(), []);
  });

  it('a client that vanishes mid-message leaves the server serving', async () => {
    const { server, port, pump, files } = start();
    const c = await connect(port, pump);
    for (const line of ['HELO gone.test', 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.com>', 'DATA']) await c.cmd(line);
    c.sock.write('half a message\r\n.');
    c.sock.destroy();
    await pump(() => server._map.size === 1, 'the server to drop the channel');
    const d = await connect(port, pump);
    assert.equal(await d.cmd('HELO back.test'), '250 mx.test');
    assert.deepEqual(files(), []);
  });
});

describe('SMTP server: pieces', () => {
  it('parsePath handles angle brackets, quoted local parts and parameters', () => {
    assert.deepEqual(parsePath('<a@b.c> SIZE=1'), { address: 'a@b.c', rest: 'SIZE=1' });
    assert.deepEqual(parsePath(' a@b.c'), { address: 'a@b.c', rest: '' });
    assert.deepEqual(parsePath('<"Fred Blogs"@example.com>'), { address: '"Fred Blogs"@example.com', rest: '' });
    assert.deepEqual(parsePath('"Fred Blogs"@example.com BODY=7BIT'), { address: '"Fred Blogs"@example.com', rest: 'BODY=7BIT' });
    assert.deepEqual(parsePath('<>'), { address: '<>', rest: '' });
    assert.equal(parsePath('<a@b.c'), null);
    assert.equal(parsePath('"unterminated@b.c'), null);
  });

  it('bad constructor arguments name the fix', () => {
    assert.throws(() => new SMTPServer(['127.0.0.1', 0], {} as never), { name: 'TypeError', message: /directory to store messages/ });
    const t = tempDir();
    try {
      assert.throws(() => new SMTPServer(['127.0.0.1', 0], { dir: t.dir, dataSizeLimit: -1, map: new Map() }), RangeError);
    } finally {
      t.cleanup();
    }
  });
});
