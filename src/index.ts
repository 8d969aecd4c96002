// The public surface of the package.
export * from './constants.js';
export { Socket, socketpair, pipe, closeFd, SocketError, BlockingIOError } from './socket.js';
export type { Address } from './socket.js';
