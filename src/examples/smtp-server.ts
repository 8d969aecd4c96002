// A small SMTP server on AsyncChat, in the spirit of Python's smtpd.SMTPServer: HELO/EHLO,
// MAIL FROM, RCPT TO, DATA (with RFC 5321 dot-unstuffing), RSET, NOOP, QUIT, HELP, VRFY;
// 5xx replies for bad sequences, bad syntax, unknown commands and over-long lines. Each message
// is stored as a file in a directory, byte for byte as the client meant it: CRLF line ends
// kept, leading dots unstuffed (smtpd hands over '\n'-joined text instead).
//
// Run: node --import tsx examples/smtp-server.ts --host 127.0.0.1 --port 8025 --dir ./mail
//      [--poller select|poll|epoll]; the first line printed is the bound address.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as asyncore from '../index.js';
import { formatAddress, parsePort, runIfMain } from './cli-common.js';

export { formatAddress };

const CRLF = Buffer.from('\r\n');
export const DATA_SIZE_DEFAULT = 33554432;
export const COMMAND_SIZE_LIMIT = 512;
// Room for ' SIZE=<digits>' on MAIL once SIZE is advertised (as smtpd).
const SIZE_EXTENSION_ROOM = 26;
const VERSION = 'asyncore SMTP 0.1';

/** Envelope details smtpd passes to process_message as keyword arguments. */
export interface MessageOptions {
  mailOptions: string[];
  rcptOptions: string[];
}

/**
 * Split an SMTP path argument into the address and what follows it: `<addr> PARAMS` or
 * `addr PARAMS`, with quoted local parts (`"Fred Blogs"@example.com`) kept whole.
 */
export function parsePath(arg: string): { address: string; rest: string } | null {
  const s = arg.trimStart();
  const angled = s.startsWith('<');
  let i = angled ? 1 : 0;
  let inQuote = false;
  for (; i < s.length; i++) {
    const ch = s[i]!;
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
    } else if (ch === '"') {
      inQuote = true;
    } else if (angled ? ch === '>' : /\s/.test(ch)) {
      break;
    } else if (angled && ch === '<') {
      return null;
    }
  }
  if (inQuote) return null;
  if (angled) {
    if (i >= s.length) return null; // no closing '>'
    const inner = s.slice(1, i).trim();
    return { address: inner === '' ? '<>' : inner, rest: s.slice(i + 1).trim() };
  }
  return { address: s.slice(0, i), rest: s.slice(i).trim() };
}

/** ESMTP parameters (`KEY=VALUE` or `KEY`) as a map, or null if any is malformed (RFC 1869). */
function parseParams(params: string[]): Map<string, string | true> | null {
  const out = new Map<string, string | true>();
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? true : p.slice(eq + 1);
    if (!/^[A-Za-z0-9]+$/.test(key) || value === '') return null;
    out.set(key, value);
  }
  return out;
}

export interface SMTPServerOptions {
  /** Where messages are stored (created if missing). */
  dir: string;
  /** Largest message accepted, in bytes (0: no limit). Default 32 MiB, as smtpd. */
  dataSizeLimit?: number;
  /** The name the server greets with (default: this host's name). */
  fqdn?: string;
  map?: asyncore.SocketMap;
}

/** One client connection: the SMTP state machine (Python's smtpd.SMTPChannel). */
export class SMTPChannel extends asyncore.AsyncChat {
  static readonly COMMAND = 0;
  static readonly DATA = 1;

  smtpServer: SMTPServer;
  peer: asyncore.Address;
  fqdn: string;
  dataSizeLimit: number;
  commandSizeLimit = COMMAND_SIZE_LIMIT;
  smtpState = SMTPChannel.COMMAND;
  seenGreeting = '';
  extendedSmtp = false;
  mailfrom: string | null = null;
  rcpttos: string[] = [];
  mailOptions: string[] = [];
  rcptOptions: string[] = [];
  numBytes = 0;
  receivedLines: Buffer[] = [];

