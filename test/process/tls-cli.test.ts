// The CLI over TLS: smtp-server --tls-cert/--tls-key offers STARTTLS (driven by Python's
// smtplib), echo-server --tls-cert/--tls-key echoes over TLS, http-get https:// verifies by
// default and takes --cafile and --insecure.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAS_TLS } from '../../src/index.js';
import { HAS_OPENSSL_CLI, HAS_PYTHON, makePki, type TestPki } from '../fixtures/tls-ca.js';

const skip = !HAS_TLS ? 'OpenSSL unreachable in this node' : !HAS_OPENSSL_CLI ? 'openssl CLI missing' : false;
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

/** Run a command to completion: exit code, stdout, stderr. */
function exec(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20000 }, (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }));
  });
}

/** Start an asyncore CLI server; resolves with its first line and a stop function. */
async function startCli(args: string[]): Promise<{ line: string; port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no first line; stderr: ${err}`)), 15000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(t); resolve(out.split('\n')[0]!); }
    });
    child.on('exit', (c) => { clearTimeout(t); reject(new Error(`exited ${c}: ${err}`)); });
  });
  const port = Number(/:(\d+)\b/.exec(line)![1]);
  return { line, port, stop: async () => { child.kill(); await closed; } };
}

describe('the CLI over TLS', { skip }, () => {
  let pki: TestPki;
  before(() => { pki = makePki(); });

  it('smtp-server --tls-cert/--tls-key: STARTTLS with smtplib, session reset after the upgrade', { skip: HAS_PYTHON ? false : 'python3.11 missing' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncore-smtp-tls-'));
    const srv = await startCli(['smtp-server', '--host', '127.0.0.1', '--port', '0', '--dir', dir, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]);
    try {
      assert.match(srv.line, /STARTTLS/);
      const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = smtplib.SMTP('localhost', int(sys.argv[1]))
code, msg = s.ehlo('client.test')
print('plain-ehlo', code, b'STARTTLS' in msg)
print('starttls', s.starttls(context=ctx)[0], s.sock.version())
print('mail-before-ehlo', s.docmd('MAIL FROM:<a@x.test>')[0])
code, msg = s.ehlo('client.test')
print('tls-ehlo', code, b'STARTTLS' in msg)
print('starttls-again', s.docmd('STARTTLS')[0])
s.sendmail('a@x.test', ['b@y.test'], 'Subject: hi\\r\\n\\r\\nover tls\\r\\n')
s.quit()
`;
      const r = await exec('python3.11', ['-c', script, String(srv.port), pki.caCert]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'plain-ehlo 250 True\nstarttls 220 TLSv1.3\nmail-before-ehlo 503\ntls-ehlo 250 False\nstarttls-again 503\n');
      const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
      assert.equal(files.length, 1);
      assert.match(readFileSync(join(dir, files[0]!), 'latin1'), /over tls/);
      // Plain text pipelined after STARTTLS is never executed (CVE-2011-0411).
      const inj = `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
f = s.makefile('rb')
f.readline()
s.sendall(b'EHLO x\\r\\n')
while not f.readline().startswith(b'250 '): pass
s.sendall(b'STARTTLS\\r\\nRSET\\r\\n')
print(f.readline().decode().strip())
s.settimeout(1.0)
try:
    print(repr(f.readline()))
except (socket.timeout, OSError):
    print('no reply')
`;
      const r2 = await exec('python3.11', ['-c', inj, String(srv.port)]);
      // The server discarded RSET and waits for a ClientHello.
      assert.equal(r2.out, '220 Ready to start TLS\nno reply\n', r2.err);
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('smtp-server without TLS options does not advertise STARTTLS', { skip: HAS_PYTHON ? false : 'python3.11 missing' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncore-smtp-'));
    const srv = await startCli(['smtp-server', '--host', '127.0.0.1', '--port', '0', '--dir', dir]);
    try {
      const r = await exec('python3.11', ['-c', `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
print(s.ehlo('x')[0], s.has_extn('starttls'))
s.quit()`, String(srv.port)]);
      assert.equal(r.out, '250 False\n', r.err);
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('echo-server --tls-cert/--tls-key echoes over TLS', async () => {
    const srv = await startCli(['echo-server', '--host', '127.0.0.1', '--port', '0', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]);
    try {
      assert.match(srv.line, /TLS/);
      const script = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost') as s:
    s.sendall(b'x' * 100000)
    got = b''
    while len(got) < 100000:
        got += s.recv(65536)
    print(len(got), got == b'x' * 100000, s.version())
`;
      const r = HAS_PYTHON ? await exec('python3.11', ['-c', script, String(srv.port), pki.caCert]) : null;
      if (r) assert.equal(r.out, '100000 True TLSv1.3\n', r.err);
    } finally {
      await srv.stop();
    }
    const bad = await exec(process.execPath, ['--import', 'tsx', MAIN, 'echo-server', '--port', '0', '--tls-cert', pki.serverCert, '--tls-key', pki.clientKey]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /KEY_VALUES_MISMATCH.*does not belong/);
  });

  it('http-get https:// verifies by default; --cafile and --insecure', async () => {
    const l = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-cert', pki.serverCert, '-key', pki.serverKey, '-www'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const closed = new Promise<void>((r) => l.on('close', () => r()));
    try {
      let out = '';
      l.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      for (let i = 0; i < 300 && !/ACCEPT/.test(out); i++) await new Promise((r) => setTimeout(r, 20));
      // s_server prints the address it bound: ACCEPT 127.0.0.1:PORT (3.0 prints ACCEPT alone).
      let port = Number(/ACCEPT\s+\S*:(\d+)/.exec(out)?.[1] ?? 0);
      if (!port) {
        const ss = await exec('ss', ['-ltnpH']);
        port = Number(new RegExp(`127\\.0\\.0\\.1:(\\d+)\\s.*pid=${l.pid},`).exec(ss.out)?.[1] ?? 0);
      }
      assert.ok(port > 0, out);
      const get = (...a: string[]): Promise<{ code: number; out: string; err: string }> => exec(process.execPath, ['--import', 'tsx', MAIN, 'http-get', ...a]);
      const ok = await get(`https://localhost:${port}/`, '--cafile', pki.caCert);
      assert.equal(ok.code, 0, ok.err);
      assert.match(ok.out, /^HTTP\/1\.0 200 ok/);
      const untrusted = await get(`https://localhost:${port}/`);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.err, /\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: unable to get local issuer certificate/);
      const wrongName = await get(`https://127.0.0.2:${port}/`, '--cafile', pki.caCert);
      assert.ok(wrongName.code === 1);
      const insecure = await get(`https://localhost:${port}/`, '--insecure');
      assert.equal(insecure.code, 0, insecure.err);
      assert.match(insecure.out, /^HTTP\/1\.0 200 ok/);
    } finally {
      l.kill();
      await closed;
    }
  });
});
