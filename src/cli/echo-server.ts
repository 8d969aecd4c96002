// asyncore echo-server: the documentation's echo server.
import { EchoServer } from '../examples/echo-server.js';
import { boundAddress, hostOf, parse, pollerOf, portOf, secondsOf } from './args.js';
import { loopName, serveUntilStopped } from './serve.js';

export async function echoServer(args: string[]): Promise<number> {
  const p = parse('echo-server', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    poller: { type: 'string' },
    'idle-timeout': { type: 'string' },
  });
  if (!p) return 0;
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 8080);
  const poller = pollerOf(p.values.poller);
  const idle = secondsOf('idle-timeout', p.values['idle-timeout']);
  const server = new EchoServer(host, port);
  server.idleSeconds = idle ?? null; // the example's handlers close themselves with callLater
  console.log(`echo server listening on ${boundAddress(server)} (${loopName(poller)})`);
  await serveUntilStopped(poller);
  return 0;
}

