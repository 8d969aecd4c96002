// The pure sockaddr codec: text <-> address bytes, and Address <-> struct sockaddr bytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { checkLeaks } from '../helpers.js';
import { C } from '../../src/sys/constants.js';
import {
  SOCKADDR_IN_SIZE, SOCKADDR_IN6_SIZE, decodeSockaddr, encodeInet, encodeInet6, encodeUnix,
  formatIPv4, formatIPv6, parseIPv4, parseIPv6, sockaddrFamily,
} from '../../src/sys/sockaddr.js';

checkLeaks();

/** 16 address bytes from 8 words. */
function words(...w: number[]): Uint8Array {
  assert.equal(w.length, 8);
  const b = new Uint8Array(16);
  w.forEach((v, i) => { b[2 * i] = v >> 8; b[2 * i + 1] = v & 0xff; });
  return b;
}

/** Node's (libuv's) inet_ntop, which follows the same rules as glibc's. */
function nodeFormat(b: Uint8Array): string {
  const full = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
  return new net.SocketAddress({ address: full, family: 'ipv6' }).address;
}

const sa = () => new Uint8Array(C.SOCKADDR_STORAGE_SIZE);

describe('parseIPv4', () => {
  it('parses dotted quads', () => {
    assert.deepEqual(parseIPv4('127.0.0.1'), new Uint8Array([127, 0, 0, 1]));
    assert.deepEqual(parseIPv4('0.0.0.0'), new Uint8Array([0, 0, 0, 0]));
    assert.deepEqual(parseIPv4('255.255.255.255'), new Uint8Array([255, 255, 255, 255]));
    assert.deepEqual(parseIPv4('10.20.30.40'), new Uint8Array([10, 20, 30, 40]));
  });

  it('rejects anything that is not exactly four decimal parts 0-255', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', '1..2.3', 'a.b.c.d',
      '1.2.3.4 ', ' 1.2.3.4', '0x7f.0.0.1', '1.2.3.4.', '1234.1.1.1', 'localhost', '::1', '1.2.3.+4']) {
      assert.equal(parseIPv4(bad), null, bad);
    }
  });

  it('rejects leading zeros as inet_pton does (inet_aton would read 010 as octal)', () => {
    assert.equal(parseIPv4('010.0.0.1'), null);
    assert.equal(parseIPv4('127.0.0.01'), null);
    assert.equal(parseIPv4('00.0.0.0'), null);
    assert.equal(net.isIPv4('010.0.0.1'), false);
  });

  it('formatIPv4 is its inverse, at an offset', () => {
    const b = new Uint8Array([9, 9, 192, 168, 1, 254]);
    assert.equal(formatIPv4(b, 2), '192.168.1.254');
  });
});

