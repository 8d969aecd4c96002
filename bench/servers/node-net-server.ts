// Node's own `net` as a benchmark row: `socket.on('data', d => socket.write(d))`, or a line
// echo (split on '\n', one write per line, as the AsyncChat server pushes one line at a time).
//
//   node node-net-server.js [--mode echo|chat] [--backlog 1024]
//
// Prints "PORT <n>" once listening on 127.0.0.1.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'echo' },
    backlog: { type: 'string', default: '1024' },
  },
});

const NL = 0x0a;

const server = net.createServer((socket) => {
  // A client that resets its connection must not take the server down.
  socket.on('error', () => socket.destroy());
  if (values.mode === 'chat') {
    let pending: Buffer[] = [];
    socket.on('data', (d: Buffer) => {
      let start = 0;
      for (let i = d.indexOf(NL); i >= 0; i = d.indexOf(NL, start)) {
        const piece = d.subarray(start, i + 1);
        if (pending.length > 0) {
          pending.push(piece);
          socket.write(Buffer.concat(pending));
          pending = [];
        } else {
          socket.write(piece);
        }
        start = i + 1;
      }
      if (start < d.length) pending.push(d.subarray(start));
    });
  } else {
    socket.on('data', (d) => socket.write(d));
  }
});

server.listen({ host: '127.0.0.1', port: 0, backlog: Number(values.backlog) }, () => {
  process.stdout.write(`PORT ${(server.address() as net.AddressInfo).port}\n`);
});
