// Python-style addresses to sockaddr bytes: [host, port] pairs, IPv6 4-tuples and Unix paths,
// with host names resolved by getaddrinfo, as Python does. The encoded address lands in one
// shared scratch buffer (JavaScript is single-threaded) that the caller passes straight on.
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EINVAL, errno as errnoTable } from '../sys/errno.js';
import { type Address, encodeInet, encodeInet6, encodeUnix, parseIPv4, parseIPv6 } from '../sys/sockaddr.js';
import { SocketError } from '../errors.js';
import { describe, requireInt, typeError, rangeError } from '../validate.js';

export type { Address } from '../sys/sockaddr.js';

/** The sockaddr scratch buffer: encodeAddress() writes here; accept/getsockname read here. */
export const saBuf = new Uint8Array(C.SOCKADDR_STORAGE_SIZE);
/** The socklen_t that goes with saBuf. */
export const saLen = new Int32Array(1);

function requirePort(port: unknown, syscall: string): number {
  const p = requireInt(port, `${syscall}(): port`);
  if (p < 0 || p > 65535) throw rangeError(`${syscall}(): port must be 0-65535, not ${p}`);
  return p;
}

function requireHost(host: unknown, syscall: string): string {
  if (typeof host !== 'string') {
    throw typeError(`${syscall}(): host must be a string such as '127.0.0.1', 'localhost' or '', not ${describe(host)}`);
  }
  return host;
}

/** A getaddrinfo failure as Python's socket.gaierror (EAI_SYSTEM: the real errno). */
export function gaiError(code: number, sysErrno: number, host: string): SocketError {
  if (code === C.EAI.EAI_SYSTEM && sysErrno > 0) return new SocketError(sysErrno, 'getaddrinfo', host);
  const err = new SocketError(code, 'getaddrinfo', host);
  err.address = host;
  return err;
}

/** Resolve a host name to the raw address bytes of `family` (4 or 16 bytes) with getaddrinfo. */
function resolveHost(host: string, family: number, forBind: boolean): { ip: Uint8Array; scopeId: number } {
  if (family === C.AF_INET) {
    if (host === '') return { ip: new Uint8Array(4), scopeId: 0 };
    if (host === '<broadcast>') return { ip: new Uint8Array([255, 255, 255, 255]), scopeId: 0 };
    const ip = parseIPv4(host);
    if (ip) return { ip, scopeId: 0 };
  } else {
    if (host === '') return { ip: new Uint8Array(16), scopeId: 0 };
    const ip = parseIPv6(host);
    if (ip) return { ip, scopeId: 0 };
  }
  const res = libc.getaddrinfo(host, null, family, C.SOCK_STREAM, forBind ? C.AI_PASSIVE : 0);
  if (res.code !== 0) throw gaiError(res.code, res.errno, host);
  const first = res.list.find((ai) => ai.family === family);
  if (!first) throw new SocketError(C.EAI.EAI_ADDRFAMILY!, 'getaddrinfo', host);
  if (family === C.AF_INET) return { ip: first.addr.subarray(4, 8), scopeId: 0 };
  return { ip: first.addr.subarray(8, 24), scopeId: first.addr.readUInt32LE(24) };
}

/**
 * Encode a Python-style address for `family` into `saBuf` and return its length. Throws
 * TypeError/RangeError for malformed input and SocketError for names that do not resolve.
 */
export function encodeAddress(family: number, addr: unknown, syscall: string): number {
  if (family === C.AF_UNIX) {
    let path: Uint8Array;
    if (typeof addr === 'string') path = Buffer.from(addr, 'utf8');
    else if (addr instanceof Uint8Array) path = addr;
    else throw typeError(`${syscall}(): an AF_UNIX address must be a path string (or '\\0name' for an abstract socket), not ${describe(addr)}`);
    const len = encodeUnix(saBuf, path);
    if (len < 0) throw new SocketError(EINVAL, syscall, addr as Address, `AF_UNIX path too long: at most ${C.UNIX_PATH_MAX - 1} bytes`);
    return len;
  }
  if (family === C.AF_INET) {
    if (!Array.isArray(addr) || addr.length !== 2) {
      throw typeError(`${syscall}(): an AF_INET address must be a pair [host, port], not ${describe(addr)}`);
    }
    const host = requireHost(addr[0], syscall);
    const port = requirePort(addr[1], syscall);
    return encodeInet(saBuf, resolveHost(host, family, syscall === 'bind').ip, port);
  }
  if (family === C.AF_INET6) {
    if (!Array.isArray(addr) || addr.length < 2 || addr.length > 4) {
      throw typeError(`${syscall}(): an AF_INET6 address must be [host, port] or [host, port, flowinfo, scopeId], not ${describe(addr)}`);
    }
    const host = requireHost(addr[0], syscall);
    const port = requirePort(addr[1], syscall);
    const flowinfo = addr.length > 2 ? requireInt(addr[2], `${syscall}(): flowinfo`) : 0;
    if (flowinfo < 0 || flowinfo > 0xfffff) throw rangeError(`${syscall}(): flowinfo must be 0-1048575, not ${flowinfo}`);
    const scope = addr.length > 3 ? requireInt(addr[3], `${syscall}(): scopeId`, 0, 0xffffffff) : 0;
    const r = resolveHost(host, family, syscall === 'bind');
    return encodeInet6(saBuf, r.ip, port, flowinfo, scope || r.scopeId);
  }
  throw new SocketError(errnoTable.EAFNOSUPPORT!, syscall, undefined, `address family ${family} is not supported; use AF_INET, AF_INET6 or AF_UNIX`);
}
