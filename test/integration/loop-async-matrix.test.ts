// The core handler matrix served by loopAsync() instead of loop(): {IPv4, IPv6, Unix} × the
// libuv-watched epoll set and the libuv-watched io_uring ring (its data path included). Each case runs ONE long-lived loopAsync() that ends when the case's
// channels are closed (or rejects with ExitNow from an unref'd guard timer if it stalls).
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkLeaks, tempDir, hasIPv6, addressFamilies, usePrivateMap, map, LINGER_RST, FamilyServer, type Family, type HandlerClass,
} from '../helpers.js';
import {
  Dispatcher, Socket, ExitNow, loopAsync, closeAll, callEveryOn, callLaterOn, type Address, type PollerName,
  SOL_SOCKET, SO_LINGER, MSG_OOB,
} from '../../src/index.js';

const { sockets: extra } = usePrivateMap({ timers: true });
checkLeaks();

const tmp = tempDir('asyncore-async-matrix-');
after(() => tmp.cleanup());
const FAMILIES = addressFamilies(await hasIPv6(), tmp.dir, 'a');
/** The poller of the describe block running now (set by its beforeEach). */
let poller: PollerName = 'epoll';

/**
 * Serve `map` with loopAsync() until `done()` holds (checked every 2 ms by a timer, which then
 * closes everything so the loop resolves); an unref'd guard rejects with ExitNow after `limit`.
 */
async function serveUntil(done: () => boolean, what: string, limit = 5): Promise<void> {
  const g = callLaterOn(map, limit, () => {
    throw new ExitNow(`${what}: not within ${limit} s`);
  }).unref();
  const check = callEveryOn(map, 0.002, () => {
    if (!done()) return;
    check.cancel();
    closeAll(map);
  }).unref();
  try {
    await loopAsync({ map, timeout: 1, poller });
  } finally {
    g.cancel();
    check.cancel();
  }
  assert.ok(done(), what);
}

// Doubles: handlers not expected in a case throw, and handleError rethrows, so a surprise
// rejects loopAsync() with that error (ExitNow-free errors escape through handleError).
const surprises: string[] = [];
class Strict extends Dispatcher {
  flag = false;
  constructor(sock?: Socket | null) {
    super(sock, map);
  }
  override handleAccept(): void {
    surprises.push('handleAccept');
  }
  override handleAccepted(sock: Socket, _addr: Address): void {
    sock.close();
    surprises.push('handleAccepted');
  }
  override handleConnect(): void {
    surprises.push('handleConnect');
  }
  override handleExpt(): void {
    surprises.push('handleExpt');
  }
  override handleClose(): void {
    surprises.push('handleClose');
    this.close();
  }
  override handleError(err: unknown): void {
    surprises.push(`handleError: ${String(err)}`);
    this.close();
  }
}
beforeEach(() => {
  surprises.length = 0;
});

class Server extends FamilyServer {
  constructor(fam: Family, handler: HandlerClass = Strict) {
    super(fam, map, handler);
  }
}

class Client extends Strict {
  constructor(fam: Family, address: Address) {
    super();
    this.createSocket(fam.family);
    this.connect(address);
  }
  override handleConnect(): void {}
}

