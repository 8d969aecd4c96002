// The socket-module helpers that came with the TLS work (getaddrinfo, createConnection,
// createServer, gethostname, inetPton, inetNtop), and the asyncore/ssl entry's surface.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import * as root from '../../src/index.js';
import * as sslEntry from '../../src/exports/ssl.js';
import * as socketEntry from '../../src/exports/socket.js';
import {
  AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, IPPROTO_TCP, AI_PASSIVE, AI_NUMERICHOST, AI_CANONNAME, Socket, SocketError,
  getaddrinfo, createConnection, createServer, gethostname, inetPton, inetNtop,
} from '../../src/index.js';
import { checkLeaks, hasIPv6, usePrivateMap } from '../helpers.js';

describe('socket-module helpers', () => {
  const res = usePrivateMap();
  checkLeaks();

  it('getaddrinfo returns Python-shaped tuples', () => {
    const r = getaddrinfo('127.0.0.1', 80, AF_INET, SOCK_STREAM);
    assert.deepEqual(r, [[AF_INET, SOCK_STREAM, IPPROTO_TCP, '', ['127.0.0.1', 80]]]);
    const passive = getaddrinfo(null, 8080, AF_INET, SOCK_STREAM, 0, AI_PASSIVE);
    assert.deepEqual(passive[0]![4], ['0.0.0.0', 8080]);
    const both = getaddrinfo('localhost', 'http', 0, SOCK_STREAM);
    assert.ok(both.length >= 1);
    assert.ok(both.every(([f, t, , , a]) => (f === AF_INET || f === AF_INET6) && t === SOCK_STREAM && Array.isArray(a) && a[1] === 80));
    const canon = getaddrinfo('localhost', null, AF_INET, SOCK_STREAM, 0, AI_CANONNAME);
    assert.equal(typeof canon[0]![3], 'string');
    assert.ok(canon[0]![3].length > 0);
    assert.throws(() => getaddrinfo('localhost', 80, 0, 0, 0, AI_NUMERICHOST), (e: SocketError) => e.syscall === 'getaddrinfo' && e.code === 'EAI_NONAME');
    assert.throws(() => getaddrinfo(5 as unknown as string, 80), TypeError);
    const udp = getaddrinfo('127.0.0.1', 53, AF_INET, SOCK_DGRAM);
    assert.equal(udp[0]![1], SOCK_DGRAM);
  });

  it('createServer and createConnection', async () => {
    const srv = createServer(['127.0.0.1', 0], { backlog: 4 });
    res.sockets.push(srv);
    const port = (srv.getsockname() as [string, number])[1];
    const c = createConnection(['localhost', port], 5);
    res.sockets.push(c);
    const [a] = srv.accept();
    res.sockets.push(a);
    c.sendall(Buffer.from('hi'));
    assert.equal(a.recv(10).toString(), 'hi');
    assert.equal(c.gettimeout(), 5);
    const refused = createServer(['127.0.0.1', 0]);
    const deadPort = (refused.getsockname() as [string, number])[1];
    refused.close();
    assert.throws(() => createConnection(['127.0.0.1', deadPort]), (e: SocketError) => e.code === 'ECONNREFUSED');
    const src = createConnection(['127.0.0.1', port], null, ['127.0.0.1', 0]);
    res.sockets.push(src);
    assert.equal((src.getsockname() as [string, number])[0], '127.0.0.1');
    assert.throws(() => createServer(['127.0.0.1', 0], { dualstackIpv6: true }), /AF_INET6/);
    if (await hasIPv6()) {
      const six = createServer(['::', 0], { family: AF_INET6, dualstackIpv6: true });
      res.sockets.push(six);
      const p6 = (six.getsockname() as [string, number])[1];
      const v4 = createConnection(['127.0.0.1', p6]);
      res.sockets.push(v4);
      const [acc] = six.accept();
      res.sockets.push(acc);
      assert.match((acc.getpeername() as [string, number])[0], /127\.0\.0\.1/);
    }
  });

  it('gethostname, inetPton and inetNtop', () => {
    assert.equal(gethostname(), hostname());
    assert.deepEqual([...inetPton(AF_INET, '10.1.2.3')], [10, 1, 2, 3]);
    assert.equal(inetNtop(AF_INET, inetPton(AF_INET, '192.168.0.1')), '192.168.0.1');
    const six = inetPton(AF_INET6, '2001:db8::1');
    assert.equal(six.length, 16);
    assert.equal(inetNtop(AF_INET6, six), '2001:db8::1');
    assert.throws(() => inetPton(AF_INET, '1.2.3'), /illegal IP address/);
    assert.throws(() => inetPton(AF_INET6, 'nope'), /illegal IP address/);
    assert.throws(() => inetNtop(AF_INET, new Uint8Array(3)), RangeError);
    assert.throws(() => inetPton(99, '1.2.3.4'), (e: SocketError) => e.code === 'EAFNOSUPPORT');
  });

  it('asyncore/ssl and asyncore/socket export what the root does', () => {
    for (const name of Object.keys(sslEntry)) assert.equal((root as Record<string, unknown>)[name], (sslEntry as Record<string, unknown>)[name], name);
    for (const name of ['getaddrinfo', 'createConnection', 'createServer', 'gethostname', 'inetPton', 'inetNtop', 'AI_PASSIVE', 'AI_CANONNAME', 'AI_NUMERICHOST']) {
      assert.equal((socketEntry as Record<string, unknown>)[name], (root as Record<string, unknown>)[name], name);
    }
    // Python's values.
    assert.deepEqual(
      [root.SSL_ERROR_SSL, root.SSL_ERROR_WANT_READ, root.SSL_ERROR_WANT_WRITE, root.SSL_ERROR_SYSCALL, root.SSL_ERROR_ZERO_RETURN, root.SSL_ERROR_EOF, root.SSL_ERROR_INVALID_ERROR_CODE],
      [1, 2, 3, 5, 6, 8, 10]);
    assert.deepEqual([root.CERT_NONE, root.CERT_OPTIONAL, root.CERT_REQUIRED, root.PROTOCOL_TLS_CLIENT, root.PROTOCOL_TLS_SERVER], [0, 1, 2, 16, 17]);
    assert.deepEqual([root.TLSVersion.TLSv1_2, root.TLSVersion.TLSv1_3], [0x303, 0x304]);
    assert.equal(root.Purpose.SERVER_AUTH.oid, '1.3.6.1.5.5.7.3.1');
    assert.equal(root.HAS_TLS, true);
    assert.ok(root.OPENSSL_VERSION_NUMBER >= 0x30000000);
    assert.ok(new root.SSLError() instanceof SocketError);
    assert.ok(new root.SSLWantReadError() instanceof root.SSLError);
    assert.ok(Socket);
  });
});

describe('Dispatcher.send()/recv() and SSLError', () => {
  const res = usePrivateMap();
  checkLeaks();

  it('pass an SSLError through unchanged (its errno is not a system errno)', async () => {
    const { Dispatcher, SSLEOFError, SSL_ERROR_EOF, socketpair } = await import('../../src/index.js');
    const [a, b] = socketpair();
    res.sockets.push(b);
    // A socket wrapper without the raw fast paths, as a user's own SSLSocket-like class would be.
    const wrapper = {
      fileno: () => a.fileno(), close: () => a.close(), setblocking: (f: boolean) => a.setblocking(f),
      getsockopt: (l: number, o: number) => a.getsockopt(l, o),
      recv: (): Buffer => { throw new SSLEOFError(); },
      send: (): number => { throw new SSLEOFError(); },
    };
    const d = new Dispatcher(null, new Map());
    d.setSocket(wrapper as unknown as Socket);
    d.connected = true;
    assert.throws(() => d.recv(10), (e: Error) => e instanceof SSLEOFError && (e as SocketError).errno === SSL_ERROR_EOF && !/ENOEXEC/.test(e.message));
    assert.throws(() => d.send(Buffer.from('x')), SSLEOFError);
    d.close();
  });
});
