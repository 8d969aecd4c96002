// The public constants: socket numbers from the platform table, errno from Node.
import { C } from './sys/constants.js';

export { errno } from './sys/errno.js';

// The address families as (widening) literals, their values on Linux: `new Socket(AF_INET)` is
// a Socket<2> whose getsockname() is typed [host, port], while `let f = AF_INET` is a number.
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_UNIX = 1;
if (C.AF_INET !== AF_INET || C.AF_INET6 !== AF_INET6 || C.AF_UNIX !== AF_UNIX) {
  throw new Error('asyncore: this platform numbers AF_INET/AF_INET6/AF_UNIX differently; its constants table needs literal types of its own');
}

export const {
  AF_UNSPEC, SOCK_STREAM, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_CLOEXEC,
  SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_SNDBUF,
  SO_TYPE, SO_BROADCAST, SO_OOBINLINE, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6,
  TCP_NODELAY, IPV6_V6ONLY, MSG_OOB, MSG_PEEK, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_WAITALL,
  SHUT_RD, SHUT_WR, SHUT_RDWR, POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL,
} = C;
