// A map's generation: a number that changes whenever an entry is set, deleted or cleared, so
// an incremental pass (driver.ts) knows when its snapshot of the map is still the map. The
// map's own set/delete/clear are wrapped on first use by non-enumerable instance properties
// that bump the count and then do what the map did before.
import type { SocketMap } from './map.js';

const GEN = Symbol('asyncore.mapGeneration');
type Counted = SocketMap & { [GEN]?: { n: number } };

/** `map`'s generation (>= 1), or 0 when it cannot be watched (a frozen map): no incremental passes. */
export function generation(map: SocketMap): number {
  const c = (map as Counted)[GEN];
  if (c !== undefined) return c.n;
  if (!Object.isExtensible(map)) return 0;
  const state = { n: 1 };
  for (const name of ['set', 'delete', 'clear'] as const) {
    const own = (map as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    Object.defineProperty(map, name, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function (this: SocketMap, ...args: unknown[]): unknown {
        state.n++;
        return own.apply(this, args);
      },
    });
  }
  Object.defineProperty(map, GEN, { value: state });
  return state.n;
}
