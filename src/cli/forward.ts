// asyncore forward: the classic port forwarder (examples/port-forwarder.ts).
import { PortForwarder, parseHostPort } from '../examples/port-forwarder.js';
import { formatAddress } from '../examples/cli-common.js';
import { UsageError, boundAddress, parse, pollerOf } from './args.js';
import { loopName, serveUntilStopped } from './serve.js';

function hostPort(name: string, v: string | boolean | undefined, defaultHost: string | null): [string, number] {
  if (v === undefined) throw new UsageError(`--${name} is required (e.g. --${name} ${defaultHost === null ? '127.0.0.1:8000' : '8080'})`);
  try {
    return parseHostPort(String(v), defaultHost);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

export async function forward(args: string[]): Promise<number> {
  const p = parse('forward', args, { listen: { type: 'string' }, to: { type: 'string' }, poller: { type: 'string' } });
  if (!p) return 0;
  const [host, port] = hostPort('listen', p.values.listen, 'localhost');
  const target = hostPort('to', p.values.to, null);
  const poller = pollerOf(p.values.poller);
  const server = new PortForwarder(host, port, target);
  await serveUntilStopped(poller, `port forwarder listening on ${boundAddress(server)}, forwarding to ${formatAddress(target)} (${loopName(poller)})`);
  return 0;
}
