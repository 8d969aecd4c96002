// The Poller contract (src/pollers/types.ts) as one suite that every backend's test file runs
// with a factory: register/poll/readyFds/readyEvents over real descriptors (socketpairs, TCP
// on loopback, pipes, a regular file), registrations that last one pass, unregister before an
// fd number is reused, reset() after an abandoned pass, close(), timeouts, POLLPRI, HUP.
// Interest is declared the way the driver (src/reactor/driver.ts) declares it: select gets
// SELECT_EXPT for its exceptional set, every other backend POLLIN|POLLPRI.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLeaks, fdCount, tempDir, track, useTracking } from '../../helpers.js';
import { Socket, pipe, closeFd } from '../../../src/io/socket.js';
import { socketpair } from '../../../src/io/pair.js';
import { C } from '../../../src/sys/constants.js';
import { type Poller, SELECT_EXPT } from '../../../src/pollers/types.js';

const { POLLIN, POLLPRI, POLLOUT, POLLHUP, MSG_OOB } = C;

export interface ContractOptions {
  /**
   * The backend keeps its registrations in the kernel between passes (epoll): reset() leaves
   * them, so the "reset drops the abandoned pass" check applies only to per-pass backends.
   */
  persistent?: boolean;
}

/** The interest a channel that wants to read declares, as the driver builds it. */
export function readInterest(p: Poller): number {
  return p.name === 'select' ? POLLIN | SELECT_EXPT : POLLIN | POLLPRI;
}

/** The interest a channel that wants to write declares (select also watches it for exceptions). */
export function writeInterest(p: Poller): number {
  return p.name === 'select' ? POLLOUT | SELECT_EXPT : POLLOUT;
}

/** poll()'s result as fd → OR of its reported events (select reports one entry per set). */
export function readyMap(p: Poller, n: number): Map<number, number> {
  assert.ok(n >= 0, `poll() failed with errno ${-n}`);
  assert.ok(n <= p.readyFds.length && n <= p.readyEvents.length, 'readyFds/readyEvents hold n entries');
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) m.set(p.readyFds[i]!, (m.get(p.readyFds[i]!) ?? 0) | p.readyEvents[i]!);
  return m;
}

/** A connected pair of TCP sockets on 127.0.0.1 (blocking), both tracked. */
export function tcpPair(): [Socket, Socket] {
  const l = new Socket();
  try {
    l.bind(['127.0.0.1', 0]);
    l.listen(1);
    const c = track(new Socket());
    c.connect(l.getsockname());
    const [s] = l.accept();
    return [track(s), c];
  } finally {
    l.close();
  }
}

/** A socketpair, both ends tracked. */
export function pair(): [Socket, Socket] {
  const [a, b] = socketpair();
  return [track(a), track(b)];
}

/** Milliseconds `fn` took. */
function timed<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

