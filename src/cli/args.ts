// Command-line arguments: parseArgs with one-line usage errors, and the option checks every
// command shares. Exit codes: UsageError → 2, CliError → 1.
import { parseArgs } from 'node:util';
import * as asyncore from '../index.js';
import { formatAddress } from '../examples/cli-common.js';
import { POLLER_NAMES as POLLERS } from '../pollers/names.js';
import { HELP } from './help.js';

/** Bad arguments: exit 2. */
export class UsageError extends Error {}

/** A failure worth one line on stderr: exit 1. */
export class CliError extends Error {}

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parse(cmd: string, args: string[], options: OptionSpec, positionals = 0): { values: Record<string, string | boolean | undefined>; positionals: string[] } | null {
  let r;
  // parseArgs reads "--port -1" as an option with no value ("ambiguous"): a value that looks
  // like a negative number belongs to the option before it, so its own check can explain.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!, next = args[i + 1];
    const spec = a.startsWith('--') && !a.includes('=') ? (options as Record<string, { type: string }> | undefined)?.[a.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${a}=${next}`);
      i++;
    } else {
      joined.push(a);
    }
  }
  args = joined;
  try {
    r = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    // Node's messages can run on with advice about '--'; the first sentence is the point.
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw new UsageError(msg);
  }
  if (r.values.help) {
    process.stdout.write(`${HELP[cmd]}\n`);
    return null;
  }
  if (r.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${r.positionals[positionals]}'`);
  }
  return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
}

export function portOf(v: string | boolean | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, not '${s}'`);
  return Number(s);
}

export function hostOf(v: string | boolean | undefined): string {
  const s = v === undefined ? 'localhost' : String(v);
  if (s === '') throw new UsageError("--host must not be empty (use 0.0.0.0 for every interface)");
  return s;
}

export function secondsOf(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, not '${String(v)}'`);
  return n;
}

export function pollerOf(v: string | boolean | undefined): asyncore.PollerName | undefined {
  if (v === undefined) return undefined;
  if (!(POLLERS as readonly string[]).includes(String(v))) throw new UsageError(`--poller must be one of ${POLLERS.join(', ')}, not '${String(v)}'`);
  return v as asyncore.PollerName;
}

export function boundAddress(d: asyncore.Dispatcher): string {
  return formatAddress((d.socket as asyncore.Socket).getsockname());
}


/** The first line of an error's message (or the value), for a one-line report. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0]!;
  return String(err);
}
