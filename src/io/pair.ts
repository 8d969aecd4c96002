// socketpair(): Python's socket.socketpair, two connected Sockets on descriptors made here.
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { EINVAL, errno as errnoTable } from '../sys/errno.js';
import { socketError } from '../errors.js';
import { requireInt } from '../validate.js';
import { Socket } from './socket.js';

/** A connected pair of sockets (AF_UNIX by default). */
export function socketpair<F extends number = 1>(family: F = C.AF_UNIX as F, type: number = C.SOCK_STREAM, proto = 0): [Socket<F>, Socket<F>] {
  requireInt(family, 'socketpair(): family');
  requireInt(type, 'socketpair(): type');
  requireInt(proto, 'socketpair(): proto');
  const fds = new Int32Array(2);
  const r = libc.socketpair(family, type | C.SOCK_CLOEXEC, proto, fds);
  if (r < 0) {
    const unsupported = -r === EINVAL || -r === errnoTable.EAFNOSUPPORT || -r === errnoTable.EOPNOTSUPP || -r === errnoTable.EPROTONOSUPPORT;
    throw socketError(-r, 'socketpair', undefined, unsupported ? 'use AF_UNIX with SOCK_STREAM or SOCK_DGRAM' : undefined);
  }
  const nonblocking = (type & C.SOCK_NONBLOCK) !== 0;
  return [new Socket(family, type, proto, { fd: fds[0]!, nonblocking }), new Socket(family, type, proto, { fd: fds[1]!, nonblocking })];
}
