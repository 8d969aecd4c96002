// Socket over real loopback sockets: TCP (IPv4, IPv6, Unix), UDP, socketpair, errors, options,
// descriptor hygiene, and the EINTR/EAGAIN fault-injection seam.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { argError, checkLeaks, track, useTracking, waitFd, tempDir, unixPath, hasIPv6 } from '../helpers.js';
import { Socket, socketpair, pipe, closeFd, type Address, SocketError, BlockingIOError } from '../../src/exports/socket.js';
import {
  AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET, SO_REUSEADDR,
  SO_KEEPALIVE, SO_RCVBUF, SO_LINGER, SO_ERROR, SO_TYPE, IPPROTO_TCP, TCP_NODELAY, MSG_PEEK,
  MSG_OOB, MSG_DONTWAIT, SHUT_WR, SHUT_RDWR, POLLIN, POLLOUT, POLLPRI, errno,
} from '../../src/constants.js';
import { C } from '../../src/sys/constants.js';
import * as libc from '../../src/sys/libc.js';
import { injectFault, clearFaults, pendingFaults } from '../../src/sys/faults.js';


// Every socket a test makes is tracked and closed after it, before checkLeaks compares the
// descriptor count (hooks run in registration order), so a failing assertion leaks nothing.
function trackPair(p: [Socket, Socket]): [Socket, Socket] {
  return [track(p[0]), track(p[1])];
}
afterEach(clearFaults);
useTracking();
checkLeaks();

const v6 = await hasIPv6();

/** The file flags the kernel reports for `fd` (O_NONBLOCK, and O_CLOEXEC for close-on-exec). */
function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  assert.ok(m, 'fdinfo has flags');
  return parseInt(m[1]!, 8);
}

/** A TCP port on 127.0.0.1 (or ::1) that nothing listens on. */
function closedPort(family = AF_INET): number {
  const s = new Socket(family);
  try {
    s.bind([family === AF_INET ? '127.0.0.1' : '::1', 0]);
    return (s.getsockname() as [string, number])[1];
  } finally {
    s.close();
  }
}

/** A listening socket, a connected client and the accepted server side. */
function connected(family: number, bindAddr: Address): { srv: Socket; cli: Socket; conn: Socket; peer: Address } {
  const srv = track(new Socket(family, SOCK_STREAM));
  srv.bind(bindAddr);
  srv.listen(8);
  const cli = track(new Socket(family, SOCK_STREAM));
  cli.connect(srv.getsockname());
  const [conn, peer] = srv.accept();
  track(conn);
  return { srv, cli, conn, peer };
}

/** Receive exactly `n` bytes from a blocking stream socket. */
function recvExactly(s: Socket, n: number): Buffer {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    const b = s.recv(n - got);
    assert.ok(b.length > 0, 'peer closed early');
    parts.push(b);
    got += b.length;
  }
  return Buffer.concat(parts);
}

function exchange(a: Socket, b: Socket): void {
  a.sendall(Buffer.from('ping from a'));
  assert.equal(recvExactly(b, 11).toString(), 'ping from a');
  assert.equal(b.send(new Uint8Array([1, 2, 3, 250])), 4, 'any Uint8Array is accepted');
  assert.deepEqual([...recvExactly(a, 4)], [1, 2, 3, 250]);
}

const isSocketError = (code: string | RegExp, syscall?: string) => (e: unknown) => {
  assert.ok(e instanceof SocketError, `expected a SocketError, got ${String(e)}`);
  if (typeof code === 'string') assert.equal(e.code, code);
  else assert.match(e.code, code);
  if (syscall !== undefined) assert.equal(e.syscall, syscall);
  return true;
};

