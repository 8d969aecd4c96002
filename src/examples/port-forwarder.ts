// The classic asyncore port forwarder (a TCP proxy): a listening dispatcher; each accepted
// connection opens its own connection to the target, and two DispatcherWithSend channels
// relay to each other.
// Run: node --import tsx examples/port-forwarder.ts --listen [HOST:]PORT --to HOST:PORT [--poller NAME]
// (or `asyncore forward ...`).
//
// Beyond the classic recipe, which read as fast as it could, closed both sides at the first
// EOF and dropped what was queued:
// - back-pressure: a side stops reading while its peer has more than `outHighWater` bytes
//   queued, so a slow reader on either side holds the fast one back through TCP;
// - half-close: one side's EOF becomes shutdown(SHUT_WR) on the other once everything read
//   from it has been sent; a side closes when both of its directions are done;
// - a refused or reset connection closes the other side once, and the reason is logged.
import { parseArgs } from 'node:util';
import * as asyncore from '../index.js';
import { formatAddress, isMain, listenOn, serveMain } from './cli-common.js';

/** How much each side asks recv(2) for (one send(2) of DispatcherWithSend at most). */
export const RELAY_RECV_SIZE = 64 * 1024;

// Every relay reads into this buffer and sends from it at once; only what the peer's socket
// does not take is copied, into the peer's queue. JavaScript runs one handler at a time, so
// one buffer serves them all.
let readBuf = Buffer.allocUnsafe(RELAY_RECV_SIZE);
/** The default bound on a side's queued output before its peer stops reading. */
export const RELAY_HIGH_WATER = 512 * 1024;

/** One side of a forwarded connection: what it reads is sent to `peer`. */
export class Relay extends asyncore.DispatcherWithSend {
  /** The other side (null until paired). */
  peer: Relay | null = null;
  /** This side sent its EOF: reading is over. */
  readEof = false;
  /** Our write side toward this socket is shut down (after the peer's EOF and a flush). */
  wrShut = false;
  /** The peer's EOF is to be relayed as shutdown(SHUT_WR) once the queue is flushed. */
  shutPending = false;
  /** Where log lines name this side ('client' or 'upstream'). */
  role = 'client';
  /** How much one read asks for. */
  recvSize = RELAY_RECV_SIZE;
  #aborted = false;

