// Real peers over TLS 1.2 and 1.3 with SNI and ALPN: openssl s_client, Python 3.11's ssl and
// curl against an sslChannel server; our sslChannel client against openssl s_server and a Python
// ssl server (which also unwraps back to plain text, as FTP's CCC does). Skips without the tools.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  AsyncChat, Dispatcher, Socket, loop, SSLContext, SSLSocket, PROTOCOL_TLS_SERVER, TLSVersion, sslChannel, HAS_TLS,
  type Address,
} from '../../src/index.js';
import { checkLeaks, map, usePrivateMap } from '../helpers.js';
import { HAS_CURL, HAS_OPENSSL_CLI, HAS_PYTHON, makePki, type TestPki } from '../fixtures/tls-ca.js';

const skip = !HAS_TLS ? 'OpenSSL unreachable in this node' : !HAS_OPENSSL_CLI ? 'openssl CLI missing' : false;

interface Run { out: string; err: string; code: number | null; done: boolean }

/** Start a child; its output accumulates in the returned record. `done` once its pipes closed. */
function run(cmd: string, args: string[], stdin?: string): Run & { kill(): Promise<void> } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const r = {
    out: '', err: '', code: null as number | null, done: false,
    kill: async () => { child.stdin.destroy(); if (!r.done) child.kill(); await closed; },
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => { r.out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { r.err += d; });
  child.on('close', (code) => { r.code = code; r.done = true; });
  if (stdin !== undefined) child.stdin.write(stdin);
  return r;
}

/** Loop passes over the test's map (or short sleeps while it is empty) until `done()`, for up to 15 s. */
async function pumpUntil(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15000;
  while (!done() && Date.now() < deadline) {
    if (map.size > 0) loop({ timeout: 0.005, count: 1, map });
    await new Promise((r) => setTimeout(r, map.size > 0 ? 0 : 5));
  }
  assert.ok(done(), `timed out waiting for: ${what}`);
}