describe('TCP', () => {
  it('IPv4: bind port 0, listen, connect, accept, send/recv both ways, names round-trip', () => {
    const { srv, cli, conn, peer } = connected(AF_INET, ['127.0.0.1', 0]);
    const [host, port] = srv.getsockname() as [string, number];
    assert.equal(host, '127.0.0.1');
    assert.ok(port > 0 && port < 65536);
    assert.deepEqual(cli.getpeername(), ['127.0.0.1', port]);
    assert.deepEqual(conn.getsockname(), ['127.0.0.1', port]);
    assert.deepEqual(peer, cli.getsockname());
    assert.deepEqual(conn.getpeername(), cli.getsockname());
    assert.equal(conn.family, AF_INET);
    assert.equal(conn.type, SOCK_STREAM);
    assert.equal(conn.getblocking(), true, 'accepted sockets are blocking');
    exchange(cli, conn);
  });

  it('IPv6: the same over ::1 with 4-tuple addresses', { skip: !v6 && 'no IPv6 loopback' }, () => {
    const { srv, cli, conn, peer } = connected(AF_INET6, ['::1', 0]);
    const name = srv.getsockname() as [string, number, number, number];
    assert.equal(name.length, 4);
    assert.equal(name[0], '::1');
    assert.deepEqual(cli.getpeername(), name);
    assert.deepEqual(peer, cli.getsockname());
    assert.deepEqual(conn.getpeername(), cli.getsockname());
    assert.equal((peer as unknown[]).length, 4);
    exchange(conn, cli);
  });

  it('IPv6 accepts a [host, port] pair and a 4-tuple with flowinfo', { skip: !v6 && 'no IPv6 loopback' }, () => {
    const srv = track(new Socket(AF_INET6));
    srv.bind(['::1', 0, 0, 0]);
    srv.listen();
    const port = srv.getsockname()[1]; // typed [host, port, flowinfo, scopeId] for an AF_INET6 socket
    const cli = track(new Socket(AF_INET6));
    cli.connect(['::1', port]);
    track(srv.accept()[0]);
    assert.deepEqual(cli.getpeername(), ['::1', port, 0, 0]);
  });

  it('Unix: a path in a temp dir; the client is unnamed', () => {
    const tmp = tempDir();
    try {
      const path = unixPath(tmp.dir);
      const { srv, cli, conn, peer } = connected(AF_UNIX, path);
      assert.ok(existsSync(path));
      assert.equal(srv.getsockname(), path);
      assert.equal(cli.getpeername(), path);
      assert.equal(conn.getsockname(), path);
      assert.equal(cli.getsockname(), '');
      assert.equal(peer, '');
      assert.equal(conn.getpeername(), '');
      exchange(cli, conn);
    } finally {
      tmp.cleanup();
    }
  });

  it('Unix: a path given as bytes works, and its errors carry the path as text', () => {
    const tmp = tempDir();
    try {
      const path = unixPath(tmp.dir, 'bytes.sock');
      const srv = track(new Socket(AF_UNIX));
      srv.bind(Buffer.from(path) as unknown as Address);
      srv.listen();
      assert.equal(srv.getsockname(), path);
      const missing = Buffer.from(unixPath(tmp.dir, 'missing.sock'));
      const cli = track(new Socket(AF_UNIX));
      assert.throws(() => cli.connect(missing as unknown as Address), (e: unknown) => {
        isSocketError('ENOENT', 'connect')(e);
        assert.equal((e as SocketError).address, missing.toString());
        assert.equal((e as Error).message, `connect ENOENT ${missing.toString()}`);
        return true;
      });
      assert.throws(() => cli.bind(Buffer.alloc(300, 'x') as unknown as Address), (e: unknown) => {
        isSocketError('EINVAL', 'bind')(e);
        assert.equal((e as SocketError).address, 'x'.repeat(300));
        return true;
      });
    } finally {
      tmp.cleanup();
    }
  });

  it('Unix: connecting to a missing path is ENOENT with the path', () => {
    const tmp = tempDir();
    try {
      const path = unixPath(tmp.dir, 'nobody-here');
      const s = track(new Socket(AF_UNIX));
      assert.throws(() => s.connect(path), (e: unknown) => {
        isSocketError('ENOENT', 'connect')(e);
        assert.equal((e as Error).message, `connect ENOENT ${path}`);
        return true;
      });
    } finally {
      tmp.cleanup();
    }
  });

  it('Unix: Linux abstract names ("\\0name") bind, connect and read back exactly', () => {
    const name = `\0asyncore-test-${process.pid}-${randomBytes(4).toString('hex')}`;
    const { srv, cli, conn } = connected(AF_UNIX, name);
    assert.equal(srv.getsockname(), name);
    assert.equal(cli.getpeername(), name);
    exchange(conn, cli);
    // The name is taken while the listener is open.
    const other = track(new Socket(AF_UNIX));
    assert.throws(() => other.bind(name), isSocketError('EADDRINUSE', 'bind'));
  });

  it('blocking connect to a closed port is SocketError ECONNREFUSED with the address', () => {
    const port = closedPort();
    const s = track(new Socket());
    assert.throws(() => s.connect(['127.0.0.1', port]), (e: unknown) => {
      isSocketError('ECONNREFUSED', 'connect')(e);
      const err = e as SocketError;
      assert.ok(!(err instanceof BlockingIOError));
      assert.equal(err.errno, errno.ECONNREFUSED);
      assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
      assert.equal(err.address, '127.0.0.1');
      assert.equal(err.port, port);
      return true;
    });
    assert.equal(track(new Socket()).connectEx(['127.0.0.1', port]), errno.ECONNREFUSED);
  });

  it('non-blocking connect to a closed port: EINPROGRESS, then SO_ERROR ECONNREFUSED', () => {
    const port = closedPort();
    const s = track(new Socket());
    s.setblocking(false);
    assert.equal(s.connectEx(['127.0.0.1', port]), errno.EINPROGRESS);
    const rev = waitFd(s.fileno(), POLLOUT);
    assert.ok(rev & POLLOUT, 'writable once the connect attempt has finished');
    assert.equal(s.getsockopt(SOL_SOCKET, SO_ERROR), errno.ECONNREFUSED);
    assert.equal(s.getsockopt(SOL_SOCKET, SO_ERROR), 0, 'reading SO_ERROR clears it');

    const t = track(new Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    assert.equal(t.getblocking(), false);
    assert.throws(() => t.connect(['127.0.0.1', port]), (e: unknown) => {
      assert.ok(e instanceof BlockingIOError);
      assert.equal(e.code, 'EINPROGRESS');
      return true;
    });
  });

  it('non-blocking connect to a listener completes', () => {
    const srv = track(new Socket());
    srv.bind(['127.0.0.1', 0]);
    srv.listen();
    const s = track(new Socket());
    s.setblocking(false);
    const r = s.connectEx(srv.getsockname());
    assert.ok(r === 0 || r === errno.EINPROGRESS, `connectEx: ${r}`);
    assert.ok(waitFd(s.fileno(), POLLOUT) & POLLOUT);
    assert.equal(s.getsockopt(SOL_SOCKET, SO_ERROR), 0);
    assert.deepEqual(s.getpeername(), srv.getsockname());
    track(srv.accept()[0]);
  });

  it('non-blocking recv with nothing to read is BlockingIOError EAGAIN', () => {
    const { cli, conn } = connected(AF_INET, ['127.0.0.1', 0]);
    conn.setblocking(false);
    assert.equal(conn.getblocking(), false);
    assert.ok(fdFlags(conn.fileno()) & C.O_NONBLOCK, 'the kernel agrees');
    assert.throws(() => conn.recv(10), (e: unknown) => {
      assert.ok(e instanceof BlockingIOError, String(e));
      assert.equal(e.code, 'EAGAIN');
      assert.equal(e.errno, errno.EAGAIN);
      assert.equal(e.syscall, 'recv');
      return true;
    });
    // MSG_DONTWAIT on a blocking socket, too.
    assert.throws(() => cli.recv(10, MSG_DONTWAIT), (e: unknown) => e instanceof BlockingIOError && e.code === 'EAGAIN');
    assert.throws(() => cli.recvfrom(10, MSG_DONTWAIT), BlockingIOError);
    conn.setblocking(true);
    assert.equal(fdFlags(conn.fileno()) & C.O_NONBLOCK, 0);
    cli.send(Buffer.from('now'));
    assert.equal(conn.recv(10).toString(), 'now');
  });

  it('non-blocking accept with nothing pending is BlockingIOError EAGAIN', () => {
    const srv = track(new Socket());
    srv.bind(['127.0.0.1', 0]);
    srv.listen();
    srv.setblocking(false);
    assert.throws(() => srv.accept(), (e: unknown) => e instanceof BlockingIOError && e.code === 'EAGAIN' && e.syscall === 'accept');
  });

  it('shutdown(SHUT_WR) gives the peer an empty recv; the other direction still works', () => {
    const { cli, conn } = connected(AF_INET, ['127.0.0.1', 0]);
    cli.send(Buffer.from('last'));
    cli.shutdown(SHUT_WR);
    assert.equal(recvExactly(conn, 4).toString(), 'last');
    const eof = conn.recv(100);
    assert.ok(Buffer.isBuffer(eof));
    assert.equal(eof.length, 0);
    conn.send(Buffer.from('reply'));
    assert.equal(recvExactly(cli, 5).toString(), 'reply');
    assert.throws(() => cli.send(Buffer.from('x')), isSocketError('EPIPE', 'send'));
  });

  it('MSG_PEEK leaves the data queued', () => {
    const { cli, conn } = connected(AF_INET, ['127.0.0.1', 0]);
    cli.send(Buffer.from('hello'));
    assert.ok(waitFd(conn.fileno(), POLLIN) & POLLIN);
    assert.equal(conn.recv(5, MSG_PEEK).toString(), 'hello');
    assert.equal(conn.recv(5, MSG_PEEK).toString(), 'hello');
    assert.equal(recvExactly(conn, 5).toString(), 'hello');
    conn.setblocking(false);
    assert.throws(() => conn.recv(5), BlockingIOError);
  });

  it('MSG_OOB: the urgent byte is read with recv(1, MSG_OOB), apart from the stream', () => {
    const { cli, conn } = connected(AF_INET, ['127.0.0.1', 0]);
    cli.send(Buffer.from('ab'));
    assert.equal(cli.send(Buffer.from('!'), MSG_OOB), 1);
    assert.ok(waitFd(conn.fileno(), POLLPRI) & POLLPRI, 'urgent data is signalled as POLLPRI');
    assert.equal(conn.recv(1, MSG_OOB).toString(), '!');
    assert.equal(recvExactly(conn, 2).toString(), 'ab');
    assert.throws(() => conn.recv(1, MSG_OOB), isSocketError('EINVAL', 'recv'), 'no more urgent data');
  });

  it('recvInto fills a caller buffer', () => {
    const [a, b] = trackPair(socketpair());
    a.send(Buffer.from('abcdef'));
    const into = new Uint8Array(4);
    assert.equal(b.recvInto(into), 4);
    assert.equal(Buffer.from(into).toString(), 'abcd');
    assert.equal(b.recvInto(into, 1), 1);
    assert.equal(into[0], 'e'.charCodeAt(0));
  });
});

describe('UDP', () => {
  function udp(family: number, host: string): void {
    const a = track(new Socket(family, SOCK_DGRAM));
    const b = track(new Socket(family, SOCK_DGRAM));
    a.bind([host, 0]);
    b.bind([host, 0]);
    assert.equal(a.type, SOCK_DGRAM);
    assert.equal(b.sendto(Buffer.from('datagram one'), a.getsockname()), 12);
    const [d1, from1] = a.recvfrom(100);
    assert.equal(d1.toString(), 'datagram one');
    assert.deepEqual(from1, b.getsockname());
    // Reply to the address recvfrom reported, with the flags overload.
    assert.equal(a.sendto(Buffer.from('two'), 0, from1), 3);
    const [d2, from2] = b.recvfrom(100);
    assert.equal(d2.toString(), 'two');
    assert.deepEqual(from2, a.getsockname());
    // Message boundaries: a short read truncates the datagram, the rest is discarded.
    b.sendto(Buffer.from('12345'), a.getsockname());
    b.sendto(Buffer.from('6789'), a.getsockname());
    assert.equal(a.recvfrom(3)[0].toString(), '123');
    assert.equal(a.recvfrom(100)[0].toString(), '6789');
  }

  it('IPv4 sendto/recvfrom', () => udp(AF_INET, '127.0.0.1'));
  it('IPv6 sendto/recvfrom', { skip: !v6 && 'no IPv6 loopback' }, () => udp(AF_INET6, '::1'));

  it('connected UDP uses send/recv; unconnected recvfrom does not block with MSG_DONTWAIT', () => {
    const a = track(new Socket(AF_INET, SOCK_DGRAM));
    const b = track(new Socket(AF_INET, SOCK_DGRAM));
    a.bind(['127.0.0.1', 0]);
    b.connect(a.getsockname());
    b.send(Buffer.from('hi'));
    assert.equal(a.recv(10).toString(), 'hi');
    assert.throws(() => a.recvfrom(10, MSG_DONTWAIT), (e: unknown) => e instanceof BlockingIOError && e.syscall === 'recvfrom');
  });
});

describe('socketpair', () => {
  it('is a connected AF_UNIX stream pair by default, unnamed on both ends', () => {
    const [a, b] = trackPair(socketpair());
    assert.equal(a.family, AF_UNIX);
    assert.equal(a.type, SOCK_STREAM);
    assert.equal(a.getsockopt(SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    assert.equal(a.getsockname(), '');
    assert.equal(b.getpeername(), '');
    assert.notEqual(a.fileno(), b.fileno());
    exchange(a, b);
    b.close();
    assert.equal(a.recv(10).length, 0, 'EOF after the peer closes');
  });

  it('SOCK_DGRAM keeps message boundaries; SOCK_NONBLOCK makes both ends non-blocking', () => {
    const [a, b] = trackPair(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK));
    assert.equal(a.type, SOCK_DGRAM);
    assert.equal(a.getblocking(), false);
    assert.equal(b.getblocking(), false);
    assert.ok(fdFlags(b.fileno()) & C.O_NONBLOCK);
    a.send(Buffer.from('one'));
    a.send(Buffer.from('two'));
    assert.equal(b.recv(100).toString(), 'one');
    assert.equal(b.recv(100).toString(), 'two');
    assert.throws(() => b.recv(100), BlockingIOError);
  });
});

describe('socket options', () => {
  it('SO_REUSEADDR, SO_KEEPALIVE and TCP_NODELAY round-trip', () => {
    const s = track(new Socket());
    for (const [level, opt] of [[SOL_SOCKET, SO_REUSEADDR], [SOL_SOCKET, SO_KEEPALIVE], [IPPROTO_TCP, TCP_NODELAY]] as const) {
      assert.equal(s.getsockopt(level, opt), 0, `off by default: ${opt}`);
      s.setsockopt(level, opt, 1);
      assert.equal(s.getsockopt(level, opt), 1);
      s.setsockopt(level, opt, 0);
      assert.equal(s.getsockopt(level, opt), 0);
      s.setsockopt(level, opt, true);
      assert.equal(s.getsockopt(level, opt), 1, 'a boolean is accepted');
    }
  });

  it('SO_RCVBUF: what is read back is at least what was asked (Linux doubles it)', () => {
    const s = track(new Socket());
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 32768);
    const got = s.getsockopt(SOL_SOCKET, SO_RCVBUF);
    assert.ok(got >= 32768, `SO_RCVBUF ${got}`);
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 8192);
    const smaller = s.getsockopt(SOL_SOCKET, SO_RCVBUF);
    assert.ok(smaller >= 8192 && smaller < got, `SO_RCVBUF ${smaller} after ${got}`);
  });

  it('SO_LINGER as bytes: struct linger { int l_onoff; int l_linger; }', () => {
    const s = track(new Socket());
    const off = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
    assert.ok(Buffer.isBuffer(off));
    assert.equal(off.length, 8);
    assert.deepEqual([off.readInt32LE(0), off.readInt32LE(4)], [0, 0]);
    const linger = Buffer.alloc(8);
    linger.writeInt32LE(1, 0);
    linger.writeInt32LE(7, 4);
    s.setsockopt(SOL_SOCKET, SO_LINGER, linger);
    const on = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
    assert.deepEqual([on.readInt32LE(0), on.readInt32LE(4)], [1, 7]);
    s.setsockopt(SOL_SOCKET, SO_LINGER, new Uint8Array(8));
    const back = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
    assert.equal(back.readInt32LE(0), 0);
  });

  it('getsockopt with a buflen returns only what the kernel wrote', () => {
    const s = track(new Socket());
    const b = s.getsockopt(SOL_SOCKET, SO_TYPE, 16);
    assert.equal(b.length, 4);
    assert.equal(b.readInt32LE(0), SOCK_STREAM);
  });

  it('an unknown option is a SocketError, not a crash', () => {
    const s = track(new Socket());
    assert.throws(() => s.getsockopt(SOL_SOCKET, 9999), isSocketError('ENOPROTOOPT', 'getsockopt'));
    assert.throws(() => s.setsockopt(SOL_SOCKET, 9999, 1), isSocketError('ENOPROTOOPT', 'setsockopt'));
  });
});

