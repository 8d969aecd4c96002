// Reliability: injected faults through the src/sys seam, half-close, and a reset storm.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaks, fdCount, runUntil, usePrivateMap, map, POLLERS, LINGER_RST } from '../helpers.js';
import { EchoHandler, EchoServer as BaseEchoServer } from '../fixtures/common.js';
import {
  Dispatcher, Socket, socketpair, loop, errno, type Address, type SocketMap,
  SOL_SOCKET, SO_LINGER, SHUT_WR,
} from '../../src/index.js';
import { injectFault, clearFaults, pendingFaults } from '../../src/sys/faults.js';

afterEach(() => clearFaults());
usePrivateMap(); // after clearFaults(): no injected fault is left for the closing channels
checkLeaks(); // after the hooks above, which close each test's channels

/** The pass limit of the fault tests (10 ms passes). */
const PASSES = 2000;

/** The echo server, keeping its handlers to count their closes. */
class EchoServer extends BaseEchoServer {
  handlers: EchoHandler[] = [];
  constructor(m: SocketMap) {
    super({ map: m, backlog: 1024 });
  }
  override handleAccepted(sock: Socket): void {
    this.handlers.push(new EchoHandler(sock, this._map));
  }
}

/** Sends `rounds` numbered 64-byte messages one at a time and checks every echo. */
class Pinger extends Dispatcher {
  got = Buffer.alloc(0);
  round = 0;
  closes = 0;
  errors: unknown[] = [];
  constructor(m: SocketMap, addr: Address, readonly rounds: number, readonly tag = 0) {
    super(null, m);
    this.createSocket();
    this.connect(addr);
  }
  message(): Buffer {
    const b = Buffer.alloc(64, 0x40 + (this.round % 50));
    b.writeUInt32BE(this.tag, 0);
    b.writeUInt32BE(this.round, 4);
    return b;
  }
  override handleConnect(): void {
    this.send(this.message());
  }
  override handleRead(): void {
    const data = this.recv(4096);
    this.got = Buffer.concat([this.got, data]);
    if (this.got.length < 64) return;
    assert.deepEqual(this.got.subarray(0, 64), this.message(), 'echo must come back intact');
    this.got = this.got.subarray(64);
    if (++this.round === this.rounds) this.close();
    else this.send(this.message());
  }
  override writable(): boolean {
    return !this.connected;
  }
  override handleClose(): void {
    this.closes++;
    this.close();
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
    this.close();
  }
}

