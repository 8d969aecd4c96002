// The io_uring bench's asyncore server: the documentation's echo server (src/examples'
// EchoHandler: recv(8192) then send, on a DispatcherWithSend) served by loop() with the poller
// named on the command line. Listens on 127.0.0.1 port 0 with a large backlog (50 clients
// connecting at once overflow listen(5)) and prints "PORT <n>" once listening.
//
//   node --import tsx bench/uring/server.ts select|poll|epoll|uring
import { writeSync } from 'node:fs';
import * as asyncore from '../../src/index.js';
import { EchoHandler } from '../../src/examples/echo-server.js';

class Server extends asyncore.Dispatcher {
  constructor() {
    super();
    this.createSocket(asyncore.AF_INET);
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(1024);
  }

  override handleAccepted(sock: asyncore.Socket): void {
    new EchoHandler(sock);
  }
}

const poller = asyncore.choosePoller({ poller: (process.argv[2] ?? 'uring') as asyncore.PollerName });
const server = new Server();
const [, port] = (server.socket as asyncore.Socket).getsockname() as [string, number];
writeSync(1, `PORT ${port}\n`);
asyncore.loop({ poller });
