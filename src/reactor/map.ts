// socketMap and what a map is: fd → channel.
import { describe, typeError } from '../validate.js';

/** fd → channel. */
export type SocketMap = Map<number, any>;

/** The global map, used when no map is given. One live Map, never replaced. */
export const socketMap: SocketMap = new Map();

/** `map`, or socketMap when it is undefined or null. */
export function checkMap(map: unknown, fn: string): SocketMap {
  if (map === undefined || map === null) return socketMap;
  if (!(map instanceof Map)) throw typeError(`${fn}: map must be a Map of fd to channel (or omitted for socketMap), not ${describe(map)}`);
  return map;
}
