// CPython's asyncore.compact_traceback, read from a JavaScript stack.
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';

const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

/**
 * CPython's compact_traceback for `err`: the innermost frame as [file, function, line], the
 * error's name and message, and '[file|function|line] ...' from outermost to innermost.
 * Node's own internal frames are left out.
 */
export function compactTraceback(err: unknown): [[file: string, fn: string, line: string], name: string, message: string, info: string] {
  // isNativeError: an Error from another realm (node:vm) is still an Error.
  const isErr = err instanceof Error || types.isNativeError(err);
  const name = isErr ? err.name : err === null ? 'null' : typeof err === 'object' ? (err.constructor?.name ?? 'Object') : typeof err;
  const message = isErr ? err.message : String(err);
  const frames: [string, string, string][] = [];
  const stack = isErr && typeof err.stack === 'string' ? err.stack.split('\n') : [];
  for (const line of stack) {
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[2]!;
    if (file.startsWith('node:') || file === 'native') continue;
    if (file.startsWith('file://')) {
      try { file = fileURLToPath(file); } catch { /* keep the URL */ }
    }
    let fn = m[1] ?? '<anonymous>';
    if (fn.startsWith('new ')) fn = fn.slice(4);
    const dot = fn.lastIndexOf('.');
    if (dot >= 0 && !fn.endsWith('>')) fn = fn.slice(dot + 1);
    else if (fn.endsWith('.<anonymous>')) fn = '<anonymous>';
    frames.push([file, fn, m[3]!]);
  }
  if (frames.length === 0) frames.push(['<unknown>', '<unknown>', '0']);
  frames.reverse(); // outermost first, as a Python traceback
  const innermost = frames[frames.length - 1]!;
  const info = frames.map(([f, fn, l]) => `[${f}|${fn}|${l}]`).join(' ');
  return [innermost, name, message, info];
}