  constructor(server: SMTPServer, sock: asyncore.Socket, addr: asyncore.Address, map?: asyncore.SocketMap) {
    super(sock, map);
    this.smtpServer = server;
    this.peer = addr;
    this.fqdn = server.fqdn;
    this.dataSizeLimit = server.dataSizeLimit;
    this.setRsetState();
    this.reply(`220 ${this.fqdn} ${VERSION}`);
  }

  /** Queue one reply line (CRLF added). */
  reply(line: string): void {
    this.push(`${line}\r\n`);
  }

  /** Back to command mode with an empty envelope (after DATA). */
  setPostDataState(): void {
    this.smtpState = SMTPChannel.COMMAND;
    this.mailfrom = null;
    this.rcpttos = [];
    this.mailOptions = [];
    this.rcptOptions = [];
    this.numBytes = 0;
    this.setTerminator('\r\n');
  }

  /** Everything but the greeting (RSET, HELO/EHLO). */
  setRsetState(): void {
    this.setPostDataState();
    this.receivedLines = [];
  }

  /** The longest command line accepted now (MAIL gets room for SIZE= after EHLO). */
  maxCommandSize(command?: string): number {
    const roomy = this.extendedSmtp && this.dataSizeLimit > 0;
    if (command === undefined) return this.commandSizeLimit + (roomy ? SIZE_EXTENSION_ROOM : 0);
    return this.commandSizeLimit + (roomy && command === 'MAIL' ? SIZE_EXTENSION_ROOM : 0);
  }

  override collectIncomingData(data: Buffer): void {
    // Past the limit, input is counted but dropped: a client cannot make us buffer without end.
    const limit = this.smtpState === SMTPChannel.COMMAND ? this.maxCommandSize() : this.dataSizeLimit;
    if (limit > 0 && this.numBytes > limit) return;
    this.numBytes += data.length;
    this.receivedLines.push(data);
  }

  override foundTerminator(): void {
    const raw = Buffer.concat(this.receivedLines);
    this.receivedLines = [];
    if (this.smtpState === SMTPChannel.COMMAND) {
      const size = this.numBytes;
      this.numBytes = 0;
      if (raw.length === 0) {
        this.reply('500 Error: bad syntax');
        return;
      }
      const line = raw.toString('latin1');
      const sp = line.indexOf(' ');
      const command = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const arg = sp < 0 ? null : line.slice(sp + 1).trim();
      if (size > this.maxCommandSize(command)) {
        this.reply('500 Error: line too long');
        return;
      }
      const handler = (this as unknown as Record<string, unknown>)[`smtp${command}`];
      if (!/^[A-Z]+$/.test(command) || typeof handler !== 'function') {
        this.reply(`500 Error: command "${command}" not recognized`);
        return;
      }
      (handler as (arg: string | null) => void).call(this, arg);
      return;
    }
    this.endOfData(raw);
  }

