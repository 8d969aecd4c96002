// The TLS echo server of the benchmark: sslChannel(DispatcherWithSend) on loop() with epoll.
// Usage: node --import tsx bench/tls/asyncore-tls-server.ts CERT KEY   (prints "PORT <n>")
import {
  Dispatcher, DispatcherWithSend, Socket, SSLContext, PROTOCOL_TLS_SERVER, loop, sslChannel,
} from '../../src/index.js';

const [cert, key] = process.argv.slice(2);
const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
ctx.loadCertChain(cert!, key);

class Echo extends sslChannel(DispatcherWithSend) {
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length > 0) this.send(d);
  }
}

class Server extends Dispatcher {
  constructor() {
    super();
    this.createSocket();
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(1024);
  }
  override handleAccepted(sock: Socket): void {
    new Echo(sock).startTls(ctx, { serverSide: true });
  }
}

const s = new Server();
console.log(`PORT ${((s.socket as Socket).getsockname() as [string, number])[1]}`);
loop({ timeout: 1, poller: 'epoll' });
