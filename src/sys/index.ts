// The system layer's surface for the rest of the package.
export * as libc from './libc.js';
export { C } from './constants.js';
export type { PlatformConstants } from './constants.js';
export * from './errno.js';
export * from './sockaddr.js';
export { injectFault, clearFaults, pendingFaults } from './faults.js';
