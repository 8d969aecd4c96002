// `asyncore/socket`: the slice of Python's socket module that asyncore programs use.
export * from '../constants.js';
export { Socket, socketpair, pipe, closeFd } from '../io/socket.js';
export type { Address } from '../io/socket.js';
export { SocketError, BlockingIOError } from '../errors.js';
