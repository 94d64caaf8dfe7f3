/** The connection and STARTTLS: per-client limit, and where AUTH is offered (RFC 4954 §4). */
import type { SMTPServerSession } from 'smtp-server';
import { isLoopback } from '../../network.ts';
import { smtpError, type ListenerContext } from '../context.ts';

export function onConnect(ctx: ListenerContext, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
  const fromClient = ctx.tracker.connectionsFrom(session.remoteAddress);
  if (fromClient > ctx.options.limits.connectionsPerClient) {
    ctx.stateOf(session).log.warn('smtp.connect.refused', { reason: 'too many connections from this client', connections: fromClient });
    callback(smtpError(421, 'Error: too many connections from your address, try again later')); // RFC 5321 §3.8
    return;
  }
  const plaintextAuthAllowed = (ctx.options.plaintextAuthOnLoopback ?? true) && isLoopback(session.remoteAddress);
  if (ctx.isSubmission && !plaintextAuthAllowed && !session.secure) {
    // RFC 4954 §4: no plaintext passwords off loopback. AUTH comes back after STARTTLS.
    session.disabledCommands = ctx.options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'];
  } else if (!ctx.isSubmission) {
    session.disabledCommands = ctx.options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'];
  }
  ctx.stateOf(session).log.info('smtp.connect', {});
  callback();
}

export function onSecure(ctx: ListenerContext, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
  ctx.tracker.secured(session);
  if (ctx.isSubmission) session.disabledCommands = [];
  callback();
}
