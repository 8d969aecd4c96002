// `asyncore/chat`: Python's asynchat.
export { AsyncChat, SimpleProducer, findPrefixAtEnd } from '../channels/chat.js';
export type { Producer, Terminator } from '../channels/chat.js';
export { UnicodeEncodeError } from '../channels/encoding.js';
