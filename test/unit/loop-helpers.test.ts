// The loop's helper functions with fake channels (plain objects, as CPython accepts duck-typed
// channels): read/write/exception/readwrite routing, handleError, ExitNow, closeAll,
// compactTraceback.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { argError, checkLeaks } from '../helpers.js';
import {
  read, write, exception, readwrite, closeAll, compactTraceback, ExitNow, SocketError,
  BlockingIOError, POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, errno, type SocketMap,
} from '../../src/index.js';

checkLeaks();

const THIS_FILE = fileURLToPath(import.meta.url);

type Fake = {
  calls: string[];
  errors: unknown[];
  handleReadEvent(): void;
  handleWriteEvent(): void;
  handleExptEvent(): void;
  handleClose(): void;
  handleError(err: unknown): void;
};

/** A fake channel recording its handler calls; `throwFrom` makes one handler throw `err`. */
function fake(throwFrom?: string, err: unknown = new Error('boom')): Fake {
  const calls: string[] = [];
  const errors: unknown[] = [];
  const h = (name: string) => () => {
    calls.push(name);
    if (name === throwFrom) throw err;
  };
  return {
    calls,
    errors,
    handleReadEvent: h('read'),
    handleWriteEvent: h('write'),
    handleExptEvent: h('expt'),
    handleClose: h('close'),
    handleError(e: unknown) {
      calls.push('error');
      errors.push(e);
    },
  };
}

describe('read/write/exception', () => {
  const cases = [
    ['read', read, 'read'],
    ['write', write, 'write'],
    ['exception', exception, 'expt'],
  ] as const;

  for (const [label, fn, handler] of cases) {
    it(`${label}() calls ${handler} event handler once`, () => {
      const f = fake();
      fn(f);
      assert.deepEqual(f.calls, [handler]);
    });

    it(`${label}() routes a thrown Error to handleError(err)`, () => {
      const boom = new RangeError('bad');
      const f = fake(handler, boom);
      fn(f);
      assert.deepEqual(f.calls, [handler, 'error']);
      assert.equal(f.errors[0], boom);
    });

    it(`${label}() routes a thrown non-Error value to handleError`, () => {
      const f = fake(handler, 'just a string');
      fn(f);
      assert.deepEqual(f.errors, ['just a string']);
    });

    it(`${label}() routes a BlockingIOError to handleError, as CPython does`, () => {
      const e = new BlockingIOError(errno.EAGAIN!, 'recv');
      const f = fake(handler, e);
      fn(f);
      assert.deepEqual(f.errors, [e]);
    });

    it(`${label}() lets ExitNow propagate without handleError`, () => {
      const f = fake(handler, new ExitNow('bye'));
      assert.throws(() => fn(f), (e: unknown) => e instanceof ExitNow && e.message === 'bye');
      assert.deepEqual(f.calls, [handler]);
    });

    it(`${label}() routes a disconnect SocketError to handleError (only readwrite closes)`, () => {
      const e = new SocketError(errno.ECONNRESET!, 'recv');
      const f = fake(handler, e);
      fn(f);
      assert.deepEqual(f.calls, [handler, 'error']);
    });
  }
});

