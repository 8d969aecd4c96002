// The output bounds DispatcherWithSend and AsyncChat share (beyond CPython): the default
// high-water mark, and what happens past the hard cap.
import type { Dispatcher } from './dispatcher.js';

/** **(beyond)** Default `outHighWater`: 1 MiB queued stops reading until it drains. */
export const OUT_HIGH_WATER = 1048576;

/**
 * A channel's queue (already dropped by the caller: that memory is the point) went past its
 * outHardCap: log why, IRC's "SendQ exceeded", and close it.
 */
export function sendQExceeded(ch: Dispatcher, size: number, cap: number): void {
  ch.logInfo(`SendQ exceeded: ${size} bytes queued for ${ch.toString()} (outHardCap ${cap}); ` +
    'the peer is not reading: closing the channel', 'error');
  ch.handleClose();
}
