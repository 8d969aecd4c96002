// A multi-user line chat on AsyncChat: every connection gets a nick (guest1, guest2, ... until
// it picks one), and what it says goes to everyone else. Lines end in '\n' (a '\r' before it
// is dropped); commands start with '/':
//   /nick NAME      change your nick (letters, digits, '_' and '-', at most 32)
//   /who            list who is here
//   /quit [words]   leave (the others see the words)
//   /help           this list
// Server notices start with '* ', errors with '! ', chat lines are '<nick> text'.
// (beyond) Control bytes in what members say are shown as \xNN, so nobody can fake a server
// notice or drive the others' terminals; a member whose unread output passes the cap is
// disconnected with a notice (the others never wait on them); idle members can be closed.
//
// Run: node --import tsx examples/chat-server.ts --host 127.0.0.1 --port 7777 [--poller ...];
// the first line printed is the bound address.
import { parseArgs } from 'node:util';
import * as asyncore from '../index.js';
import { formatAddress, listenOn, parsePort, runIfMain } from './cli-common.js';

export { formatAddress };

const NICK = /^[A-Za-z0-9_-]{1,32}$/;
export const MAX_LINE = 4096;
/** (beyond) Default per-member cap on queued output: past it the member is disconnected. */
export const MEMBER_OUT_CAP = 262144;
/** (beyond) Above this much queued output a member's input waits (TCP pushes back). */
const MEMBER_HIGH_WATER = 65536;

// C0 controls but TAB, DEL, and the C1 controls (some terminals take U+009B as CSI).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** (beyond) `text` with control characters shown as \xNN (TAB kept). */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One connected user. */
export class ChatSession extends asyncore.AsyncChat {
  nick: string;
  readonly server: ChatServer;
  #line: Buffer[] = [];
  #lineBytes = 0;
  #left = false;
  #idle: asyncore.TimerHandle | null = null;

  constructor(server: ChatServer, sock: asyncore.Socket, map?: asyncore.SocketMap) {
    super(sock, map);
    this.server = server;
    this.nick = server.guestNick();
    this.encoding = 'utf8';
    // Small reads and a low high-water mark: one read of "/who" lines cannot multiply into
    // megabytes of replies before the cap is checked.
    this.acInBufferSize = MAX_LINE;
    this.outHighWater = MEMBER_HIGH_WATER;
    this.setTerminator('\n');
    const idle = server.idleTimeout;
    if (idle !== null) this.#idle = this.callLater(idle, () => this.idleOut(idle));
    this.say(`* welcome to ${server.name}, ${this.nick}; /nick NAME to change your nick, /help for more`);
    server.broadcast(`* ${this.nick} joined`, this);
  }

