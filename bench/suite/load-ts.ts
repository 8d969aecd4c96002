// The fallback load generator, used only where no C compiler is found: the same command line,
// modes and JSON output as bench/c/load.c, written on the package's own raw sockets (Socket's
// connectEx/sendRaw/recvRaw) and epoll(7) through src/sys/libc.ts. It costs more CPU per
// message than the C client, so against the fastest servers it may be the bottleneck; the
// runner says so in its notes.
//
//   node --import tsx bench/suite/load-ts.ts -p port [-m pingpong|bulk|connect] [-c conns] [-s size]
//        [-i idle] [-d secs] [-w warmup] [-W window] [-P server-pid] [-R]
import { readFileSync } from 'node:fs';
import { Socket } from '../../src/io/socket.js';
import { C } from '../../src/sys/constants.js';
import { EAGAIN, EINPROGRESS } from '../../src/sys/errno.js';
import * as libc from '../../src/sys/libc.js';

const CHUNK = 65536;
const HIST = 100000;

const opts: Record<string, string> = {};
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i]!.replace(/^-/, '');
  if (k === 'R') opts.R = '1';
  else opts[k] = process.argv[++i] ?? '';
}
const rst = opts.R === '1';
// struct linger { int l_onoff = 1; int l_linger = 0; }: close() sends RST, leaving no TIME_WAIT.
const LINGER_RST = new Uint8Array(new Int32Array([1, 0]).buffer);
const port = Number(opts.p ?? 0);
const mode = opts.m ?? 'pingpong';
const nconns = Number(opts.c ?? 50);
const size = Number(opts.s ?? 64);
const nidle = Number(opts.i ?? 0);
const secs = Number(opts.d ?? 3);
const warm = Number(opts.w ?? 1);
const window = Number(opts.W ?? 4 << 20);
const serverPid = Number(opts.P ?? 0);
if (!port || !(nconns >= 1) || !(size >= 1 && size <= CHUNK) || !['pingpong', 'bulk', 'connect'].includes(mode)) {
  process.stderr.write('usage: load-ts -p port [-m pingpong|bulk|connect] [-c conns] [-s size] [-i idle] [-d secs] [-w warmup] [-W window] [-P server-pid] [-R]\n');
  process.exit(2);
}

const msg = Buffer.alloc(CHUNK);
for (let i = 0; i < CHUNK; i++) msg[i] = (i + 1) % 64 === 0 ? 0x0a : 0x61 + (i % 26);
if (size % 64 !== 0) msg[size - 1] = 0x0a;
const msgView = msg.subarray(0, size);

const EV = C.EPOLL_EVENT_SIZE;
const DATA = EV - 8;
const MAXEV = 1024;
const events = new Uint8Array(MAXEV * EV);
const eventsView = new DataView(events.buffer);
const ctlBuf = new Uint8Array(EV);
const ctlView = new DataView(ctlBuf.buffer);

function epollCtl(epfd: number, op: number, fd: number, ev: number): void {
  ctlView.setUint32(0, ev, true);
  ctlView.setInt32(DATA, fd, true);
  libc.epollCtl(epfd, op, fd, ctlBuf);
}

/** [user + system, user] CPU seconds of process `pid` (0: this one). */
function cpuSeconds(pid: number): [number, number] {
  if (pid === 0) {
    const u = process.cpuUsage();
    return [(u.user + u.system) / 1e6, u.user / 1e6];
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [(Number(f[11]) + Number(f[12])) / 100, Number(f[11]) / 100]; // USER_HZ is 100 on Linux
  } catch {
    return [-1, -1];
  }
}

function newSocket(): Socket {
  const s = new Socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK);
  s.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, 1);
  const e = s.connectEx(['127.0.0.1', port]);
  if (e !== 0 && e !== EINPROGRESS) throw new Error(`connect: errno ${e}`);
  return s;
}

function now(): number {
  return performance.now();
}

