// The classic port forwarder (src/examples/port-forwarder.ts), in process: a client and an
// upstream server, both plain Dispatchers, talk through a PortForwarder on the same private
// map, driven by bounded loop() passes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { checkLeaks, usePrivateMap, map, LINGER_RST, POLLERS, hasIPv6 } from '../helpers.js';
import * as asyncore from '../../src/index.js';
import { PortForwarder, Relay, parseHostPort } from '../../src/examples/port-forwarder.js';
import { repeatedPatternHash } from '../fixtures/pattern.js';

const res = usePrivateMap();
checkLeaks();

const MiB = 1024 * 1024;
// Stream byte i is PATTERN[i % PATTERN.length]: position-dependent, so a dropped, duplicated
// or reordered chunk changes the hash.
const PATTERN = randomBytes(4 * MiB + 13);

/**
 * One end of a conversation: sends `total` bytes of the pattern (then shuts its write side
 * down, or first waits for the peer's EOF with `sendAfterEof`), hashes what it receives, and
 * closes when both directions are done.
 */
class Pump extends asyncore.Dispatcher {
  sent = 0;
  got = 0;
  readEof = false;
  wrShut = false;
  hash = createHash('sha256');
  /** Close with RST after receiving this many bytes (null: never). */
  resetAfter: number | null = null;
  sendAfterEof = false;
  /** Does not read while set (a slow reader). */
  paused = false;
  closes = 0;

  constructor(sock: asyncore.Socket | null, public total: number, m: asyncore.SocketMap) {
    super(sock, m);
  }

  override readable(): boolean {
    return !this.readEof && !this.paused;
  }

  override writable(): boolean {
    if (!this.connected) return true;
    return !this.wrShut && (!this.sendAfterEof || this.readEof);
  }

  override handleConnect(): void { /* ready */ }

  override handleWrite(): void {
    if (this.sent < this.total) {
      const off = this.sent % PATTERN.length;
      const n = Math.min(256 * 1024, this.total - this.sent, PATTERN.length - off);
      this.sent += this.send(PATTERN.subarray(off, off + n));
    }
    if (this.sent === this.total && !this.wrShut && this.socket !== null) {
      this.socket.shutdown(asyncore.SHUT_WR);
      this.wrShut = true;
      this.#done();
    }
  }

  override handleRead(): void {
    let d: Buffer;
    try {
      d = (this.socket as asyncore.Socket).recv(256 * 1024);
    } catch (e) {
      if (e instanceof asyncore.BlockingIOError) return;
      throw e;
    }
    if (d.length === 0) {
      this.readEof = true;
      this.#done();
      return;
    }
    this.hash.update(d);
    this.got += d.length;
    if (this.resetAfter !== null && this.got >= this.resetAfter) {
      (this.socket as asyncore.Socket).setsockopt(asyncore.SOL_SOCKET, asyncore.SO_LINGER, LINGER_RST);
      this.close();
    }
  }

  #done(): void {
    if (this.readEof && this.wrShut) this.close();
  }

  override handleClose(): void {
    this.closes++;
    this.readEof = true;
    this.close();
  }
}

