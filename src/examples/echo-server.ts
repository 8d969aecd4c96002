// The asyncore documentation's echo server, ported line for line.
// Run: node --import tsx examples/echo-server.ts [--host HOST] [--port PORT] [--idle-timeout SECONDS] [--poller select|poll|epoll]
// Served by loopAsync(): Ctrl-C (SIGINT), SIGTERM or SIGHUP closes every channel and exits 0. With
// --poller, the synchronous loop() on that backend serves instead, as in Python (no graceful stop).
import { parseArgs } from 'node:util';
import { inspect } from 'node:util';
import * as asyncore from '../index.js';
import { isMain, listenOn, serveMain } from './cli-common.js';

export class EchoHandler extends asyncore.DispatcherWithSend {
  /** (beyond) The idle timer set by closeWhenIdle(), pushed back by every read. */
  idle: asyncore.TimerHandle | null = null;
  /** (beyond) The peer half-closed: send what is queued, then close. */
  draining = false;

  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) {
      this.idle?.reset();
      this.send(data);
    }
  }

  // (beyond) Reading stops at the output high-water mark (DispatcherWithSend), so a client that
  // sends and never reads is held back by TCP instead of growing our memory.
  override readable(): boolean {
    return !this.draining && super.readable();
  }

  // (beyond) CPython's handler closed at once on EOF and dropped the queued echo; a client that
  // half-closes after sending gets everything back first.
  override handleClose(): void {
    if (this.connected && !this.draining && this.outQueuedBytes > 0) {
      this.draining = true;
      return;
    }
    this.close();
  }

  override handleWrite(): void {
    super.handleWrite();
    if (this.draining && this.outQueuedBytes === 0) this.close();
  }

  /** (beyond) Close the connection once it has sent nothing for `seconds`. */
  closeWhenIdle(seconds: number): void {
    this.idle = asyncore.callLater(seconds, () => {
      console.log(`Closing idle connection from ${inspect(this.addr)}`);
      this.close();
    });
  }

  override close(): void {
    this.idle?.cancel();
    super.close();
  }
}

/** (beyond) The echo handler over TLS: the same handler with sslChannel mixed in. */
export class TLSEchoHandler extends asyncore.sslChannel(EchoHandler) {}

export class EchoServer extends asyncore.Dispatcher {
  /** (beyond) Seconds of silence after which a connection is closed (null: never). */
  idleSeconds: number | null = null;
  /** (beyond) With a server SSLContext, every connection speaks TLS from its first byte. */
  tlsContext: asyncore.SSLContext | null = null;

  /** `family`: AF_UNIX for a path; otherwise the family follows the host (IPv4 or IPv6). */
  constructor(host: string, port: number, map?: asyncore.SocketMap, family?: number) {
    super(null, map);
    listenOn(this, family === asyncore.AF_UNIX ? host : [host, port], family === asyncore.AF_INET ? undefined : family);
  }

  override handleAccepted(sock: asyncore.Socket, addr: asyncore.Address): void {
    console.log(`Incoming connection from ${inspect(addr)}`);
    const handler = this.tlsContext ? new TLSEchoHandler(sock, this._map) : new EchoHandler(sock, this._map);
    if (this.tlsContext) (handler as TLSEchoHandler).startTls(this.tlsContext, { serverSide: true });
    if (this.idleSeconds !== null) handler.closeWhenIdle(this.idleSeconds);
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: 'localhost' },
      port: { type: 'string', default: '8080' },
      poller: { type: 'string' },
      'idle-timeout': { type: 'string' },
    },
  });
  const idle = values['idle-timeout'] === undefined ? null : Number(values['idle-timeout']);
  if (idle !== null && !(idle > 0 && Number.isFinite(idle))) {
    console.error(`--idle-timeout must be a positive number of seconds (e.g. 30), not '${values['idle-timeout']}'`);
    process.exit(2);
  }
  const server = new EchoServer(values.host!, Number(values.port));
  server.idleSeconds = idle;
  console.log(`Echo server listening on ${inspect(server.socket!.fileno() >= 0 ? (server.socket as asyncore.Socket).getsockname() : null)}`);
  await serveMain(values.poller);
}
