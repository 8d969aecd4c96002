// AsyncChat over real loopback sockets, for every poller and address family: a raw echo server
// (itself an AsyncChat with no terminator) and chat clients with each kind of terminator.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkLeaks, tempDir, unixPath, hasIPv6, POLLERS } from '../helpers.js';
import {
  AsyncChat, Dispatcher, SimpleProducer, loop, closeAll, AF_INET, AF_INET6, AF_UNIX,
  type Address, type PollerName, type SocketMap, type Socket, type Terminator,
} from '../../src/index.js';

// Registered before checkLeaks: hooks run in order, so everything is closed before the count.
const maps: SocketMap[] = [];
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const m of maps.splice(0)) closeAll(m);
  for (const d of dirs.splice(0)) d.cleanup();
});
checkLeaks();

/** Server side: echoes every byte back; records what it got and whether the peer closed. */
class EchoChannel extends AsyncChat {
  got: Buffer[] = [];
  peerClosed = false;

  constructor(sock: Socket, map: SocketMap) {
    super(sock, map);
    this.setTerminator(null);
  }

  override collectIncomingData(data: Buffer): void {
    this.got.push(data);
    this.push(data);
  }

  override foundTerminator(): void {
    throw new Error('no terminator is set');
  }

  override handleClose(): void {
    this.peerClosed = true;
    this.close();
  }
}

class EchoServer extends Dispatcher {
  channels: EchoChannel[] = [];

  constructor(family: number, map: SocketMap, dir: string | null) {
    super(null, map);
    this.createSocket(family);
    this.setReuseAddr();
    this.bind(family === AF_UNIX ? unixPath(dir!) : [family === AF_INET6 ? '::1' : '127.0.0.1', 0]);
    this.listen(5);
  }

  address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket): void {
    this.channels.push(new EchoChannel(sock, this._map));
  }
}

/** Client side: collects framed messages under its terminator. */
class Client extends AsyncChat {
  contents: Buffer[] = [];
  buffer: Buffer[] = [];
  closedByPeer = false;

  constructor(family: number, addr: Address, terminator: Terminator, map: SocketMap) {
    super(null, map);
    this.createSocket(family);
    this.connect(addr);
    this.setTerminator(terminator);
  }

  override handleConnect(): void {}

  override collectIncomingData(data: Buffer): void {
    this.buffer.push(data);
  }

  override foundTerminator(): void {
    this.contents.push(Buffer.concat(this.buffer));
    this.buffer = [];
  }

  override handleClose(): void {
    this.closedByPeer = true;
    this.close();
  }

  text(): string[] {
    return this.contents.map((b) => b.toString('latin1'));
  }
}

const v6 = await hasIPv6();
const families: [string, number][] = [['IPv4', AF_INET], ...(v6 ? [['IPv6', AF_INET6] as [string, number]] : []), ['Unix', AF_UNIX]];

function setup(family: number, poller: PollerName) {
  const map: SocketMap = new Map();
  maps.push(map);
  let dir: string | null = null;
  if (family === AF_UNIX) {
    const t = tempDir();
    dirs.push(t);
    dir = t.dir;
  }
  const server = new EchoServer(family, map, dir);
  const client = (term: Terminator) => new Client(family, server.address(), term, map);
  /** Run bounded loop passes until `done()` holds; fails the test if it never does. */
  const pump = (done: () => boolean, what: string, limit = 500) => {
    for (let i = 0; i < limit && !done(); i++) loop({ timeout: 0.01, count: 1, map, poller });
    assert.ok(done(), `timed out waiting for: ${what}`);
  };
  return { map, server, client, pump };
}

