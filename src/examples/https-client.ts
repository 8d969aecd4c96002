// The documentation's HTTP client over TLS: the same channel with sslChannel mixed in, the
// handshake started right after connect(), verification on by default (as Python's
// create_default_context). Run: node --import tsx examples/https-client.ts HOST [PATH] [PORT]
import * as asyncore from '../index.js';
import { HTTPClient } from './http-client.js';
import { isMain } from './cli-common.js';

export class HTTPSClient extends asyncore.sslChannel(HTTPClient) {
  constructor(host: string, path: string, port = 443, context: asyncore.SSLContext = asyncore.createDefaultContext(), map?: asyncore.SocketMap) {
    super(host, path, port, map);
    // The request waits in `buffer` until the handshake is done: the mixin answers writable().
    this.startTls(context, { serverHostname: host });
  }
}

/** A client context: the default roots (or `cafile`'s), or no verification at all with `insecure`. */
export function clientContext(opts: { cafile?: string; insecure?: boolean } = {}): asyncore.SSLContext {
  const ctx = asyncore.createDefaultContext(asyncore.Purpose.SERVER_AUTH, opts.cafile !== undefined ? { cafile: opts.cafile } : {});
  if (opts.insecure) {
    ctx.checkHostname = false;
    ctx.verifyMode = asyncore.CERT_NONE;
  }
  return ctx;
}

if (isMain(import.meta.url)) {
  const [host = 'localhost', path = '/', port = '443'] = process.argv.slice(2);
  new HTTPSClient(host, path, Number(port));
  asyncore.loop();
}
