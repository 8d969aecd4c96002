// Conformance with ../shared/API.md: names, defaults, return types and stated conventions,
// checked at runtime. Fast: socketpairs, pipes and private maps only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import vm from 'node:vm';
import { argError, capture, checkLeaks } from '../helpers.js';
import * as api from '../../src/index.js';
import {
  AsyncChat, BlockingIOError, Dispatcher, FileDispatcher, FileWrapper, SimpleProducer, Socket, SocketError,
  choosePoller, closeAll, closeFd, compactTraceback, errno, exception, findPrefixAtEnd, loop, pipe, poll2, poll3,
  read, readwrite, socketpair, write, AF_INET, AF_UNIX, POLLHUP, POLLIN, POLLOUT, POLLPRI, SOCK_STREAM, SOL_SOCKET,
  SO_ERROR, SO_LINGER,
} from '../../src/index.js';

checkLeaks();

describe('API.md: module level', () => {
  it('the root exports every public name', () => {
    const names = [
      'socketMap', 'loop', 'loopAsync', 'poll', 'poll2', 'poll3', 'read', 'write', 'exception', 'readwrite', 'closeAll',
      'compactTraceback', 'ExitNow', 'POLLIN', 'POLLPRI', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL', 'Dispatcher',
      'DispatcherWithSend', 'FileWrapper', 'FileDispatcher', 'Socket', 'socketpair', 'pipe', 'closeFd', 'SocketError',
      'BlockingIOError', 'AsyncChat', 'SimpleProducer', 'findPrefixAtEnd', 'errno', 'AF_INET', 'AF_INET6', 'AF_UNIX',
      'SOCK_STREAM', 'SOCK_DGRAM', 'SOL_SOCKET', 'SO_REUSEADDR', 'SO_REUSEPORT', 'SO_ERROR', 'SO_KEEPALIVE', 'SO_LINGER',
      'SO_RCVBUF', 'SO_SNDBUF', 'IPPROTO_TCP', 'TCP_NODELAY', 'MSG_OOB', 'MSG_PEEK', 'MSG_DONTWAIT', 'SHUT_RD', 'SHUT_WR',
      'SHUT_RDWR',
    ];
    const missing = names.filter((n) => (api as Record<string, unknown>)[n] === undefined);
    assert.deepEqual(missing, []);
    assert.equal(poll3, poll2);
    assert.ok(errno.ECONNREFUSED! > 0 && errno.EAGAIN! > 0 && errno.EBADF! > 0);
  });

  it('compactTraceback: innermost frame first, info outermost → innermost, paths and bare line numbers', () => {
    function innerMost(): never { throw new TypeError('boom'); }
    function outerMost(): void { innerMost(); }
    let err: unknown;
    try { outerMost(); } catch (e) { err = e; }
    const [[file, fn, line], name, message, info] = compactTraceback(err);
    assert.equal(fn, 'innerMost');
    assert.match(line, /^\d+$/);
    assert.ok(!file.startsWith('file:'), file);
    assert.equal(name, 'TypeError');
    assert.equal(message, 'boom');
    assert.match(info, /\|outerMost\|\d+\] .*\|innerMost\|\d+\]$/);
    assert.ok(info.endsWith(`[${file}|innerMost|${line}]`));
    const [, n2, m2] = compactTraceback(42);
    assert.deepEqual([n2, m2], ['number', '42']);
  });

  it('compactTraceback: an Error from another realm (node:vm) is an Error: its message and frames', () => {
    let err: unknown;
    try {
      vm.runInNewContext('function deep() { throw new RangeError("far away") }\ndeep()', {}, { filename: '/tmp/realm.js' });
    } catch (e) { err = e; }
    assert.ok(!(err instanceof Error), 'precondition: a cross-realm error');
    const [[file, fn, line], name, message] = compactTraceback(err);
    assert.equal(name, 'RangeError');
    assert.equal(message, 'far away');
    assert.deepEqual([file, fn, line], ['/tmp/realm.js', 'deep', '1']);
  });

  it('read/write/exception/readwrite/closeAll accept structural (duck-typed) objects', () => {
    const calls: string[] = [];
    const obj = {
      handleReadEvent() { calls.push('r'); },
      handleWriteEvent() { calls.push('w'); },
      handleExptEvent() { calls.push('x'); },
      handleClose() { calls.push('c'); },
      handleError(_e: unknown) { calls.push('e'); },
    };
    read(obj); write(obj); exception(obj);
    readwrite(obj, POLLIN | POLLOUT | POLLPRI | POLLHUP);
    read({ handleReadEvent() { throw new Error('x'); }, handleError() { calls.push('E'); } });
    assert.equal(calls.join(''), 'rwxrwxcE');
    let closed = 0;
    const m = new Map<number, unknown>([[100000, { close() { closed++; } }]]);
    closeAll(m);
    assert.equal(closed, 1);
    assert.equal(m.size, 0);
  });

  it('poller choice: explicit poller, then usePoll, then ASYNCORE_POLLER, then select', () => {
    const saved = process.env.ASYNCORE_POLLER;
    try {
      process.env.ASYNCORE_POLLER = 'epoll';
      assert.equal(choosePoller({ poller: 'select', usePoll: true }), 'select');
      assert.equal(choosePoller({ usePoll: true }), 'poll');
      assert.equal(choosePoller({}), 'epoll');
      delete process.env.ASYNCORE_POLLER;
      assert.equal(choosePoller({}), 'select');
      assert.equal(choosePoller(), 'select');
    } finally {
      if (saved === undefined) delete process.env.ASYNCORE_POLLER;
      else process.env.ASYNCORE_POLLER = saved;
    }
  });

  it('count null (and undefined) runs until the map is empty', () => {
    for (const count of [null, undefined]) {
      const m = new Map();
      const [a, b] = socketpair();
      let passes = 0;
      class D extends Dispatcher {
        override readable(): boolean { return false; }
        override writable(): boolean {
          if (++passes >= 3) this.close();
          return true;
        }
        override handleWrite(): void { /* nothing to write */ }
      }
      new D(a, m);
      loop({ map: m, count, timeout: 0.01 });
      assert.equal(m.size, 0);
      assert.equal(passes, 3);
      b.close();
    }
  });
});