// ---- idle connections: opened in waves, each proven accepted by a 1-byte echo ----
const idle: Socket[] = [];
{
  const ep = libc.epollCreate1(C.EPOLL_CLOEXEC);
  const byFd = new Map<number, Socket>();
  const x = Buffer.from('x');
  for (let base = 0; base < nidle; base += 256) {
    const wave = Math.min(256, nidle - base);
    let left = wave;
    for (let i = 0; i < wave; i++) {
      const s = newSocket();
      idle.push(s);
      byFd.set(s.fileno(), s);
      epollCtl(ep, C.EPOLL_CTL_ADD, s.fileno(), C.EPOLLOUT);
    }
    const deadline = now() + 60000;
    while (left > 0) {
      if (now() > deadline) throw new Error(`the server did not accept idle connections ${base}.. within 60 s`);
      const k = libc.epollWait(ep, events, MAXEV, 100);
      for (let j = 0; j < k; j++) {
        const e = eventsView.getUint32(j * EV, true);
        const fd = eventsView.getInt32(j * EV + DATA, true);
        const s = byFd.get(fd)!;
        if (e & C.EPOLLOUT) {
          if (s.sendRaw(x, 0) !== 1) throw new Error('an idle connection failed');
          epollCtl(ep, C.EPOLL_CTL_MOD, fd, C.EPOLLIN);
        } else if (e & C.EPOLLIN) {
          const r = s.recvRaw(1, 0);
          if (typeof r === 'number' || r.length !== 1) throw new Error('an idle connection was closed by the server');
          epollCtl(ep, C.EPOLL_CTL_DEL, fd, 0);
          left--;
        }
      }
    }
  }
  libc.close(ep);
}

// ---- the measured connections ----
interface Conn { sock: Socket; fd: number; sent: number; recvd: number; out: number; in: number; t0: number; interest: number }
const epfd = libc.epollCreate1(C.EPOLL_CLOEXEC);
const conns: (Conn | undefined)[] = [];
let ops = 0, bytes = 0, errors = 0, firstError = '', counting = false;
const hist = new Uint32Array(HIST + 1);

function fail(why: string): void {
  if (errors++ === 0) firstError = why;
}

function setInterest(c: Conn, ev: number): void {
  if (c.interest === ev) return;
  epollCtl(epfd, c.interest ? C.EPOLL_CTL_MOD : C.EPOLL_CTL_ADD, c.fd, ev);
  c.interest = ev;
}

function openConn(): void {
  let sock: Socket;
  try {
    sock = newSocket();
  } catch {
    fail('connect');
    return;
  }
  const c: Conn = { sock, fd: sock.fileno(), sent: 0, recvd: 0, out: 0, in: 0, t0: 0, interest: 0 };
  conns[c.fd] = c;
  setInterest(c, C.EPOLLOUT);
}

function closeConn(c: Conn): void {
  conns[c.fd] = undefined;
  c.sock.close();
}

function reopen(c: Conn, why: string): void {
  fail(why);
  closeConn(c);
  openConn();
}

/** 1: all sent, 0: socket full, -1: error. */
function sendMsg(c: Conn): number {
  if (c.sent === 0 && counting) c.t0 = now();
  while (c.sent < size) {
    const k = c.sock.sendRaw(c.sent === 0 ? msgView : msgView.subarray(c.sent), 0);
    if (k < 0) return k === -EAGAIN ? 0 : -1;
    c.sent += k;
  }
  return 1;
}

function record(c: Conn): void {
  if (!counting) return;
  ops++;
  const us = Math.floor((now() - c.t0) * 1000);
  hist[us < HIST ? us : HIST]!++;
}

/** Read what is missing of the current echo; true when it is complete. */
function readEcho(c: Conn): boolean | null {
  const r = c.sock.recvRaw(size - c.recvd, 0);
  if (typeof r === 'number') {
    if (r === -EAGAIN) return false;
    reopen(c, 'recv failed');
    return null;
  }
  if (r.length === 0) {
    reopen(c, 'server closed a connection');
    return null;
  }
  c.recvd += r.length;
  return c.recvd === size;
}

