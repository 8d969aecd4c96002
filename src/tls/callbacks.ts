// The two OpenSSL callbacks (ALPN selection, SNI), registered once and shared by every
// context: OpenSSL hands back raw pointers, so each is looked up by its native address.
import {
  addressOf, allocNative, freeNative, registerAlpnCallback, registerSniCallback,
} from '../sys/openssl.js';
import { lib } from './native.js';

/** What the SNI callback needs of an SSLSocket (kept structural: no import cycle). */
export interface SniTarget {
  /** @internal Runs the context's sniCallback; returns an OpenSSL SSL_TLSEXT_ERR_* code. */
  _onServerName(name: string | null): number;
}

/** Live SSL* addresses to their SSLSocket. */
export const liveSockets = new Map<bigint, SniTarget>();

// ALPN server lists: native address to byte length (OpenSSL keeps pointing at the list).
const alpnLists = new Map<bigint, number>();
let alpnCb: unknown = null;
let sniCb: unknown = null;

const SSL_TLSEXT_ERR_OK = 0;
const SSL_TLSEXT_ERR_ALERT_FATAL = 2;
const SSL_TLSEXT_ERR_NOACK = 3;
const OPENSSL_NPN_NEGOTIATED = 1;

/** The persistent ALPN select callback: the first server protocol the client also offers. */
export function alpnCallback(): unknown {
  alpnCb ??= registerAlpnCallback((_ssl, out, outlen, inp, inlen, arg) => {
    const len = alpnLists.get(addressOf(arg));
    if (len === undefined) return SSL_TLSEXT_ERR_NOACK;
    const r = lib().SSL_select_next_proto(out, outlen, arg, len, inp, inlen);
    return r === OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
  });
  return alpnCb;
}

/** A native copy of an ALPN wire list for the server side; release it with dropAlpnList. */
export function keepAlpnList(wire: Uint8Array): unknown {
  const p = allocNative(wire);
  alpnLists.set(addressOf(p), wire.length);
  return p;
}

export function dropAlpnList(p: unknown): void {
  alpnLists.delete(addressOf(p));
  freeNative(p);
}

/** The persistent servername callback: hands the name to the socket's context's sniCallback. */
export function sniCallback(): unknown {
  sniCb ??= registerSniCallback((ssl) => {
    const sock = liveSockets.get(addressOf(ssl));
    if (!sock) return SSL_TLSEXT_ERR_OK;
    try {
      return sock._onServerName(lib().SSL_get_servername(ssl, 0) ?? null);
    } catch {
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  });
  return sniCb;
}