/** An HTTP-ish responder: answers the first request with what it saw, then closes. */
class Responder extends sslChannel(AsyncChat) {
  lines: Buffer[] = [];
  constructor(sock: Socket, readonly names: (string | null)[]) {
    super(sock, map);
    this.setTerminator('\r\n\r\n');
  }
  override collectIncomingData(d: Buffer): void { this.lines.push(d); }
  override foundTerminator(): void {
    const ssl = this.socket as SSLSocket;
    const first = Buffer.concat(this.lines).toString().split('\r\n')[0];
    const body = `${ssl.version()} ${ssl.selectedAlpnProtocol()} ${this.names.at(-1)} ${first}\n`;
    this.push(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    this.closeWhenDone();
  }
}

class Listener extends Dispatcher {
  names: (string | null)[] = [];
  constructor(readonly ctx: SSLContext) {
    super(null, map);
    this.createSocket();
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(16);
    ctx.sniCallback = (_s, name) => { this.names.push(name); };
  }
  get port(): number { return ((this.socket as Socket).getsockname() as [string, number])[1]; }
  override handleAccepted(sock: Socket): void {
    new Responder(sock, this.names).startTls(this.ctx, { serverSide: true });
  }
}

/** A free loopback port for a child server (bound and released). */
function freePort(): number {
  const s = new Socket();
  s.bind(['127.0.0.1', 0]);
  const port = (s.getsockname() as [string, number])[1];
  s.close();
  return port;
}

/** Client: sends one request line, keeps what comes back; optionally stops TLS on a marker. */
class Requester extends sslChannel(AsyncChat) {
  data: Buffer[] = [];
  closed = false;
  error: unknown = null;
  stopped = false;
  constructor(addr: Address, readonly ctx: SSLContext, readonly request: string, readonly stopOn: string | null = null) {
    super(null, map);
    this.createSocket();
    this.connect(addr);
    this.startTls(ctx, { serverHostname: 'localhost' });
    this.setTerminator(stopOn === null ? 0 : '\n');
  }
  info = '';
  override handleTlsEstablished(): void {
    const ssl = this.socket as SSLSocket;
    this.info = `${ssl.version()} ${ssl.selectedAlpnProtocol()}`;
    this.push(this.request);
  }
  override collectIncomingData(d: Buffer): void { this.data.push(d); }
  override foundTerminator(): void {
    if (this.stopOn !== null && this.tlsState === 'open' && Buffer.concat(this.data).toString().includes(this.stopOn)) this.stopTls();
  }
  override handleTlsStopped(): void { this.stopped = true; this.setTerminator(0); }
  override handleError(e: unknown): void { this.error = e; this.close(); }
  override handleClose(): void { this.closed = true; this.close(); }
  get text(): string { return Buffer.concat(this.data).toString(); }
}

describe('TLS against real peers', { skip }, () => {
  let pki: TestPki;
  let clientCtx: SSLContext;
  const serverCtx = (): SSLContext => {
    const c = new SSLContext(PROTOCOL_TLS_SERVER);
    c.loadCertChain(pki.serverCert, pki.serverKey);
    c.setAlpnProtocols(['http/1.1']);
    return c;
  };
  before(() => {
    pki = makePki();
    clientCtx = new SSLContext();
    clientCtx.loadVerifyLocations({ cafile: pki.caCert });
  });
  usePrivateMap();
  checkLeaks();

  for (const [v, flag, py] of [['TLSv1.2', '-tls1_2', 'TLSv1_2'], ['TLSv1.3', '-tls1_3', 'TLSv1_3']] as const) {
    it(`openssl s_client → our server over ${v}, SNI and ALPN`, async () => {
      const l = new Listener(serverCtx());
      const c = run('openssl', ['s_client', '-connect', `127.0.0.1:${l.port}`, flag, '-servername', 'localhost', '-alpn', 'h2,http/1.1',
        '-CAfile', pki.caCert, '-verify_return_error', '-verify_hostname', 'localhost', '-quiet'], 'GET /sclient HTTP/1.0\r\n\r\n');
      await pumpUntil(() => c.done, 's_client to finish');
      assert.match(c.out, new RegExp(`${v} http/1.1 localhost GET /sclient HTTP/1.0`), c.err);
      l.close();
    });

    it(`python3.11 ssl client → our server over ${v}`, { skip: HAS_PYTHON ? false : 'python3.11 missing' }, async () => {
      const l = new Listener(serverCtx());
      const script = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.maximum_version = ctx.minimum_version = ssl.TLSVersion.${py}
ctx.set_alpn_protocols(['http/1.1'])
with socket.create_connection(('127.0.0.1', int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname='localhost') as s:
        cn = s.getpeercert()['subject'][-1][0][1]
        s.sendall(b'GET /python HTTP/1.0\\r\\n\\r\\n')
        data = b''
        while True:
            d = s.recv(4096)
            if not d: break
            data += d
        print(data.decode().split('\\r\\n\\r\\n')[1].strip(), cn)
`;
      const c = run('python3.11', ['-c', script, String(l.port), pki.caCert]);
      await pumpUntil(() => c.done, 'python client to finish');
      assert.equal(c.out.trim(), `${v} http/1.1 localhost GET /python HTTP/1.0 localhost`, c.err);
      l.close();
    });

    it(`our client → openssl s_server over ${v} with ALPN`, async () => {
      const port = freePort();
      const srv = run('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', pki.serverCert, '-key', pki.serverKey, flag, '-alpn', 'http/1.1', '-www']);
      try {
        const ctx = new SSLContext();
        ctx.loadVerifyLocations({ cafile: pki.caCert });
        ctx.setAlpnProtocols(['h2', 'http/1.1']);
        let c: Requester | null = null;
        // s_server needs a moment to listen: retry the connection until it is up.
        for (let i = 0; i < 50 && (c === null || c.error !== null); i++) {
          c?.close();
          if (!srv.out.includes('ACCEPT')) { await new Promise((r) => setTimeout(r, 50)); continue; }
          c = new Requester(['127.0.0.1', port], ctx, 'GET / HTTP/1.0\r\n\r\n');
          await pumpUntil(() => c!.closed || c!.error !== null, 's_server page');
        }
        assert.ok(c, srv.err);
        assert.equal(c.error, null);
        assert.match(c.text, /HTTP\/1\.0 200 ok/i);
        assert.match(c.text, new RegExp(`Protocol +: ${v}`));
        assert.equal(c.info, `${v} http/1.1`);
      } finally {
        await srv.kill();
      }
    });

    it(`curl --cacert → our server over ${v}`, { skip: HAS_CURL ? false : 'curl missing' }, async () => {
      const l = new Listener(serverCtx());
      const c = run('curl', ['-sS', '--http1.1', '--cacert', pki.caCert, v === 'TLSv1.2' ? '--tls-max' : '--tlsv1.3', ...(v === 'TLSv1.2' ? ['1.2'] : []), `https://localhost:${l.port}/curl`]);
      await pumpUntil(() => c.done, 'curl to finish');
      assert.equal(c.code, 0, c.err);
      assert.equal(c.out.trim(), `${v} http/1.1 localhost GET /curl HTTP/1.1`);
      l.close();
    });
  }

  it('a Python ssl server unwraps back to plain text; our stopTls() follows (CCC)', { skip: HAS_PYTHON ? false : 'python3.11 missing' }, async () => {
    const script = `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
seen = []
ctx.sni_callback = lambda s, name, c: seen.append(name)
srv = socket.create_server(('127.0.0.1', 0))
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
s = ctx.wrap_socket(conn, server_side=True)
line = s.recv(100)
s.sendall(b'secure ' + s.version().encode() + b' ' + str(seen[0]).encode() + b' ' + line)
plain = s.unwrap()
plain.sendall(b'plain text after unwrap\\n')
print('unwrapped', flush=True)
plain.close()
`;
    const c = run('python3.11', ['-c', script, pki.serverCert, pki.serverKey]);
    try {
      await pumpUntil(() => c.out.includes('\n') || c.done, 'python server port');
      const port = Number(c.out.split('\n')[0]);
      assert.ok(port > 0, c.err);
      const r = new Requester(['127.0.0.1', port], clientCtx, 'hello\n', 'hello');
      await pumpUntil(() => r.closed || r.error !== null, 'the dialogue');
      assert.equal(r.error, null);
      assert.ok(r.stopped);
      assert.equal(r.text, 'secure TLSv1.3 localhost helloplain text after unwrap\n'); // the terminator is not collected
      await pumpUntil(() => c.done, 'python to exit');
      assert.match(c.out, /unwrapped/, c.err);
    } finally {
      await c.kill();
    }
  });
});
