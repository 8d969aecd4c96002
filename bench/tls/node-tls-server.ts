// Node's own tls as a benchmark row: an echo server (socket.pipe(socket)).
// Usage: node bench/tls/node-tls-server.ts CERT KEY   (prints "PORT <n>")
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

const [cert, key] = process.argv.slice(2);
const server = tls.createServer({ cert: readFileSync(cert!), key: readFileSync(key!) }, (s) => {
  s.on('error', () => s.destroy());
  s.pipe(s);
});
server.listen(0, '127.0.0.1', 1024, () => {
  console.log(`PORT ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => process.exit(0));