  // Connected with nothing queued: DispatcherWithSend's writable() without its "not yet
  // connected" clause, and without joining the queue as outBuffer would.
  #queueEmpty(): boolean {
    return this.connected && !super.writable();
  }

  /** True while this side's queued output is at or below `outHighWater` (DispatcherWithSend's test). */
  hasRoom(): boolean {
    return super.readable();
  }

  // Read only while the peer is connected and has room for more: the back-pressure.
  override readable(): boolean {
    const peer = this.peer;
    return !this.readEof && peer !== null && peer.connected && peer.hasRoom();
  }

  override handleConnect(): void {
    // The upstream connection is made; the client side starts reading (readable() sees it).
  }

  override handleRead(): void {
    this.#readOnce();
  }

  // One recv: data goes to the peer, EOF is relayed, an error aborts both sides. True while
  // the socket may have more to read now.
  #readOnce(): boolean {
    const sock = this.socket;
    const peer = this.peer;
    if (sock === null || peer === null || this._fileno === null) return false;
    let n: number;
    if (readBuf.length < this.recvSize) readBuf = Buffer.allocUnsafe(this.recvSize);
    try {
      // The socket's own recv, not Dispatcher.recv: EOF must not mean handleClose() here,
      // since the other direction may still be running (half-close).
      n = (sock as asyncore.Socket).recvInto(readBuf, this.recvSize);
    } catch (e) {
      if (e instanceof asyncore.BlockingIOError) return false;
      if (e instanceof asyncore.SocketError) {
        this.abort(e);
        return false;
      }
      throw e;
    }
    if (n === 0) {
      this.readEof = true;
      peer.relayEof();
      this.#checkDone();
      return false;
    }
    peer.relay(readBuf.subarray(0, n));
    return true;
  }

  /** Send `data` now as far as the socket takes it; queue (a copy of) the rest. */
  relay(data: Buffer): void {
    let sent = 0;
    // Nothing queued: straight to the socket, so the common case copies nothing.
    if (this.#queueEmpty()) {
      try {
        sent = (this.socket as asyncore.Socket).send(data);
      } catch (e) {
        if (!(e instanceof asyncore.SocketError)) throw e;
        if (!(e instanceof asyncore.BlockingIOError)) {
          this.abort(e);
          return;
        }
      }
    }
    // DispatcherWithSend.send copies whatever of the caller's buffer it could not send.
    if (sent < data.length && this._fileno !== null) this.send(data.subarray(sent));
  }

  /** The peer reached EOF: shut our write side down once the queue is sent. */
  relayEof(): void {
    this.shutPending = true;
    this.#flushCheck();
  }

  override handleWrite(): void {
    super.handleWrite();
    if (this.shutPending) this.#flushCheck();
  }

  #flushCheck(): void {
    if (!this.shutPending || this.wrShut || this.socket === null || this._fileno === null) return;
    if (!this.#queueEmpty()) return;
    try {
      this.socket.shutdown(asyncore.SHUT_WR);
    } catch (e) {
      if (e instanceof asyncore.SocketError) {
        this.abort(e);
        return;
      }
      throw e;
    }
    this.wrShut = true;
    this.#checkDone();
  }

  // Both directions of this side are done: it can go. The peer finishes on its own.
  #checkDone(): void {
    if (this.readEof && this.wrShut) this.close();
  }

  /**
   * The loop saw a hang-up, an error, or a disconnect errno on send. What the kernel still
   * holds for us is read out first (a peer that sent its last bytes and closed while we were
   * held back must not lose them). If both directions of this side are then done, only this
   * side closes; otherwise (a reset, or data that can no longer be delivered) both do.
   */
  override handleClose(): void {
    const sock = this.socket;
    if (sock === null || this._fileno === null || this.#aborted) {
      this.close();
      return;
    }
    if (!this.connected) {
      this.abort(new Error('connection closed before it was established'));
      return;
    }
    const err = sock.getsockopt(asyncore.SOL_SOCKET, asyncore.SO_ERROR);
    if (err !== 0) {
      this.abort(new asyncore.SocketError(err, 'recv'));
      return;
    }
    // Drain without the high-water bound: at most what the kernel buffered for us.
    while (!this.readEof && this._fileno !== null && this.#readOnce());
    if (this._fileno === null) return; // the drain finished (or aborted) the connection
    // Only a side whose both directions are done closes alone; otherwise what the peer still
    // sends this way could not be delivered, so both go.
    if (!this.readEof || !this.wrShut) {
      const queued = this.outBuffer.length;
      this.abort(new Error(`connection closed by the peer${queued > 0 ? ` with ${queued} bytes still to send` : ' before the relay finished'}`));
      return;
    }
    this.close();
  }

  override handleError(err: unknown): void {
    if (err instanceof asyncore.SocketError && (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK')) return;
    this.abort(err);
  }

  /** Close both sides at once, logging why (once per connection). */
  abort(reason: unknown): void {
    const peer = this.peer;
    if (this.#aborted) return;
    this.#aborted = true;
    if (peer !== null) peer.#aborted = true;
    const why = reason instanceof Error ? reason.message : String(reason);
    const name = (r: Relay | null): string => (r === null ? 'its peer' : r.addr === null ? r.role : `${r.role} ${formatAddress(r.addr)}`);
    this.logInfo(`forward: ${name(this)} failed (${why}); closing ${name(peer)}`, 'error');
    this.close();
    peer?.close();
  }
}

/** Options of a PortForwarder. */
export interface PortForwarderOptions {
  /** The map the listener and the relays join (default: the global socketMap). */
  map?: asyncore.SocketMap;
  /** Bytes a side may have queued before its peer stops reading (default RELAY_HIGH_WATER). */
  highWater?: number;
  /** recv(2) size per read (default RELAY_RECV_SIZE). */
  recvSize?: number;
}

/** Listens on `[host, port]`; each connection accepted there is relayed to `target`. */
export class PortForwarder extends asyncore.Dispatcher {
  readonly target: asyncore.Address;
  readonly highWater: number;
  readonly recvSize: number;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(host: string, port: number, target: asyncore.Address, opts: PortForwarderOptions = {}) {
    super(null, opts.map);
    this.target = target;
    this.highWater = opts.highWater ?? RELAY_HIGH_WATER;
    this.recvSize = opts.recvSize ?? RELAY_RECV_SIZE;
    listenOn(this, [host, port]); // SOMAXCONN backlog, as the other servers
  }

  override handleAccepted(sock: asyncore.Socket, _addr: asyncore.Address): void {
    this.accepted++;
    const down = new Relay(sock, this._map);
    const up = new Relay(null, this._map);
    up.role = 'upstream';
    for (const r of [down, up]) {
      r.outHighWater = this.highWater;
      r.recvSize = this.recvSize;
    }
    down.peer = up;
    up.peer = down;
    try {
      up.createSocket(typeof this.target === 'string' ? asyncore.AF_UNIX : familyOf(this.target[0]));
      up.connect(this.target);
    } catch (e) {
      // Refused at once (a Unix path), or the name does not resolve.
      up.abort(e);
    }
  }
}

/** AF_INET6 for an IPv6 literal, AF_INET otherwise. */
export function familyOf(host: string): number {
  return host.includes(':') ? asyncore.AF_INET6 : asyncore.AF_INET;
}

/** `[HOST:]PORT` or `[V6]:PORT` as [host, port]; `defaultHost` when there is no host. */
export function parseHostPort(text: string, defaultHost: string | null): [string, number] {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]*):)?(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  const host = m === null ? undefined : m[1] ?? m[2] ?? defaultHost ?? undefined;
  if (m === null || port > 65535 || host === undefined || host === '') {
    const form = defaultHost === null ? 'HOST:PORT' : '[HOST:]PORT';
    throw new RangeError(`'${text}' is not ${form} (e.g. ${defaultHost === null ? '127.0.0.1:8080' : '8000 or 127.0.0.1:8000'}; [::1]:8080 for IPv6)`);
  }
  return [host, port];
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, to: { type: 'string' }, poller: { type: 'string' } } });
  if (values.listen === undefined || values.to === undefined) {
    console.error('usage: port-forwarder.ts --listen [HOST:]PORT --to HOST:PORT [--poller select|poll|epoll]');
    process.exit(2);
  }
  const [host, port] = parseHostPort(values.listen, 'localhost');
  const target = parseHostPort(values.to, null);
  const server = new PortForwarder(host, port, target);
  console.log(`port forwarder listening on ${formatAddress((server.socket as asyncore.Socket).getsockname())}, forwarding to ${formatAddress(target)}`);
  await serveMain(values.poller);
}
