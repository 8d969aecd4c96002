// The public surface of the package: Python's asyncore and asynchat, camelCased.
export * from './constants.js';
export { Socket, socketpair, pipe, closeFd } from './socket.js';
export type { Address } from './socket.js';
export { SocketError, BlockingIOError } from './errors.js';
export {
  socketMap, loop, poll, poll2, poll3, read, write, exception, readwrite, closeAll,
  compactTraceback, ExitNow, choosePoller,
} from './loop.js';
export type { SocketMap, LoopOptions, PollerName, Channel, ReadTarget, WriteTarget, ExptTarget, RWTarget } from './loop.js';
export { loopAsync } from './loop-async.js';
export { callLater, callEvery, monotonic, setTimerErrorHandler } from './scheduler.js';
export type { TimerHandle, TimerErrorHandler } from './scheduler.js';
export { Dispatcher, DispatcherWithSend } from './dispatcher.js';
export type { DispatcherSocket } from './dispatcher.js';
export { FileWrapper, FileDispatcher } from './file.js';
export { AsyncChat, SimpleProducer, findPrefixAtEnd } from './chat.js';
export type { Producer, Terminator } from './chat.js';