/** The contract suite for the backend `make()` builds (each test closes its pollers). */
export function pollerContract(name: string, make: () => Poller, opts: ContractOptions = {}): void {
  describe(`${name}: the Poller contract`, () => {
    useTracking();
    checkLeaks();
    const fresh = (): Poller => track(make());
    const A = {}, B = {}, C2 = {};

    it('is named after its backend', () => {
      assert.equal(fresh().name, name);
    });

    it('reports a readable fd with POLLIN, and not an idle one', () => {
      const p = fresh();
      const [a, b] = pair();
      const [c] = pair();
      b.send(Buffer.from('x'));
      p.register(a.fileno(), readInterest(p), A);
      p.register(c.fileno(), readInterest(p), B);
      const ready = readyMap(p, p.poll(1000));
      assert.ok((ready.get(a.fileno())! & POLLIN) !== 0, `a is readable: ${[...ready]}`);
      assert.equal(ready.has(c.fileno()), false, 'c has nothing to read');
    });

    it('reports a writable fd with POLLOUT, and only the interest registered', () => {
      const p = fresh();
      const [a, b] = pair();
      b.send(Buffer.from('x')); // a is readable too, but only writing was asked for
      p.register(a.fileno(), writeInterest(p), A);
      const ready = readyMap(p, p.poll(1000));
      assert.equal(ready.get(a.fileno())! & (POLLOUT | POLLIN), POLLOUT);
    });

    it('reports every ready fd of a pass, each once per kind of event', () => {
      const p = fresh();
      const pairs = [pair(), pair(), pair(), pair()];
      for (const [, b] of pairs) b.send(Buffer.from('x'));
      for (const [a] of pairs) p.register(a.fileno(), readInterest(p) | writeInterest(p), a);
      const n = p.poll(1000);
      const ready = readyMap(p, n);
      for (const [a] of pairs) assert.equal(ready.get(a.fileno())! & (POLLIN | POLLOUT), POLLIN | POLLOUT);
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        for (const bit of [POLLIN, POLLOUT]) {
          if (p.readyEvents[i]! & bit) {
            const key = `${p.readyFds[i]}:${bit}`;
            assert.equal(seen.has(key), false, `fd ${p.readyFds[i]} reported twice for ${bit}`);
            seen.add(key);
          }
        }
      }
    });

    it('nothing ready: poll(timeout) returns 0 after waiting the timeout; poll(0) does not wait', () => {
      const p = fresh();
      const [a] = pair();
      p.register(a.fileno(), readInterest(p), A);
      const [n, ms] = timed(() => p.poll(60));
      assert.equal(n, 0);
      assert.ok(ms >= 50, `waited ${ms.toFixed(1)} ms of a 60 ms timeout`);
      p.register(a.fileno(), readInterest(p), A);
      assert.equal(p.poll(0), 0);
    });

    it('with nothing registered, poll(timeout) still waits the timeout and returns 0', () => {
      const p = fresh();
      const [n, ms] = timed(() => p.poll(40));
      assert.equal(n, 0);
      assert.ok(ms >= 30, `waited ${ms.toFixed(1)} ms of a 40 ms timeout`);
    });

    it('registrations last one pass: an fd not registered again is not reported', () => {
      const p = fresh();
      const [a, b] = pair();
      b.send(Buffer.from('x'));
      p.register(a.fileno(), readInterest(p), A);
      assert.ok(readyMap(p, p.poll(1000)).has(a.fileno()));
      // The data is still unread, but this pass declared nothing.
      assert.equal(readyMap(p, p.poll(0)).has(a.fileno()), false);
      // Declared again: reported again (level-triggered).
      p.register(a.fileno(), readInterest(p), A);
      assert.ok(readyMap(p, p.poll(1000)).has(a.fileno()));
    });

    it('a changed interest takes effect in the next pass', () => {
      const p = fresh();
      const [a, b] = pair();
      p.register(a.fileno(), writeInterest(p), A);
      assert.equal(readyMap(p, p.poll(1000)).get(a.fileno())! & POLLOUT, POLLOUT);
      p.register(a.fileno(), readInterest(p), A);
      assert.equal(readyMap(p, p.poll(0)).has(a.fileno()), false, 'reading only, and nothing to read');
      b.send(Buffer.from('x'));
      p.register(a.fileno(), readInterest(p), A);
      assert.equal(readyMap(p, p.poll(1000)).get(a.fileno())! & (POLLIN | POLLOUT), POLLIN);
      p.register(a.fileno(), readInterest(p) | writeInterest(p), A);
      assert.equal(readyMap(p, p.poll(1000)).get(a.fileno())! & (POLLIN | POLLOUT), POLLIN | POLLOUT);
    });

    it('unregister() before the fd number is reused: the new owner is served, the old state is gone', () => {
      const p = fresh();
      const [a, b] = socketpair();
      b.send(Buffer.from('x'));
      const fd = a.fileno();
      p.register(fd, readInterest(p) | writeInterest(p), A);
      assert.ok(readyMap(p, p.poll(1000)).has(fd));
      p.unregister(fd);
      a.close();
      b.close();
      const [c, d] = pair(); // the lowest free numbers: very likely fd again
      p.register(c.fileno(), readInterest(p), B);
      assert.equal(readyMap(p, p.poll(0)).has(c.fileno()), false, 'nothing to read on the new socket');
      d.send(Buffer.from('y'));
      p.register(c.fileno(), readInterest(p), B);
      assert.equal(readyMap(p, p.poll(1000)).get(c.fileno())! & (POLLIN | POLLOUT), POLLIN);
    });

    it('an fd number reused by a new owner without unregister() is still served', () => {
      const p = fresh();
      const [a, b] = socketpair();
      const fd = a.fileno();
      p.register(fd, readInterest(p), A);
      assert.equal(p.poll(0), 0);
      a.close();
      b.close();
      const [c, d] = pair();
      d.send(Buffer.from('y'));
      p.register(c.fileno(), readInterest(p), B);
      assert.ok((readyMap(p, p.poll(1000)).get(c.fileno())! & POLLIN) !== 0, `fd ${c.fileno()} (was ${fd})`);
    });

    it('unregister() of an fd it never saw, or twice, is harmless', () => {
      const p = fresh();
      const [a, b] = pair();
      p.unregister(a.fileno());
      p.register(a.fileno(), readInterest(p), A);
      p.poll(0);
      p.unregister(a.fileno());
      p.unregister(a.fileno());
      b.send(Buffer.from('x'));
      p.register(a.fileno(), readInterest(p), A);
      assert.ok(readyMap(p, p.poll(1000)).has(a.fileno()));
    });

    it('reset() after an abandoned pass: the next pass works', () => {
      const p = fresh();
      const [a, b] = pair();
      const [c] = pair();
      b.send(Buffer.from('x'));
      p.register(a.fileno(), readInterest(p), A);
      p.reset(); // the walk that registered a threw before poll()
      p.register(c.fileno(), writeInterest(p), C2);
      const ready = readyMap(p, p.poll(1000));
      assert.equal(ready.get(c.fileno())! & POLLOUT, POLLOUT);
      if (!opts.persistent) assert.equal(ready.has(a.fileno()), false, 'the abandoned registration is gone');
      // And the pass after that is an ordinary one.
      p.register(a.fileno(), readInterest(p), A);
      assert.ok((readyMap(p, p.poll(1000)).get(a.fileno())! & POLLIN) !== 0);
    });

    it('close() releases what the poller holds in the kernel, and is idempotent', () => {
      const [a, b] = pair();
      b.send(Buffer.from('x'));
      const before = fdCount();
      const p = make();
      p.register(a.fileno(), readInterest(p), A);
      p.poll(1000);
      p.close();
      assert.equal(fdCount(), before, 'no descriptor left behind by close()');
      p.close();
      assert.equal(fdCount(), before);
    });

    it('POLLPRI: out-of-band TCP data is reported', () => {
      const p = fresh();
      const [s, c] = tcpPair();
      c.send(Buffer.from([0xf4]), MSG_OOB);
      let events = 0;
      for (let i = 0; i < 50 && (events & POLLPRI) === 0; i++) {
        p.register(s.fileno(), readInterest(p), A);
        events = readyMap(p, p.poll(100)).get(s.fileno()) ?? 0;
      }
      assert.equal(events & POLLPRI, POLLPRI, `events ${events}`);
    });

    it('HUP: a socket whose peer closed is reported (POLLHUP; select: readable at EOF)', () => {
      const p = fresh();
      const [a, b] = socketpair();
      track(a);
      b.close();
      p.register(a.fileno(), readInterest(p), A);
      const ev = readyMap(p, p.poll(1000)).get(a.fileno()) ?? 0;
      if (name === 'select') assert.equal(ev & POLLIN, POLLIN, `events ${ev}`);
      else assert.equal(ev & POLLHUP, POLLHUP, `events ${ev}`);
    });

    it('HUP: a pipe whose write end closed is reported (POLLHUP; select: readable at EOF)', () => {
      const p = fresh();
      const [r, w] = pipe();
      try {
        closeFd(w);
        p.register(r, readInterest(p), A);
        const ev = readyMap(p, p.poll(1000)).get(r) ?? 0;
        if (name === 'select') assert.equal(ev & POLLIN, POLLIN, `events ${ev}`);
        else assert.equal(ev & POLLHUP, POLLHUP, `events ${ev}`);
      } finally {
        p.unregister(r);
        closeFd(r);
      }
    });

    it('a regular file is always ready for reading and writing, as poll(2) reports it', () => {
      const p = fresh();
      const t = tempDir();
      const path = join(t.dir, 'file');
      writeFileSync(path, 'contents');
      const fd = openSync(path, 'r+');
      try {
        for (let pass = 0; pass < 3; pass++) {
          p.register(fd, readInterest(p) | writeInterest(p), A);
          const [n, ms] = timed(() => p.poll(5000));
          assert.equal(readyMap(p, n).get(fd)! & (POLLIN | POLLOUT), POLLIN | POLLOUT, `pass ${pass}`);
          assert.ok(ms < 4000, 'reported without waiting for the timeout');
        }
        // Only what was asked for.
        p.register(fd, readInterest(p), A);
        assert.equal(readyMap(p, p.poll(1000)).get(fd)! & (POLLIN | POLLOUT), POLLIN);
      } finally {
        p.unregister(fd);
        closeSync(fd);
        t.cleanup();
      }
    });
  });
}
