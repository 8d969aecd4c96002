// A small SMTP server on AsyncChat, in the spirit of Python's smtpd.SMTPServer: HELO/EHLO,
// MAIL FROM, RCPT TO, DATA (with RFC 5321 dot-unstuffing), RSET, NOOP, QUIT, HELP, VRFY;
// 5xx replies for bad sequences, bad syntax, unknown commands and over-long lines. Each message
// is stored as a file in a directory, byte for byte as the client meant it: CRLF line ends
// kept, leading dots unstuffed (smtpd hands over '\n'-joined text instead).
//
// (beyond smtpd) A message streams to its file as it arrives (SIZE enforced on the way, the
// temporary file removed on any failure); command and data timeouts (RFC 5321 4.5.3.2) end an
// idle session with 421; more than maxRecipients RCPTs get 452; replies that span several
// lines go out in one write, with TCP_NODELAY.
//
// Run: node --import tsx examples/smtp-server.ts --host 127.0.0.1 --port 8025 --dir ./mail
//      [--poller select|poll|epoll]; the first line printed is the bound address.
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as asyncore from '../index.js';
import { formatAddress, listenOn, parsePort, runIfMain } from './cli-common.js';
import { COMMAND_TIMEOUT_DEFAULT, DATA_SIZE_DEFAULT, DATA_TIMEOUT_DEFAULT, MAX_RECIPIENTS_DEFAULT, type MessageOptions, SMTPChannel } from './smtp-channel.js';
import { parsePath } from './smtp-parse.js';
import { MessageFile, messageName, prepareMailDir } from './smtp-store.js';

export { formatAddress, parsePath };
export * from './smtp-channel.js';

export interface SMTPServerOptions {
  /** Where messages are stored (created if missing). */
  dir: string;
  /** Largest message accepted, in bytes (0: no limit). Default 32 MiB, as smtpd. */
  dataSizeLimit?: number;
  /** The name the server greets with (default: this host's name). */
  fqdn?: string;
  map?: asyncore.SocketMap;
  /** (beyond) Seconds to wait for a command (default 300) and for more message data (default 180). */
  commandTimeout?: number;
  dataTimeout?: number;
  /** (beyond) RCPTs accepted per message; the next gets 452 (default 100). */
  maxRecipients?: number;
}

/** Listens and stores each accepted message as a file in `dir` (Python's smtpd.SMTPServer). */
export class SMTPServer extends asyncore.Dispatcher {
  /** The channel class for new connections (Python's channel_class). */
  channelClass: typeof SMTPChannel = SMTPChannel;
  readonly dir: string;
  readonly dataSizeLimit: number;
  readonly fqdn: string;
  /** How many messages have been stored. */
  stored = 0;
  /** (beyond) Timeouts in seconds (RFC 5321 4.5.3.2) and the recipient limit. */
  commandTimeout: number;
  dataTimeout: number;
  maxRecipients: number;

  constructor(localaddr: asyncore.Address, opts: SMTPServerOptions) {
    super(null, opts?.map);
    if (!opts || typeof opts.dir !== 'string' || opts.dir === '') {
      throw new TypeError("SMTPServer: give the directory to store messages in, e.g. new SMTPServer(['127.0.0.1', 8025], { dir: './mail' })");
    }
    const limit = opts.dataSizeLimit ?? DATA_SIZE_DEFAULT;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`SMTPServer: dataSizeLimit must be a non-negative integer (0: no limit), not ${String(limit)}`);
    }
    this.dir = opts.dir;
    this.dataSizeLimit = limit;
    this.fqdn = opts.fqdn ?? hostname();
    this.commandTimeout = positive(opts.commandTimeout, COMMAND_TIMEOUT_DEFAULT, 'commandTimeout');
    this.dataTimeout = positive(opts.dataTimeout, DATA_TIMEOUT_DEFAULT, 'dataTimeout');
    this.maxRecipients = positive(opts.maxRecipients, MAX_RECIPIENTS_DEFAULT, 'maxRecipients');
    // Created and proven writable now: not a 451 for every message later.
    prepareMailDir(this.dir);
    listenOn(this, localaddr);
  }

  /** The bound address (with the real port when 0 was asked for). */
  address(): asyncore.Address {
    return (this.socket as asyncore.Socket).getsockname();
  }

  override handleAccepted(sock: asyncore.Socket, addr: asyncore.Address): void {
    new this.channelClass(this, sock, addr, this._map);
  }

  /**
   * (beyond) Where DATA streams: a new file in `dir`, unless a subclass overrides
   * processMessage (it gets the whole message in memory, as smtpd's process_message does).
   */
  openMessage(): MessageFile | null {
    if (this.processMessage !== SMTPServer.prototype.processMessage) return null;
    return new MessageFile(this.dir);
  }

  /**
   * Deliver one message: the default stores `data` in a new file in `dir`. Return null for
   * `250 OK`, or a reply line (such as `'554 Transaction failed'`) to send instead.
   */
  processMessage(_peer: asyncore.Address, _mailfrom: string, _rcpttos: string[], data: Buffer, _options: MessageOptions): string | null {
    const name = messageName();
    const tmp = join(this.dir, `.${name}.tmp`);
    try {
      // Written aside and renamed, so a reader of the directory never sees half a message.
      writeFileSync(tmp, data);
      renameSync(tmp, join(this.dir, name));
    } catch (e) {
      try {
        unlinkSync(tmp); // a half-written file would fill the disk for every later message
      } catch {
        // never created
      }
      this.logInfo(`could not store a message in ${this.dir}: ${(e as Error).message}`, 'error');
      return '451 Requested action aborted: local error in processing';
    }
    this.stored++;
    return null;
  }

  override handleClose(): void {
    this.close();
  }
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`SMTPServer: ${name} must be a positive number, not ${String(v)}`);
  return v;
}

/**
 * The command line: `--host`, `--port`, `--dir` (and `--poller`). Prints
 * `smtp-server listening on HOST:PORT` first, then serves until the process ends.
 */
export function main(argv: string[] = process.argv.slice(2)): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8025' },
      dir: { type: 'string', default: './mail' },
      'size-limit': { type: 'string' },
      poller: { type: 'string' },
    },
  });
  const port = parsePort(values.port);
  const server = new SMTPServer([values.host!, port], {
    dir: values.dir!,
    dataSizeLimit: values['size-limit'] === undefined ? undefined : Number(values['size-limit']),
  });
  process.stdout.write(`smtp-server listening on ${formatAddress(server.address())}\n`);
  asyncore.loop({ poller: values.poller as asyncore.PollerName | undefined });
}

runIfMain(import.meta.url, 'smtp-server', main);