describe('readwrite', () => {
  const single: [string, number, string[]][] = [
    ['POLLIN', POLLIN, ['read']],
    ['POLLOUT', POLLOUT, ['write']],
    ['POLLPRI', POLLPRI, ['expt']],
    ['POLLHUP', POLLHUP, ['close']],
    ['POLLERR', POLLERR, ['close']],
    ['POLLNVAL', POLLNVAL, ['close']],
  ];
  for (const [name, flag, want] of single) {
    it(`${name} alone → ${want.join(', ')}`, () => {
      const f = fake();
      readwrite(f, flag);
      assert.deepEqual(f.calls, want);
    });
  }

  it('no flags → no calls', () => {
    const f = fake();
    readwrite(f, 0);
    assert.deepEqual(f.calls, []);
  });

  it('every flag at once: read, write, expt, then a single close', () => {
    const f = fake();
    readwrite(f, POLLIN | POLLOUT | POLLPRI | POLLHUP | POLLERR | POLLNVAL);
    assert.deepEqual(f.calls, ['read', 'write', 'expt', 'close']);
  });

  it('POLLIN|POLLHUP (peer closed with data pending): read first, then close', () => {
    const f = fake();
    readwrite(f, POLLHUP | POLLIN);
    assert.deepEqual(f.calls, ['read', 'close']);
  });

  it('a handler that throws stops the remaining handlers and goes to handleError', () => {
    const boom = new Error('boom');
    const f = fake('read', boom);
    readwrite(f, POLLIN | POLLOUT | POLLPRI);
    assert.deepEqual(f.calls, ['read', 'error']);
    assert.equal(f.errors[0], boom);
  });

  for (const code of ['ECONNRESET', 'ENOTCONN', 'ESHUTDOWN', 'ECONNABORTED', 'EPIPE', 'EBADF']) {
    it(`SocketError ${code} → handleClose, not handleError`, () => {
      const n = errno[code];
      assert.ok(n !== undefined, `errno.${code} is missing from the package's errno table (src/sys/errno.ts), so DISCONNECTED lacks it`);
      const f = fake('write', new SocketError(n, 'send'));
      readwrite(f, POLLOUT);
      assert.deepEqual(f.calls, ['write', 'close']);
      assert.deepEqual(f.errors, []);
    });
  }

  it('SocketError outside the disconnect set (ECONNREFUSED, EAGAIN) → handleError', () => {
    for (const code of ['ECONNREFUSED', 'EAGAIN']) {
      const e = new SocketError(errno[code]!, 'recv');
      const f = fake('read', e);
      readwrite(f, POLLIN);
      assert.deepEqual(f.calls, ['read', 'error'], code);
      assert.equal(f.errors[0], e);
    }
  });

  it('a plain Error carrying a disconnect-like errno field still goes to handleError', () => {
    const e = Object.assign(new Error('not a socket error'), { errno: errno.ECONNRESET });
    const f = fake('read', e);
    readwrite(f, POLLIN);
    assert.deepEqual(f.calls, ['read', 'error']);
  });

  it('ExitNow propagates from every handler readwrite calls', () => {
    for (const [handler, flag] of [['read', POLLIN], ['write', POLLOUT], ['expt', POLLPRI], ['close', POLLHUP]] as const) {
      const f = fake(handler, new ExitNow());
      assert.throws(() => readwrite(f, flag), ExitNow, handler);
      assert.deepEqual(f.calls, [handler]);
    }
  });

  it('a handleError that throws propagates out of readwrite', () => {
    const f = fake('read');
    f.handleError = () => {
      throw new TypeError('handleError broke');
    };
    assert.throws(() => readwrite(f, POLLIN), /handleError broke/);
  });
});

describe('ExitNow', () => {
  it('is an Error named ExitNow', () => {
    const e = new ExitNow('stop');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ExitNow');
    assert.equal(e.message, 'stop');
    assert.match(String(e), /^ExitNow: stop$/);
  });

  it('a subclass of ExitNow is treated as ExitNow', () => {
    class Quit extends ExitNow {}
    const f = fake('read', new Quit());
    assert.throws(() => read(f), Quit);
    assert.throws(() => readwrite(fake('write', new Quit()), POLLOUT), Quit);
  });
});

