// The SMTP example's channel: one client connection, the SMTP state machine (Python's
// smtpd.SMTPChannel), with the beyond-smtpd pieces: streaming DATA to a MessageFile, timeouts,
// the recipient limit and one-write multi-line replies (see smtp-server.ts).
import * as asyncore from '../index.js';
import { parseParams, parsePath } from './smtp-parse.js';
import type { MessageFile } from './smtp-store.js';
import type { SMTPServer } from './smtp-server.js';

const CRLF = Buffer.from('\r\n');
export const DATA_SIZE_DEFAULT = 33554432;
export const COMMAND_SIZE_LIMIT = 512;
// Room for ' SIZE=<digits>' on MAIL once SIZE is advertised (as smtpd).
const SIZE_EXTENSION_ROOM = 26;
const VERSION = 'asyncore SMTP 0.1';
/** RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the next command. */
export const COMMAND_TIMEOUT_DEFAULT = 300;
/** RFC 5321 4.5.3.2.5: 3 minutes for each block of message data. */
export const DATA_TIMEOUT_DEFAULT = 180;
/** RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted. */
export const MAX_RECIPIENTS_DEFAULT = 100;
const LOCAL_ERROR = '451 Requested action aborted: local error in processing';

/** Envelope details smtpd passes to process_message as keyword arguments. */
export interface MessageOptions {
  mailOptions: string[];
  rcptOptions: string[];
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
  /** (beyond) The message streaming to its file during DATA (null: collected in memory). */
  message: MessageFile | null = null;
  #storeFailed = false;
  #timer: asyncore.TimerHandle | null = null;

  constructor(server: SMTPServer, sock: asyncore.Socket, addr: asyncore.Address, map?: asyncore.SocketMap) {
    super(sock, map);
    this.smtpServer = server;
    this.peer = addr;
    this.fqdn = server.fqdn;
    this.dataSizeLimit = server.dataSizeLimit;
    try {
      // Replies are whole by the time they are pushed: waiting on Nagle only adds delay.
      sock.setsockopt(asyncore.IPPROTO_TCP, asyncore.TCP_NODELAY, 1);
    } catch {
      // not TCP (a Unix socket)
    }
    this.setRsetState();
    this.reply(`220 ${this.fqdn} ${VERSION}`);
  }

  /** Queue one reply (CRLF added); several lines go out as one multi-line reply in one write. */
  reply(...lines: string[]): void {
    this.push(`${lines.join('\r\n')}\r\n`);
  }

  // (beyond) The command or data timeout, counted from the last input; past it: 421 and close.
  #arm(): void {
    const data = this.smtpState === SMTPChannel.DATA;
    const seconds = data ? this.smtpServer.dataTimeout : this.smtpServer.commandTimeout;
    this.#timer?.cancel();
    this.#timer = this.callLater(seconds, () => {
      this.#timer = null;
      this.#dropMessage();
      this.reply(`421 ${this.fqdn} Error: timeout exceeded (${seconds} s waiting for ${data ? 'message data' : 'a command'}); closing`);
      this.closeWhenDone();
    });
  }

  override handleRead(): void {
    this.#timer?.reset();
    super.handleRead();
  }

  #dropMessage(): void {
    this.message?.abort();
    this.message = null;
  }

  /** Closing for any reason (lost connection, shutdown) removes a half-received message. */
  override close(): void {
    this.#dropMessage();
    super.close();
  }

  /** Back to command mode with an empty envelope (after DATA). */
  setPostDataState(): void {
    this.smtpState = SMTPChannel.COMMAND;
    this.mailfrom = null;
    this.rcpttos = [];
    this.mailOptions = [];
    this.rcptOptions = [];
    this.numBytes = 0;
    this.#dropMessage();
    this.#storeFailed = false;
    this.setTerminator('\r\n');
    if (this.connected) this.#arm();
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
    const msg = this.message;
    if (msg === null) {
      if (!this.#storeFailed) this.receivedLines.push(data); // after a failure: counted only
    } else if (limit > 0 && this.numBytes > limit) {
      this.#dropMessage(); // SIZE enforced as it streams: the rest is counted, not kept
    } else {
      try {
        msg.write(data);
      } catch (e) {
        this.smtpServer.logInfo(`could not store a message in ${this.smtpServer.dir}: ${(e as Error).message}`, 'error');
        this.#storeFailed = true;
        this.#dropMessage();
      }
    }
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
    if (this.message !== null || this.#storeFailed) {
      const msg = this.message;
      this.message = null;
      let status: string | null = LOCAL_ERROR;
      if (msg !== null) {
        try {
          msg.commit();
          this.smtpServer.stored++;
          status = null;
        } catch (e) {
          msg.abort();
          this.smtpServer.logInfo(`could not store a message in ${this.smtpServer.dir}: ${(e as Error).message}`, 'error');
        }
      }
      this.setPostDataState();
      this.reply(status ?? '250 OK');
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
    const lines = [`250-${this.fqdn}`];
    if (this.dataSizeLimit > 0) lines.push(`250-SIZE ${this.dataSizeLimit}`);
    this.reply(...lines, '250-8BITMIME', '250 HELP');
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
    if (this.rcpttos.length >= this.smtpServer.maxRecipients) return this.reply('452 Error: too many recipients');
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
    try {
      this.message = this.smtpServer.openMessage();
    } catch (e) {
      this.smtpServer.logInfo(`could not store a message in ${this.smtpServer.dir}: ${(e as Error).message}`, 'error');
      return this.reply(LOCAL_ERROR);
    }
    this.smtpState = SMTPChannel.DATA;
    this.#arm();
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
