// 10,000 TLS handshakes through an sslChannel server in this process (clients are
// non-blocking SSLSockets), printing RSS and open descriptors every 1,000: both must stay
// flat. Run: node --expose-gc --import tsx bench/tls/handshake-leak.ts [COUNT]
import { readdirSync } from 'node:fs';
import {
  Dispatcher, Socket, SSLContext, SSLWantReadError, SSLWantWriteError, PROTOCOL_TLS_SERVER, loop, sslChannel,
  type Address, type SocketMap,
} from '../../src/index.js';
import { makePki } from '../../test/fixtures/tls-ca.js';

const total = Number(process.argv[2] ?? 10000);
const pki = makePki();
const serverCtx = new SSLContext(PROTOCOL_TLS_SERVER);
serverCtx.loadCertChain(pki.serverCert, pki.serverKey);
const clientCtx = new SSLContext();
clientCtx.loadVerifyLocations({ cafile: pki.caCert });
const map: SocketMap = new Map();

let closed = 0;
class Handler extends sslChannel(Dispatcher) {
  override handleRead(): void { this.recv(1024); }
  override writable(): boolean { return false; }
  override handleClose(): void { closed++; this.close(); }
  override handleError(): void { closed++; this.close(); }
}
class Listener extends Dispatcher {
  constructor() { super(null, map); this.createSocket(); this.setReuseAddr(); this.bind(['127.0.0.1', 0]); this.listen(512); }
  override handleAccepted(sock: Socket): void { new Handler(sock, map).startTls(serverCtx, { serverSide: true }); }
}
const l = new Listener();
const addr = (l.socket as Socket).getsockname() as Address;

function handshake(): void {
  const s = new Socket();
  s.connect(addr);
  s.setblocking(false);
  const cs = clientCtx.wrapSocket(s, { serverHostname: 'localhost', doHandshakeOnConnect: false });
  for (let i = 0; i < 1000; i++) {
    try { cs.doHandshake(); break; } catch (e) {
      if (!(e instanceof SSLWantReadError || e instanceof SSLWantWriteError)) throw e;
    }
    loop({ timeout: 0.01, count: 1, map, poller: 'epoll' });
  }
  cs.close();
}

const fds = (): number => readdirSync('/proc/self/fd').length;
const mb = (n: number): string => (n / 1048576).toFixed(1);
const t0 = performance.now();
let baseRss = 0;
let baseFds = 0;
for (let i = 1; i <= total; i++) {
  handshake();
  if (i % 1000 === 0 || i === total) {
    while (closed < i) loop({ timeout: 0.01, count: 1, map, poller: 'epoll' });
    globalThis.gc?.();
    const rss = process.memoryUsage().rss;
    if (i === 1000 || total < 1000) { baseRss = rss; baseFds = fds(); }
    console.log(`${i} handshakes  rss ${mb(rss)} MB (${rss >= baseRss ? '+' : ''}${mb(rss - baseRss)} since 1000)  fds ${fds()} (baseline ${baseFds})  map ${map.size}  ${(i / ((performance.now() - t0) / 1000)).toFixed(0)}/s`);
  }
}
l.close();