function onPingpong(c: Conn, e: number): void {
  if (e & C.EPOLLIN) {
    const done = readEcho(c);
    if (!done) return;
    record(c);
    c.sent = c.recvd = 0;
  } else if (!(e & (C.EPOLLOUT | C.EPOLLERR | C.EPOLLHUP))) {
    return;
  }
  const r = sendMsg(c);
  if (r < 0) reopen(c, 'send failed');
  else setInterest(c, r ? C.EPOLLIN : C.EPOLLOUT);
}

function onConnect(c: Conn, e: number): void {
  if (e & C.EPOLLIN) {
    const done = readEcho(c);
    if (!done) return;
    record(c);
    if (rst) c.sock.setsockopt(C.SOL_SOCKET, C.SO_LINGER, LINGER_RST);
    closeConn(c);
    openConn();
    return;
  }
  const r = sendMsg(c);
  if (r < 0) reopen(c, 'connect or send failed');
  else setInterest(c, r ? C.EPOLLIN : C.EPOLLOUT);
}

function onBulk(c: Conn, e: number): void {
  if (e & C.EPOLLIN) {
    const r = c.sock.recvRaw(CHUNK, 0);
    if (typeof r === 'number') {
      if (r !== -EAGAIN) return reopen(c, 'recv failed');
    } else if (r.length === 0) {
      return reopen(c, 'server closed a connection');
    } else {
      c.in += r.length;
      if (counting) bytes += r.length;
    }
  }
  let blocked = false;
  while (c.out - c.in < window) {
    const off = c.out % CHUNK;
    const k = c.sock.sendRaw(off === 0 ? msg : msg.subarray(off), 0);
    if (k < 0) {
      if (k === -EAGAIN) { blocked = true; break; }
      return reopen(c, 'send failed');
    }
    c.out += k;
  }
  setInterest(c, C.EPOLLIN | (blocked ? C.EPOLLOUT : 0));
}

for (let i = 0; i < nconns; i++) openConn();
const handler = mode === 'pingpong' ? onPingpong : mode === 'connect' ? onConnect : onBulk;
let t = now();
const warmEnd = t + warm * 1000, end = warmEnd + secs * 1000;
let start = t, scpu0: [number, number] = [0, 0], ccpu0 = 0;
while (t < end) {
  const n = libc.epollWait(epfd, events, MAXEV, 10);
  for (let i = 0; i < n; i++) {
    const e = eventsView.getUint32(i * EV, true);
    const c = conns[eventsView.getInt32(i * EV + DATA, true)];
    if (c) handler(c, e);
  }
  t = now();
  if (!counting && t >= warmEnd) {
    counting = true;
    start = t;
    errors = 0;
    firstError = '';
    scpu0 = serverPid ? cpuSeconds(serverPid) : [0, 0];
    ccpu0 = cpuSeconds(0)[0];
  }
}
const el = (t - start) / 1000;
let p50 = 0, p99 = 0, seen = 0;
for (let us = 0; us <= HIST && ops; us++) {
  seen += hist[us]!;
  if (!p50 && seen * 2 >= ops) p50 = us || 1;
  if (seen * 100 >= ops * 99) { p99 = us || 1; break; }
}
if (mode === 'bulk') ops = Math.floor(bytes / CHUNK);
const scpu1 = serverPid ? cpuSeconds(serverPid) : [0, 0];
const measured = serverPid > 0 && scpu0[0] >= 0 && scpu1[0]! >= 0;
process.stdout.write(JSON.stringify({
  mode, conns: nconns, idle: nidle, size, secs: el, ops, rate: el > 0 ? ops / el : 0, bytes,
  mbps: el > 0 ? bytes / el / 1e6 : 0, p50_us: p50, p99_us: p99,
  server_cpu: measured ? (scpu1[0]! - scpu0[0]) / el : -1,
  server_user: measured ? (scpu1[1]! - scpu0[1]) / el : -1,
  client_cpu: (cpuSeconds(0)[0] - ccpu0) / el, errors, error: firstError,
}) + '\n');
for (const c of conns) if (c) c.sock.close();
for (const s of idle) s.close();
libc.close(epfd);
process.exit((ops > 0 || bytes > 0) && errors === 0 ? 0 : 1);
