// `asyncore/socket`: the slice of Python's socket module that asyncore programs use.
export * from '../constants.js';
export { Socket, pipe, closeFd } from '../io/socket.js';
export { socketpair } from '../io/pair.js';
export type { Address } from '../io/socket.js';
export { SocketError, BlockingIOError } from '../errors.js';
export {
  getaddrinfo, createConnection, createServer, gethostname, inetPton, inetNtop,
  AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, AI_V4MAPPED, AI_ALL, AI_ADDRCONFIG,
} from '../io/net.js';
export type { AddrInfoTuple, CreateServerOptions } from '../io/net.js';
