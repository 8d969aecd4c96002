// asyncore http-get: the documentation's HTTP client.
import * as asyncore from '../index.js';
import { CliError, UsageError, describeError, parse, secondsOf } from './args.js';
import { HTTPClient } from '../examples/http-client.js';
import { HTTPSClient, clientContext } from '../examples/https-client.js';

/** The seed's HTTP client, unchanged but for keeping its error for the exit status. */
export class ReportingHTTPClient extends HTTPClient {
  error: unknown = null;

  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

/** The HTTPS client, keeping its error for the exit status. */
class ReportingHTTPSClient extends HTTPSClient {
  error: unknown = null;

  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

export async function httpGet(args: string[]): Promise<number> {
  const p = parse('http-get', args, { timeout: { type: 'string' }, cafile: { type: 'string' }, insecure: { type: 'boolean' } }, 1);
  if (!p) return 0;
  const raw = p.positionals[0];
  if (raw === undefined) throw new UsageError('missing URL, e.g. http://127.0.0.1:8000/');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: '${raw}' (expected http://host[:port]/path)`);
  }
  const tls = url.protocol === 'https:';
  if (url.protocol !== 'http:' && !tls) throw new UsageError(`only http:// and https:// URLs are supported, not ${url.protocol}//`);
  if (!tls && (p.values.cafile !== undefined || p.values.insecure)) throw new UsageError('--cafile and --insecure are for https:// URLs');
  if (p.values.cafile === '') throw new UsageError('--cafile must name a PEM file of CA certificates');
  if (url.hostname === '') throw new UsageError(`the URL has no host: '${raw}'`);
  const timeout = secondsOf('timeout', p.values.timeout) ?? 30;
  if (url.hostname.startsWith('[')) throw new UsageError(`IPv6 addresses are not supported: the documentation's client makes an AF_INET socket; use an IPv4 address or a host name`);
  const host = url.hostname;
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
  let client: ReportingHTTPClient | ReportingHTTPSClient;
  if (tls) {
    let ctx;
    try {
      ctx = clientContext({ cafile: p.values.cafile as string | undefined, insecure: p.values.insecure === true });
    } catch (e) {
      throw new CliError(describeError(e));
    }
    client = new ReportingHTTPSClient(host, `${url.pathname}${url.search}`, port, ctx);
  } else {
    client = new ReportingHTTPClient(host, `${url.pathname}${url.search}`, port);
  }
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

