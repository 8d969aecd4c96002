// sslChannel(Base): TLS for any Dispatcher class, the work that test_ftplib's and pyftpdlib's
// SSLConnection do by hand. While a handshake or a shutdown runs, the mixin answers
// readable()/writable() from what OpenSSL wants; once the session is open it drains what
// OpenSSL has already decrypted (pending()), which a poll of the fd cannot see.
import { Socket } from '../io/socket.js';
import { DISCONNECTED } from '../sys/errno.js';
import { SocketError } from '../errors.js';
import { describe, typeError } from '../validate.js';
import type { Dispatcher } from '../channels/dispatcher.js';
import { SSLEOFError, SSLError, SSLWantReadError, SSLWantWriteError } from './errors.js';
import { SSLSocket } from './socket.js';
import type { SSLContext } from './context.js';

/** Options of `startTls`. */
export interface StartTlsOptions {
  serverSide?: boolean;
  serverHostname?: string | null;
  suppressRaggedEofs?: boolean;
}

/** Where a channel's TLS session is. */
export type TlsState = 'off' | 'handshake' | 'open' | 'closing';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DispatcherClass = new (...args: any[]) => Dispatcher;

const WANT_READ = 1;
const WANT_WRITE = 2;
// A handler that leaves OpenSSL's buffered bytes unread would spin the drain loop forever.
const MAX_DRAIN = 64;

/** The members sslChannel adds to a Dispatcher class. */
export interface TlsChannel {
  /** Where the TLS session is: 'off', 'handshake', 'open' or 'closing'. */
  readonly tlsState: TlsState;
  /** Wrap the channel's socket and start the handshake (at once, or mid-session for STARTTLS). */
  startTls(context: SSLContext, opts?: StartTlsOptions): void;
  /** Called once the handshake has completed. */
  handleTlsEstablished(): void;
  /** Send close_notify and wait for the peer's; then the channel's socket is the plain Socket again. */
  stopTls(): void;
  /** Called once stopTls() has finished (the channel speaks plain text again). */
  handleTlsStopped(): void;
}

/**
 * A mixin over any Dispatcher class (`Dispatcher`, `DispatcherWithSend`, `AsyncChat`):
 * `class Server extends sslChannel(AsyncChat) { ... }`.
 */
export function sslChannel<TBase extends DispatcherClass>(Base: TBase): TBase & (new (...args: any[]) => TlsChannel) {
  class SSLChannel extends Base implements TlsChannel {
    /** @internal */ _tlsState: TlsState = 'off';
    /** @internal What OpenSSL waits for during a handshake or shutdown. */
    _tlsWant = 0;

    get tlsState(): TlsState {
      return this._tlsState;
    }

    startTls(context: SSLContext, opts: StartTlsOptions = {}): void {
      if (this._tlsState !== 'off') throw typeError(`startTls(): TLS is already ${this._tlsState} on this channel`);
      const sock = this.socket;
      if (!(sock instanceof Socket)) throw typeError(`startTls(): the channel's socket must be a Socket, not ${describe(sock)}; call createSocket() or setSocket() first`);
      const ssl = context.wrapSocket(sock, { ...opts, doHandshakeOnConnect: false });
      ssl._enterChannelMode();
      // Same descriptor, so the map entry and the poller's interest stay valid.
      this.socket = ssl;
      this._tlsState = 'handshake';
      this._tlsWant = opts.serverSide ? WANT_READ : WANT_WRITE;
      // A client sends its ClientHello at once; a server waits for it to become readable (a
      // failure then reaches this channel's handleError, not a listener's handleAccepted).
      if (!opts.serverSide && !this.connecting && !this.accepting) this._tlsStep();
    }

    stopTls(): void {
      if (this._tlsState !== 'open') throw typeError(`stopTls(): no open TLS session on this channel (state ${this._tlsState})`);
      this._tlsState = 'closing';
      this._tlsWant = WANT_WRITE;
      this._tlsStep();
    }

    handleTlsEstablished(): void {
      // Override: the session is open (e.g. send a greeting).
    }

    handleTlsStopped(): void {
      // Override: the channel speaks plain text again.
    }

    /** @internal One handshake or shutdown step; the want-errors say what to wait for. */
    _tlsStep(): void {
      const ssl = this.socket as SSLSocket;
      try {
        if (this._tlsState === 'handshake') {
          ssl.doHandshake();
          this._tlsState = 'open';
          this._tlsWant = 0;
          this.handleTlsEstablished();
        } else if (this._tlsState === 'closing') {
          const plain = ssl.unwrap();
          this.socket = plain;
          this._tlsState = 'off';
          this._tlsWant = 0;
          this.handleTlsStopped();
        }
      } catch (e) {
        if (e instanceof SSLWantReadError) this._tlsWant = WANT_READ;
        else if (e instanceof SSLWantWriteError) this._tlsWant = WANT_WRITE;
        else if (e instanceof SSLEOFError || (e instanceof SocketError && !(e instanceof SSLError) && DISCONNECTED.has(e.errno))) {
          // The peer went away mid-handshake or mid-shutdown: end of connection, as recv's EOF.
          this._tlsWant = 0;
          this.handleClose();
        } else {
          throw e;
        }
      }
    }

    // Plain methods, not #private: a base constructor may call readable()/writable() or a
    // handler before this class's private members exist.
    /** @internal */
    _tlsStepping(): boolean {
      const st = this._tlsState;
      return (st === 'handshake' || st === 'closing') && !this.connecting;
    }

    override readable(): boolean {
      if (this._tlsStepping()) return this._tlsWant === WANT_READ;
      return super.readable();
    }

    override writable(): boolean {
      if (this._tlsStepping()) return this._tlsWant === WANT_WRITE;
      if (this._tlsState === 'open') {
        const ssl = this.socket as SSLSocket;
        if (ssl._readWantsWrite) return true;
        // Decrypted bytes wait inside OpenSSL: a write event (nearly always ready) drains them.
        if (ssl._hasPending() && super.readable()) return true;
      }
      return super.writable();
    }

    /** @internal A handshake or shutdown step, after completing a pending connect. */
    _tlsEvent(): boolean {
      if (this._tlsState !== 'handshake' && this._tlsState !== 'closing') return false;
      if (this.connecting) this.handleConnectEvent();
      if (this.socket !== null) this._tlsStep();
      return true;
    }

    override handleReadEvent(): void {
      if (this._tlsEvent()) return;
      // Readable may mean only TLS records (a TLS 1.3 session ticket): then there is nothing
      // for handleRead, whose recv would otherwise raise "would block".
      if (this._tlsState === 'open' && !(this.socket as SSLSocket)._readReady()) return;
      super.handleReadEvent();
      this._tlsDrain();
    }

    override handleWriteEvent(): void {
      if (this._tlsEvent()) return;
      if (this._tlsState === 'open') {
        const ssl = this.socket as SSLSocket;
        if (ssl._readWantsWrite || ssl._hasPending()) {
          ssl._readWantsWrite = false;
          if (this.readable()) this.handleRead();
          this._tlsDrain();
          if (this.socket !== ssl || !this.writable()) return;
        }
      }
      super.handleWriteEvent();
    }

    /** @internal */
    _tlsDrain(): void {
      const ssl = this.socket;
      if (this._tlsState !== 'open' || !(ssl instanceof SSLSocket)) return;
      for (let i = 0; i < MAX_DRAIN && this.socket === ssl && ssl._hasPending() && this.readable(); i++) this.handleRead();
    }
  }
  return SSLChannel;
}
