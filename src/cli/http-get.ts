// asyncore http-get: the documentation's HTTP client.
import * as asyncore from '../index.js';
import { CliError, UsageError, describeError, parse, secondsOf } from './args.js';
import { HTTPClient } from '../examples/http-client.js';

/** The seed's HTTP client, unchanged but for keeping its error for the exit status. */
export class ReportingHTTPClient extends HTTPClient {
  error: unknown = null;

  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

export async function httpGet(args: string[]): Promise<number> {
  const p = parse('http-get', args, { timeout: { type: 'string' } }, 1);
  if (!p) return 0;
  const raw = p.positionals[0];
  if (raw === undefined) throw new UsageError('missing URL, e.g. http://127.0.0.1:8000/');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: '${raw}' (expected http://host[:port]/path)`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`only http:// URLs are supported (the documentation's client speaks plain HTTP/1.0), not ${url.protocol}//`);
  if (url.hostname === '') throw new UsageError(`the URL has no host: '${raw}'`);
  const timeout = secondsOf('timeout', p.values.timeout) ?? 30;
  if (url.hostname.startsWith('[')) throw new UsageError(`IPv6 addresses are not supported: the documentation's client makes an AF_INET socket; use an IPv4 address or a host name`);
  const host = url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  const client = new ReportingHTTPClient(host, `${url.pathname}${url.search}`, port);
  try {
    const deadline = Date.now() + timeout * 1000;
    while (asyncore.socketMap.size > 0) {
      if (Date.now() > deadline) throw new CliError(`no complete response from ${url.host} after ${timeout} s`);
      asyncore.loop({ timeout: Math.min(0.5, timeout), count: 1 });
    }
  } finally {
    asyncore.closeAll(undefined, true);
  }
  if (client.error !== null) throw new CliError(describeError(client.error));
  return 0;
}

