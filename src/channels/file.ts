// FileDispatcher: a dispatcher over a pipe, tty or other descriptor (Python's
// asyncore.file_dispatcher).
import { C } from '../sys/constants.js';
import * as libc from '../sys/libc.js';
import { FileWrapper } from '../io/file-wrapper.js';
import type { SocketMap } from '../reactor/map.js';
import { typeError } from '../validate.js';
import { Dispatcher } from './dispatcher.js';

/**
 * A dispatcher over a file descriptor or anything with `fileno()` (Python's
 * `asyncore.file_dispatcher`): the descriptor is duplicated and set non-blocking.
 */
export class FileDispatcher extends Dispatcher {
  constructor(fd: number | { fileno(): number }, map?: SocketMap) {
    super(null, map);
    this.connected = true;
    const n = typeof fd === 'object' && fd !== null && typeof fd.fileno === 'function' ? fd.fileno() : fd;
    if (typeof n !== 'number') {
      throw typeError('FileDispatcher(): fd must be a file descriptor number or an object with fileno()');
    }
    this.setFile(n);
    // The duplicate shares the open file description, so this makes both non-blocking.
    const fl = libc.fcntl(n, C.F_GETFL, 0);
    if (fl >= 0 && !(fl & C.O_NONBLOCK)) libc.fcntl(n, C.F_SETFL, fl | C.O_NONBLOCK);
  }

  setFile(fd: number): void {
    this.socket = new FileWrapper(fd);
    this._fileno = this.socket.fileno();
    this.addChannel();
  }
}