describe('closeAll', () => {
  type Closer = { closed: number; close(): void };
  function closer(err?: unknown): Closer {
    const c: Closer = {
      closed: 0,
      close() {
        c.closed++;
        if (err !== undefined) throw err;
      },
    };
    return c;
  }

  it('closes every channel and clears the map', () => {
    const map: SocketMap = new Map();
    const cs = [closer(), closer(), closer()];
    cs.forEach((c, i) => map.set(100 + i, c));
    closeAll(map);
    assert.deepEqual(cs.map((c) => c.closed), [1, 1, 1]);
    assert.equal(map.size, 0);
  });

  it('ignores a SocketError EBADF from close() and still closes the rest', () => {
    const map: SocketMap = new Map();
    const cs = [closer(), closer(new SocketError(errno.EBADF!, 'close')), closer()];
    cs.forEach((c, i) => map.set(100 + i, c));
    closeAll(map);
    assert.deepEqual(cs.map((c) => c.closed), [1, 1, 1]);
    assert.equal(map.size, 0);
  });

  it('propagates another error without ignoreAll, leaving the map uncleared', () => {
    for (const err of [new SocketError(errno.EIO!, 'close'), new TypeError('broken close')]) {
      const map: SocketMap = new Map();
      const cs = [closer(), closer(err), closer()];
      cs.forEach((c, i) => map.set(100 + i, c));
      assert.throws(() => closeAll(map), (e) => e === err);
      assert.deepEqual(cs.map((c) => c.closed), [1, 1, 0]);
      assert.equal(map.size, 3, 'CPython clears the map only after closing everything');
    }
  });

  it('with ignoreAll swallows any error, closes everything and clears the map', () => {
    const map: SocketMap = new Map();
    const cs = [closer(new TypeError('x')), closer(new SocketError(errno.EIO!, 'close')), closer()];
    cs.forEach((c, i) => map.set(100 + i, c));
    closeAll(map, true);
    assert.deepEqual(cs.map((c) => c.closed), [1, 1, 1]);
    assert.equal(map.size, 0);
  });

  it('ExitNow propagates even with ignoreAll', () => {
    const map: SocketMap = new Map([[100, closer(new ExitNow())]]);
    assert.throws(() => closeAll(map, true), ExitNow);
  });

  it('a channel that removes another from the map while closing does not break the walk', () => {
    const map: SocketMap = new Map();
    const b = closer();
    const a = { closed: 0, close() { this.closed++; map.delete(101); } };
    map.set(100, a);
    map.set(101, b);
    closeAll(map);
    assert.equal(a.closed, 1);
    assert.equal(b.closed, 1, 'closeAll walks a snapshot, as CPython does');
    assert.equal(map.size, 0);
  });

  it('rejects a map that is not a Map with a TypeError naming the fix', () => {
    assert.throws(() => closeAll({} as unknown as SocketMap), argError(TypeError, /Map/));
  });
});

describe('compactTraceback', () => {
  function innermostThrower(): never {
    throw new RangeError('deep');
  }
  function middle(): void {
    innermostThrower();
  }

  it('innermost frame is [this file, function, line] and info runs outermost → innermost', () => {
    let caught: unknown;
    try {
      middle();
    } catch (e) {
      caught = e;
    }
    const [[file, fn, line], name, message, info] = compactTraceback(caught);
    assert.equal(file, THIS_FILE);
    assert.ok(!file.startsWith('file:'), 'a path, not a URL');
    assert.equal(fn, 'innermostThrower');
    assert.match(line, /^\d+$/, 'the line number alone, no column');
    const expectedLine = (caught as Error).stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1];
    assert.equal(line, expectedLine);
    assert.equal(name, 'RangeError');
    assert.equal(message, 'deep');
    const frames = info.split(' ').filter((s) => s.startsWith('['));
    assert.ok(frames.length >= 2);
    for (const f of frames) assert.match(f, /^\[[^|]+\|[^|]+\|\d+\]$/);
    assert.equal(frames[frames.length - 1], `[${file}|innermostThrower|${line}]`);
    assert.match(frames[frames.length - 2]!, new RegExp(`^\\[${THIS_FILE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\|middle\\|\\d+\\]$`));
    assert.ok(!info.includes('node:'), 'Node internals are left out');
  });

  it('uses the error name of a subclass and the method name of a class', () => {
    class Boom extends Error {
      override name = 'Boom';
    }
    class Thrower {
      go(): never {
        throw new Boom('pow');
      }
    }
    let caught: unknown;
    try {
      new Thrower().go();
    } catch (e) {
      caught = e;
    }
    const [[file, fn], name, message] = compactTraceback(caught);
    assert.equal(file, THIS_FILE);
    assert.equal(fn, 'go');
    assert.equal(name, 'Boom');
    assert.equal(message, 'pow');
  });

  it('a non-Error value: its type and String(value)', () => {
    const [, name, message, info] = compactTraceback('oops');
    assert.equal(name, 'string');
    assert.equal(message, 'oops');
    assert.equal(typeof info, 'string');
    const [, n2, m2] = compactTraceback(42);
    assert.equal(n2, 'number');
    assert.equal(m2, '42');
  });
});
