// The asyncore documentation's basic HTTP client, ported line for line.
// Run: node --import tsx examples/http-client.ts [HOST] [PATH] [PORT]
import * as asyncore from '../index.js';
import { isMain } from './cli-common.js';

export class HTTPClient extends asyncore.Dispatcher {
  buffer: Buffer;

  constructor(host: string, path: string, port = 80, map?: asyncore.SocketMap) {
    super(null, map);
    this.createSocket();
    this.connect([host, port]);
    this.buffer = Buffer.from(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`, 'ascii');
  }

  override handleConnect(): void {
    // nothing to do: the request goes out when the socket is writable
  }

  override handleClose(): void {
    this.close();
  }

  override handleRead(): void {
    process.stdout.write(this.recv(8192));
  }

  override writable(): boolean {
    return this.buffer.length > 0;
  }

  override handleWrite(): void {
    const sent = this.send(this.buffer);
    this.buffer = this.buffer.subarray(sent);
  }
}

if (isMain(import.meta.url)) {
  const [host = 'localhost', path = '/', port = '80'] = process.argv.slice(2);
  new HTTPClient(host, path, Number(port));
  asyncore.loop();
}