  private endOfData(raw: Buffer): void {
    if (this.dataSizeLimit > 0 && this.numBytes > this.dataSizeLimit) {
      // smtpd stays in DATA mode here; a client that goes on would be misread, so reset.
      this.setPostDataState();
      this.reply('552 Error: Too much mail data');
      return;
    }
    // The collected text starts with the CRLF that ended the DATA command (see smtpDATA), so
    // every line, the first included, follows a CRLF: unstuffing is one replace.
    const text = raw.toString('latin1').replaceAll('\r\n.', '\r\n').slice(2);
    const data = text.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from(text, 'latin1'), CRLF]);
    const options: MessageOptions = { mailOptions: this.mailOptions, rcptOptions: this.rcptOptions };
    const status = this.smtpServer.processMessage(this.peer, this.mailfrom ?? '', [...this.rcpttos], data, options);
    this.setPostDataState();
    this.reply(status ?? '250 OK');
  }

  // ---- commands ----

  smtpHELO(arg: string | null): void {
    if (!arg) return this.reply('501 Syntax: HELO hostname');
    if (this.seenGreeting) return this.reply('503 Duplicate HELO/EHLO');
    this.setRsetState();
    this.seenGreeting = arg;
    this.reply(`250 ${this.fqdn}`);
  }

  smtpEHLO(arg: string | null): void {
    if (!arg) return this.reply('501 Syntax: EHLO hostname');
    if (this.seenGreeting) return this.reply('503 Duplicate HELO/EHLO');
    this.setRsetState();
    this.seenGreeting = arg;
    this.extendedSmtp = true;
    this.reply(`250-${this.fqdn}`);
    if (this.dataSizeLimit > 0) this.reply(`250-SIZE ${this.dataSizeLimit}`);
    this.reply('250-8BITMIME');
    this.reply('250 HELP');
  }

  smtpNOOP(arg: string | null): void {
    this.reply(arg ? '501 Syntax: NOOP' : '250 OK');
  }

  smtpQUIT(_arg: string | null): void {
    this.reply('221 Bye');
    this.closeWhenDone();
  }

  smtpHELP(arg: string | null): void {
    const all = 'EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY';
    if (!arg) return this.reply(`250 Supported commands: ${all}`);
    const ext = this.extendedSmtp ? ' [SP <mail-parameters>]' : '';
    const help: Record<string, string> = {
      EHLO: 'EHLO hostname', HELO: 'HELO hostname', MAIL: `MAIL FROM: <address>${ext}`,
      RCPT: `RCPT TO: <address>${ext}`, DATA: 'DATA', RSET: 'RSET', NOOP: 'NOOP', QUIT: 'QUIT',
      VRFY: 'VRFY <address>',
    };
    const h = help[arg.toUpperCase()];
    this.reply(h ? `250 Syntax: ${h}` : `501 Supported commands: ${all}`);
  }

  smtpVRFY(arg: string | null): void {
    if (!arg) return this.reply('501 Syntax: VRFY <address>');
    const p = parsePath(arg);
    if (p && p.address && p.address !== '<>') this.reply('252 Cannot VRFY user, but will accept message and attempt delivery');
    else this.reply(`502 Could not VRFY ${arg}`);
  }

  smtpEXPN(_arg: string | null): void {
    this.reply('502 EXPN not implemented');
  }

  private stripKeyword(keyword: string, arg: string): string | null {
    return arg.slice(0, keyword.length).toUpperCase() === keyword ? arg.slice(keyword.length).trim() : null;
  }

  smtpMAIL(arg: string | null): void {
    if (!this.seenGreeting) return this.reply('503 Error: send HELO first');
    const syntaxerr = `501 Syntax: MAIL FROM: <address>${this.extendedSmtp ? ' [SP <mail-parameters>]' : ''}`;
    const stripped = arg === null ? null : this.stripKeyword('FROM:', arg);
    const path = stripped ? parsePath(stripped) : null;
    if (!path || !path.address) return this.reply(syntaxerr);
    if (!this.extendedSmtp && path.rest) return this.reply(syntaxerr);
    if (this.mailfrom !== null) return this.reply('503 Error: nested MAIL command');
    const options = path.rest.toUpperCase().split(/\s+/).filter(Boolean);
    const params = parseParams(options);
    if (params === null) return this.reply(syntaxerr);
    const body = params.get('BODY') ?? '7BIT';
    params.delete('BODY');
    if (body !== '7BIT' && body !== '8BITMIME') return this.reply('501 Error: BODY can only be one of 7BIT, 8BITMIME');
    const size = params.get('SIZE');
    params.delete('SIZE');
    if (size !== undefined) {
      if (size === true || !/^\d+$/.test(size)) return this.reply(syntaxerr);
      if (this.dataSizeLimit > 0 && Number(size) > this.dataSizeLimit) {
        return this.reply('552 Error: message size exceeds fixed maximum message size');
      }
    }
    if (params.size > 0) return this.reply('555 MAIL FROM parameters not recognized or not implemented');
    this.mailOptions = options;
    this.mailfrom = path.address;
    this.reply('250 OK');
  }

  smtpRCPT(arg: string | null): void {
    if (!this.seenGreeting) return this.reply('503 Error: send HELO first');
    if (this.mailfrom === null) return this.reply('503 Error: need MAIL command');
    const syntaxerr = `501 Syntax: RCPT TO: <address>${this.extendedSmtp ? ' [SP <mail-parameters>]' : ''}`;
    const stripped = arg === null ? null : this.stripKeyword('TO:', arg);
    const path = stripped ? parsePath(stripped) : null;
    if (!path || !path.address || path.address === '<>') return this.reply(syntaxerr);
    if (!this.extendedSmtp && path.rest) return this.reply(syntaxerr);
    const options = path.rest.toUpperCase().split(/\s+/).filter(Boolean);
    const params = parseParams(options);
    if (params === null) return this.reply(syntaxerr);
    if (params.size > 0) return this.reply('555 RCPT TO parameters not recognized or not implemented');
    this.rcptOptions = options;
    this.rcpttos.push(path.address);
    this.reply('250 OK');
  }

  smtpRSET(arg: string | null): void {
    if (arg) return this.reply('501 Syntax: RSET');
    this.setRsetState();
    this.reply('250 OK');
  }

  smtpDATA(arg: string | null): void {
    if (!this.seenGreeting) return this.reply('503 Error: send HELO first');
    if (this.rcpttos.length === 0) return this.reply('503 Error: need RCPT command');
    if (arg) return this.reply('501 Syntax: DATA');
    this.smtpState = SMTPChannel.DATA;
    this.setTerminator('\r\n.\r\n');
    // The CRLF that ended this command line also starts the end-of-data marker: an empty
    // message is just ".\r\n". Put it back in front of the unread input (Python's
    // ac_in_buffer) so that one terminator covers both cases.
    this.acInBuffer = Buffer.concat([CRLF, this.acInBuffer]);
    this.reply('354 End data with <CR><LF>.<CR><LF>');
  }

  override handleClose(): void {
    this.close();
  }
}