for (const poller of POLLERS) {
  for (const [fname, family] of families) {
    describe(`AsyncChat over ${fname} sockets, ${poller}`, () => {
      it('line echo: pushes split across lines come back as whole lines', () => {
        const { client, pump } = setup(family, poller);
        const c = client('\n');
        c.push('hello ');
        c.push('world\n');
        c.push("I'm not dead yet!\n");
        pump(() => c.contents.length === 2, 'two lines');
        assert.deepEqual(c.text(), ['hello world', "I'm not dead yet!"]);
      });

      it('multi-byte terminators, empty lines, and a CRLF split by the echo', () => {
        const { client, pump } = setup(family, poller);
        const c = client('\r\n');
        c.push('one\r\n\r\n');
        c.push('two\r');
        c.push('\n\r\nthree\r\n');
        pump(() => c.contents.length === 5, 'five lines');
        assert.deepEqual(c.text(), ['one', '', 'two', '', 'three']);
      });

      it('numeric terminators: exactly that many bytes, then the terminator changes', () => {
        const { client, pump } = setup(family, poller);
        const c = client(6);
        let stage = 0;
        c.foundTerminator = function (this: Client) {
          Client.prototype.foundTerminator.call(this);
          stage++;
          if (stage === 1) this.setTerminator(3);
          else if (stage === 2) this.setTerminator('\n');
        };
        c.push("hello world, I'm not dead yet!\n");
        pump(() => c.contents.length === 3, 'three messages');
        assert.deepEqual(c.text(), ['hello ', 'wor', "ld, I'm not dead yet!"]);
      });

      it('null terminator: everything is collected and foundTerminator never runs', () => {
        const { client, pump } = setup(family, poller);
        const c = client(null);
        const data = "hello world, I'm not dead yet!\n";
        c.push(data);
        pump(() => Buffer.concat(c.buffer).length === data.length, 'all bytes');
        assert.equal(Buffer.concat(c.buffer).toString(), data);
        assert.deepEqual(c.contents, []);
      });

      it('SimpleProducer output and bytes given to pushWithProducer arrive in order', () => {
        const { client, pump } = setup(family, poller);
        const c = client('\n');
        c.pushWithProducer(new SimpleProducer(Buffer.from("hello world\nI'm not dead yet!\n"), 8));
        c.pushWithProducer(Buffer.from('from bytes\n'));
        pump(() => c.contents.length === 3, 'three lines');
        assert.deepEqual(c.text(), ['hello world', "I'm not dead yet!", 'from bytes']);
      });

      it('closeWhenDone closes the channel only after all queued output was sent', () => {
        const { server, client, pump } = setup(family, poller);
        const c = client('\n');
        const big = randomBytes(256 * 1024); // more than one send's worth
        c.push(big);
        c.push('tail\n');
        c.closeWhenDone();
        pump(() => server.channels.length === 1 && server.channels[0]!.peerClosed, 'the server to see the close');
        assert.equal(c.socket !== null && c.connected, false, 'client closed');
        const got = Buffer.concat(server.channels[0]!.got);
        assert.equal(got.length, big.length + 5);
        assert.ok(got.subarray(0, big.length).equals(big));
        assert.equal(got.subarray(big.length).toString(), 'tail\n');
      });

      it('many messages in one read are all delivered, in order', () => {
        const { client, pump } = setup(family, poller);
        const c = client('\n');
        const lines = Array.from({ length: 2000 }, (_, i) => `message ${i}`);
        c.push(lines.join('\n') + '\n'); // one push: the echo comes back in few large reads
        pump(() => c.contents.length === lines.length, `${lines.length} lines`);
        assert.deepEqual(c.text(), lines);
      });

      it('a large body ending in CRLF.CRLF survives partial sends and reads', () => {
        const { client, pump } = setup(family, poller);
        const c = client('\r\n.\r\n');
        c.acInBufferSize = 4093; // odd-sized reads, so the terminator may straddle two
        const body = Buffer.alloc(1024 * 1024 + 7, 'x');
        c.push(body);
        c.push('\r\n.\r\nafter\r\n.\r\n');
        pump(() => c.contents.length === 2, 'two bodies', 2000);
        assert.ok(c.contents[0]!.equals(body));
        assert.equal(c.contents[1]!.toString(), 'after');
      });
    });
  }
}
