// Event routing: a handler's exceptions go to the channel's handleError (ExitNow escapes), and
// poll(2) flags become handler calls (CPython's read, write, _exception and readwrite).
import { C } from '../sys/constants.js';
import { DISCONNECTED } from '../sys/errno.js';
import { ExitNow, SocketError } from '../errors.js';
import { typeError } from '../validate.js';
import type { SocketMap } from './map.js';

const { POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL } = C;

/** What a map holds: anything with the handlers a pass calls (Dispatcher and subclasses). */
export interface Channel {
  readable(): boolean;
  writable(): boolean;
  accepting?: boolean;
  /** True while a listener backs off after EMFILE/ENFILE: it is not polled for reading. */
  acceptPaused?: boolean;
  /** A Dispatcher's registered fd (null once it left its map). */
  _fileno?: number | null;
  handleReadEvent(): void;
  handleWriteEvent(): void;
  handleExptEvent(): void;
  handleClose(): void;
  handleError(err: unknown): void;
}

/** What read() needs of a channel (any object with these methods). */
export type ReadTarget = { handleReadEvent(): void; handleError(err: unknown): void };
/** What write() needs of a channel. */
export type WriteTarget = { handleWriteEvent(): void; handleError(err: unknown): void };
/** What exception() needs of a channel. */
export type ExptTarget = { handleExptEvent(): void; handleError(err: unknown): void };
/** What readwrite() needs of a channel. */
export type RWTarget = ReadTarget & WriteTarget & ExptTarget & { handleClose(): void };

/** Call `handler` on `obj`, routing what it throws to `obj.handleError` (everything but ExitNow, BlockingIOError included, as CPython). */
function guarded(obj: { handleError(err: unknown): void }, handler: () => void): void {
  try {
    handler.call(obj);
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    obj.handleError(e);
  }
}

/** Call `obj.handleReadEvent()`, routing failures to `obj.handleError(err)` (ExitNow escapes). */
export function read(obj: ReadTarget): void {
  guarded(obj, obj.handleReadEvent);
}

/** Call `obj.handleWriteEvent()`, routing failures to `obj.handleError(err)` (ExitNow escapes). */
export function write(obj: WriteTarget): void {
  guarded(obj, obj.handleWriteEvent);
}

/** Call `obj.handleExptEvent()`, routing failures to `obj.handleError(err)` (CPython's `_exception`). */
export function exception(obj: ExptTarget): void {
  guarded(obj, obj.handleExptEvent);
}

/**
 * Deliver poll(2) flags to a channel: POLLIN → read, POLLOUT → write, POLLPRI → expt, then
 * HUP/ERR/NVAL → `handleClose()`. A disconnect errno closes instead of reporting an error.
 */
export function readwrite(obj: RWTarget, flags: number): void {
  if (typeof flags !== 'number' || !Number.isInteger(flags)) {
    throw typeError(`readwrite(): flags must be an integer of poll flags such as POLLIN | POLLOUT, not ${typeof flags === 'number' ? flags : typeof flags}`);
  }
  readwriteIn(null, 0, obj, flags);
}

/**
 * readwrite() for a loop pass over `map`: once a handler has closed (or replaced) the channel
 * on `fd`, its remaining events of the pass are dropped, so HUP/ERR after a read that closed it
 * does not call handleClose() a second time. With a null map, CPython's readwrite exactly.
 */
export function readwriteIn(map: SocketMap | null, fd: number, obj: RWTarget, flags: number): void {
  try {
    if (flags & POLLIN) {
      obj.handleReadEvent();
      if (map !== null && map.get(fd) !== obj) return;
    }
    if (flags & POLLOUT) {
      obj.handleWriteEvent();
      if (map !== null && map.get(fd) !== obj) return;
    }
    if (flags & POLLPRI) {
      obj.handleExptEvent();
      if (map !== null && map.get(fd) !== obj) return;
    }
    if (flags & (POLLERR | POLLNVAL)) obj.handleClose();
    // Beyond CPython: a hang-up that arrives with data (a pipe whose writer exited) waits until
    // the data is read: recv() then finds end of file and closes, as under select. CPython
    // closed at once and dropped what was still buffered.
    else if ((flags & POLLHUP) && (map === null || !(flags & POLLIN))) obj.handleClose();
  } catch (e) {
    if (e instanceof ExitNow) throw e;
    if (e instanceof SocketError && DISCONNECTED.has(e.errno)) obj.handleClose();
    else obj.handleError(e);
  }
}
