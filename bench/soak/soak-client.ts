// Soak client: N connections ping-ponging 64-byte messages for S seconds, checking every echo.
// Usage (from soak.ts): soak-client.ts PORT CONNECTIONS SECONDS
import * as asyncore from '../../src/index.js';

const [port, conns, seconds] = process.argv.slice(2).map(Number) as [number, number, number];
let roundTrips = 0;
let corrupt = 0;
let closedEarly = 0;
let connected = 0;
let stopping = false;

class Pinger extends asyncore.Dispatcher {
  private readonly msg: Buffer;
  private got = 0;
  private seq = 0;

  constructor(readonly id: number) {
    super();
    this.msg = Buffer.alloc(64);
    this.createSocket();
    this.connect(['127.0.0.1', port]);
  }

  private fill(): void {
    this.msg.fill(0x61 + (this.seq % 26));
    this.msg.writeUInt32BE(this.id, 0);
    this.msg.writeUInt32BE(this.seq, 4);
  }

  override handleConnect(): void {
    connected++;
    this.fill();
    this.send(this.msg);
  }

  override handleRead(): void {
    const data = this.recv(4096);
    if (data.length === 0) return;
    const expect = this.msg.subarray(this.got, this.got + data.length);
    if (!expect.equals(data)) corrupt++;
    this.got += data.length;
    if (this.got < 64) return;
    this.got = 0;
    roundTrips++;
    if (stopping) return;
    this.seq++;
    this.fill();
    let off = 0;
    while (off < 64) {
      const n = this.send(off === 0 ? this.msg : this.msg.subarray(off));
      if (n === 0) break;
      off += n;
    }
    if (off < 64) corrupt++; // 64 bytes into an idle socket buffer never blocks
  }

  override writable(): boolean {
    return !this.connected;
  }

  override handleClose(): void {
    if (!stopping) closedEarly++;
    this.close();
  }
}

const clients: Pinger[] = [];
const batch = 500;
const setupDeadline = performance.now() + 60_000;
for (let i = 0; i < conns; i += batch) {
  for (let j = i; j < Math.min(conns, i + batch); j++) clients.push(new Pinger(j));
  while (connected < Math.min(conns, i + batch) && performance.now() < setupDeadline) {
    asyncore.loop({ poller: 'epoll', timeout: 0.05, count: 1 });
  }
}
process.stdout.write(`${JSON.stringify({ tag: 'connected', connected })}\n`);
const end = performance.now() + seconds * 1000;
let nextTick = performance.now() + 1000;
while (performance.now() < end) {
  asyncore.loop({ poller: 'epoll', timeout: 0.1, count: 1 });
  if (performance.now() >= nextTick) {
    nextTick += 1000;
    process.stdout.write(`${JSON.stringify({ tag: 'tick', roundTrips })}\n`);
  }
}
// Hold the connections open until the orchestrator has measured the server under load.
process.stdout.write(`${JSON.stringify({ tag: 'deadline', roundTrips })}\n`);
let go = false;
const stdin = new asyncore.FileDispatcher(0);
stdin.writable = () => false;
stdin.handleRead = function (): void {
  if (this.recv(64).length > 0) go = true;
};
stdin.handleClose = function (): void {
  go = true;
  this.close();
};
while (!go) asyncore.loop({ poller: 'epoll', timeout: 0.1, count: 1 });
stopping = true;
asyncore.closeAll();
process.stdout.write(`${JSON.stringify({ tag: 'done', connected, roundTrips, corrupt, closedEarly })}\n`);
