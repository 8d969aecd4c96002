// The cost of declaring a pass per idle channel: N idle EchoHandlers (one end of a socketpair
// each; the other end stays silent) in a private map, and Driver.declare() over it with the
// epoll poller, as loop() does before each wait. CPU time per channel per pass, median of 9.
//
// Run: node --import tsx bench/micro/declare-pass.ts [--channels N] [--poller epoll|poll|select] [--full]
import { parseArgs } from 'node:util';
import type { Socket } from '../../src/io/socket.js';
import { socketpair } from '../../src/io/pair.js';
import type { SocketMap } from '../../src/reactor/map.js';
import { Driver } from '../../src/reactor/driver.js';
import { createPoller } from '../../src/pollers/create.js';
import type { PollerName } from '../../src/pollers/names.js';
import { DispatcherWithSend } from '../../src/index.js';

/** The documentation's echo handler (see bench/servers/asyncore-server.ts for why not the example's). */
class EchoHandler extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }
}

const { values } = parseArgs({ options: { channels: { type: 'string', default: '5000' }, poller: { type: 'string', default: 'epoll' }, full: { type: 'boolean', default: false } } });
const N = Number(values.channels);
const map: SocketMap = new Map();
const peers: Socket[] = [];
const chans: EchoHandler[] = [];
for (let i = 0; i < N; i++) {
  const [a, b] = socketpair();
  chans.push(new EchoHandler(a, map));
  peers.push(b);
}
// --full: a map that cannot be watched (not extensible) makes every pass ask every channel.
if (values.full) Object.preventExtensions(map);
const driver = new Driver(createPoller(values.poller as PollerName));
const passes = Math.max(20, Math.round(2e6 / N));
const per: number[] = [];
for (let k = 0; k < 10; k++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < passes; i++) {
    driver.declare(map);
    driver.poller.poll(0); // nothing is ready: the wait returns at once, as the next pass starts
  }
  const c = process.cpuUsage(c0);
  if (k > 0) per.push(((c.user + c.system) * 1000) / passes / N);
}
per.sort((x, y) => x - y);
process.stdout.write(`${values.poller}${values.full ? ' (every channel asked)' : ''}: ${N} idle channels: ${per[4]!.toFixed(1)} ns per channel per pass (declare + an empty wait)\n`);
driver.close();
for (const c of chans) c.close();
for (const p of peers) p.close();
