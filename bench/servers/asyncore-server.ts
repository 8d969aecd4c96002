// This package's benchmark server: the asyncore documentation's echo server (EchoHandler:
// recv(8192) then send, on a DispatcherWithSend), or an AsyncChat line echo, served by loop()
// with the chosen poller or by loopAsync().
//
// The handler is the documentation's, line for line, as bench/servers/asyncore_server.py runs
// it on CPython. src/examples/echo-server.ts's EchoHandler has grown beyond it (an idle timer,
// draining after a half-close, a readable() of its own), so it would not be the same program
// as the CPython row, and its own readable() is asked on every pass (an incremental epoll pass
// skips only channels whose predicates are the library's).
//
//   node asyncore-server.js --poller select|poll|epoll|uring|async|async-uring [--mode echo|chat] [--backlog 1024]
//        [--exit-on-eof]
//
// Two deliberate differences from the documentation's program, both shared with the CPython
// server in asyncore_server.py: it listens on 127.0.0.1 port 0 with a large backlog (listen(5)
// overflows when 50+ clients connect at once and stalls them in SYN retries), and it does not
// print a line per accepted connection. Prints "PORT <n>" once listening.
//
// loop() owns the thread, so Node's signal handlers never run; --exit-on-eof (used with
// `node --cpu-prof`, which writes its profile only on a normal exit) adds a channel on stdin that
// leaves the loop with ExitNow when the runner closes it.
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as asyncore from '../../src/index.js';

class EchoHandler extends asyncore.DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }
}

const NL = Buffer.from('\n');

/** The asynchat documentation's pattern: collect until '\n', then push the line back. */
class LineEcho extends asyncore.AsyncChat {
  private ibuffer: Buffer[] = [];

  constructor(sock: asyncore.Socket, map?: asyncore.SocketMap) {
    super(sock, map);
    this.setTerminator('\n');
  }

  override collectIncomingData(data: Buffer): void {
    this.ibuffer.push(data);
  }

  override foundTerminator(): void {
    this.ibuffer.push(NL);
    this.push(Buffer.concat(this.ibuffer));
    this.ibuffer = [];
  }
}

class StdinWatch extends asyncore.FileDispatcher {
  override writable(): boolean {
    return false;
  }

  override handleRead(): void {
    this.recv(512); // on EOF this runs handleClose()
  }

  override handleClose(): void {
    this.close();
    throw new asyncore.ExitNow('stdin closed');
  }
}

class Server extends asyncore.Dispatcher {
  constructor(backlog: number, private readonly Handler: new (sock: asyncore.Socket) => unknown) {
    super();
    this.createSocket(asyncore.AF_INET);
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(backlog);
  }

  override handleAccepted(sock: asyncore.Socket): void {
    new this.Handler(sock);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      poller: { type: 'string', default: 'epoll' },
      mode: { type: 'string', default: 'echo' },
      backlog: { type: 'string', default: '1024' },
      'exit-on-eof': { type: 'boolean', default: false },
    },
  });
  const poller = values.poller!;
  if (!['select', 'poll', 'epoll', 'uring', 'async', 'async-uring'].includes(poller)) {
    throw new RangeError(`--poller must be select, poll, epoll, uring, async or async-uring, not ${poller}`);
  }
  let Handler: new (sock: asyncore.Socket) => unknown = EchoHandler;
  if (values.mode === 'chat') {
    Handler = LineEcho;
  } else if (values.mode !== 'echo') {
    throw new RangeError(`--mode must be echo or chat, not ${values.mode}`);
  }
  const server = new Server(Number(values.backlog), Handler);
  const [, port] = (server.socket as asyncore.Socket).getsockname() as [string, number];
  if (values['exit-on-eof']) new StdinWatch(0);
  writeSync(1, `PORT ${port}\n`); // before loop() takes the thread
  try {
    if (poller === 'async' || poller === 'async-uring') {
      await asyncore.loopAsync(poller === 'async' ? {} : { poller: 'uring' });
    } else {
      asyncore.loop({ poller: poller as asyncore.PollerName });
    }
  } catch (e) {
    if (!(e instanceof asyncore.ExitNow)) throw e;
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
