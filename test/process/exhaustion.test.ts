// fd exhaustion: a server under a low `ulimit -n` keeps its listener, does not spin, warns once
// per episode, and serves the waiting clients by itself once descriptors are free again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { POLLERS } from '../helpers.js';

const fixture = fileURLToPath(new URL('../fixtures/emfile-server.ts', import.meta.url));

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function echoOnce(port: number, text: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no echo within ${timeoutMs} ms`)); }, timeoutMs);
    s.on('data', (d) => {
      got += d;
      if (got.length >= text.length) { clearTimeout(t); s.end(); resolve(got); }
    });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

for (const poller of POLLERS) {
  describe(`fd exhaustion under ${poller}`, () => {
    it('keeps the listener, backs off, warns once, and resumes by itself', async () => {
      // Node and tsx use ~30 descriptors themselves; 64 leaves room for a handful of clients.
      const child = spawn('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" --import tsx "${fixture}"`], {
        env: { ...process.env, POLLER: poller }, stdio: ['pipe', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (d) => { out += d; });
      const clients: net.Socket[] = [];
      try {
        while (!/port (\d+)/.test(out)) await once(child.stdout!, 'data');
        const port = Number(/port (\d+)/.exec(out)![1]);
        // Open more connections than the server has descriptors; keep them open.
        for (let i = 0; i < 60; i++) {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => {});
          clients.push(s);
        }
        await Promise.all(clients.map((s) => once(s, 'connect')));
        const deadline = Date.now() + 10_000;
        while (!out.includes('EMFILE') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.match(out, /accept\(\) failed with EMFILE/, 'the shortage was reported');
        // Exhausted: the process must not spin. Measure its CPU over one second.
        const c0 = cpuSeconds(child.pid!);
        await new Promise((r) => setTimeout(r, 1000));
        const used = cpuSeconds(child.pid!) - c0;
        assert.ok(used < 0.5, `the server used ${used.toFixed(2)} s of CPU in 1 s while exhausted`);
        assert.equal(out.match(/EMFILE/g)!.length, 1, 'one warning per episode');
        assert.equal(child.exitCode, null, 'the server is still running');
        // Free descriptors: the waiting clients (in the backlog) are served without any help.
        for (const s of clients.splice(0, 40)) s.destroy();
        assert.equal(await echoOnce(port, 'after the storm', 10_000), 'after the storm');
        const rest = await Promise.all(clients.slice(0, 5).map((s) => new Promise<string>((resolve) => {
          s.once('data', (d) => resolve(String(d)));
          s.write('queued');
        })));
        assert.deepEqual(rest, Array(5).fill('queued'), 'clients that waited in the backlog are served');
      } finally {
        for (const s of clients) s.destroy();
        child.stdin!.end();
        if (child.exitCode === null) await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
        child.kill('SIGKILL');
      }
    });
  });
}
