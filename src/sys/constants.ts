// Per-platform constants. Node's os.constants has no socket numbers, so these are the one
// hand-written table in the package; another platform is one more entry in PLATFORMS.
import os from 'node:os';

export interface PlatformConstants {
  AF_UNSPEC: number; AF_UNIX: number; AF_INET: number; AF_INET6: number;
  SOCK_STREAM: number; SOCK_DGRAM: number; SOCK_NONBLOCK: number; SOCK_CLOEXEC: number;
  SOL_SOCKET: number; SO_REUSEADDR: number; SO_REUSEPORT: number; SO_ERROR: number;
  SO_KEEPALIVE: number; SO_LINGER: number; SO_RCVBUF: number; SO_SNDBUF: number;
  SO_TYPE: number; SO_BROADCAST: number; SO_OOBINLINE: number;
  IPPROTO_IP: number; IPPROTO_TCP: number; IPPROTO_UDP: number; IPPROTO_IPV6: number;
  TCP_NODELAY: number; IPV6_V6ONLY: number;
  MSG_OOB: number; MSG_PEEK: number; MSG_DONTWAIT: number; MSG_NOSIGNAL: number; MSG_WAITALL: number;
  SHUT_RD: number; SHUT_WR: number; SHUT_RDWR: number;
  AI_PASSIVE: number; AI_NUMERICHOST: number; AI_NUMERICSERV: number;
  F_GETFL: number; F_SETFL: number; F_GETFD: number; F_SETFD: number; F_DUPFD_CLOEXEC: number;
  FD_CLOEXEC: number; O_NONBLOCK: number; O_CLOEXEC: number;
  POLLIN: number; POLLPRI: number; POLLOUT: number; POLLERR: number; POLLHUP: number; POLLNVAL: number;
  EPOLLIN: number; EPOLLPRI: number; EPOLLOUT: number; EPOLLERR: number; EPOLLHUP: number;
  EPOLL_CTL_ADD: number; EPOLL_CTL_DEL: number; EPOLL_CTL_MOD: number; EPOLL_CLOEXEC: number;
  FD_SETSIZE: number;
  /** sizeof(struct epoll_event): packed (12) on x86-64, naturally aligned (16) elsewhere. */
  EPOLL_EVENT_SIZE: number;
  SOCKADDR_STORAGE_SIZE: number;
  /** sizeof(sun_path) in struct sockaddr_un. */
  UNIX_PATH_MAX: number;
  /** Offsets into struct addrinfo (64-bit glibc). */
  AI_OFF: { flags: number; family: number; socktype: number; protocol: number; addrlen: number; addr: number; next: number; size: number };
  /** glibc's getaddrinfo error codes (negative, as Python's socket.gaierror.errno). */
  EAI: Record<string, number>;
  /** errno names Node's os.constants.errno leaves out (ESHUTDOWN among them). */
  ERRNO_EXTRA: Record<string, number>;
}

