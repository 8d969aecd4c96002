// loopAsync() next to loop() with epoll: 64-byte ping-pong over 50 connections, server and
// clients in one process and one map, so both loops do the same work per round trip. The
// target is loopAsync >= 0.7x loop (issue 6). Rounds alternate loop/loopAsync; the best round
// of each is reported.
// Run: node --import tsx bench/micro/loop-async.ts [--secs 3] [--warmup 0.5] [--rounds 2] [--conns 50] [--size 64]
import { parseArgs } from 'node:util';
import {
  Dispatcher, type Address, type Socket, type SocketMap, AF_INET, loop, loopAsync, callLater, closeAll, monotonic,
} from '../../src/index.js';

const { values } = parseArgs({
  options: {
    secs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    rounds: { type: 'string', default: '2' },
    conns: { type: 'string', default: '50' },
    size: { type: 'string', default: '64' },
  },
});
const SECS = Number(values.secs);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const CONNS = Number(values.conns);
const SIZE = Number(values.size);
for (const [k, v] of Object.entries({ secs: SECS, warmup: WARMUP, rounds: ROUNDS, conns: CONNS, size: SIZE })) {
  if (!(v > 0) && !(k === 'warmup' && v === 0)) throw new RangeError(`--${k} must be a positive number, not ${String(values[k as keyof typeof values])}`);
}

let trips = 0;

class Echo extends Dispatcher {
  private pending: Buffer | null = null;
  override readable(): boolean {
    return this.pending === null;
  }
  override writable(): boolean {
    return this.pending !== null;
  }
  override handleRead(): void {
    const d = this.recv(8192);
    if (d.length === 0) return;
    const n = this.send(d);
    if (n < d.length) this.pending = d.subarray(n);
  }
  override handleWrite(): void {
    const d = this.pending!;
    const n = this.send(d);
    this.pending = n < d.length ? d.subarray(n) : null;
  }
  override handleClose(): void {
    this.close();
  }
}

class Server extends Dispatcher {
  constructor(map: SocketMap) {
    super(null, map);
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(128);
  }
  override handleAccepted(sock: Socket): void {
    new Echo(sock, this._map);
  }
}

class Ping extends Dispatcher {
  private readonly msg = Buffer.alloc(SIZE, 'p');
  private got = 0;
  private sending = true;
  constructor(map: SocketMap, addr: Address) {
    super(null, map);
    this.createSocket(AF_INET);
    this.connect(addr);
  }
  override handleConnect(): void {}
  override readable(): boolean {
    return !this.sending;
  }
  override writable(): boolean {
    return this.sending;
  }
  override handleWrite(): void {
    if (this.send(this.msg) !== SIZE) throw new Error('short send of a small message on loopback');
    this.sending = false;
  }
  override handleRead(): void {
    this.got += this.recv(65536).length;
    if (this.got >= SIZE) {
      this.got = 0;
      this.sending = true;
      trips++;
    }
  }
  override handleClose(): void {
    this.close();
  }
}

/** Round trips per second for one round under `mode`. */
async function round(mode: 'loop' | 'loopAsync'): Promise<number> {
  const map: SocketMap = new Map();
  const server = new Server(map);
  const addr = (server.socket as Socket).getsockname();
  for (let i = 0; i < CONNS; i++) new Ping(map, addr);
  let t0 = 0, n0 = 0, t1 = 0, n1 = 0;
  callLater(WARMUP, () => {
    t0 = monotonic();
    n0 = trips;
  });
  callLater(WARMUP + SECS, () => {
    t1 = monotonic();
    n1 = trips;
    closeAll(map);
  });
  if (mode === 'loop') loop({ map, poller: 'epoll', timeout: 1 });
  else await loopAsync({ map, timeout: 1 });
  return (n1 - n0) / (t1 - t0);
}

const best = { loop: 0, loopAsync: 0 };
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of ['loop', 'loopAsync'] as const) {
    const rate = await round(mode);
    best[mode] = Math.max(best[mode], rate);
    console.log(`round ${r + 1} ${mode.padEnd(9)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} rt/s`);
  }
}
const ratio = best.loopAsync / best.loop;
console.log(`\nping-pong ${CONNS} × ${SIZE} B, ${SECS} s per round, best of ${ROUNDS}:`);
console.log(`  loop({ poller: 'epoll' })  ${Math.round(best.loop).toLocaleString('en-US').padStart(9)} rt/s`);
console.log(`  loopAsync()               ${Math.round(best.loopAsync).toLocaleString('en-US').padStart(9)} rt/s`);
console.log(`  ratio loopAsync / loop    ${ratio.toFixed(2)}x (target >= 0.70x) ${ratio >= 0.7 ? 'ok' : 'BELOW TARGET'}`);
