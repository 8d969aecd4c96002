// The example SMTP server (served in this process, in bounded passes interleaved with Node's
// event loop) with Python's smtplib as the client, in a python3.11 child. Skips without python3.11.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { checkLeaks, findPython } from '../helpers.js';
import { MESSAGE, start, useSmtpCleanup } from '../fixtures/smtp.js';

useSmtpCleanup();
checkLeaks(); // after the cleanup hook: hooks run in order

const python = findPython();

describe('SMTP server: Python smtplib as the client', { skip: python === null ? 'python3.11 is not installed' : false }, () => {
  it('accepts a message from smtplib; the stored file is what was sent, dot-unstuffed', async () => {
    const { server, port, pump, files, file } = start();
    const script = `
import smtplib, sys
msg = sys.stdin.buffer.read()
with smtplib.SMTP('127.0.0.1', ${port}, timeout=20) as s:
    refused = s.sendmail('alice@example.com', ['bob@example.com', 'carol@example.com'], msg)
    print('refused', len(refused), 'esmtp', s.does_esmtp, 'size', s.has_extn('size'))
`;
    const child = spawn(python!, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let exit: number | null | undefined;
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { exit = code; });
    child.stdin.end(MESSAGE);
    try {
      await pump(() => exit !== undefined, 'smtplib to finish', 2000);
    } finally {
      if (exit === undefined) child.kill();
    }
    assert.equal(exit, 0, err);
    assert.equal(out.trim(), 'refused 0 esmtp True size True');
    await pump(() => server._map.size === 1, 'the channel to close after QUIT');
    assert.equal(files().length, 1);
    assert.ok(file(files()[0]!).equals(MESSAGE), 'stored file equals the message');
    const d = server.deliveries[0]!;
    assert.equal(d.mailfrom, 'alice@example.com');
    assert.deepEqual(d.rcpttos, ['bob@example.com', 'carol@example.com']);
    assert.deepEqual(d.options.mailOptions, [`SIZE=${MESSAGE.length}`]);
  });
});
