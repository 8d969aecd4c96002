// A signal delivered during a loop pass's wait (EINTR): another process (sh) signals this one
// mid-wait, then writes to a pipe the pass watches.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { checkLeaks, usePrivateMap, map, POLLERS } from '../helpers.js';
import { FileDispatcher, loop, pipe } from '../../src/index.js';

const { fds: extraFds } = usePrivateMap();
checkLeaks();

describe('a signal during the wait (EINTR)', () => {
  for (const poller of POLLERS) {
    it(`${poller}: the pass resumes waiting and still dispatches what arrives later`, async () => {
      const [r, w] = pipe();
      extraFds.push(r, w);
      let got = '';
      class Reader extends FileDispatcher {
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          got += this.recv(100).toString();
        }
      }
      new Reader(r, map);
      let signals = 0;
      const onSignal = (): void => {
        signals++;
      };
      process.on('SIGUSR2', onSignal);
      try {
        // Another process interrupts our wait with a signal, then writes to the pipe.
        const child = spawn('sh', ['-c', `sleep 0.05; kill -USR2 ${process.pid}; sleep 0.1; printf late`], { stdio: ['ignore', w, 'ignore'] });
        const exited = new Promise((res) => child.on('close', res));
        const t0 = process.hrtime.bigint();
        loop({ timeout: 5, count: 1, map, poller });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        await exited;
        assert.equal(got, 'late');
        assert.ok(ms >= 100, `the wait went on past the signal (${ms.toFixed(0)} ms)`);
        await new Promise((res) => setImmediate(res));
        assert.equal(signals, 1, 'the signal was delivered to Node');
      } finally {
        process.off('SIGUSR2', onSignal);
      }
    });
  }
});
