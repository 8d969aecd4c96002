// The socket-module helpers that ports of asyncore programs use beyond socket.socket:
// getaddrinfo, create_connection, create_server, gethostname, inet_pton, inet_ntop.
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EAFNOSUPPORT, EINVAL } from '../sys/errno.js';
import { type Address, decodeSockaddr, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../sys/sockaddr.js';
import { SocketError, socketError } from '../errors.js';
import { describe, rangeError, requireInt, typeError } from '../validate.js';
import { gaiError } from './address.js';
import { Socket } from './socket.js';

/** getaddrinfo flags (Linux values). */
export const AI_PASSIVE = 0x1;
export const AI_CANONNAME = 0x2;
export const AI_NUMERICHOST = 0x4;
export const AI_V4MAPPED = 0x8;
export const AI_ALL = 0x10;
export const AI_ADDRCONFIG = 0x20;
export const AI_NUMERICSERV = 0x400;
if (C.AI_PASSIVE !== AI_PASSIVE || C.AI_NUMERICHOST !== AI_NUMERICHOST) throw new Error('asyncore: this platform numbers AI_* differently');

/** One getaddrinfo result: `[family, type, proto, canonname, address]`, as Python's. */
export type AddrInfoTuple = [family: number, type: number, proto: number, canonname: string, address: Address];

/** Python's `socket.getaddrinfo`: resolve `host`/`port` into socket arguments and addresses. */
export function getaddrinfo(host: string | null, port: number | string | null, family = 0, type = 0, proto = 0, flags = 0): AddrInfoTuple[] {
  if (host !== null && typeof host !== 'string') throw typeError(`getaddrinfo(): host must be a string or null, not ${describe(host)}`);
  if (port !== null && typeof port !== 'string' && typeof port !== 'number') throw typeError(`getaddrinfo(): port must be a number, a service name or null, not ${describe(port)}`);
  if (typeof port === 'number') requireInt(port, 'getaddrinfo(): port', 0, 65535);
  requireInt(family, 'getaddrinfo(): family');
  requireInt(type, 'getaddrinfo(): type');
  requireInt(proto, 'getaddrinfo(): proto');
  requireInt(flags, 'getaddrinfo(): flags');
  const res = libc.getaddrinfo(host === '' ? null : host, port === null ? null : String(port), family, type, flags | (host === '' ? AI_PASSIVE : 0));
  if (res.code !== 0) throw gaiError(res.code, res.errno, host ?? '');
  return res.list
    .filter((ai) => proto === 0 || ai.protocol === proto)
    .map((ai) => [ai.family, ai.socktype, ai.protocol, ai.canonname, decodeSockaddr(ai.addr, ai.addr.length)]);
}

/**
 * Python's `socket.create_connection`: try every address of `address` (IPv6 and IPv4) until one
 * connects. Blocking unless `timeout` (seconds) is given.
 */
export function createConnection(address: [host: string, port: number], timeout?: number | null, sourceAddress?: [host: string, port: number]): Socket {
  if (!Array.isArray(address) || address.length !== 2) throw typeError(`createConnection(): address must be [host, port], not ${describe(address)}`);
  const [host, port] = address;
  const errors: unknown[] = [];
  for (const [family, type, proto, , addr] of getaddrinfo(host, port, 0, C.SOCK_STREAM)) {
    let sock: Socket | null = null;
    try {
      sock = new Socket(family, type, proto);
      if (timeout !== undefined) sock.settimeout(timeout);
      if (sourceAddress) sock.bind(sourceAddress);
      sock.connect(addr);
      return sock;
    } catch (e) {
      errors.push(e);
      sock?.close();
    }
  }
  if (errors.length > 0) throw errors[0];
  throw new SocketError(EINVAL, 'getaddrinfo', [host, port], 'getaddrinfo returns an empty list');
}

/** Options of createServer. */
export interface CreateServerOptions { family?: number; backlog?: number; reusePort?: boolean; dualstackIpv6?: boolean }

/** Python's `socket.create_server`: a bound, listening TCP socket (SO_REUSEADDR set). */
export function createServer(address: Address, opts: CreateServerOptions = {}): Socket {
  const family = opts.family ?? C.AF_INET;
  if (opts.dualstackIpv6 && family !== C.AF_INET6) throw rangeError('createServer(): dualstackIpv6 requires family AF_INET6');
  const sock = new Socket(family, C.SOCK_STREAM);
  try {
    if (family !== C.AF_UNIX) sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    if (opts.reusePort) sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEPORT, 1);
    if (family === C.AF_INET6) sock.setsockopt(C.IPPROTO_IPV6, C.IPV6_V6ONLY, opts.dualstackIpv6 ? 0 : 1);
    sock.bind(address);
    if (opts.backlog === undefined) sock.listen();
    else sock.listen(opts.backlog);
    return sock;
  } catch (e) {
    sock.close();
    throw e;
  }
}

/** The host name of this machine. */
export function gethostname(): string {
  const buf = new Uint8Array(256);
  const r = libc.gethostname(buf, buf.length);
  if (r < 0) throw socketError(-r, 'gethostname');
  const end = buf.indexOf(0);
  return Buffer.from(buf.subarray(0, end < 0 ? buf.length : end)).toString('utf8');
}

/** An IP address in text to its packed bytes (4 for AF_INET, 16 for AF_INET6). */
export function inetPton(family: number, text: string): Buffer {
  if (typeof text !== 'string') throw typeError(`inetPton(): text must be a string, not ${describe(text)}`);
  const b = family === C.AF_INET ? parseIPv4(text) : family === C.AF_INET6 ? parseIPv6(text) : undefined;
  if (b === undefined) throw new SocketError(EAFNOSUPPORT, 'inet_pton', undefined, 'use AF_INET or AF_INET6');
  if (b === null || (family === C.AF_INET && !/^\d+\.\d+\.\d+\.\d+$/.test(text))) {
    throw new SocketError(EINVAL, 'inet_pton', undefined, `illegal IP address string ${JSON.stringify(text)}`);
  }
  return Buffer.from(b);
}

/** Packed address bytes to text. */
export function inetNtop(family: number, bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw typeError(`inetNtop(): bytes must be a Uint8Array, not ${describe(bytes)}`);
  if (family === C.AF_INET) {
    if (bytes.length !== 4) throw rangeError(`inetNtop(): an AF_INET address is 4 bytes, not ${bytes.length}`);
    return formatIPv4(bytes);
  }
  if (family === C.AF_INET6) {
    if (bytes.length !== 16) throw rangeError(`inetNtop(): an AF_INET6 address is 16 bytes, not ${bytes.length}`);
    return formatIPv6(bytes);
  }
  throw new SocketError(EAFNOSUPPORT, 'inet_ntop', undefined, 'use AF_INET or AF_INET6');
}
