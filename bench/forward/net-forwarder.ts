// The baseline: a port forwarder on Node's net module, a.pipe(b); b.pipe(a).
// Usage: node --import tsx bench/forward/net-forwarder.ts TO_PORT   (prints "listening on 127.0.0.1:PORT")
import net from 'node:net';

const toPort = Number(process.argv[2]);
const server = net.createServer((a) => {
  const b = net.connect(toPort, '127.0.0.1');
  a.pipe(b);
  b.pipe(a);
  const end = (): void => { a.destroy(); b.destroy(); };
  a.on('error', end);
  b.on('error', end);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
