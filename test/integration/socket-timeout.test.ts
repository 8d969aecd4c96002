// Python's timeout mode on Socket: settimeout/gettimeout, and blocking calls that give up.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argError, checkLeaks } from '../helpers.js';
import { Socket, Dispatcher, SocketError, closeAll, socketpair, type SocketMap } from '../../src/index.js';

checkLeaks();

describe('Socket timeouts', () => {
  it('a new socket blocks (null); setblocking and settimeout agree as in Python', () => {
    const s = new Socket();
    try {
      assert.equal(s.gettimeout(), null);
      assert.equal(s.getblocking(), true);
      s.setblocking(false);
      assert.equal(s.gettimeout(), 0);
      assert.equal(s.getblocking(), false);
      s.settimeout(1.5);
      assert.equal(s.gettimeout(), 1.5);
      assert.equal(s.getblocking(), true, 'a positive timeout counts as blocking');
      s.settimeout(null);
      assert.equal(s.gettimeout(), null);
      assert.throws(() => s.settimeout(-1), argError(RangeError));
      assert.throws(() => s.settimeout('1' as unknown as number), argError(TypeError));
    } finally {
      s.close();
    }
  });

  it("a dispatcher's socket has timeout 0 (CPython's test_create_socket)", () => {
    const map: SocketMap = new Map();
    const d = new Dispatcher(null, map);
    d.createSocket();
    try {
      assert.equal((d.socket as Socket).gettimeout(), 0);
    } finally {
      closeAll(map);
    }
  });

  it('recv and accept give up with ETIMEDOUT after the timeout, not before', () => {
    const [a, b] = socketpair();
    const l = new Socket();
    try {
      a.settimeout(0.1);
      let t = performance.now();
      assert.throws(() => a.recv(10), (e: unknown) => e instanceof SocketError && e.code === 'ETIMEDOUT' && /timed out/.test(e.message));
      assert.ok(performance.now() - t >= 95, 'never early');
      b.send(Buffer.from('late'));
      assert.equal(a.recv(10).toString(), 'late', 'data that is there is returned at once');
      l.bind(['127.0.0.1', 0]);
      l.listen(1);
      l.settimeout(0.05);
      t = performance.now();
      assert.throws(() => l.accept(), (e: unknown) => e instanceof SocketError && e.code === 'ETIMEDOUT');
      assert.ok(performance.now() - t >= 45);
      const c = new Socket();
      c.connect(l.getsockname());
      const [conn] = l.accept();
      assert.equal(conn.gettimeout(), null, 'accepted sockets block, as in Python');
      conn.close();
      c.close();
    } finally {
      a.close();
      b.close();
      l.close();
    }
  });

  it('connect with a timeout completes on loopback and reports refusal', () => {
    const l = new Socket();
    l.bind(['127.0.0.1', 0]);
    l.listen(1);
    const addr = l.getsockname();
    const c = new Socket();
    const dead = new Socket();
    dead.bind(['127.0.0.1', 0]);
    const closedAddr = dead.getsockname();
    dead.close();
    const r = new Socket();
    try {
      c.settimeout(2);
      c.connect(addr);
      const [conn] = l.accept();
      assert.deepEqual(conn.getpeername(), c.getsockname(), 'connected to the listener');
      conn.close();
      r.settimeout(2);
      assert.throws(() => r.connect(closedAddr), (e: unknown) => e instanceof SocketError && e.code === 'ECONNREFUSED');
    } finally {
      c.close();
      r.close();
      l.close();
    }
  });
});