// Linux generic socket ABI, shared by x86-64 and arm64 (asm-generic).
const linuxCommon: Omit<PlatformConstants, 'EPOLL_EVENT_SIZE'> = {
  AF_UNSPEC: 0, AF_UNIX: 1, AF_INET: 2, AF_INET6: 10,
  SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_NONBLOCK: 0o4000, SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1, SO_REUSEADDR: 2, SO_REUSEPORT: 15, SO_ERROR: 4, SO_KEEPALIVE: 9, SO_LINGER: 13,
  SO_RCVBUF: 8, SO_SNDBUF: 7, SO_TYPE: 3, SO_BROADCAST: 6, SO_OOBINLINE: 10,
  IPPROTO_IP: 0, IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_IPV6: 41,
  TCP_NODELAY: 1, IPV6_V6ONLY: 26,
  MSG_OOB: 1, MSG_PEEK: 2, MSG_DONTWAIT: 0x40, MSG_NOSIGNAL: 0x4000, MSG_WAITALL: 0x100,
  SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2,
  AI_PASSIVE: 1, AI_NUMERICHOST: 4, AI_NUMERICSERV: 0x400,
  F_GETFL: 3, F_SETFL: 4, F_GETFD: 1, F_SETFD: 2, F_DUPFD_CLOEXEC: 1030,
  FD_CLOEXEC: 1, O_NONBLOCK: 0o4000, O_CLOEXEC: 0o2000000,
  POLLIN: 1, POLLPRI: 2, POLLOUT: 4, POLLERR: 8, POLLHUP: 16, POLLNVAL: 32,
  EPOLLIN: 1, EPOLLPRI: 2, EPOLLOUT: 4, EPOLLERR: 8, EPOLLHUP: 16,
  EPOLL_CTL_ADD: 1, EPOLL_CTL_DEL: 2, EPOLL_CTL_MOD: 3, EPOLL_CLOEXEC: 0o2000000,
  FD_SETSIZE: 1024,
  SOCKADDR_STORAGE_SIZE: 128,
  UNIX_PATH_MAX: 108,
  AI_OFF: { flags: 0, family: 4, socktype: 8, protocol: 12, addrlen: 16, addr: 24, next: 40, size: 48 },
  EAI: {
    EAI_BADFLAGS: -1, EAI_NONAME: -2, EAI_AGAIN: -3, EAI_FAIL: -4, EAI_NODATA: -5, EAI_FAMILY: -6,
    EAI_SOCKTYPE: -7, EAI_SERVICE: -8, EAI_ADDRFAMILY: -9, EAI_MEMORY: -10, EAI_SYSTEM: -11,
    EAI_OVERFLOW: -12,
  },
  // Linux's asm-generic numbers (identical on x86-64 and arm64) that libuv does not export.
  ERRNO_EXTRA: {
    ENOTBLK: 15, EDEADLOCK: 35, ECHRNG: 44, EL2NSYNC: 45, EL3HLT: 46, EL3RST: 47, ELNRNG: 48,
    EUNATCH: 49, ENOCSI: 50, EL2HLT: 51, EBADE: 52, EBADR: 53, EXFULL: 54, ENOANO: 55,
    EBADRQC: 56, EBADSLT: 57, EBFONT: 59, ENONET: 64, ENOPKG: 65, EREMOTE: 66, EADV: 68,
    ESRMNT: 69, ECOMM: 70, EDOTDOT: 73, ENOTUNIQ: 76, EBADFD: 77, EREMCHG: 78, ELIBACC: 79,
    ELIBBAD: 80, ELIBSCN: 81, ELIBMAX: 82, ELIBEXEC: 83, ERESTART: 85, ESTRPIPE: 86, EUSERS: 87,
    ESOCKTNOSUPPORT: 94, EPFNOSUPPORT: 96, ESHUTDOWN: 108, ETOOMANYREFS: 109, EHOSTDOWN: 112,
    EUCLEAN: 117, ENOTNAM: 118, ENAVAIL: 119, EISNAM: 120, EREMOTEIO: 121, ENOMEDIUM: 123,
    EMEDIUMTYPE: 124, ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128, EKEYREJECTED: 129,
    EOWNERDEAD: 130, ENOTRECOVERABLE: 131, ERFKILL: 132,
  },
};

const PLATFORMS: Record<string, PlatformConstants> = {
  'linux-x64': { ...linuxCommon, EPOLL_EVENT_SIZE: 12 },
  'linux-arm64': { ...linuxCommon, EPOLL_EVENT_SIZE: 16 },
};

const key = `${os.platform()}-${os.arch()}`;
const table = PLATFORMS[key];
if (!table) {
  throw new Error(`asyncore: unsupported platform ${key}; supported: ${Object.keys(PLATFORMS).join(', ')}`);
}

/** The constants of the platform this process runs on. */
export const C: PlatformConstants = table;
