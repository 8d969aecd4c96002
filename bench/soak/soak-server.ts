// Soak server: the seed's echo server on epoll, reporting memory and fds as JSON lines.
// Started by bench/soak/soak.ts; not run on its own.
import { readdirSync } from 'node:fs';
import * as asyncore from '../../src/index.js';
import { EchoHandler } from '../../src/examples/echo-server.js';

class SoakServer extends asyncore.Dispatcher {
  constructor(backlog: number) {
    super();
    this.createSocket();
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(backlog);
  }

  override handleAccepted(sock: asyncore.Socket, _addr: asyncore.Address): void {
    new EchoHandler(sock, this._map);
  }

  // Accept a batch per readiness event (CPython accepts one): 10,000 clients arrive at once.
  override handleAccept(): void {
    for (let i = 0; i < 256; i++) {
      const pair = this.accept();
      if (pair === null) return;
      this.handleAccepted(pair[0], pair[1]);
    }
  }
}

function report(tag: string): void {
  const m = process.memoryUsage();
  const line = { tag, rss: m.rss, heapUsed: m.heapUsed, fds: readdirSync('/proc/self/fd').length, channels: asyncore.socketMap.size };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const server = new SoakServer(4096);
process.stdout.write(`${JSON.stringify({ tag: 'listening', port: (server.socket as asyncore.Socket).getsockname()[1] })}\n`);
// Commands arrive on stdin: 'report <tag>' (after a forced GC when --expose-gc), 'quit'.
let pending = '';
const stdin = new asyncore.FileDispatcher(0);
stdin.handleRead = function (): void {
  pending += this.recv(4096).toString();
  let nl: number;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const [cmd, tag = ''] = pending.slice(0, nl).trim().split(' ');
    pending = pending.slice(nl + 1);
    if (cmd === 'report') {
      (globalThis as { gc?: () => void }).gc?.();
      report(tag);
    } else if (cmd === 'quit') {
      asyncore.closeAll();
    }
  }
};
stdin.writable = () => false;
stdin.handleClose = function (): void {
  asyncore.closeAll();
};
asyncore.loop({ poller: (process.argv[2] ?? 'epoll') as asyncore.PollerName, timeout: 1 });
