// Every argument check of the public API, in the manner of Node's lib/internal/validators.js:
// errors are TypeError/RangeError with a permanent `code` (ERR_INVALID_ARG_TYPE,
// ERR_OUT_OF_RANGE), so callers and tests can rely on the code, and a message that names the fix.
import { inspect } from 'node:util';

/** A TypeError or RangeError carrying Node's permanent `code`. */
export type CodedError<E extends Error> = E & { readonly code: string };

// Plain TypeError/RangeError instances (their constructor is the built-in, as Node's are
// errors of those classes), with the helper's own frame left out of the stack.
function coded<E extends Error>(err: E, code: string, helper: Function): CodedError<E> {
  Object.defineProperty(err, 'code', { value: code, enumerable: true });
  Error.captureStackTrace(err, helper);
  return err as CodedError<E>;
}

/** A TypeError with `code` ERR_INVALID_ARG_TYPE: an argument of the wrong type. */
export function typeError(message: string): CodedError<TypeError> {
  return coded(new TypeError(message), 'ERR_INVALID_ARG_TYPE', typeError);
}

/** A RangeError with `code` ERR_OUT_OF_RANGE: an argument outside its range or set of values. */
export function rangeError(message: string): CodedError<RangeError> {
  return coded(new RangeError(message), 'ERR_OUT_OF_RANGE', rangeError);
}

/** What a value is, for "…, not <describe(v)>" in an error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v)}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  return `${typeof v} ${inspect(v)}`;
}

export const INT_MIN = -0x80000000;
export const INT_MAX = 0x7fffffff;

/**
 * An integer within [min, max] (a C int by default): koffi would silently wrap 2**32 + 5 to 5,
 * so closeFd would close fd 5.
 */
export function requireInt(v: unknown, what: string, min = INT_MIN, max = INT_MAX): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw typeError(`${what} must be an integer, not ${typeof v === 'number' ? v : describe(v)}`);
  }
  if (v < min || v > max) throw rangeError(`${what} must be an integer from ${min} to ${max}, not ${v}`);
  return v;
}

/** A byte count to receive: 0 to INT_MAX (the one recv-size check of sockets, files and channels). */
export function requireSize(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > INT_MAX) {
    throw rangeError(`${what} must be at most ${INT_MAX}, not ${v}; receive in smaller pieces (e.g. 65536 bytes at a time)`);
  }
  if (typeof v === 'number' && Number.isInteger(v) && v < 0) {
    throw rangeError(`${what} must be an integer from 0 to ${INT_MAX} (e.g. 65536), not ${v}`);
  }
  return requireInt(v, what);
}

/** Bytes: any Uint8Array (Buffer included). The one bytes check of the package. */
export function requireBytes(data: unknown, what: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') {
    throw typeError(`${what}: a bytes-like object is required, not a string; encode it first, e.g. Buffer.from(text)`);
  }
  throw typeError(`${what}: a bytes-like object (Buffer or Uint8Array) is required, not ${describe(data)}`);
}

/** A Buffer view of any Uint8Array, without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A function argument. */
export function requireFunction<F>(fn: unknown, what: string): F {
  if (typeof fn !== 'function') throw typeError(`${what} must be a function, not ${describe(fn)}`);
  return fn as F;
}

/** The longest wait poll(2)/epoll_wait accept: an int of milliseconds. */
export const MAX_TIMEOUT = Math.floor(INT_MAX / 1000);

/** A timeout in seconds for a loop pass: a number in [0, MAX_TIMEOUT], or null (forever). */
export function requireTimeout(timeout: unknown, fn: string): number | null {
  if (timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw typeError(`${fn}: timeout must be a number of seconds (or null to wait forever), not ${Number.isNaN(timeout) ? 'NaN' : describe(timeout)}`);
  }
  if (timeout < 0) throw rangeError(`${fn}: timeout must be >= 0 seconds, not ${timeout}`);
  // A longer one would wrap (or, under select, not convert at all).
  if (timeout > MAX_TIMEOUT) {
    throw rangeError(`${fn}: timeout must be at most ${MAX_TIMEOUT} seconds (about 24 days), not ${timeout}; use null to wait forever`);
  }
  return timeout;
}

/** A delay or interval for a timer: finite, >= 0 (> 0 for a repeating one). */
export function requireDelay(seconds: unknown, fn: string, positive: boolean): number {
  if (typeof seconds !== 'number') {
    throw typeError(`${fn}(): seconds must be a number (a delay in seconds, e.g. 0.5), not ${describe(seconds)}`);
  }
  if (!Number.isFinite(seconds) || seconds < 0 || (positive && seconds === 0)) {
    throw rangeError(`${fn}(): seconds must be a finite number ${positive ? '> 0 (an interval of 0 would spin the loop)' : '>= 0'}, not ${seconds}`);
  }
  return seconds;
}

/** One of `allowed`, named in the error. */
export function requireOneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw rangeError(`${what} must be one of ${allowed.map((p) => `'${p}'`).join(', ')}, not ${typeof v === 'string' ? `'${v}'` : describe(v)}`);
  }
  return v as T;
}
