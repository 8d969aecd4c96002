// asyncore chat-server: the AsyncChat line chat example.
import { ChatServer } from '../examples/chat-server.js';
import { formatAddress } from '../examples/cli-common.js';
import { hostOf, parse, pollerOf, portOf, secondsOf } from './args.js';
import { loopName, serveUntilStopped } from './serve.js';

export async function chatServer(args: string[]): Promise<number> {
  const p = parse('chat-server', args, {
    host: { type: 'string' }, port: { type: 'string' }, poller: { type: 'string' }, name: { type: 'string' }, 'idle-timeout': { type: 'string' },
  });
  if (!p) return 0;
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 7777);
  const poller = pollerOf(p.values.poller);
  const idleTimeout = secondsOf('idle-timeout', p.values['idle-timeout']) ?? null;
  const server = new ChatServer(host, port, { name: p.values.name === undefined ? undefined : String(p.values.name), idleTimeout });
  await serveUntilStopped(poller, `chat server listening on ${formatAddress(server.address())} (${loopName(poller)})`);
  return 0;
}

