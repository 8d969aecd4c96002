// `asyncore/chat`: Python's asynchat.
export { AsyncChat, SimpleProducer, findPrefixAtEnd } from '../chat.js';
export type { Producer, Terminator } from '../chat.js';