describe('API.md: Dispatcher', () => {
  it('toString() and util.inspect.custom: the class name, status, address and a hex id', () => {
    const m = new Map();
    const d = new Dispatcher(null, m);
    assert.match(String(d), /^<Dispatcher at 0x[0-9a-f]+>$/);
    assert.equal(inspect(d), String(d));
    class Server extends Dispatcher {}
    const s = new Server(null, m);
    s.createSocket();
    s.bind(['127.0.0.1', 0]);
    s.listen(5);
    assert.match(String(s), /^<Server listening 127\.0\.0\.1:0 at 0x[0-9a-f]+>$/);
    assert.notEqual(String(s).split(' at ')[1], String(d).split(' at ')[1], 'per-object ids');
    s.close();
  });

  it('defaults: ignoreLogTypes {warning}, addr null, socket null; log → stderr, logInfo → stdout', () => {
    const d = new Dispatcher(null, new Map());
    assert.ok(d.ignoreLogTypes instanceof Set);
    assert.deepEqual([...d.ignoreLogTypes], ['warning']);
    assert.equal(d.addr, null);
    assert.equal(d.socket, null);
    const { out, err } = capture(() => {
      d.log('hit');
      d.logInfo('plain');
      d.logInfo('hidden', 'warning');
      d.logInfo('bad', 'error');
    });
    assert.equal(err, 'log: hit\n');
    assert.equal(out, 'info: plain\nerror: bad\n');
  });
});

describe('API.md: FileWrapper and FileDispatcher', () => {
  it('FileWrapper dups fd; close() is idempotent and fd becomes -1; recv/send then throw EBADF', () => {
    const [r, w] = pipe();
    try {
      const fw = new FileWrapper(r);
      assert.notEqual(fw.fd, r);
      assert.equal(fw.fileno(), fw.fd);
      assert.equal(fw.getsockopt(SOL_SOCKET, SO_ERROR), 0);
      assert.equal(typeof fw.read, 'function');
      assert.equal(typeof fw.write, 'function');
      fw.close();
      fw.close();
      assert.equal(fw.fd, -1);
      const ebadf = (e: unknown) => e instanceof SocketError && e.code === 'EBADF';
      assert.throws(() => fw.recv(1), ebadf);
      assert.throws(() => fw.send(Buffer.from('x')), ebadf);
    } finally {
      closeFd(r);
      closeFd(w);
    }
  });

  it('FileDispatcher takes an fd or { fileno() } and has setFile', () => {
    const [r, w] = pipe();
    const m = new Map();
    const d = new FileDispatcher({ fileno: () => r }, m);
    try {
      assert.equal(typeof d.setFile, 'function');
      assert.ok(d.socket instanceof FileWrapper);
      assert.equal(m.get(d.socket.fileno()), d);
    } finally {
      d.close();
      closeFd(r);
      closeFd(w);
    }
  });
});

