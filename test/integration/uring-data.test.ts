// The uring poller's data path (issue 15): connected non-blocking stream sockets served by a
// multishot recv into provided buffers and sends queued on the ring. Byte-exact echo over
// {IPv4, IPv6, Unix}, the fault seam, lingering close and deferred shutdown, the receive
// high-water mark and the send cap, resets, which channels stay on readiness polls (OOB,
// connecting), setblocking(), switching pollers (leftovers), ASYNCORE_URING_DATA=0, detach().
// Skipped, with the reason, where io_uring (or its data path) cannot serve.
import { describe, it, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import {
  checkLeaks, tempDir, hasIPv6, addressFamilies, usePrivateMap, map, FamilyServer, LINGER_RST, runUntil, isOpen, waitFd,
} from '../helpers.js';
import { Chan, IPV4, pass, connected, serve, pusher, drain, keeper, fill } from '../fixtures/uring-data.js';
import {
  Socket, socketpair, loop, loopAsync, callEveryOn, closeAll, closeFd, errno, type PollerName, AF_INET, SOCK_STREAM,
  SOL_SOCKET, SO_LINGER, SHUT_WR, MSG_OOB, MSG_PEEK, POLLIN,
} from '../../src/index.js';
import { createPoller } from '../../src/pollers/create.js';
import { openUring } from '../../src/pollers/uring-open.js';
import { UringPoller } from '../../src/pollers/uring.js';
import { RECV_HIGH_WATER, SEND_CAP } from '../../src/pollers/uring-stream.js';
import { RECV_BUFFER_SIZE } from '../../src/pollers/uring-buffers.js';
import { injectFault, clearFaults, pendingFaults } from '../../src/sys/faults.js';

const res = usePrivateMap();
checkLeaks();

/** Why this file cannot run here, or false. */
function skipReason(): string | false {
  const p = openUring();
  if (typeof p === 'string') return `io_uring unavailable: ${p}`;
  const on = p.dataPath;
  p.close();
  return on ? false : 'the uring data path is off here (ASYNCORE_URING_DATA=0 or no provided-buffer rings)';
}
const SKIP = skipReason();
const v6 = await hasIPv6();
const tmp = tempDir();
after(() => tmp.cleanup());
const FAMILIES = addressFamilies(v6, tmp.dir, 'd');
const U = 'uring' as const;
const until = (pred: () => boolean, what: string, passes = 300, poller: PollerName = U): number => runUntil(pred, poller, what, passes);

const warnings: { code: string; message: string }[] = [];
const onWarning = (w: Error): void => {
  const code = (w as { code?: string }).code ?? '';
  if (code.startsWith('ASYNCORE_URING')) warnings.push({ code, message: w.message });
};
beforeEach(() => void process.on('warning', onWarning));
afterEach(() => {
  process.off('warning', onWarning);
  warnings.length = 0;
  clearFaults();
});

describe('uring data path', { skip: SKIP }, () => {
  for (const fam of FAMILIES) {
    it(`${fam.name}: 1 MiB of random bytes echoed byte-exact, both ends on the data path`, { skip: fam.skip }, () => {
      const payload = randomBytes(1 << 20);
      const [a, b] = connected(fam);
      const server = new Chan(a);
      server.echo = true;
      const client = new Chan(b);
      client.out = payload;
      let both = false;
      until(() => {
        both ||= server.stream !== null && client.stream !== null;
        return client.gotLen >= payload.length;
      }, 'the echo', 3000);
      assert.ok(both, 'both sockets had a UringStream while served');
      assert.ok(client.got.equals(payload), 'byte-exact');
      assert.deepEqual([server.errors, client.errors], [[], []]);
    });
  }

  it('loopAsync({ poller: "uring" }): Node sleeps on the ring, and 1 MiB echoes byte-exact on the data path', async () => {
    const payload = randomBytes(1 << 20);
    const [a, b] = connected(IPV4);
    const server = new Chan(a);
    server.echo = true;
    const client = new Chan(b);
    client.out = payload;
    let both = false;
    let ticks = 0;
    const t = setInterval(() => { ticks++; }, 1); // Node's own timers keep running meanwhile
    // unref'd and cancelled once done: a pending timer keeps a loop alive, and this one kept
    // it running to `count` (20,000 one-millisecond passes, 25 s) after the data was in.
    const done = callEveryOn(map, 0.001, () => {
      both ||= server.stream !== null && client.stream !== null;
      if (client.gotLen < payload.length) return;
      done.cancel();
      closeAll(map);
    }).unref();
    try {
      await loopAsync({ map, timeout: 1, poller: U, count: 20000 });
    } finally {
      clearInterval(t);
      done.cancel();
    }
    assert.ok(both, 'both sockets had a UringStream while served');
    assert.ok(client.got.equals(payload), 'byte-exact');
    assert.ok(ticks > 0, 'Node timers ran between passes');
  });

  it('loopAsync({ poller: "uring" }) waiting in Node wakes for a peer outside the map (the ring signals libuv)', async () => {
    const server = new FamilyServer(IPV4, map, class extends Chan { constructor(s: Socket) { super(s); this.echo = true; } });
    const [host, port] = server.address as [string, number];
    const peer = createConnection({ host, port });
    let echoed = '';
    peer.on('data', (d: Buffer) => {
      echoed += d.toString();
      if (echoed === 'ping') closeAll(map);
    });
    peer.on('connect', () => setTimeout(() => peer.write('ping'), 20)); // written while the loop waits
    let stalled = false;
    const guard = setTimeout(() => { stalled = true; closeAll(map); }, 5000);
    try {
      await loopAsync({ map, timeout: null, poller: U }); // waits in libuv until the ring has news
    } finally {
      clearTimeout(guard);
      peer.destroy();
    }
    assert.equal(stalled, false, 'served only when the guard closed the map: libuv never woke for the ring');
    assert.equal(echoed, 'ping');
  });

  it('recv(), recvInto() and MSG_PEEK serve the queue across provided buffers, byte-exact', () => {
    const payload = randomBytes(40 * 1024); // three 16 KiB provided buffers at least
    const [ch, peer] = serve();
    ch.hold = true;
    peer.send(payload);
    until(() => ch.stream?.queued === payload.length, 'all queued by the ring');
    const s = ch.sock;
    assert.ok(s.recv(10, MSG_PEEK).equals(payload.subarray(0, 10)), 'peek');
    assert.equal(ch.stream?.queued, payload.length, 'a peek consumes nothing');
    const buf = Buffer.alloc(20000);
    assert.equal(s.recvInto(buf), 20000);
    const parts = [buf, s.recv(7), s.recv(1 << 20)];
    assert.ok(Buffer.concat(parts).equals(payload), 'in order, nothing lost or repeated');
    assert.equal(ch.stream?.queued, 0);
    assert.equal(s.recvRaw(100, 0), -errno.EAGAIN!, 'EAGAIN while the recv is armed and nothing is queued');
  });

  it('bytes the peer sent before resetting are read before handleClose, even while sends fail', () => {
    const [ch, peer] = serve();
    ch.out = randomBytes(4 << 20); // the peer never reads: its reset makes the sends fail
    for (let i = 0; i < 5; i++) pass();
    peer.send(Buffer.from('last words'));
    peer.setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RST);
    peer.close();
    until(() => ch.closes > 0, 'handleClose after the reset');
    assert.deepEqual([ch.got.toString(), ch.closes, ch.errors], ['last words', 1, []]);
  });

  it('the fault seam: a recv fault (ECONNRESET) and a send fault (EPIPE) each run handleClose once', () => {
    for (const [call, code] of [['recv', errno.ECONNRESET!], ['send', errno.EPIPE!]] as const) {
      const [a, b] = socketpair();
      res.sockets.push(b);
      const ch = new Chan(a);
      pass();
      assert.ok(ch.stream !== null, 'served by the data path');
      injectFault(call, code);
      if (call === 'recv') b.send(Buffer.from('x'));
      else ch.out = Buffer.from('hello');
      until(() => ch.closes > 0, `handleClose after the ${call} fault`);
      for (let i = 0; i < 3; i++) loop({ map, timeout: 0, count: 1, poller: U });
      assert.equal(pendingFaults(call), 0, 'the data path consumed the fault');
      assert.deepEqual([ch.closes, ch.errors, ch.gotLen], [1, [], 0]);
      b.setblocking(false);
      const got: Buffer[] = [];
      assert.ok(drain(b, got), 'the peer sees EOF');
      assert.equal(Buffer.concat(got).length, 0, 'the faulted send sent nothing');
    }
  });

  it('close() with sends queued lingers: the peer reads every accepted byte, then EOF; the fd closes after', () => {
    keeper();
    const [ch, peer] = serve(IPV4, true);
    pass();
    const payload = randomBytes(200 * 1024);
    const sent = fill(ch, payload);
    const fd = ch.sock.fileno();
    ch.close();
    assert.ok(isOpen(fd), 'the descriptor stays open while sends are queued');
    const got: Buffer[] = [];
    until(() => drain(peer, got), 'EOF at the peer', 1000);
    assert.ok(Buffer.concat(got).equals(payload.subarray(0, sent)), 'every accepted byte, in order');
    assert.ok(!isOpen(fd), 'closed once the queue was out');
  });

  it('close() with nothing queued cancels the recv first: the peer sees EOF at once, with no pass', () => {
    keeper();
    const [ch, peer] = serve();
    pass();
    assert.ok(ch.stream !== null && ch.stream.recvLive > 0, 'a multishot recv is armed');
    ch.close();
    assert.ok((waitFd(peer.fileno(), POLLIN, 1000) & POLLIN) !== 0, 'the FIN arrived');
    assert.ok(drain(peer, []), 'EOF');
  });

  it('close() with sends queued as the map empties: ASYNCORE_URING_UNSENT names the bytes the peer never gets', async () => {
    const [ch, peer] = serve(IPV4, true);
    pass();
    const payload = randomBytes(200 * 1024);
    const sent = fill(ch, payload);
    const fd = ch.sock.fileno();
    ch.close(); // the map empties: the ring closes with the sends still queued
    assert.ok(!isOpen(fd), 'the ring closed the lingering descriptor');
    const got: Buffer[] = [];
    for (let i = 0; i < 200 && !drain(peer, got); i++) waitFd(peer.fileno(), POLLIN, 10);
    await tick();
    const w = warnings.filter((x) => x.code === 'ASYNCORE_URING_UNSENT');
    assert.equal(w.length, 1, 'one warning');
    const lost = Number(/^(\d+) bytes queued by send\(\)/.exec(w[0]!.message)?.[1]);
    const data = Buffer.concat(got);
    assert.ok(lost > 0 && data.length + lost === sent, `received ${data.length} + lost ${lost} = accepted ${sent}`);
    assert.ok(data.equals(payload.subarray(0, data.length)), 'what arrived is an exact prefix');
  });

  it('shutdown(SHUT_WR) with sends queued waits for them: all bytes, then EOF; the channel still receives', () => {
    const [ch, peer] = serve(IPV4, true);
    pass();
    const payload = randomBytes(200 * 1024);
    const sent = fill(ch, payload);
    ch.sock.shutdown(SHUT_WR);
    const got: Buffer[] = [];
    until(() => drain(peer, got), 'EOF at the peer', 1000);
    assert.ok(Buffer.concat(got).equals(payload.subarray(0, sent)), 'every accepted byte before the FIN');
    peer.send(Buffer.from('back'));
    until(() => ch.gotLen === 4, 'data after the half-close');
    assert.equal(ch.got.toString(), 'back');
    peer.close();
    until(() => ch.closes === 1, 'handleClose at the peer\'s EOF');
    assert.deepEqual(ch.errors, []);
  });

  it('back-pressure: readable() false reads nothing ahead while the peer pushes 10 MiB; then all arrive byte-exact', () => {
    const payload = randomBytes(10 << 20);
    const [ch, peer] = serve();
    ch.hold = true;
    peer.send(payload.subarray(0, 1));
    until(() => ch.stream?.queued === 1, 'the first byte queued');
    ch.reading = false;
    pass(); // the recv is cancelled
    const push = pusher(peer, payload, 1);
    for (let i = 0; i < 20; i++) {
      push();
      pass();
      assert.equal(ch.stream?.queued, 1, `pass ${i}: nothing read ahead while readable() is false`);
    }
    assert.ok(push() < payload.length, 'the peer was held back by the kernel');
    ch.reading = true;
    ch.hold = false;
    until(() => push() === payload.length && ch.gotLen === payload.length, 'all 10 MiB', 5000);
    assert.ok(ch.got.equals(payload));
  });

  it('back-pressure: eager reads of a channel that does not read stop near the high-water mark', () => {
    const payload = randomBytes(4 << 20);
    const [ch, peer] = serve();
    ch.hold = true; // readable, but handleRead takes nothing
    const push = pusher(peer, payload);
    for (let i = 0; i < 20; i++) {
      push();
      pass();
      const q = ch.stream?.queued ?? 0;
      assert.ok(q <= RECV_HIGH_WATER + RECV_BUFFER_SIZE, `pass ${i}: ${q} bytes queued (bound ${RECV_HIGH_WATER + RECV_BUFFER_SIZE})`);
    }
    assert.ok((ch.stream?.queued ?? 0) >= RECV_HIGH_WATER / 2, 'it did read ahead');
  });

  it('send() cap: at most SEND_CAP per call, then 0; handleWrite waits for room (no busy loop)', () => {
    const payload = randomBytes(1 << 20);
    const [ch, peer] = serve(IPV4, true);
    ch.reading = false;
    pass();
    let sent = ch.send(payload);
    assert.ok(sent > 0 && sent <= SEND_CAP, `first send() took ${sent}`);
    let zero = false;
    for (let i = 0; i < 50 && !zero; i++) {
      const n = ch.send(payload.subarray(sent));
      sent += n;
      zero = n === 0;
      if (!zero) pass();
    }
    assert.ok(zero, 'send() returns 0 once the stream is full and the peer does not read');
    ch.out = payload.subarray(sent);
    for (let i = 0; i < 20; i++) pass();
    assert.ok(ch.writes <= 2, `handleWrite ran ${ch.writes} times in 20 passes with no room`);
    const got: Buffer[] = [];
    until(() => {
      drain(peer, got);
      return ch.out.length === 0 && Buffer.concat(got).length === payload.length;
    }, 'the whole MiB at the peer', 3000);
    assert.ok(Buffer.concat(got).equals(payload));
    assert.ok(ch.writes > 2);
  });

  for (const side of ['reading', 'writing'] as const) {
    it(`a reset from the peer reaches a ${side} channel as handleClose once, no handleError`, () => {
      const [ch, peer] = serve();
      if (side === 'writing') {
        ch.reading = false;
        ch.out = randomBytes(4 << 20);
      }
      pass();
      assert.ok(ch.stream !== null);
      peer.setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RST);
      peer.close();
      until(() => ch.closes > 0, 'handleClose after RST');
      pass();
      assert.deepEqual([ch.closes, ch.errors], [1, []]);
    });
  }

  it('a channel overriding handleExpt stays on readiness polls and gets MSG_OOB data there', () => {
    const oob: string[] = [];
    class Oob extends Chan {
      override handleExpt(): void {
        oob.push(this.sock.recv(1, MSG_OOB).toString());
      }
    }
    const [a, peer] = connected(IPV4);
    const ch = new Oob(a);
    peer.send(Buffer.from('a'));
    peer.send(Buffer.from('!'), MSG_OOB);
    until(() => oob.length === 1 && ch.gotLen === 1, 'the urgent byte and the data');
    assert.deepEqual([oob, ch.got.toString(), ch.sock._stream], [['!'], 'a', null]);
  });

  it('a connecting client switches to the data path once connected (handleConnect once)', () => {
    for (const fam of FAMILIES.filter((f) => f.skip === false)) {
      const server = new FamilyServer(fam, map, Chan);
      const c = new Chan();
      c.createSocket(fam.family);
      c.connect(server.address);
      c.out = Buffer.from('after connect');
      assert.equal(c.stream, null, 'not while connecting');
      until(() => server.accepted.length === 1, 'accepted');
      const s = server.accepted[0] as Chan;
      s.echo = true;
      until(() => c.gotLen === 13, `${fam.name} echo`);
      assert.equal(c.got.toString(), 'after connect');
      assert.equal(c.connects, 1);
      assert.ok(c.stream !== null && s.stream !== null, 'both ends on the data path');
      assert.equal((server.socket as Socket)._stream, null, 'the listener polls');
      server.close();
      c.close();
      s.close();
    }
  });

  it('setblocking(true) after data was queued: recv() serves the queue first, then the kernel', () => {
    const [ch, peer] = serve();
    ch.hold = true;
    peer.send(Buffer.from('first'));
    until(() => ch.stream?.queued === 5, 'queued by the ring');
    ch.sock.setblocking(true);
    peer.send(Buffer.from('second'));
    ch.sock.settimeout(2); // a bug must fail, not hang
    assert.equal(ch.sock.recv(100).toString(), 'first');
    assert.equal(ch.sock.recv(100).toString(), 'second');
    ch.sock.sendall(Buffer.from('third'));
    const got: Buffer[] = [];
    waitFd(peer.fileno(), POLLIN, 1000);
    drain(peer, got);
    assert.equal(Buffer.concat(got).toString(), 'third');
    ch.sock.setblocking(false); // back on the data path
    ch.hold = false;
    peer.send(Buffer.from('fourth'));
    until(() => ch.gotLen === 6, 'data once non-blocking again');
    assert.ok(ch.got.toString() === 'fourth' && ch.stream !== null);
  });

  it('a channel leaving the map stops reading ahead; back in the map, the same stream reads again', () => {
    keeper();
    const [ch, peer] = serve();
    pass();
    const st = ch.stream;
    assert.ok(st !== null && st.recvLive > 0);
    ch.delChannel();
    peer.send(Buffer.from('late'));
    for (let i = 0; i < 3; i++) pass();
    assert.equal(st.queued, 0, 'nothing read ahead for a channel out of the map');
    assert.ok((waitFd(ch.sock.fileno(), POLLIN, 0) & POLLIN) !== 0, 'the bytes wait in the kernel');
    ch.setSocket(ch.sock, map);
    until(() => ch.gotLen === 4, 'read once back in the map');
    assert.equal(ch.got.toString(), 'late');
    assert.equal(ch.stream, st, 'the same stream');
  });

  it('switching pollers on one map: data the ring queued is delivered by poll and select, and later data too', () => {
    const [ch, peer] = serve();
    ch.hold = true;
    peer.send(Buffer.from('abc'));
    until(() => ch.stream?.queued === 3, 'queued by the ring');
    ch.hold = false;
    until(() => ch.gotLen === 3, 'the leftover through poll', 50, 'poll');
    peer.send(Buffer.from('def'));
    until(() => ch.gotLen === 6, 'later data through select', 50, 'select');
    peer.send(Buffer.from('ghi'));
    until(() => ch.gotLen === 9, 'back on uring', 50, U);
    assert.equal(ch.got.toString(), 'abcdefghi');
    assert.ok(ch.stream !== null);
    ch.hold = true;
    peer.send(Buffer.from('jkl'));
    until(() => ch.stream?.queued === 3, 'queued again');
    ch.hold = false;
    until(() => ch.gotLen === 12, 'the leftover through epoll', 50, 'epoll');
    assert.equal(ch.got.toString(), 'abcdefghijkl');
  });

  it('switching pollers with sends queued: the ring retires, still sending every accepted byte', () => {
    const [ch, peer] = serve(IPV4, true);
    pass();
    const payload = randomBytes(300 * 1024);
    const sent = fill(ch, payload); // the peer is not reading: the ring holds the rest
    assert.ok(ch.stream !== null && ch.stream.unsent > 0, 'sends are queued on the ring');
    const got: Buffer[] = [];
    for (let i = 0; i < 500 && Buffer.concat(got).length < sent; i++) {
      pass('poll'); // another poller serves the map; the retiring ring is serviced each pass
      drain(peer, got);
    }
    assert.ok(Buffer.concat(got).equals(payload.subarray(0, sent)), 'every accepted byte, in order');
    assert.equal(warnings.filter((x) => x.code === 'ASYNCORE_URING_UNSENT').length, 0, 'nothing was dropped');
  });

  it('ASYNCORE_URING_DATA=0: dataPath is false and the echo still works through readiness polls', () => {
    const saved = process.env.ASYNCORE_URING_DATA;
    process.env.ASYNCORE_URING_DATA = '0';
    try {
      const p = createPoller('uring');
      const dataPath = p instanceof UringPoller ? p.dataPath : 'not a UringPoller';
      p.close();
      assert.equal(dataPath, false);
      const [s, b] = serve();
      s.echo = true;
      const payload = randomBytes(256 * 1024);
      const got: Buffer[] = [];
      const push = pusher(b, payload);
      until(() => {
        push();
        drain(b, got);
        assert.equal(s.sock._stream, null, 'no stream with the data path off');
        return Buffer.concat(got).length === payload.length;
      }, 'the echo', 3000);
      assert.ok(Buffer.concat(got).equals(payload));
    } finally {
      if (saved === undefined) delete process.env.ASYNCORE_URING_DATA;
      else process.env.ASYNCORE_URING_DATA = saved;
    }
  });

  it('detach() (a TLS wrap on the same fd) warns ASYNCORE_URING_DISCARDED only when received bytes were queued', async () => {
    for (const early of ['', 'early']) {
      keeper();
      const [ch, peer] = serve();
      ch.hold = true;
      if (early !== '') peer.send(Buffer.from(early));
      until(() => ch.stream !== null && ch.stream.queued === early.length, 'served');
      const fd = ch.sock.detach();
      ch.socket = new Socket(AF_INET, SOCK_STREAM, 0, fd); // as startTls() rewraps the descriptor
      ch.hold = false;
      peer.send(Buffer.from('after'));
      until(() => ch.gotLen === 5, 'data after the wrap');
      assert.equal(ch.got.toString(), 'after', 'the queued bytes were discarded, not served');
      await tick();
      const w = warnings.filter((x) => x.code === 'ASYNCORE_URING_DISCARDED');
      assert.equal(w.length, early === '' ? 0 : 1, `warnings with ${JSON.stringify(early)} queued`);
      if (early !== '') assert.match(w[0]!.message, /^5 bytes received/);
      warnings.length = 0;
      closeAll(map, true);
    }
  });

  it('detach() after the ring closed (data left over for another poller) still warns ASYNCORE_URING_DISCARDED', async () => {
    const [ch, peer] = serve();
    ch.hold = true;
    peer.send(Buffer.from('early'));
    until(() => ch.stream?.queued === 5, 'queued by the ring');
    pass('poll'); // the ring closes; the bytes stay with the socket
    assert.equal(ch.stream?.queued, 5, 'left over');
    ch.delChannel();
    closeFd(ch.sock.detach());
    await tick();
    const w = warnings.filter((x) => x.code === 'ASYNCORE_URING_DISCARDED');
    assert.equal(w.length, 1, 'the 5 left-over bytes were discarded: one warning');
  });
});
