// The structural type of what a Dispatcher drives: the members that Socket, FileWrapper and
// SSLSocket share, so neither the package nor a user's port needs `as Socket`.
import type { Address } from '../sys/sockaddr.js';

/** What `Dispatcher.socket` holds: a Socket, a FileWrapper, an SSLSocket, or your own. */
export interface ChannelSocket {
  fileno(): number;
  close(): void;
  send(data: Uint8Array, flags?: number): number;
  recv(n: number, flags?: number): Buffer;
  setblocking(flag: boolean): void;
  getsockopt(level: number, opt: number): number;
  getsockopt(level: number, opt: number, buflen: number): Buffer;
  setsockopt(level: number, opt: number, value: number | boolean | Uint8Array): void;
  getsockname(): Address;
  getpeername(): Address;
  shutdown(how: number): void;
  bind(addr: Address): void;
  listen(backlog?: number): void;
  accept(): [ChannelSocket, Address];
  connectEx(addr: Address): number;
  /** @internal send(2) without throwing: bytes sent or -errno (the dispatcher's fast path). */
  sendRaw?(data: Uint8Array, flags: number): number;
  /** @internal recv(2) without throwing: a right-sized copy or -errno. */
  recvRaw?(n: number, flags: number): Buffer | number;
}

/**
 * @internal The io_uring data path the `uring` poller attaches to a Socket
 * (src/pollers/uring-stream.ts): received data it already holds, sends it queued on the ring.
 * A `null` answer means "not mine": the Socket makes the system call itself.
 */
export interface SocketStream {
  /** Received data, -errno (-EAGAIN: nothing yet), or null. */
  recv(n: number, flags: number): Buffer | number | null;
  /** Bytes copied into `buf`, -errno, or null. */
  recvInto(buf: Uint8Array, n: number, flags: number): number | null;
  /** Bytes accepted (up to the stream's cap), -errno, or null. */
  send(data: Uint8Array, flags: number): number | null;
  /** True when the shutdown waits for the queued sends (they go out first). */
  shutdown(how: number): boolean;
  /** The Socket gave up `fd`: true when the stream now owns closing it (sends still queued). */
  close(fd: number): boolean;
  /** Stop reading ahead (the socket turns blocking, or `detached`: its descriptor moves on). */
  quiesce(detached: boolean): void;
}