describe('parseIPv6', () => {
  it('parses full, compressed and dotted-quad forms', () => {
    assert.deepEqual(parseIPv6('::'), new Uint8Array(16));
    assert.deepEqual(parseIPv6('::1'), words(0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(parseIPv6('1::'), words(1, 0, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(parseIPv6('fe80::1'), words(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(parseIPv6('FE80::ABCD'), words(0xfe80, 0, 0, 0, 0, 0, 0, 0xabcd));
    assert.deepEqual(parseIPv6('1:2:3:4:5:6:7:8'), words(1, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(parseIPv6('0001:0002:0003:0004:0005:0006:0007:0008'), words(1, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(parseIPv6('1:2:3:4:5:6:7::'), words(1, 2, 3, 4, 5, 6, 7, 0));
    assert.deepEqual(parseIPv6('::2:3:4:5:6:7:8'), words(0, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(parseIPv6('::ffff:1.2.3.4'), words(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304));
    assert.deepEqual(parseIPv6('1:2:3:4:5:6:1.2.3.4'), words(1, 2, 3, 4, 5, 6, 0x0102, 0x0304));
  });

  it('rejects malformed text', () => {
    for (const bad of ['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '12345::', 'g::1', ':1::2', '1::2:', '1.2.3.4',
      '::1.2.3', '1.2.3.4::', '::1.2.3.4:5', '::256.1.1.1', '::ffff:01.2.3.4', 'fe80::1%lo',
      '[::1]', ' ::1', '1:2:3:4:5:6:7:1.2.3.4', 'x'.repeat(46)]) {
      assert.equal(parseIPv6(bad), null, bad);
    }
  });

  it('agrees with Node on which strings are IPv6 addresses (property)', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    const bases = fc.constantFrom('::', '::1', '1:2:3:4:5:6:7:8', '::ffff:1.2.3.4', 'fe80::1', '1::2:3',
      '1:2:3:4:5:6:1.2.3.4', '::1.2.3.4', 'abcd:ef01::', '1:0:0:1::1');
    const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 }), alphabet);
    const mutated = fc.tuple(bases, fc.array(edit, { maxLength: 3 })).map(([s, edits]) => {
      const a = s.split('');
      for (const [pos, op, ch] of edits) {
        const i = pos % (a.length + 1);
        if (op === 0) a.splice(i, 0, ch);
        else if (op === 1) a.splice(i, 1);
        else a[i] = ch;
      }
      return a.join('');
    });
    const text = fc.oneof(mutated, fc.string({ unit: alphabet, maxLength: 40 }));
    fc.assert(fc.property(text, (s) => {
      const ours = parseIPv6(s);
      assert.equal(ours !== null, net.isIPv6(s), JSON.stringify(s));
      if (ours) assert.equal(formatIPv6(ours), new net.SocketAddress({ address: s, family: 'ipv6' }).address);
    }), { numRuns: 3000 });
  });
});

describe('formatIPv6', () => {
  const cases: Array<[Uint8Array, string]> = [
    [words(0, 0, 0, 0, 0, 0, 0, 0), '::'],
    [words(0, 0, 0, 0, 0, 0, 0, 1), '::1'],
    [words(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304), '::ffff:1.2.3.4'],
    [words(1, 0, 0, 0, 0, 0, 0, 0), '1::'],
    [words(1, 0, 0, 1, 0, 0, 0, 1), '1:0:0:1::1'],
    [words(0xfe80, 0, 0, 0, 0, 0, 0, 1), 'fe80::1'],
    [words(1, 0, 1, 1, 1, 1, 1, 1), '1:0:1:1:1:1:1:1'],
    [words(1, 0, 0, 1, 1, 0, 0, 1), '1::1:1:0:0:1'],
    [words(0x2001, 0xdb8, 0, 0, 0, 0, 0xabcd, 0xef), '2001:db8::abcd:ef'],
    [words(0, 0, 0, 0, 0, 0, 0x0102, 0x0304), '::1.2.3.4'],
    [words(0, 0, 0, 0, 0, 0, 0, 2), '::2'],
    [words(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];

  for (const [bytes, text] of cases) {
    it(`writes ${text} as glibc inet_ntop does`, () => {
      assert.equal(formatIPv6(bytes), text);
      assert.equal(nodeFormat(bytes), text, 'Node agrees');
    });
  }

  it('reads at an offset', () => {
    const b = new Uint8Array(24);
    b.set(words(0xfe80, 0, 0, 0, 0, 0, 0, 1), 8);
    assert.equal(formatIPv6(b, 8), 'fe80::1');
  });

  // Biased toward zero and 0xffff words, so that runs, ties and the IPv4 forms all come up.
  const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));
  const ipv6 = fc.oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.array(word, { minLength: 8, maxLength: 8 }).map((w) => words(...w)),
  );

  it('random addresses round-trip through formatIPv6 -> parseIPv6, matching Node (property)', () => {
    fc.assert(fc.property(ipv6, (b) => {
      const text = formatIPv6(b);
      assert.equal(text, nodeFormat(b));
      assert.deepEqual(parseIPv6(text), b);
    }), { numRuns: 3000 });
  });
});

describe('sockaddr encode/decode', () => {
  it('AF_INET: exact layout and round trip', () => {
    const buf = sa();
    buf.fill(0xee);
    const len = encodeInet(buf, parseIPv4('127.0.0.1')!, 8080);
    assert.equal(len, SOCKADDR_IN_SIZE);
    assert.deepEqual([...buf.subarray(0, 16)], [C.AF_INET, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(sockaddrFamily(buf), C.AF_INET);
    assert.deepEqual(decodeSockaddr(buf, len), ['127.0.0.1', 8080]);
  });

  it('AF_INET6: exact layout (flowinfo big-endian, scope id host order) and round trip', () => {
    const buf = sa();
    buf.fill(0xee);
    const len = encodeInet6(buf, parseIPv6('fe80::1')!, 443, 0x12345, 7);
    assert.equal(len, SOCKADDR_IN6_SIZE);
    assert.deepEqual([...buf.subarray(0, 8)], [C.AF_INET6, 0, 0x01, 0xbb, 0x00, 0x01, 0x23, 0x45]);
    assert.deepEqual([...buf.subarray(8, 24)], [...words(0xfe80, 0, 0, 0, 0, 0, 0, 1)]);
    assert.deepEqual([...buf.subarray(24, 28)], [7, 0, 0, 0]);
    assert.equal(sockaddrFamily(buf), C.AF_INET6);
    assert.deepEqual(decodeSockaddr(buf, len), ['fe80::1', 443, 0x12345, 7]);
  });

  it('AF_INET6 defaults flowinfo and scope id to 0', () => {
    const buf = sa();
    buf.fill(0xee);
    const len = encodeInet6(buf, parseIPv6('::1')!, 0);
    assert.deepEqual(decodeSockaddr(buf, len), ['::1', 0, 0, 0]);
  });

  it('AF_UNIX: a regular path is NUL-terminated and decodes back', () => {
    const buf = sa();
    buf.fill(0xee);
    const path = '/tmp/asyncore-ü.sock';
    const bytes = Buffer.from(path);
    const len = encodeUnix(buf, bytes);
    assert.equal(len, 2 + bytes.length);
    assert.equal(buf[2 + bytes.length], 0, 'terminating NUL');
    assert.equal(sockaddrFamily(buf), C.AF_UNIX);
    assert.equal(decodeSockaddr(buf, len), path);
    // The kernel reports the length with the NUL included; the NUL is not part of the path.
    assert.equal(decodeSockaddr(buf, len + 1), path);
  });

  it('AF_UNIX: an abstract name keeps its leading NUL and exact length', () => {
    const buf = sa();
    buf.fill(0xee);
    const name = '\0asyncore\0inner';
    const len = encodeUnix(buf, Buffer.from(name));
    assert.equal(len, 2 + name.length);
    assert.equal(decodeSockaddr(buf, len), name);
  });

  it('AF_UNIX: an unnamed socket decodes as the empty string', () => {
    const buf = sa();
    const len = encodeUnix(buf, new Uint8Array(0));
    assert.equal(len, 2);
    assert.equal(decodeSockaddr(buf, len), '');
    assert.equal(decodeSockaddr(buf, 0), '');
  });

  it('AF_UNIX: a path that does not fit sun_path is -1', () => {
    const buf = sa();
    const max = C.UNIX_PATH_MAX;
    assert.equal(encodeUnix(buf, Buffer.alloc(max - 1, 'a')), 2 + max - 1);
    assert.equal(decodeSockaddr(buf, 2 + max), 'a'.repeat(max - 1));
    assert.equal(encodeUnix(buf, Buffer.alloc(max, 'a')), -1, 'no room for the NUL');
    assert.equal(encodeUnix(buf, Buffer.alloc(max + 50, 'a')), -1);
    const abstract = Buffer.alloc(max, 'b');
    abstract[0] = 0;
    assert.equal(encodeUnix(buf, abstract), 2 + max, 'abstract names need no NUL');
    assert.equal(encodeUnix(buf, Buffer.concat([abstract, Buffer.from('b')])), -1);
  });

  it('an unknown family is a TypeError', () => {
    const buf = sa();
    buf[0] = 99;
    assert.throws(() => decodeSockaddr(buf, 16), TypeError);
  });

  const port = fc.integer({ min: 0, max: 65535 });

  it('random AF_INET sockaddrs round-trip (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), port, (ip, p) => {
      const buf = sa();
      const host = formatIPv4(ip);
      const len = encodeInet(buf, parseIPv4(host)!, p);
      assert.deepEqual(decodeSockaddr(buf, len), [host, p]);
    }), { numRuns: 1000 });
  });

  it('random AF_INET6 sockaddrs round-trip with port, flowinfo and scope id (property)', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }), port,
      fc.integer({ min: 0, max: 0xfffff }), fc.integer({ min: 0, max: 0xffffffff }),
      (ip, p, flow, scope) => {
        const buf = sa();
        const host = formatIPv6(ip);
        const len = encodeInet6(buf, parseIPv6(host)!, p, flow, scope);
        assert.deepEqual(decodeSockaddr(buf, len), [host, p, flow, scope]);
      }), { numRuns: 1000 });
  });
});