describe('API.md: Socket', () => {
  it('getsockopt with buflen returns a Buffer; setsockopt takes bytes; inheritable flags; fromFd', () => {
    const s = new Socket();
    try {
      assert.equal(s.family, AF_INET);
      assert.equal(s.type, SOCK_STREAM);
      assert.equal(typeof s.getsockopt(SOL_SOCKET, SO_ERROR), 'number');
      const linger = Buffer.alloc(8);
      linger.writeInt32LE(1, 0);
      linger.writeInt32LE(7, 4);
      s.setsockopt(SOL_SOCKET, SO_LINGER, linger);
      const got = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
      assert.ok(Buffer.isBuffer(got));
      assert.equal(got.readInt32LE(4), 7);
      assert.equal(s.getInheritable(), false, 'close-on-exec by default');
      s.setInheritable(true);
      assert.equal(s.getInheritable(), true);
      s.setInheritable(false);
      const dup = Socket.fromFd(s.fileno(), AF_INET, SOCK_STREAM);
      assert.notEqual(dup.fileno(), s.fileno());
      assert.equal(dup.getInheritable(), false);
      dup.close();
    } finally {
      s.close();
      s.close();
    }
    assert.equal(s.fileno(), -1);
    const [a, b] = socketpair();
    assert.equal(a.family, AF_UNIX);
    a.close();
    b.close();
  });
});

describe('API.md: errors', () => {
  it('new SocketError(errno, syscall, address?) derives code and message, and sets address/port', () => {
    const e = new SocketError(errno.ECONNREFUSED!, 'connect', ['127.0.0.1', 1]);
    assert.equal(e.errno, errno.ECONNREFUSED);
    assert.equal(e.code, 'ECONNREFUSED');
    assert.equal(e.syscall, 'connect');
    assert.equal(e.message, 'connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(e.address, '127.0.0.1');
    assert.equal(e.port, 1);
    const p = new SocketError(errno.ENOENT!, 'connect', '/tmp/nowhere');
    assert.equal(p.address, '/tmp/nowhere');
    assert.equal(p.port, undefined);
    for (const code of ['EAGAIN', 'EWOULDBLOCK', 'EINPROGRESS', 'EALREADY']) {
      const b = new BlockingIOError(errno[code]!, 'recv');
      assert.ok(b instanceof SocketError);
      assert.equal(b.name, 'BlockingIOError');
    }
  });
});

describe('API.md: asynchat', () => {
  it('defaults, terminators, push type checks, _collectIncomingData/_getData, SimpleProducer, findPrefixAtEnd', () => {
    const c = new AsyncChat(null, new Map());
    assert.equal(c.acInBufferSize, 65536);
    assert.equal(c.acOutBufferSize, 65536);
    assert.equal(c.encoding, 'latin1');
    c.setTerminator('\r\n');
    assert.ok(Buffer.isBuffer(c.getTerminator()));
    assert.equal((c.getTerminator() as Buffer).toString('latin1'), '\r\n');
    for (const bad of [-1, 1.5]) assert.throws(() => c.setTerminator(bad), argError(RangeError));
    for (const bad of [42, {}, null, [1]]) assert.throws(() => c.push(bad as never), argError(TypeError));
    c._collectIncomingData(Buffer.from('a'));
    c._collectIncomingData(Buffer.from('b'));
    assert.equal(c._getData().toString(), 'ab');
    assert.deepEqual(c.incoming, []);
    const sp = new SimpleProducer(Buffer.alloc(1000));
    assert.deepEqual([sp.more().length, sp.more().length, sp.more().length], [512, 488, 0]);
    assert.equal(findPrefixAtEnd('qwerty\r', '\r\n'), 1);
    assert.equal(findPrefixAtEnd(Buffer.from('qwerty\r'), new Uint8Array([13, 10])), 1);
    assert.equal(findPrefixAtEnd('abc', 'xyz'), 0);
  });

  it('handleRead reads with the overridable this.recv(this.acInBufferSize) and collects Buffers', () => {
    const [a, b] = socketpair();
    const asked: number[] = [];
    const got: Buffer[] = [];
    class Chat extends AsyncChat {
      override recv(n: number): Buffer { asked.push(n); return super.recv(n); }
      override collectIncomingData(d: Buffer): void { got.push(d); }
      override foundTerminator(): void { /* unused */ }
    }
    const c = new Chat(a, new Map());
    try {
      c.acInBufferSize = 7;
      b.sendall(Buffer.from('hello world'));
      c.handleRead();
      assert.deepEqual(asked, [7]);
      assert.equal(got.length, 1);
      assert.ok(Buffer.isBuffer(got[0]));
      assert.equal(got[0]!.toString(), 'hello w');
    } finally {
      c.close();
      b.close();
    }
  });

  it('pushWithProducer takes bytes or a producer', () => {
    const [a, b] = socketpair();
    const c = new AsyncChat(a, new Map());
    try {
      c.pushWithProducer(new Uint8Array([0x61, 0x62]));
      c.pushWithProducer(new SimpleProducer(Buffer.from('xyz'), 1));
      for (let i = 0; i < 8 && c.writable(); i++) c.initiateSend();
      assert.equal(b.recv(100).toString(), 'abxyz');
    } finally {
      c.close();
      b.close();
    }
  });
});
