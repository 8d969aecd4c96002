// (beyond) STARTTLS for the SMTP example (RFC 3207): EHLO advertises it; after "220 Ready to
// start TLS" has gone out, the channel becomes an sslChannel server and forgets everything the
// client said before (greeting, envelope, and any plaintext sent after the command: CVE-2011-0411).
import * as asyncore from '../index.js';
import { SMTPChannel } from './smtp-channel.js';
import { SMTPServer, type SMTPServerOptions } from './smtp-server.js';

/** An SMTP channel that offers STARTTLS when its server has a TLS context. */
export class STARTTLSChannel extends asyncore.sslChannel(SMTPChannel) {
  // Plain fields (not #private): SMTPChannel's constructor already calls reply().
  /** @internal */ _inEhlo = false;
  /** @internal */ _upgradePending = false;

  /** The server's context (null: STARTTLS is neither advertised nor accepted). */
  get tlsContext(): asyncore.SSLContext | null {
    return (this.smtpServer as Partial<STARTTLSServer>).tlsContext ?? null;
  }

  override smtpEHLO(arg: string | null): void {
    this._inEhlo = true;
    try {
      super.smtpEHLO(arg);
    } finally {
      this._inEhlo = false;
    }
  }

  override reply(...lines: string[]): void {
    // The EHLO reply gains a STARTTLS line before its last one while the session is plain.
    if (this._inEhlo && lines.length > 1 && this.tlsState === 'off' && this.tlsContext) lines.splice(lines.length - 1, 0, '250-STARTTLS');
    super.reply(...lines);
  }

  smtpSTARTTLS(arg: string | null): void {
    if (arg) return this.reply('501 Syntax: STARTTLS');
    if (!this.tlsContext) return this.reply('502 Error: command not implemented');
    if (this.tlsState !== 'off') return this.reply('503 Error: TLS already active');
    this.reply('220 Ready to start TLS');
    this._upgradePending = true;
    this._upgrade();
  }

  /** Start TLS once the 220 reply has left (it must go out in plain text). */
  /** @internal */
  _upgrade(): void {
    if (!this._upgradePending || this.outQueuedBytes > 0) return;
    this._upgradePending = false;
    this.discardBuffers();
    this.seenGreeting = '';
    this.extendedSmtp = false;
    this.setRsetState();
    this.startTls(this.tlsContext!, { serverSide: true });
  }

  override handleWrite(): void {
    super.handleWrite();
    this._upgrade();
  }

  override foundTerminator(): void {
    // Commands that arrive between STARTTLS and the handshake are plaintext injection: ignored.
    if (this._upgradePending) {
      this.receivedLines = [];
      return;
    }
    super.foundTerminator();
  }
}

/** Options of STARTTLSServer: SMTPServer's, and the server context for STARTTLS. */
export interface STARTTLSServerOptions extends SMTPServerOptions {
  tlsContext: asyncore.SSLContext;
}

/** The SMTP example server with STARTTLS. */
export class STARTTLSServer extends SMTPServer {
  tlsContext: asyncore.SSLContext;

  constructor(localaddr: asyncore.Address, opts: STARTTLSServerOptions) {
    super(localaddr, opts);
    this.tlsContext = opts.tlsContext;
    this.channelClass = STARTTLSChannel;
  }
}