  /** Send one line to this user; (beyond) past the output cap, disconnect them instead. */
  say(line: string): void {
    if (this.#left || !this.connected) return;
    const data = `${line}\r\n`;
    if (this.outQueuedBytes + Buffer.byteLength(data) > this.server.memberOutCap) {
      this.discardBuffers();
      this.leave('', `* ${this.nick} was disconnected: not reading (over ${this.server.memberOutCap} bytes of output waiting)`);
      this.close();
      return;
    }
    this.push(data);
  }

  private idleOut(seconds: number): void {
    this.say(`* idle for ${seconds} s: closing`);
    this.leave('', `* ${this.nick} left (idle for ${seconds} s)`);
    this.closeWhenDone();
  }

  override collectIncomingData(data: Buffer): void {
    // Bytes past the limit are counted, not kept: a client cannot make us buffer without end.
    if (this.#lineBytes <= MAX_LINE) this.#line.push(data);
    this.#lineBytes += data.length;
  }

  override foundTerminator(): void {
    if (this.#left) return; // the rest of a read that arrived before we closed the member
    this.#idle?.reset();
    const tooLong = this.#lineBytes > MAX_LINE;
    const raw = Buffer.concat(this.#line);
    this.#line = [];
    this.#lineBytes = 0;
    if (tooLong) {
      this.say(`! line too long (at most ${MAX_LINE} bytes)`);
      return;
    }
    const line = raw.toString('utf8').replace(/\r$/, '');
    if (line.startsWith('/')) this.command(line);
    else if (line.trim() === '') return;
    else this.server.broadcast(`<${this.nick}> ${escapeControls(line)}`, this);
  }

  private command(line: string): void {
    const sp = line.indexOf(' ');
    const name = (sp < 0 ? line.slice(1) : line.slice(1, sp)).toLowerCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1).trim();
    switch (name) {
      case 'nick':
        return this.setNick(arg);
      case 'who':
        return this.say(`* here: ${this.server.nicks().join(', ')}`);
      case 'quit':
        return this.quit(arg);
      case 'help':
        return this.say('* commands: /nick NAME, /who, /quit [message], /help');
      default:
        return this.say(`! unknown command /${escapeControls(name)}; try /help`);
    }
  }

  private setNick(nick: string): void {
    if (!NICK.test(nick)) {
      this.say('! a nick is 1 to 32 letters, digits, _ or -: /nick NAME');
    } else if (this.server.findNick(nick) && this.server.findNick(nick) !== this) {
      this.say(`! the nick ${nick} is taken`);
    } else if (this.nick !== nick) {
      const old = this.nick;
      this.nick = nick;
      this.say(`* you are now ${nick}`);
      this.server.broadcast(`* ${old} is now ${nick}`, this);
    }
  }

  private quit(message: string): void {
    this.say('* bye');
    this.leave(message);
    this.closeWhenDone();
  }

  // Tell the others once, whether the user quit or just went away.
  private leave(message: string, notice = `* ${this.nick} left${message ? ` (${escapeControls(message)})` : ''}`): void {
    if (this.#left) return;
    this.#left = true;
    this.#idle?.cancel();
    this.server.sessions.delete(this);
    this.server.broadcast(notice, this);
  }

  override handleClose(): void {
    this.leave('');
    this.close();
  }
}

/** Listens and keeps the set of sessions. */
export class ChatServer extends asyncore.Dispatcher {
  readonly sessions = new Set<ChatSession>();
  readonly name: string;
  /** (beyond) Bytes of unread output a member may have queued before being disconnected. */
  memberOutCap: number;
  /** (beyond) Seconds without a line after which a member is closed (null: never). */
  idleTimeout: number | null;
  #guests = 0;

  /** Listen on `host`:`port` (port 0: any free port), like the echo server example. */
  constructor(host: string, port: number, opts: { map?: asyncore.SocketMap; name?: string; memberOutCap?: number; idleTimeout?: number | null } = {}) {
    super(null, opts.map);
    if (typeof host !== 'string') throw new TypeError(`ChatServer: host must be a string such as '127.0.0.1', not ${typeof host}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`ChatServer: port must be an integer from 0 to 65535, not ${String(port)}`);
    }
    this.name = opts.name ?? 'the asyncore chat';
    this.memberOutCap = opts.memberOutCap ?? MEMBER_OUT_CAP;
    this.idleTimeout = opts.idleTimeout ?? null;
    listenOn(this, [host, port]);
  }

  address(): asyncore.Address {
    return (this.socket as asyncore.Socket).getsockname();
  }

  override handleAccepted(sock: asyncore.Socket, _addr: asyncore.Address): void {
    this.sessions.add(new ChatSession(this, sock, this._map));
  }

  /** Send `line` to every session except `from`. */
  broadcast(line: string, from?: ChatSession): void {
    for (const s of this.sessions) {
      if (s !== from && s.connected) s.say(line);
    }
  }

  findNick(nick: string): ChatSession | undefined {
    const lower = nick.toLowerCase();
    for (const s of this.sessions) if (s.nick.toLowerCase() === lower) return s;
    return undefined;
  }

  /** A free nick for a newcomer: guest1, guest2, ... */
  guestNick(): string {
    let nick: string;
    do nick = `guest${++this.#guests}`;
    while (this.findNick(nick));
    return nick;
  }

  nicks(): string[] {
    return [...this.sessions].map((s) => s.nick).sort();
  }

  override handleClose(): void {
    this.close();
  }
}

/** The command line: `--host`, `--port` (and `--poller`, `--name`). Prints `chat-server listening on HOST:PORT` first. */
export function main(argv: string[] = process.argv.slice(2)): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '7777' },
      name: { type: 'string' },
      poller: { type: 'string' },
    },
  });
  const port = parsePort(values.port);
  const server = new ChatServer(values.host!, port, { name: values.name });
  process.stdout.write(`chat-server listening on ${formatAddress(server.address())}\n`);
  asyncore.loop({ poller: values.poller as asyncore.PollerName | undefined });
}

runIfMain(import.meta.url, 'chat-server', main);
