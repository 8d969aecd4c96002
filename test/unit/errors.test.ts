// SocketError and BlockingIOError: Python's OSError/BlockingIOError with Node's fields and messages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { checkLeaks } from '../helpers.js';
import { SocketError, BlockingIOError, closedError, socketError } from '../../src/errors.js';
import { SocketError as SocketErrorFromSocket, BlockingIOError as BlockingFromSocket } from '../../src/exports/socket.js';
import { errno } from '../../src/constants.js';
import { errnoName, gaiName } from '../../src/sys/errno.js';
import { C } from '../../src/sys/constants.js';

checkLeaks();

describe('SocketError', () => {
  it('derives a Node-style message and the fields from errno, syscall and address', () => {
    const err = new SocketError(errno.ECONNREFUSED!, 'connect', ['127.0.0.1', 1]);
    assert.equal(err.message, 'connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(err.errno, os.constants.errno.ECONNREFUSED);
    assert.ok(err.errno > 0, 'errno is positive, as in Python');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
    assert.equal(err.address, '127.0.0.1');
    assert.equal(err.port, 1);
    assert.equal(err.strerror, 'Connection refused');
  });

  it('is an Error with the name SocketError, in the stack and in String()', () => {
    const err = new SocketError(errno.EPIPE!, 'send');
    assert.ok(err instanceof Error);
    assert.ok(err instanceof SocketError);
    assert.ok(!(err instanceof BlockingIOError));
    assert.equal(err.name, 'SocketError');
    assert.equal(String(err), 'SocketError: send EPIPE');
    assert.match(err.stack ?? '', /^SocketError: send EPIPE\n/);
    assert.equal(err.address, undefined);
    assert.equal(err.port, undefined);
  });

  it('can be thrown and caught by user code like any error', () => {
    function userCode(): never {
      throw new SocketError(errno.ETIMEDOUT!, 'connect', ['10.0.0.1', 8080]);
    }
    assert.throws(userCode, (e: unknown) => {
      assert.ok(e instanceof SocketError);
      assert.equal(e.code, 'ETIMEDOUT');
      assert.equal(e.errno, os.constants.errno.ETIMEDOUT);
      assert.equal(e.message, 'connect ETIMEDOUT 10.0.0.1:8080');
      return true;
    });
  });

  it('formats IPv6 and Unix addresses', () => {
    const v6 = new SocketError(errno.ECONNREFUSED!, 'connect', ['::1', 80, 0, 0]);
    assert.match(v6.message, /^connect ECONNREFUSED \[?::1\]?:80$/);
    assert.equal(v6.address, '::1');
    assert.equal(v6.port, 80);

    const unix = new SocketError(errno.ENOENT!, 'connect', '/tmp/no/such.sock');
    assert.equal(unix.message, 'connect ENOENT /tmp/no/such.sock');
    assert.equal(unix.address, '/tmp/no/such.sock');
    assert.equal(unix.port, undefined);

    const abstract = new SocketError(errno.ECONNREFUSED!, 'connect', '\0name');
    assert.equal(abstract.message, 'connect ECONNREFUSED @name', 'the NUL is shown as @, as ss(8) does');
    assert.equal(abstract.address, '\0name', 'the address itself is kept exactly');
  });

  it('appends a hint that names the fix', () => {
    const err = closedError('recv');
    assert.ok(err instanceof SocketError);
    assert.equal(err.code, 'EBADF');
    assert.equal(err.errno, os.constants.errno.EBADF);
    assert.equal(err.syscall, 'recv');
    assert.match(err.message, /^recv EBADF \(.*closed.*\)$/);
  });

  it('names errnos as Python does, and unknown ones as E<n>', () => {
    assert.equal(new SocketError(errno.EWOULDBLOCK!, 'recv').code, 'EAGAIN');
    assert.equal(errnoName(os.constants.errno.EOPNOTSUPP), 'EOPNOTSUPP');
    assert.equal(errnoName(os.constants.errno.EDEADLK), 'EDEADLK');
    assert.equal(errnoName(os.constants.errno.ECONNRESET), 'ECONNRESET');
    const odd = new SocketError(9999, 'frob');
    assert.equal(odd.code, 'E9999');
    assert.equal(odd.errno, 9999);
    assert.equal(odd.message, 'frob E9999');
  });

  it('is the same class that src/socket.ts exports', () => {
    assert.equal(SocketErrorFromSocket, SocketError);
    assert.equal(BlockingFromSocket, BlockingIOError);
  });
});

describe('BlockingIOError', () => {
  it('is a SocketError with its own name', () => {
    const err = new BlockingIOError(errno.EAGAIN!, 'recv');
    assert.ok(err instanceof BlockingIOError);
    assert.ok(err instanceof SocketError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'BlockingIOError');
    assert.equal(err.code, 'EAGAIN');
    assert.equal(err.errno, os.constants.errno.EAGAIN);
    assert.equal(err.message, 'recv EAGAIN');
    assert.match(err.stack ?? '', /^BlockingIOError: recv EAGAIN\n/);
  });

  it('socketError() picks BlockingIOError exactly for EAGAIN, EWOULDBLOCK, EINPROGRESS and EALREADY', () => {
    for (const name of ['EAGAIN', 'EWOULDBLOCK', 'EINPROGRESS', 'EALREADY']) {
      const err = socketError(errno[name]!, 'connect', ['127.0.0.1', 9]);
      assert.ok(err instanceof BlockingIOError, name);
      assert.equal(err.errno, os.constants.errno[name as keyof typeof os.constants.errno]);
      assert.equal(err.address, '127.0.0.1');
    }
    for (const name of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EBADF', 'EINTR', 'EISCONN']) {
      const err = socketError(errno[name]!, 'send');
      assert.ok(err instanceof SocketError, name);
      assert.ok(!(err instanceof BlockingIOError), name);
      assert.equal(err.code, name);
    }
  });
});

describe('getaddrinfo errors', () => {
  it('carry the EAI_* code, syscall getaddrinfo, the host and gai_strerror text', () => {
    const err = new SocketError(C.EAI.EAI_NONAME!, 'getaddrinfo', 'no.such.host.invalid');
    assert.equal(err.code, 'EAI_NONAME');
    assert.equal(err.syscall, 'getaddrinfo');
    assert.equal(err.errno, C.EAI.EAI_NONAME, 'the EAI value, as Python\'s socket.gaierror.errno');
    assert.equal(err.address, 'no.such.host.invalid');
    assert.equal(err.message, 'getaddrinfo EAI_NONAME no.such.host.invalid');
    assert.equal(err.strerror, 'Name or service not known');
    assert.ok(!(err instanceof BlockingIOError));
  });

  it('name every glibc EAI code', () => {
    for (const [name, value] of Object.entries(C.EAI)) {
      assert.equal(gaiName(value), name);
      assert.equal(new SocketError(value, 'getaddrinfo', 'h').code, name);
    }
    assert.equal(new SocketError(C.EAI.EAI_AGAIN!, 'getaddrinfo', 'h').strerror, 'Temporary failure in name resolution');
  });

  it('a positive errno from getaddrinfo (EAI_SYSTEM) is an ordinary errno', () => {
    const err = new SocketError(errno.EMFILE!, 'getaddrinfo', 'example.com');
    assert.equal(err.code, 'EMFILE');
    assert.equal(err.syscall, 'getaddrinfo');
  });
});

describe('errno table', () => {
  it('is Node\'s positive errno numbers, frozen', () => {
    assert.ok(Object.isFrozen(errno));
    for (const [name, value] of Object.entries(os.constants.errno)) assert.equal(errno[name], value, name);
    assert.ok(errno.EINPROGRESS! > 0);
  });
});
