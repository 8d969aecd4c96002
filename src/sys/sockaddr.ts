// The sockaddr codec: pure functions between JavaScript addresses and struct sockaddr bytes.
// Layouts (Linux, little-endian hosts): sa_family is a host-order u16 at offset 0; ports,
// IPv4 addresses and IPv6 flowinfo are big-endian; the IPv6 scope id is host order.
import { C } from './constants.js';

/** An IPv4 pair, an IPv6 4-tuple, or a Unix path (a leading '\0' is Linux's abstract namespace). */
export type Address = [host: string, port: number] | [host: string, port: number, flowinfo: number, scopeId: number] | string;

/** What an AF_INET socket's getsockname()/getpeername() return. */
export type InetAddress = [host: string, port: number];
/** What an AF_INET6 socket's getsockname()/getpeername() return. */
export type Inet6Address = [host: string, port: number, flowinfo: number, scopeId: number];
/**
 * The address type of family `F` (the literal AF_INET = 2, AF_INET6 = 10 or AF_UNIX = 1 on
 * Linux), or any Address when the family is not known statically.
 */
export type AddressOf<F extends number> = [F] extends [2] ? InetAddress : [F] extends [10] ? Inet6Address : [F] extends [1] ? string : Address;

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
const SUN_PATH_OFFSET = 2;

/**
 * Parse dotted-quad IPv4 text (exactly four decimal parts) into 4 bytes, or null. Like
 * inet_pton, a part with a leading zero is rejected ('010' is octal to inet_aton and
 * getaddrinfo, so it must not be read as decimal here).
 */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parse IPv6 text (with `::` and an optional trailing dotted quad) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  let tail: string | null = null;
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return null;
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const words: number[] = [];
  const parse = (s: string, allowV4: boolean): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const res: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4 && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        res.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        res.push(parseInt(g, 16));
      }
    }
    return res;
  };
  const a = parse(head, tail === null);
  if (!a) return null;
  if (tail === null) {
    if (a.length !== 8) return null;
    words.push(...a);
  } else {
    const b = parse(tail, true);
    if (!b) return null;
    if (a.length + b.length > 7) return null;
    words.push(...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Dotted-quad text of 4 bytes. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** IPv6 text as glibc's inet_ntop writes it (RFC 5952: longest zero run of 2+ words as `::`). */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestBase = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestBase = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i > 0) out += ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in a quad.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += formatIPv4(b, off + 12);
      break;
    }
    out += w[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

function family(buf: Uint8Array): number {
  return buf[0]! | (buf[1]! << 8);
}

function writeFamily(buf: Uint8Array, fam: number): void {
  buf[0] = fam & 0xff;
  buf[1] = fam >> 8;
}

function writePort(buf: Uint8Array, port: number): void {
  buf[2] = port >> 8;
  buf[3] = port & 0xff;
}

/** Write a sockaddr_in into `buf`; returns its length. */
export function encodeInet(buf: Uint8Array, ip: Uint8Array, port: number): number {
  buf.fill(0, 0, SOCKADDR_IN_SIZE);
  writeFamily(buf, C.AF_INET);
  writePort(buf, port);
  buf.set(ip.subarray(0, 4), 4);
  return SOCKADDR_IN_SIZE;
}

/** Write a sockaddr_in6 into `buf`; returns its length. */
export function encodeInet6(buf: Uint8Array, ip: Uint8Array, port: number, flowinfo = 0, scopeId = 0): number {
  buf.fill(0, 0, SOCKADDR_IN6_SIZE);
  writeFamily(buf, C.AF_INET6);
  writePort(buf, port);
  const dv = new DataView(buf.buffer, buf.byteOffset, SOCKADDR_IN6_SIZE);
  dv.setUint32(4, flowinfo >>> 0, false);
  buf.set(ip.subarray(0, 16), 8);
  dv.setUint32(24, scopeId >>> 0, true);
  return SOCKADDR_IN6_SIZE;
}

/**
 * Write a sockaddr_un into `buf`; returns its length, or -1 when the path does not fit.
 * Regular paths get a terminating NUL inside sun_path; abstract names ('\0'...) are exact.
 */
export function encodeUnix(buf: Uint8Array, path: Uint8Array): number {
  const abstract = path.length > 0 && path[0] === 0;
  if (path.length > C.UNIX_PATH_MAX - (abstract ? 0 : 1)) return -1;
  buf.fill(0, 0, SUN_PATH_OFFSET + C.UNIX_PATH_MAX);
  writeFamily(buf, C.AF_UNIX);
  buf.set(path, SUN_PATH_OFFSET);
  return SUN_PATH_OFFSET + path.length;
}

/** The address family stored in an encoded sockaddr. */
export function sockaddrFamily(buf: Uint8Array): number {
  return family(buf);
}

/**
 * Decode `len` bytes of a sockaddr into an Address: `[host, port]` for IPv4,
 * `[host, port, flowinfo, scopeId]` for IPv6, a path for Unix (`''` for an unnamed socket,
 * a leading '\0' for an abstract name).
 */
export function decodeSockaddr(buf: Uint8Array, len: number): Address {
  if (len < 2) return '';
  const fam = family(buf);
  const port = (buf[2]! << 8) | buf[3]!;
  if (fam === C.AF_INET && len >= SOCKADDR_IN_SIZE) {
    return [formatIPv4(buf, 4), port];
  }
  if (fam === C.AF_INET6 && len >= SOCKADDR_IN6_SIZE) {
    const dv = new DataView(buf.buffer, buf.byteOffset, SOCKADDR_IN6_SIZE);
    return [formatIPv6(buf, 8), port, dv.getUint32(4, false), dv.getUint32(24, true)];
  }
  if (fam === C.AF_UNIX) {
    const n = Math.max(0, Math.min(len, SUN_PATH_OFFSET + C.UNIX_PATH_MAX) - SUN_PATH_OFFSET);
    const path = buf.subarray(SUN_PATH_OFFSET, SUN_PATH_OFFSET + n);
    if (n > 0 && path[0] === 0) return Buffer.from(path).toString('utf8');
    const nul = path.indexOf(0);
    return Buffer.from(nul >= 0 ? path.subarray(0, nul) : path).toString('utf8');
  }
  throw new TypeError(`unsupported address family ${fam}`);
}