for (const poller of POLLERS) {
  describe(`faults under ${poller}`, () => {
    const waitCall = poller === 'epoll' ? 'epoll_wait' : poller === 'uring' ? 'io_uring_enter' : poller;

    it('EINTR on the wait, recv, send, accept and connect is retried invisibly', () => {
      const server = new EchoServer(map);
      injectFault('connect', errno.EINTR!, 1);
      const client = new Pinger(map, server.address, 20);
      for (const call of [waitCall, 'recv', 'send', 'accept4']) injectFault(call, errno.EINTR!, 3);
      runUntil(() => client.round === 20, poller, '20 echoed rounds', PASSES);
      for (const call of [waitCall, 'recv', 'send', 'accept4', 'connect']) {
        assert.equal(pendingFaults(call), 0, `every injected EINTR on ${call} was consumed`);
      }
      assert.deepEqual(client.errors, []);
      assert.equal(client.closes, 0);
    });

    for (const code of ['ECONNRESET', 'EPIPE', 'ENOTCONN'] as const) {
      it(`${code} mid-stream calls handleClose exactly once`, () => {
        const server = new EchoServer(map);
        const client = new Pinger(map, server.address, 1000);
        runUntil(() => client.round >= 5, poller, '5 echoed rounds', PASSES);
        // The next recv (client or server side) fails as if the peer vanished.
        injectFault(code === 'EPIPE' ? 'send' : 'recv', errno[code]!, 1);
        runUntil(() => client.closes + server.handlers.reduce((n, h) => n + h.closes, 0) >= 1, poller, 'a close', PASSES);
        for (let i = 0; i < 20; i++) loop({ map, timeout: 0.01, count: 1, poller });
        const closes = [client.closes, ...server.handlers.map((h) => h.closes)];
        assert.equal(closes.reduce((a, b) => a + b, 0) >= 1, true);
        for (const c of closes) assert.ok(c <= 1, `handleClose ran ${c} times on one channel`);
        assert.deepEqual(client.errors, [], 'a disconnect is not an error');
      });
    }

    it('EAGAIN after readiness is harmless: the default handleError keeps the channel', () => {
      const [a, b] = socketpair();
      let got = '';
      class Reader extends Dispatcher {
        override handleRead(): void {
          got += this.recv(100).toString();
        }
        override writable(): boolean {
          return false;
        }
      }
      const reader = new Reader(a, map);
      const out: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
      try {
        b.send(Buffer.from('still here'));
        injectFault('recv', errno.EAGAIN!, 1);
        loop({ map, timeout: 0.01, count: 1, poller });
        assert.equal(pendingFaults('recv'), 0, 'the spurious EAGAIN was hit');
        assert.equal(map.get(a.fileno()), reader, 'the channel is still served');
        runUntil(() => got === 'still here', poller, 'the data after the half-close', PASSES);
      } finally {
        process.stdout.write = write;
        b.close();
      }
      assert.deepEqual(out, [], 'nothing was logged');
    });

    it('data sent before the peer\'s FIN is delivered before handleClose', () => {
      const events: string[] = [];
      let received = Buffer.alloc(0);
      class Reader extends Dispatcher {
        override handleRead(): void {
          const d = this.recv(7);
          if (d.length > 0) {
            received = Buffer.concat([received, d]);
            events.push('read');
          }
        }
        override handleClose(): void {
          events.push('close');
          this.close();
        }
        override writable(): boolean {
          return false;
        }
      }
      const listener = new Socket();
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      const peer = new Socket();
      try {
        peer.connect(listener.getsockname());
        const [conn] = listener.accept();
        new Reader(conn, map);
        const payload = Buffer.from('half-closed but not forgotten: '.repeat(40));
        peer.sendall(payload);
        peer.shutdown(SHUT_WR);
        runUntil(() => events.includes('close'), poller, 'handleClose', PASSES);
        assert.deepEqual(received, payload);
        assert.equal(events.at(-1), 'close');
        assert.equal(events.filter((e) => e === 'close').length, 1);
      } finally {
        peer.close();
        listener.close();
      }
    });
  });
}

describe('reset storm', () => {
  it('1,000 clients connect and reset while 10 keep echoing; all 10 finish and fds return', () => {
    const base = fdCount();
    const server = new EchoServer(map);
    const good = Array.from({ length: 10 }, (_, i) => new Pinger(map, server.address, 200, i));
    const storm: Socket[] = [];
    try {
      for (let i = 0; i < 1000; i++) {
        const s = new Socket();
        s.setblocking(false);
        s.connectEx(server.address);
        storm.push(s);
        if (i % 100 === 99) loop({ map, timeout: 0, count: 2, poller: 'epoll' });
      }
      loop({ map, timeout: 0.01, count: 5, poller: 'epoll' });
      for (const s of storm) {
        s.setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RST);
        s.close();
      }
      runUntil(() => good.every((g) => g.round === 200), 'epoll', 'the good clients\' 200 rounds', 5000);
      runUntil(() => server.handlers.every((h) => h._fileno === null), 'epoll', 'every handler closed', 5000);
    } finally {
      for (const s of storm) s.close();
    }
    for (const g of good) assert.deepEqual(g.errors, []);
    assert.ok(server.handlers.length >= 10);
    assert.equal(map.size, 1, 'only the listener is left');
    server.close();
    assert.equal(fdCount(), base, 'the server is back to its baseline fd count');
  });
});