describe('bad input', () => {
  it('ports outside 0-65535 are RangeErrors; non-integer ports are TypeErrors', () => {
    const s = track(new Socket());
    for (const port of [-1, 70000, 65536]) {
      assert.throws(() => s.bind(['127.0.0.1', port]), argError(RangeError, /0-65535/), String(port));
      assert.throws(() => s.connect(['127.0.0.1', port]), argError(RangeError));
      assert.throws(() => s.connectEx(['127.0.0.1', port]), argError(RangeError));
    }
    for (const port of [1.5, '80', null, NaN]) {
      assert.throws(() => s.bind(['127.0.0.1', port as number]), argError(TypeError), String(port));
    }
    const u = track(new Socket(AF_INET, SOCK_DGRAM));
    assert.throws(() => u.sendto(Buffer.from('x'), ['127.0.0.1', 70000]), argError(RangeError));
    s.bind(['127.0.0.1', 0]);
    assert.equal((s.getsockname() as string[])[0], '127.0.0.1', 'the socket is still usable');
  });

  it('an IPv6 4-tuple to an IPv4 socket is a TypeError; an IPv6 host there is a getaddrinfo error', () => {
    const s = track(new Socket(AF_INET));
    assert.throws(() => s.bind(['::1', 0, 0, 0] as Address), argError(TypeError, /pair/));
    assert.throws(() => s.connect(['127.0.0.1', 1, 0, 0] as Address), argError(TypeError));
    assert.throws(() => s.bind(['::1', 0]), isSocketError(/^EAI_/, 'getaddrinfo'));
    assert.throws(() => s.bind('/tmp/x'), argError(TypeError));
    assert.throws(() => s.bind(['127.0.0.1'] as unknown as Address), argError(TypeError));
    assert.throws(() => s.bind([127, 0] as unknown as Address), argError(TypeError));
    const s6 = track(new Socket(AF_INET6));
    assert.throws(() => s6.bind(['::1', 0, 0, 0, 0] as unknown as Address), argError(TypeError));
    assert.throws(() => s6.bind(['::1', 0, -1, 0]), argError(RangeError));
    assert.throws(() => s6.bind(['::1', 0, 0, 2 ** 32]), argError(RangeError));
  });

  it('a number or a pair as a Unix path is a TypeError; a too-long path is a clear error', () => {
    const s = track(new Socket(AF_UNIX));
    assert.throws(() => s.bind(42 as unknown as Address), argError(TypeError, /path/));
    assert.throws(() => s.connect(['127.0.0.1', 80]), argError(TypeError));
    assert.throws(() => s.bind('/tmp/' + 'x'.repeat(200)), (e: unknown) => {
      isSocketError('EINVAL', 'bind')(e);
      assert.match((e as Error).message, /too long/);
      return true;
    });
  });

  it('a string where bytes are required is a TypeError that names the fix', () => {
    const [a] = trackPair(socketpair());
    const u = track(new Socket(AF_INET, SOCK_DGRAM));
    const text = 'text' as unknown as Uint8Array;
    assert.throws(() => a.send(text), argError(TypeError, /Buffer\.from/));
    assert.throws(() => a.sendall(text), argError(TypeError));
    assert.throws(() => u.sendto(text, ['127.0.0.1', 9]), argError(TypeError));
    assert.throws(() => a.recvInto(text), argError(TypeError));
    assert.throws(() => a.send([1, 2] as unknown as Uint8Array), argError(TypeError));
    assert.throws(() => a.setsockopt(SOL_SOCKET, SO_LINGER, 'xxxxxxxx' as unknown as Uint8Array), argError(TypeError));
    assert.throws(() => a.recv('4' as unknown as number), argError(TypeError));
    assert.throws(() => a.recv(-1), argError(RangeError));
    assert.throws(() => a.send(Buffer.from('x'), 'x' as unknown as number), argError(TypeError));
    assert.throws(() => a.shutdown(7), argError(RangeError));
    assert.throws(() => a.getsockopt(SOL_SOCKET, SO_LINGER, 0), argError(RangeError));
  });

  it('bad constructor arguments: TypeError, or SocketError for an unknown family', () => {
    assert.throws(() => new Socket('inet' as unknown as number), argError(TypeError));
    assert.throws(() => new Socket(9999), isSocketError('EAFNOSUPPORT', 'socket'));
    assert.throws(() => socketpair(AF_INET), isSocketError('EOPNOTSUPP', 'socketpair'));
    assert.throws(() => Socket.fromFd(-1, AF_INET, SOCK_STREAM), isSocketError('EBADF'));
    assert.throws(() => Socket.fromFd(1.5, AF_INET, SOCK_STREAM), argError(TypeError));
  });

  it('an unresolvable host is SocketError EAI_NONAME/EAI_AGAIN from getaddrinfo', () => {
    const s = track(new Socket());
    assert.throws(() => s.connect(['no.such.host.invalid', 80]), (e: unknown) => {
      isSocketError(/^EAI_(NONAME|AGAIN)$/, 'getaddrinfo')(e);
      assert.equal((e as SocketError).address, 'no.such.host.invalid');
      assert.match((e as Error).message, /^getaddrinfo EAI_\w+ no\.such\.host\.invalid$/);
      return true;
    });
    assert.throws(() => s.connectEx(['no.such.host.invalid', 80]), isSocketError(/^EAI_/, 'getaddrinfo'));
    assert.equal(s.fileno() >= 0, true, 'the socket stays open');
  });

  it('host names resolve with getaddrinfo', () => {
    const s = track(new Socket());
    s.bind(['localhost', 0]);
    assert.equal((s.getsockname() as string[])[0], '127.0.0.1');
    const t = track(new Socket());
    t.bind(['', 0]);
    assert.equal((t.getsockname() as string[])[0], '0.0.0.0');
  });
});