let sequence = 0;

/** Listens and stores each accepted message as a file in `dir` (Python's smtpd.SMTPServer). */
export class SMTPServer extends asyncore.Dispatcher {
  /** The channel class for new connections (Python's channel_class). */
  channelClass: typeof SMTPChannel = SMTPChannel;
  readonly dir: string;
  readonly dataSizeLimit: number;
  readonly fqdn: string;
  /** How many messages have been stored. */
  stored = 0;

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
    mkdirSync(this.dir, { recursive: true });
    const family = typeof localaddr === 'string' ? asyncore.AF_UNIX : localaddr[0].includes(':') ? asyncore.AF_INET6 : asyncore.AF_INET;
    this.createSocket(family);
    try {
      this.setReuseAddr();
      this.bind(localaddr);
      this.listen(5);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The bound address (with the real port when 0 was asked for). */
  address(): asyncore.Address {
    return (this.socket as asyncore.Socket).getsockname();
  }

  override handleAccepted(sock: asyncore.Socket, addr: asyncore.Address): void {
    new this.channelClass(this, sock, addr, this._map);
  }

  /**
   * Deliver one message: the default stores `data` in a new file in `dir`. Return null for
   * `250 OK`, or a reply line (such as `'554 Transaction failed'`) to send instead.
   */
  processMessage(_peer: asyncore.Address, _mailfrom: string, _rcpttos: string[], data: Buffer, _options: MessageOptions): string | null {
    const name = `${Date.now()}.${process.pid}.${++sequence}.eml`;
    const tmp = join(this.dir, `.${name}.tmp`);
    try {
      // Written aside and renamed, so a reader of the directory never sees half a message.
      writeFileSync(tmp, data);
      renameSync(tmp, join(this.dir, name));
    } catch (e) {
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
