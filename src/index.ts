// The public surface of the package: Python's asyncore and asynchat, camelCased.
export * from './constants.js';
export { Socket, pipe, closeFd } from './io/socket.js';
export { socketpair } from './io/pair.js';
export type { Address, AddressOf, InetAddress, Inet6Address } from './io/socket.js';
export { FileWrapper } from './io/file-wrapper.js';
export type { ChannelSocket } from './io/types.js';
export { SocketError, BlockingIOError, ExitNow } from './errors.js';
export { compactTraceback } from './traceback.js';
export { socketMap } from './reactor/map.js';
export type { SocketMap } from './reactor/map.js';
export { read, write, exception, readwrite } from './reactor/routing.js';
export type { Channel, ReadTarget, WriteTarget, ExptTarget, RWTarget } from './reactor/routing.js';
export { loop, poll, poll2, poll3, closeAll, choosePoller } from './reactor/loop.js';
export type { LoopOptions } from './reactor/loop.js';
export type { PollerName } from './pollers/names.js';
export { loopAsync } from './reactor/loop-async.js';
export { callLater, callEvery, callLaterOn, callEveryOn } from './reactor/schedule.js';
export { monotonic, setTimerErrorHandler } from './reactor/timers.js';
export type { TimerHandle, TimerErrorHandler } from './reactor/timers.js';
export { Dispatcher } from './channels/dispatcher.js';
export type { DispatcherSocket } from './channels/dispatcher.js';
export { DispatcherWithSend } from './channels/with-send.js';
export { FileDispatcher } from './channels/file.js';
export { AsyncChat, SimpleProducer, findPrefixAtEnd } from './channels/chat.js';
export type { Producer, Terminator } from './channels/chat.js';
export { UnicodeEncodeError } from './channels/encoding.js';
export {
  getaddrinfo, createConnection, createServer, gethostname, inetPton, inetNtop,
  AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, AI_V4MAPPED, AI_ALL, AI_ADDRCONFIG,
} from './io/net.js';
export type { AddrInfoTuple, CreateServerOptions } from './io/net.js';
export * from './exports/ssl.js';