describe('closed sockets', () => {
  // Methods that do not raise after close(): they report the closed state instead.
  const quiet = new Set(['constructor', 'fileno', 'close', 'detach', 'toString', 'acceptRaw', 'sendRaw', 'recvRaw', 'fdFor', 'timed', 'gettimeout', '_streamable']);
  const calls: Record<string, (s: Socket, port: number) => unknown> = {
    setblocking: (s) => s.setblocking(false),
    settimeout: (s) => s.settimeout(1),
    getblocking: (s) => s.getblocking(),
    getInheritable: (s) => s.getInheritable(),
    setInheritable: (s) => s.setInheritable(true),
    bind: (s) => s.bind(['127.0.0.1', 0]),
    listen: (s) => s.listen(1),
    accept: (s) => s.accept(),
    connect: (s, port) => s.connect(['127.0.0.1', port]),
    connectEx: (s, port) => s.connectEx(['127.0.0.1', port]),
    send: (s) => s.send(Buffer.from('x')),
    sendall: (s) => s.sendall(Buffer.from('x')),
    recv: (s) => s.recv(1),
    recvInto: (s) => s.recvInto(new Uint8Array(1)),
    sendto: (s, port) => s.sendto(Buffer.from('x'), ['127.0.0.1', port]),
    recvfrom: (s) => s.recvfrom(1),
    shutdown: (s) => s.shutdown(SHUT_RDWR),
    getsockopt: (s) => s.getsockopt(SOL_SOCKET, SO_TYPE),
    setsockopt: (s) => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1),
    getsockname: (s) => s.getsockname(),
    getpeername: (s) => s.getpeername(),
    dup: (s) => s.dup(),
  };

  it('every method raises SocketError EBADF after close()', () => {
    const methods = Object.getOwnPropertyNames(Socket.prototype).filter((m) => !quiet.has(m));
    assert.deepEqual(methods.filter((m) => !(m in calls)), [], 'a Socket method this test does not cover');
    const { srv } = connected(AF_INET, ['127.0.0.1', 0]);
    const port = (srv.getsockname() as [string, number])[1];
    for (const kind of [SOCK_STREAM, SOCK_DGRAM]) {
      const s = new Socket(AF_INET, kind);
      s.close();
      for (const [name, call] of Object.entries(calls)) {
        assert.throws(() => call(s, port), (e: unknown) => {
          assert.ok(e instanceof SocketError, `${name}: ${String(e)}`);
          assert.equal(e.code, 'EBADF', name);
          assert.equal(e.errno, errno.EBADF);
          return true;
        }, name);
      }
      assert.equal(s.fileno(), -1);
      assert.equal(s.detach(), -1);
      assert.equal(s.sendRaw(Buffer.from('x'), 0), -errno.EBADF!);
      assert.equal(s.recvRaw(1, 0), -errno.EBADF!);
      assert.equal(s.acceptRaw(false), -errno.EBADF!);
      assert.match(String(s), /closed/);
    }
  });

  it('the closed-socket error names the fix', () => {
    const s = new Socket();
    s.close();
    assert.throws(() => s.getsockname(), (e: unknown) => e instanceof SocketError && /getsockname EBADF/.test(e.message) && /closed/.test(e.message));
  });

  it('close() twice is harmless and never closes a descriptor reused by another socket', () => {
    const a = new Socket();
    const fd = a.fileno();
    a.close();
    a.close();
    const b = track(new Socket());
    assert.equal(b.fileno(), fd, 'the kernel hands out the lowest free descriptor again');
    a.close();
    assert.ok(existsSync(`/proc/self/fd/${fd}`), 'b\'s descriptor is still open');
    b.bind(['127.0.0.1', 0]);
    b.listen();
    assert.equal(b.getsockopt(SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    const c = track(new Socket());
    c.connect(b.getsockname());
    track(b.accept()[0]);
  });

  it('close() releases the descriptor and the port', () => {
    const s = new Socket();
    s.bind(['127.0.0.1', 0]);
    s.listen();
    const fd = s.fileno();
    const addr = s.getsockname();
    assert.ok(existsSync(`/proc/self/fd/${fd}`));
    s.close();
    assert.equal(existsSync(`/proc/self/fd/${fd}`), false);
    const c = track(new Socket());
    assert.equal(c.connectEx(addr), errno.ECONNREFUSED);
  });
});

describe('descriptor hygiene', () => {
  it('sockets are close-on-exec by default: new, accepted, socketpair, dup', () => {
    const { srv, cli, conn } = connected(AF_INET, ['127.0.0.1', 0]);
    const [p, q] = trackPair(socketpair());
    const d = track(cli.dup());
    for (const s of [srv, cli, conn, p, q, d]) {
      assert.equal(s.getInheritable(), false);
      assert.ok(fdFlags(s.fileno()) & C.O_CLOEXEC, 'the kernel agrees: FD_CLOEXEC is set');
    }
  });

  it('setInheritable round-trips', () => {
    const s = track(new Socket());
    s.setInheritable(true);
    assert.equal(s.getInheritable(), true);
    assert.equal(fdFlags(s.fileno()) & C.O_CLOEXEC, 0);
    s.setInheritable(false);
    assert.equal(s.getInheritable(), false);
    assert.ok(fdFlags(s.fileno()) & C.O_CLOEXEC);
  });

  it('Socket.fromFd duplicates the descriptor: independent close, shared socket', () => {
    const a = new Socket();
    a.bind(['127.0.0.1', 0]);
    a.setblocking(false);
    const d = track(Socket.fromFd(a.fileno(), AF_INET, SOCK_STREAM));
    assert.notEqual(d.fileno(), a.fileno());
    assert.equal(d.family, AF_INET);
    assert.equal(d.type, SOCK_STREAM);
    assert.deepEqual(d.getsockname(), a.getsockname());
    assert.equal(d.getInheritable(), false);
    assert.equal(d.getblocking(), false, 'the file status flags are shared and read back');
    const name = a.getsockname();
    a.close();
    assert.deepEqual(d.getsockname(), name, 'the duplicate survives the original');
    d.listen();
    d.setblocking(true);
    const c = track(new Socket());
    c.connect(name);
    track(d.accept()[0]);
  });

  it('setblocking really sets O_NONBLOCK even after a dup changed the shared flag', () => {
    const a = track(new Socket());
    const d = track(a.dup());
    d.setblocking(false);
    assert.ok(fdFlags(a.fileno()) & C.O_NONBLOCK, 'the flag is shared by the duplicate');
    a.setblocking(true);
    assert.equal(fdFlags(a.fileno()) & C.O_NONBLOCK, 0);
    assert.equal(a.getblocking(), true);
    a.setblocking(false);
    a.setblocking(false);
    assert.ok(fdFlags(a.fileno()) & C.O_NONBLOCK);
  });

  it('pipe() gives close-on-exec descriptors; closeFd closes them and reports EBADF after', () => {
    const [r, w] = pipe();
    try {
      for (const fd of [r, w]) assert.ok(fdFlags(fd) & C.O_CLOEXEC);
      assert.equal(libc.write(w, Buffer.from('wake'), 4), 4);
      const buf = Buffer.alloc(8);
      assert.equal(libc.read(r, buf, 8), 4);
      assert.equal(buf.subarray(0, 4).toString(), 'wake');
    } finally {
      closeFd(r);
      closeFd(w);
    }
    assert.equal(existsSync(`/proc/self/fd/${r}`), false);
    assert.throws(() => closeFd(r), isSocketError('EBADF', 'close'));
    assert.throws(() => closeFd('3' as unknown as number), argError(TypeError));
  });

  it('sendall sends 4 MiB through a socketpair to a reader thread', async () => {
    const [a, b] = trackPair(socketpair());
    const data = randomBytes(4 * 1024 * 1024);
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const { readSync } = require('node:fs');
      const { createHash } = require('node:crypto');
      const h = createHash('sha256');
      const buf = Buffer.alloc(65536);
      let n = 0;
      for (;;) {
        const r = readSync(workerData.fd, buf, 0, buf.length, null);
        if (r === 0) break;
        h.update(buf.subarray(0, r));
        n += r;
      }
      parentPort.postMessage({ n, hash: h.digest('hex') });
    `, { eval: true, workerData: { fd: b.fileno() } });
    try {
      const result = new Promise<{ n: number; hash: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await new Promise((resolve) => worker.once('online', resolve));
      a.sendall(data);
      a.shutdown(SHUT_WR);
      const got = await result;
      assert.equal(got.n, data.length);
      assert.equal(got.hash, createHash('sha256').update(data).digest('hex'));
    } finally {
      await worker.terminate();
    }
  });

  it('sendall on a non-blocking socket with a full buffer raises BlockingIOError', () => {
    const [a] = trackPair(socketpair());
    a.setblocking(false);
    assert.throws(() => a.sendall(Buffer.alloc(16 * 1024 * 1024)), (e: unknown) => e instanceof BlockingIOError && e.syscall === 'send');
  });
});

describe('fault injection', () => {
  it('EINTR in recv, send, accept4 and connect is retried invisibly', () => {
    const srv = track(new Socket());
    srv.bind(['127.0.0.1', 0]);
    srv.listen();
    const cli = track(new Socket());
    injectFault('connect', errno.EINTR!, 2);
    cli.connect(srv.getsockname());
    assert.equal(pendingFaults('connect'), 0, 'both injected EINTRs were consumed');
    assert.deepEqual(cli.getpeername(), srv.getsockname());

    injectFault('accept4', errno.EINTR!, 3);
    const [conn, peer] = srv.accept();
    track(conn);
    assert.equal(pendingFaults('accept4'), 0);
    assert.deepEqual(peer, cli.getsockname());

    injectFault('send', errno.EINTR!, 2);
    assert.equal(cli.send(Buffer.from('through')), 7);
    assert.equal(pendingFaults('send'), 0);

    injectFault('recv', errno.EINTR!, 2);
    assert.equal(recvExactly(conn, 7).toString(), 'through');
    assert.equal(pendingFaults('recv'), 0);

    injectFault('send', errno.EINTR!);
    cli.sendall(Buffer.from('all'));
    assert.equal(recvExactly(conn, 3).toString(), 'all');
    assert.equal(pendingFaults('send'), 0);
  });

  it('EINTR in a non-blocking connect is retried too', () => {
    const srv = track(new Socket());
    srv.bind(['127.0.0.1', 0]);
    srv.listen();
    const cli = track(new Socket());
    cli.setblocking(false);
    injectFault('connect', errno.EINTR!);
    const r = cli.connectEx(srv.getsockname());
    assert.ok(r === 0 || r === errno.EINPROGRESS, `connectEx: ${r}`);
    assert.equal(pendingFaults('connect'), 0);
    assert.ok(waitFd(cli.fileno(), POLLOUT) & POLLOUT);
    assert.equal(cli.getsockopt(SOL_SOCKET, SO_ERROR), 0);
    track(srv.accept()[0]);
  });

  it('EAGAIN injected into recv surfaces as BlockingIOError and loses no data', () => {
    const [a, b] = trackPair(socketpair());
    a.send(Buffer.from('kept'));
    injectFault('recv', errno.EAGAIN!);
    assert.throws(() => b.recv(10), (e: unknown) => {
      assert.ok(e instanceof BlockingIOError, String(e));
      assert.equal(e.code, 'EAGAIN');
      assert.equal(e.syscall, 'recv');
      return true;
    });
    assert.equal(b.recv(10).toString(), 'kept');
  });

  it('other injected errors surface with their own code', () => {
    const [a] = trackPair(socketpair());
    injectFault('send', errno.ECONNRESET!);
    assert.throws(() => a.send(Buffer.from('x')), isSocketError('ECONNRESET', 'send'));
    injectFault('socket', errno.EMFILE!);
    assert.throws(() => new Socket(), isSocketError('EMFILE', 'socket'));
    const t = track(new Socket());
    injectFault('getaddrinfo', errno.EINTR!);
    assert.throws(() => t.connect(['example.invalid', 1]), isSocketError('EAI_AGAIN', 'getaddrinfo'));
    assert.equal(pendingFaults('getaddrinfo'), 0);
  });
});
