// asyncore smtp-server: the AsyncChat SMTP example.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SMTPServer } from '../examples/smtp-server.js';
import { formatAddress } from '../examples/cli-common.js';
import { UsageError, hostOf, parse, pollerOf, portOf, secondsOf } from './args.js';
import { loopName, serveUntilStopped } from './serve.js';
import { STARTTLSServer } from '../examples/smtp-starttls.js';
import { TLS_OPTIONS, serverContextOf } from './tls-options.js';

export async function smtpServer(args: string[]): Promise<number> {
  const p = parse('smtp-server', args, {
    dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, poller: { type: 'string' }, timeout: { type: 'string' },
    ...TLS_OPTIONS,
  });
  if (!p) return 0;
  if (p.values.dir === undefined || p.values.dir === '') throw new UsageError('--dir DIR is required: the directory where received messages are written');
  const dir = resolve(String(p.values.dir));
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--dir: not a directory: ${dir}`);
  const host = hostOf(p.values.host);
  const port = portOf(p.values.port, 8025);
  const poller = pollerOf(p.values.poller);
  // One value for both RFC 5321 waits (a command, the next block of data); default 300/180 s.
  const timeout = secondsOf('timeout', p.values.timeout);
  // A --dir that cannot be created or written fails here, with one line (exit 1).
  const tlsContext = serverContextOf(p.values);
  const opts = { dir, commandTimeout: timeout, dataTimeout: timeout };
  const server = tlsContext ? new STARTTLSServer([host, port], { ...opts, tlsContext }) : new SMTPServer([host, port], opts);
  await serveUntilStopped(poller, `smtp server listening on ${formatAddress(server.address())} (${loopName(poller)}${tlsContext ? ', STARTTLS' : ''}), writing messages to ${dir}`);
  return 0;
}