/** Accepts one connection and makes it a Pump configured by `setup`. */
class PumpServer extends asyncore.Dispatcher {
  pump: Pump | null = null;
  constructor(private setup: (sock: asyncore.Socket) => Pump) {
    super(null, map);
    this.createSocket(asyncore.AF_INET);
    this.bind(['127.0.0.1', 0]);
    this.listen(5);
  }
  get port(): number {
    return ((this.socket as asyncore.Socket).getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: asyncore.Socket): void {
    this.pump = this.setup(sock);
    this.close(); // one connection only
  }
}

function hashOf(total: number): string {
  return repeatedPatternHash(PATTERN, total);
}

function relays(): Relay[] {
  return [...map.values()].filter((d): d is Relay => d instanceof Relay);
}

/** Loop passes until `done()` (bounded by `seconds`). */
function run(done: () => boolean, what: string, seconds = 30, poller: asyncore.PollerName = 'epoll'): void {
  const deadline = Date.now() + seconds * 1000;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting for: ${what}`);
    asyncore.loop({ map, poller, timeout: 0.05, count: 1 });
  }
}

function client(port: number, total: number): Pump {
  const c = new Pump(null, total, map);
  c.createSocket(asyncore.AF_INET);
  c.connect(['127.0.0.1', port]);
  return c;
}

function forwarderTo(port: number, opts: { highWater?: number; recvSize?: number } = {}): PortForwarder {
  return new PortForwarder('127.0.0.1', 0, ['127.0.0.1', port], { map, ...opts });
}

function portOf(d: asyncore.Dispatcher): number {
  return ((d.socket as asyncore.Socket).getsockname() as [string, number])[1];
}

/** Collects the Relays' log lines instead of printing them. */
function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const orig = Relay.prototype.logInfo;
  Relay.prototype.logInfo = function (m: unknown) { lines.push(String(m)); };
  return { lines, restore: () => { Relay.prototype.logInfo = orig; } };
}

describe('port forwarder: bulk relay', () => {
  it('relays 100 MiB each way at once, byte-exact, and closes every relay after the half-closes', () => {
    const total = 100 * MiB;
    const server = new PumpServer((s) => new Pump(s, total, map));
    const fwd = forwarderTo(server.port);
    const c = client(portOf(fwd), total);
    run(() => c._fileno === null && server.pump?._fileno === null, '100 MiB both ways', 60);
    const up = server.pump!;
    assert.deepEqual([c.sent, c.got, up.sent, up.got], [total, total, total, total]);
    const want = hashOf(total);
    assert.equal(c.hash.digest('hex'), want, 'client received the upstream stream exactly');
    assert.equal(up.hash.digest('hex'), want, 'upstream received the client stream exactly');
    run(() => relays().length === 0, 'the relays to close');
    assert.deepEqual([c.closes, up.closes], [0, 0], 'both ends finished by EOF, not by an error');
    fwd.close();
  });
});

for (const poller of POLLERS) describe(`port forwarder: half-close (${poller})`, () => {
  it('client EOF first: the upstream sees EOF, then answers, and the client gets it all', () => {
    const server = new PumpServer((s) => {
      const p = new Pump(s, 300_000, map);
      p.sendAfterEof = true; // answers only once the client has finished
      return p;
    });
    const fwd = forwarderTo(server.port);
    const c = client(portOf(fwd), 200_000);
    run(() => c._fileno === null && server.pump?._fileno === null, 'the exchange', 30, poller);
    const up = server.pump!;
    assert.deepEqual([up.got, c.got], [200_000, 300_000]);
    assert.equal(up.hash.digest('hex'), hashOf(200_000));
    assert.equal(c.hash.digest('hex'), hashOf(300_000));
    run(() => relays().length === 0, 'the relays to close');
    fwd.close();
  });

  it('upstream EOF first: the client sees EOF, then answers, and the upstream gets it all', () => {
    const server = new PumpServer((s) => new Pump(s, 300_000, map));
    const fwd = forwarderTo(server.port);
    const c = client(portOf(fwd), 200_000);
    c.sendAfterEof = true;
    run(() => c._fileno === null && server.pump?._fileno === null, 'the exchange', 30, poller);
    const up = server.pump!;
    assert.deepEqual([c.got, up.got], [300_000, 200_000]);
    assert.equal(c.hash.digest('hex'), hashOf(300_000));
    assert.equal(up.hash.digest('hex'), hashOf(200_000));
    run(() => relays().length === 0, 'the relays to close');
    fwd.close();
  });
});

describe('port forwarder: failures', () => {
  it('a refused upstream closes the client side once, with one log line', () => {
    // A port with nothing listening: bound, then closed.
    const probe = new asyncore.Socket(asyncore.AF_INET, asyncore.SOCK_STREAM);
    probe.bind(['127.0.0.1', 0]);
    const deadPort = (probe.getsockname() as [string, number])[1];
    probe.close();
    const logs = captureLogs();
    try {
      const fwd = forwarderTo(deadPort);
      const c = client(portOf(fwd), 1000);
      run(() => c._fileno === null, 'the client to be closed');
      run(() => relays().length === 0, 'the relays to close');
      assert.equal(c.got, 0);
      assert.equal(logs.lines.length, 1, logs.lines.join('\n'));
      assert.match(logs.lines[0]!, /upstream 127\.0\.0\.1:\d+ .*failed \(connect ECONNREFUSED/);
      fwd.close();
    } finally {
      logs.restore();
    }
  });

  it('an upstream reset mid-stream closes the client side once', () => {
    const logs = captureLogs();
    try {
      const server = new PumpServer((s) => {
        const p = new Pump(s, 0, map);
        p.resetAfter = 100_000; // RST after reading part of the client's stream
        p.wrShut = true; // sends nothing
        return p;
      });
      const fwd = forwarderTo(server.port);
      const c = client(portOf(fwd), 50 * MiB);
      run(() => c._fileno === null, 'the client to be closed');
      run(() => relays().length === 0, 'the relays to close');
      assert.ok(c.sent < 50 * MiB, 'the client did not get to send everything');
      assert.ok(server.pump!.got >= 100_000);
      assert.equal(logs.lines.length, 1, logs.lines.join('\n'));
      assert.match(logs.lines[0]!, /^forward: upstream 127\.0\.0\.1:\d+ failed \((.*ECONNRESET|.*EPIPE|connection closed by the peer.*)\); closing client 127\.0\.0\.1:\d+$/);
      fwd.close();
    } finally {
      logs.restore();
    }
  });

  it('a client reset mid-stream closes the upstream side once', () => {
    const logs = captureLogs();
    try {
      const server = new PumpServer((s) => new Pump(s, 50 * MiB, map));
      const fwd = forwarderTo(server.port);
      const c = client(portOf(fwd), 0);
      c.wrShut = true;
      c.resetAfter = 100_000;
      run(() => server.pump !== null && server.pump._fileno === null, 'the upstream to be closed');
      run(() => relays().length === 0, 'the relays to close');
      assert.ok(server.pump!.sent < 50 * MiB);
      assert.equal(logs.lines.length, 1, logs.lines.join('\n'));
      assert.match(logs.lines[0]!, /client .*failed/);
      fwd.close();
    } finally {
      logs.restore();
    }
  });
});

describe('port forwarder: back-pressure', () => {
  for (const slow of ['client', 'upstream'] as const) {
    it(`a ${slow} that does not read holds the other side back: queued output stays bounded`, () => {
      const highWater = 64 * 1024;
      const recvSize = 32 * 1024;
      const total = 64 * MiB;
      const server = new PumpServer((s) => {
        const p = new Pump(s, slow === 'client' ? total : 0, map);
        if (slow === 'client') p.sendAfterEof = false;
        else p.wrShut = true;
        return p;
      });
      const fwd = forwarderTo(server.port, { highWater, recvSize });
      const c = client(portOf(fwd), slow === 'client' ? 0 : total);
      if (slow === 'client') c.wrShut = true;
      c.paused = slow === 'client';
      run(() => server.pump !== null, 'the upstream connection');
      const sink = slow === 'client' ? c : server.pump!;
      const fast = slow === 'client' ? server.pump! : c;
      sink.paused = true;
      let maxQueued = 0;
      for (let i = 0; i < 300; i++) {
        asyncore.loop({ map, poller: 'epoll', timeout: 0.01, count: 1 });
        for (const r of relays()) maxQueued = Math.max(maxQueued, r.outBuffer.length);
      }
      assert.ok(fast.sent < 32 * MiB, `the fast side was held back (sent ${fast.sent})`);
      assert.ok(maxQueued > 0 && maxQueued <= highWater + recvSize, `queued at most ${maxQueued} bytes`);
      sink.paused = false;
      run(() => c._fileno === null && server.pump?._fileno === null, 'the rest to flow', 60);
      assert.equal(sink.got, total);
      assert.equal(sink.hash.digest('hex'), hashOf(total));
      run(() => relays().length === 0, 'the relays to close');
      fwd.close();
    });
  }
});

describe('port forwarder: IPv6', () => {
  it('listens on ::1 and forwards to an IPv4 upstream', async (t) => {
    if (!(await hasIPv6())) {
      t.skip('no IPv6 loopback');
      return;
    }
    const server = new PumpServer((s) => new Pump(s, 100_000, map));
    const fwd = new PortForwarder('::1', 0, ['127.0.0.1', server.port], { map });
    const c = new Pump(null, 50_000, map);
    c.createSocket(asyncore.AF_INET6);
    c.connect(['::1', portOf(fwd)]);
    run(() => c._fileno === null && server.pump?._fileno === null, 'the exchange');
    assert.deepEqual([c.got, server.pump!.got], [100_000, 50_000]);
    run(() => relays().length === 0, 'the relays to close');
    fwd.close();
  });
});

describe('port forwarder: arguments', () => {
  it('parseHostPort: [HOST:]PORT, [V6]:PORT, and a message naming the form', () => {
    assert.deepEqual(parseHostPort('8080', 'localhost'), ['localhost', 8080]);
    assert.deepEqual(parseHostPort('127.0.0.1:0', 'localhost'), ['127.0.0.1', 0]);
    assert.deepEqual(parseHostPort('[::1]:9', null), ['::1', 9]);
    for (const bad of ['', 'x', '1:2:3', '70000', ':80', 'host:']) {
      assert.throws(() => parseHostPort(bad, 'localhost'), /is not \[HOST:\]PORT/, bad);
    }
    assert.throws(() => parseHostPort('8080', null), /is not HOST:PORT/);
  });
});

void res;
