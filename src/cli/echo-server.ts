// asyncore echo-server: the documentation's echo server.
import { EchoServer } from '../examples/echo-server.js';
import { boundAddress, hostOf, parse, pollerOf, portOf, secondsOf } from './args.js';
import { loopName, serveUntilStopped } from './serve.js';
import { TLS_OPTIONS, serverContextOf } from './tls-options.js';

export async function echoServer(args: string[]): Promise<number> {
  const p = parse('echo-server', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    poller: { type: 'string' },
    'idle-timeout': { type: 'string' },
    ...TLS_OPTIONS,
  });
  if (!p) return 0;
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 8080);
  const poller = pollerOf(p.values.poller);
  const idle = secondsOf('idle-timeout', p.values['idle-timeout']);
  const tls = serverContextOf(p.values);
  const server = new EchoServer(host, port);
  server.tlsContext = tls;
  server.idleSeconds = idle ?? null; // the example's handlers close themselves with callLater
  await serveUntilStopped(poller, `echo server listening on ${boundAddress(server)} (${loopName(poller)}${tls ? ', TLS' : ''})`);
  return 0;
}

