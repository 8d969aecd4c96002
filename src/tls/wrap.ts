// wrapSocket()'s argument checks, with Python's rules and messages that name the fix.
import { C } from '../sys/constants.js';
import { closedError } from '../errors.js';
import { describe, rangeError, typeError } from '../validate.js';
import { Socket } from '../io/socket.js';
import { PROTOCOL_TLS_CLIENT } from './constants.js';
import type { SSLContext } from './context.js';
import type { WrapOptions } from './socket.js';

/** The checked options, and whether `sock` is connected already. */
export interface CheckedWrap extends Required<WrapOptions> {
  serverHostname: string | null;
  connected: boolean;
}

export function checkWrap(context: SSLContext, sock: Socket, opts: WrapOptions): CheckedWrap {
  if (!(sock instanceof Socket)) throw typeError(`wrapSocket(): sock must be a Socket, not ${describe(sock)}`);
  if (opts === null || typeof opts !== 'object') throw typeError(`wrapSocket(): options must be an object, not ${describe(opts)}`);
  if (sock.fileno() < 0) throw closedError('wrapSocket');
  if (sock.type !== C.SOCK_STREAM) throw rangeError('wrapSocket(): only SOCK_STREAM sockets can carry TLS (for UDP use DTLS, which is not supported)');
  const serverSide = !!opts.serverSide;
  const serverHostname = opts.serverHostname ?? null;
  if (serverHostname !== null && typeof serverHostname !== 'string') throw typeError(`wrapSocket(): serverHostname must be a string, not ${describe(serverHostname)}`);
  if (serverSide && serverHostname !== null) throw rangeError('wrapSocket(): serverHostname can only be given in client mode (serverSide: false)');
  if (serverSide && context.protocol === PROTOCOL_TLS_CLIENT) throw rangeError('wrapSocket(): cannot create a server socket with a PROTOCOL_TLS_CLIENT context; use new SSLContext(PROTOCOL_TLS_SERVER)');
  if (!serverSide && context.checkHostname && !serverHostname) throw rangeError('wrapSocket(): checkHostname requires serverHostname; pass { serverHostname: "example.com" }');
  const doHandshakeOnConnect = opts.doHandshakeOnConnect ?? true;
  let connected = true;
  try { sock.getpeername(); } catch { connected = false; }
  if (connected && doHandshakeOnConnect && !sock.getblocking()) {
    throw rangeError('wrapSocket(): doHandshakeOnConnect should not be specified for non-blocking sockets; pass doHandshakeOnConnect: false and call doHandshake() when the socket is ready (or use sslChannel)');
  }
  return { serverSide, serverHostname, doHandshakeOnConnect, suppressRaggedEofs: opts.suppressRaggedEofs ?? true, connected };
}
