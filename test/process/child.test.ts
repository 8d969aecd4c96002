// Sockets and FileWrappers in a child Node (tsx): what needs a process of its own, the garbage
// collector's finalizer (--expose-gc) closing a collected descriptor with a ResourceWarning,
// and SIGPIPE restored to its default action.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { checkLeaks } from '../helpers.js';

const run = promisify(execFile);
checkLeaks();

/** Run an ES module snippet in a child Node with tsx; the snippet gets `Sock` (src/index.ts, the public surface). */
async function child(code: string, extraArgs: string[] = []): Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null }> {
  const socketUrl = new URL('../../src/index.ts', import.meta.url).href;
  const script = `const Sock = await import(${JSON.stringify(socketUrl)});\n${code}`;
  try {
    const r = await run(process.execPath, [...extraArgs, '--import', 'tsx', '--input-type=module', '-e', script], { timeout: 8000, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    return { stdout: r.stdout, stderr: r.stderr, code: 0, signal: null };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number | null; signal: string | null };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code, signal: err.signal };
  }
}

describe('in a child process', () => {
  it('a Socket collected while open is closed with a ResourceWarning', async () => {
    const r = await child(`
        import { readdirSync, readlinkSync } from 'node:fs';
        const warnings = [];
        process.on('warning', (w) => { if (w.name === 'ResourceWarning') warnings.push(w.message); });
        const links = () => readdirSync('/proc/self/fd').map((n) => { try { return readlinkSync('/proc/self/fd/' + n); } catch { return ''; } });
        const tick = () => new Promise((r) => setImmediate(r));
        const make = (close, detach) => {
          const s = new Sock.Socket();
          s.bind(['127.0.0.1', 0]);
          const fd = s.fileno();
          const link = readlinkSync('/proc/self/fd/' + fd);
          if (close) s.close();
          return { fd, link, raw: detach ? s.detach() : -1 };
        };
        const leaked = make(false, false);
        const closed = make(true, false);
        const detached = make(false, true);
        for (let i = 0; i < 20 && warnings.length === 0; i++) { globalThis.gc(); await tick(); }
        for (let i = 0; i < 3; i++) { globalThis.gc(); await tick(); }
        const open = links();
        process.stdout.write(JSON.stringify({
          warnings,
          leakedFd: leaked.fd,
          leakedOpen: open.includes(leaked.link),
          detachedOpen: open.includes(detached.link),
        }));
        Sock.closeFd(detached.raw);
    `, ['--expose-gc']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { warnings: string[]; leakedFd: number; leakedOpen: boolean; detachedOpen: boolean };
    assert.equal(out.warnings.length, 1, `exactly one ResourceWarning (closed and detached sockets warn not): ${r.stdout}`);
    assert.match(out.warnings[0]!, new RegExp(`fd=${out.leakedFd}\\b`));
    assert.equal(out.leakedOpen, false, 'the collected socket\'s descriptor is closed');
    assert.equal(out.detachedOpen, true, 'a detached descriptor is left alone');
    assert.match(r.stderr, /ResourceWarning/, 'Node prints the warning');
  });

  it('send never raises SIGPIPE, even with SIGPIPE at its default action', async () => {
    // The child restores SIG_DFL for SIGPIPE (Node ignores it), so a send without
    // MSG_NOSIGNAL would kill it. At the end a plain write(2) proves the signal is armed.
    const r = await child(`
      import koffi from 'koffi';
      import { writeSync } from 'node:fs';
      const libc = koffi.load('libc.so.6');
      const signal = libc.func('void *signal(int, void *)');
      const write = libc.func('long write(int, void *, unsigned long)');
      signal(13, null);
      const codes = [];
      const attempt = (f) => { try { f(); codes.push('ok'); } catch (e) { codes.push(e.code); } };
      const [a, b] = Sock.socketpair();
      b.close();
      attempt(() => a.send(Buffer.from('x')));
      attempt(() => a.sendall(Buffer.from('x')));
      // TCP: the first send after the peer closed may still succeed; later ones fail.
      const srv = new Sock.Socket();
      srv.bind(['127.0.0.1', 0]);
      srv.listen();
      const cli = new Sock.Socket();
      cli.connect(srv.getsockname());
      const [conn] = srv.accept();
      conn.close();
      let tcp = 'none';
      for (let i = 0; i < 200 && tcp === 'none'; i++) {
        try { cli.send(Buffer.alloc(1024)); } catch (e) { tcp = e.code; }
        await new Promise((r) => setTimeout(r, 5));
      }
      codes.push(tcp);
      writeSync(1, codes.join(',') + '\\n');
      write(a.fileno(), Buffer.from('x'), 1);
      writeSync(1, 'survived write(2)\\n');
    `);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `stdout: ${r.stdout} stderr: ${r.stderr}`);
    const [pair, pairAll, tcp] = lines[0]!.split(',');
    assert.equal(pair, 'EPIPE');
    assert.equal(pairAll, 'EPIPE');
    assert.match(tcp!, /^(EPIPE|ECONNRESET)$/);
    assert.equal(r.signal, 'SIGPIPE', 'the control write(2) without MSG_NOSIGNAL is killed by SIGPIPE');
  });
});

describe('FileWrapper in a child process', () => {
  it('a FileWrapper collected while open is closed with a ResourceWarning', async () => {
    const src = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
    const script = `
      import { FileWrapper, pipe, closeFd } from ${JSON.stringify(src)};
      import { readdirSync } from 'node:fs';
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
      const [r, w] = pipe();
      let dupFd = -1;
      (() => { const fw = new FileWrapper(r); dupFd = fw.fd; })();
      closeFd(r); closeFd(w);
      for (let i = 0; i < 20 && warnings.length === 0; i++) {
        globalThis.gc();
        await new Promise((res) => setTimeout(res, 10));
      }
      const open = readdirSync('/proc/self/fd').map(Number).includes(dupFd);
      console.log(JSON.stringify({ warnings, dupFd, open }));
    `;
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      timeout: 20000,
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { warnings: string[]; dupFd: number; open: boolean };
    assert.equal(out.warnings.length, 1, stdout);
    assert.match(out.warnings[0]!, new RegExp(`^ResourceWarning: .*fd=${out.dupFd}`));
    assert.equal(out.open, false, 'the collected wrapper\'s descriptor was closed');
  });
});