for (const P of ['epoll', 'uring'] as const) for (const fam of FAMILIES) {
  describe(`${fam.name} × loopAsync (${P})`, { skip: fam.skip }, () => {
    beforeEach(() => {
      poller = P;
    });
    it('handleConnect runs when the connection is made', async () => {
      let connects = 0;
      class C extends Client {
        override handleConnect(): void {
          connects++;
          this.flag = true;
        }
        override writable(): boolean {
          return !this.flag;
        }
        override handleWrite(): void {}
      }
      const server = new Server(fam);
      const client = new C(fam, server.address);
      await serveUntil(() => client.flag, 'handleConnect');
      assert.equal(connects, 1);
      assert.deepEqual(surprises, []);
    });

    it('handleAccept runs on the listener; handleAccepted gets the socket and peer address', async () => {
      let acceptCalls = 0;
      let got: [Socket, Address, Address] | null = null;
      class Listener extends Strict {
        constructor() {
          super();
          this.createSocket(fam.family);
          this.bind(fam.addr());
          this.listen(5);
        }
        override handleAccept(): void {
          acceptCalls++;
          Dispatcher.prototype.handleAccept.call(this);
        }
        override handleAccepted(sock: Socket, addr: Address): void {
          extra.push(sock);
          got = [sock, addr, (client.socket as Socket).getsockname()];
        }
      }
      const server = new Listener();
      const client = new Client(fam, (server.socket as Socket).getsockname());
      client.writable = () => !client.connected;
      client.handleWrite = () => {};
      await serveUntil(() => got !== null, 'handleAccepted');
      assert.ok(acceptCalls >= 1);
      const [sock, addr, clientAddr] = got!;
      assert.equal(sock.family, fam.family);
      if (fam.tcp) assert.deepEqual(addr, clientAddr);
      assert.deepEqual(surprises, []);
    });

    it('handleRead runs when data arrives; handleWrite runs once connected', async () => {
      const payload = Buffer.alloc(200_000, 'r'); // more than one socket buffer: several passes
      let got = 0;
      let writes = 0;
      let connectedWhenRead = false;
      class H extends Strict {
        private rest = payload;
        override readable(): boolean {
          return false;
        }
        override writable(): boolean {
          return this.rest.length > 0;
        }
        override handleWrite(): void {
          writes++;
          this.rest = this.rest.subarray(this.send(this.rest));
        }
      }
      class C extends Client {
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          connectedWhenRead = this.connected;
          got += this.recv(65536).length;
        }
      }
      const server = new Server(fam, H);
      new C(fam, server.address);
      await serveUntil(() => got === payload.length, 'handleRead');
      assert.ok(writes >= 1);
      assert.equal(connectedWhenRead, true);
      assert.deepEqual(surprises, []);
    });

    it('handleClose runs when the peer closes; recv returns an empty Buffer', async () => {
      let closes = 0;
      let empty = false;
      class H extends Strict {
        constructor(sock: Socket) {
          super(sock);
          this.close();
        }
      }
      class C extends Client {
        override writable(): boolean {
          return !this.connected;
        }
        override handleWrite(): void {}
        override handleRead(): void {
          empty = this.recv(100).length === 0;
        }
        override handleClose(): void {
          closes++;
          this.flag = true;
          this.close();
        }
      }
      const server = new Server(fam, H);
      const client = new C(fam, server.address);
      await serveUntil(() => client.flag, 'handleClose');
      assert.equal(closes, 1);
      assert.equal(empty, true);
      assert.equal(server.accepted.length, 1);
      assert.deepEqual(surprises, []);
    });

    it('handleClose (not handleError) after the peer resets the connection', async () => {
      let closes = 0;
      const data = Buffer.alloc(128, 'd');
      class H extends Strict {
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          this.recv(data.length);
          if (fam.tcp) (this.socket as Socket).setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RST);
          this.close();
        }
      }
      class C extends Client {
        override handleWrite(): void {
          this.send(data);
        }
        override handleRead(): void {
          this.recv(100);
        }
        override handleClose(): void {
          closes++;
          this.flag = true;
          this.close();
        }
      }
      const server = new Server(fam, H);
      const client = new C(fam, server.address);
      await serveUntil(() => client.flag, 'handleClose after reset');
      assert.equal(closes, 1);
      assert.deepEqual(surprises, []);
    });

    it('handleExpt runs on out-of-band data (MSG_OOB)', { skip: fam.tcp ? false : 'MSG_OOB is TCP only' }, async () => {
      let expts = 0;
      class H extends Strict {
        constructor(sock: Socket) {
          super(sock);
          (this.socket as Socket).send(Buffer.from('!'), MSG_OOB);
        }
        override readable(): boolean {
          return false;
        }
        override writable(): boolean {
          return false;
        }
      }
      class C extends Client {
        override writable(): boolean {
          return false;
        }
        override handleExpt(): void {
          expts++;
          this.flag = true;
          // Consume the urgent byte, or the channel stays exceptional.
          (this.socket as Socket).recv(1, MSG_OOB);
        }
        override handleRead(): void {
          this.recv(10);
        }
      }
      const server = new Server(fam, H);
      const client = new C(fam, server.address);
      await serveUntil(() => client.flag, 'handleExpt');
      assert.ok(expts >= 1);
      assert.deepEqual(surprises, []);
    });

    it('handleError gets what a handler throws; the loop goes on with the other channels', async () => {
      const errors: unknown[] = [];
      let otherReads = 0;
      class H extends Strict {
        constructor(sock: Socket) {
          super(sock);
          this.send(Buffer.from('go'));
        }
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          otherReads += this.recv(10).length;
        }
        override handleClose(): void {
          this.close(); // the client closes after its error: expected here
        }
      }
      class C extends Client {
        override writable(): boolean {
          return false;
        }
        override handleRead(): void {
          this.recv(10);
          throw new RangeError('handler failed');
        }
        override handleError(err: unknown): void {
          errors.push(err);
          (this.socket as Socket).send(Buffer.from('after')); // the peer still hears us
          this.close();
        }
      }
      const server = new Server(fam, H);
      new C(fam, server.address);
      await serveUntil(() => errors.length === 1 && otherReads === 5, 'handleError');
      assert.ok(errors[0] instanceof RangeError);
      assert.equal((errors[0] as Error).message, 'handler failed');
      assert.deepEqual(surprises, []);
    });

    it('ExitNow from a handler rejects loopAsync (it is not routed to handleError)', async () => {
      class C extends Client {
        override handleWrite(): void {
          throw new ExitNow('bye');
        }
      }
      const server = new Server(fam);
      new C(fam, server.address);
      await assert.rejects(loopAsync({ map, timeout: 1, poller }), { name: 'ExitNow', message: 'bye' });
      assert.deepEqual(surprises, []);
      void server;
    });
  });
}
