// The asyncore documentation's echo server, ported line for line.
// Run: node --import tsx examples/echo-server.ts [--host HOST] [--port PORT] [--poller select|poll|epoll]
import { parseArgs } from 'node:util';
import { inspect } from 'node:util';
import * as asyncore from '../src/index.js';

export class EchoHandler extends asyncore.DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) {
      this.send(data);
    }
  }
}

export class EchoServer extends asyncore.Dispatcher {
  constructor(host: string, port: number, map?: asyncore.SocketMap, family: number = asyncore.AF_INET) {
    super(null, map);
    this.createSocket(family);
    this.setReuseAddr();
    this.bind(family === asyncore.AF_UNIX ? host : [host, port]);
    this.listen(5);
  }

  override handleAccepted(sock: asyncore.Socket, addr: asyncore.Address): void {
    console.log(`Incoming connection from ${inspect(addr)}`);
    const handler = new EchoHandler(sock, this._map);
    void handler;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: 'localhost' },
      port: { type: 'string', default: '8080' },
      poller: { type: 'string' },
    },
  });
  const server = new EchoServer(values.host!, Number(values.port));
  console.log(`Echo server listening on ${inspect(server.socket!.fileno() >= 0 ? (server.socket as asyncore.Socket).getsockname() : null)}`);
  asyncore.loop({ poller: values.poller as asyncore.PollerName | undefined });
}
