// The Reactor: the state that belongs to one map, as pyftpdlib's IOLoop owns its map and its
// scheduler. It holds the map's drivers (one per poller name; the epoll set persists between
// passes), its timers, and the loopAsync() serving it, if any. A map's Reactor lives as long
// as the map (a WeakMap entry); its drivers are released whenever the map empties.
import type { PollerName } from '../pollers/names.js';
import { createPoller } from '../pollers/create.js';
import { UringPoller } from '../pollers/uring.js';
import { Driver } from './driver.js';
import type { SocketMap } from './map.js';
import { Scheduler } from './timers.js';

/** What a running loopAsync() must hear about its map while it waits inside Node's loop. */
export interface AsyncServer {
  /** `fd` left the map: drop it from the persistent set before its number is reused. */
  removed(fd: number): void;
  /** A channel joined the map, or the map emptied: end the current wait so a pass sees it. */
  changed(): void;
}

export class Reactor {
  /** The map's timers: callLater/callEvery on this map, and its channels' own timers. */
  readonly timers = new Scheduler();
  readonly #drivers = new Map<PollerName, Driver>();
  /** A ring another poller took the map from, still sending what send() queued on it. */
  #retiring: Driver | null = null;
  #async: AsyncServer | null = null;

  constructor(readonly map: SocketMap) {}

  /** The driver for `name`, or a transient one while that driver is mid-pass (a handler re-entering loop()). */
  driver(name: PollerName): Driver {
    if (name === 'uring') this.resumeRing();
    else this.leaveRing();
    let d = this.#drivers.get(name);
    if (d === undefined || d.closed) this.#drivers.set(name, (d = new Driver(createPoller(name))));
    if (d.busy === 0) return d;
    const nested = new Driver(createPoller(name));
    nested.transient = true;
    return nested;
  }

  /**
   * A ring holds what it received for its channels and what their send() queued on it. Before
   * another poller serves the map, the ring stops receiving (its queues stay with their sockets:
   * recv() serves them first, and the Driver reports them) and, while sends are still queued,
   * retires: service() moves them on each pass. Asked for again, it serves the map again.
   */
  leaveRing(): void {
    const ring = this.#drivers.get('uring');
    if (ring === undefined || ring.busy !== 0) return;
    this.#drivers.delete('uring');
    const p = ring.poller;
    if (p instanceof UringPoller && p.unsent) {
      p.retire();
      this.#retiring?.close();
      this.#retiring = ring;
    } else {
      ring.close();
    }
  }

  /** The uring poller serves the map again: a retiring ring takes its place back. */
  private resumeRing(): void {
    if (this.#retiring !== null && !this.#drivers.has('uring')) this.#drivers.set('uring', this.#retiring);
    this.#retiring = null;
  }

  /**
   * Before a pass of another poller: move a retiring ring's sends on. True while some are still
   * queued (the pass then waits briefly, so they keep moving); the ring closes once they are out.
   */
  service(): boolean {
    const r = this.#retiring;
    if (r === null) return false;
    const p = r.poller as UringPoller;
    p.service();
    if (p.unsent) return true;
    r.close();
    this.#retiring = null;
    return false;
  }

  /** True while a loopAsync() serves this map (loop() and poll() refuse it). */
  get served(): boolean {
    return this.#async !== null;
  }

  /** Mark the map as served by a loopAsync() (a second one is refused). */
  serve(server: AsyncServer): void {
    if (this.#async !== null) {
      throw new Error('loopAsync(): this map is already served by another loopAsync(); await that one (or use another map)');
    }
    this.#async = server;
  }

  /** The loopAsync() serving the map settled. */
  unserve(): void {
    this.#async = null;
  }

  /** A channel joined the map: a loopAsync() waiting on it must start a pass to see it. */
  added(): void {
    this.#async?.changed();
  }

  /** A channel left the map: persistent pollers must drop `fd` before its number is reused. */
  removed(fd: number): void {
    this.#async?.removed(fd);
    if (this.map.size === 0) {
      this.release();
      return;
    }
    for (const d of this.#drivers.values()) d.poller.unregister(fd);
    this.#retiring?.poller.unregister(fd);
  }

  /** The map emptied: release the pollers (the epoll descriptor); a waiting loopAsync() may finish. */
  release(): void {
    this.#async?.changed();
    for (const d of this.#drivers.values()) d.close();
    this.#drivers.clear();
    this.#retiring?.close();
    this.#retiring = null;
  }
}

const reactors = new WeakMap<SocketMap, Reactor>();

/** The Reactor of `map`, made on first use. */
export function reactorFor(map: SocketMap): Reactor {
  let r = reactors.get(map);
  if (r === undefined) reactors.set(map, (r = new Reactor(map)));
  return r;
}
