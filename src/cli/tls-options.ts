// --tls-cert/--tls-key, shared by the servers that offer TLS: a server SSLContext, or null.
import * as asyncore from '../index.js';
import { CliError, UsageError, describeError } from './args.js';

/** The options to pass to parse(). */
export const TLS_OPTIONS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

/** A server context from --tls-cert/--tls-key (null when neither is given). */
export function serverContextOf(values: Record<string, string | boolean | undefined>): asyncore.SSLContext | null {
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if (cert === undefined && key === undefined) return null;
  if (!cert) throw new UsageError('--tls-cert FILE is required with --tls-key (a PEM certificate chain)');
  if (key === '') throw new UsageError('--tls-key must name a PEM private key file');
  try {
    const ctx = new asyncore.SSLContext(asyncore.PROTOCOL_TLS_SERVER);
    ctx.loadCertChain(cert, key);
    return ctx;
  } catch (e) {
    throw new CliError(describeError(e));
  }
}
