/**
 * The two SMTP listeners, both on smtp-server:
 *
 * - `submission` (RFC 6409): AUTH PLAIN/LOGIN (RFC 4954) required before MAIL; AUTH is offered
 *   only on loopback or after STARTTLS (RFC 3207); MAIL FROM must be the authenticated address.
 * - `inbound` (RFC 5321 MX role): no AUTH; only mail for our own domains and known users.
 *
 * An accepted message is written to the spool and fsynced before the 250 (see spool/index.ts).
 *
 * This file only assembles the server; the policy reads one handler per command, as smtp-server
 * calls them: handlers/connect.ts (connection, STARTTLS), auth.ts, mail-from.ts, rcpt-to.ts and
 * data.ts, sharing context.ts; connections.ts counts connections per client and runs stress mode.
 *
 * Reply codes: smtp-server derives the enhanced status code (RFC 3463) from the basic code of an
 * application error, so policy refusals use 557, the only code it maps to 5.7.1; 557 is a 5yz reply
 * and every client treats it as a permanent failure (RFC 5321 §4.2.1). Syntax refusals use 553
 * (5.1.3), unknown users 550 (5.1.1), bad data 500 (5.5.2).
 *
 * smtp-server waits a fixed 100 ms before each greeting to catch clients that talk too soon; it has
 * no option to change that, and we keep it (it also slows connection-flooding bots). Connection
 * reuse avoids paying it per message.
 */
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { listenOn } from '../network.ts';
import { ConnectionTracker } from './connections.ts';
import type { ListenerContext, RunningListener, SessionState, SmtpListenerOptions } from './context.ts';
import { onAuth } from './handlers/auth.ts';
import { onConnect, onSecure } from './handlers/connect.ts';
import { onData } from './handlers/data.ts';
import { onMailFrom } from './handlers/mail-from.ts';
import { onRcptTo } from './handlers/rcpt-to.ts';

export type { ListenerKind, RunningListener, SmtpListenerOptions } from './context.ts';

export async function startSmtpListener(options: SmtpListenerOptions): Promise<RunningListener> {
  const { kind, logger } = options;
  const isSubmission = kind === 'submission';
  if (isSubmission && !options.authenticator) throw new Error('the submission listener needs an authenticator');
  const states = new WeakMap<SMTPServerSession, SessionState>();
  const stateOf = (session: SMTPServerSession): SessionState => {
    let state = states.get(session);
    if (!state) {
      state = { authFailures: 0, log: logger.child({ listener: kind, session: session.id, remote: session.remoteAddress }) };
      states.set(session, state);
    }
    return state;
  };
  const idleTimeoutMs = options.limits.idleTimeoutSeconds * 1000;
  const stressIdleTimeoutMs = Math.min(idleTimeoutMs, options.limits.stressIdleTimeoutSeconds * 1000);
  const tracker: ConnectionTracker = new ConnectionTracker(options.limits, (stressed) => {
    // smtp-server reads this option whenever it arms a connection's idle timeout: connections that
    // arrive in stress mode get the short one (RFC 5321 §4.5.3.2 timeouts are minimums for normal
    // operation; Postfix does the same under stress).
    server.options.socketTimeout = stressed ? stressIdleTimeoutMs : idleTimeoutMs;
    logger.warn(stressed ? 'smtp.stress.on' : 'smtp.stress.off', { listener: kind, idleTimeoutMs: server.options.socketTimeout });
  }, (): number => (tracker.stressed ? stressIdleTimeoutMs : idleTimeoutMs), `421 4.4.2 ${options.hostname} Error: command line not completed in time, closing connection\r\n`);
  const context: ListenerContext = { options, isSubmission, maxAuthFailures: options.maxAuthFailuresPerConnection ?? 3, idleTimeoutMs, tracker, stateOf };

  const server = new SMTPServer({
    name: options.hostname,
    banner: 'Sigill relay ESMTP',
    key: options.tls?.key,
    cert: options.tls?.cert,
    // Without a certificate there is nothing to upgrade to.
    disabledCommands: options.tls ? [] : ['STARTTLS'],
    // AUTH over plaintext is allowed by smtp-server only server-wide; onConnect narrows it to
    // loopback by disabling AUTH per session, and onSecure enables it again after STARTTLS.
    allowInsecureAuth: true,
    authOptional: !isSubmission,
    authMethods: ['PLAIN', 'LOGIN'],
    size: options.limits.messageSize,
    rejectOversized: true,
    maxRecipients: options.limits.recipients,
    maxClients: options.limits.connections,
    // RFC 5321 §4.5.3.1.4 allows 512 octets; SMTPUTF8 addresses and extension parameters need
    // more. Over-long command lines are answered 421 and the connection closed (smtp-server).
    maxCommandLength: Math.max(512, options.limits.lineLength),
    hideENHANCEDSTATUSCODES: false, // RFC 2034; smtp-server hides it unless told
    hideDSN: true,
    hideREQUIRETLS: true,
    disableReverseLookup: true,
    socketTimeout: idleTimeoutMs,
    closeTimeout: 2_000,
    logger: false,

    onConnect: (session, callback) => onConnect(context, session, callback),
    onSecure: (_socket, session, callback) => onSecure(context, session, callback),
    onAuth: (auth, session, callback) => onAuth(context, auth, session, callback),
    onMailFrom: (address, session, callback) => onMailFrom(context, address, session, callback),
    onRcptTo: (address, session, callback) => onRcptTo(context, address, session, callback),
    onData: (stream, session, callback) => onData(context, stream, session, callback),

    onClose(session) {
      stateOf(session).log.info('smtp.close', {});
    },
  });

  // The one context the relay made from its certificate (smtp-server made its own from key/cert).
  if (options.tls) server.secureContext.set('*', options.tls.context);
  server.on('error', (error) => logger.warn('smtp.error', { listener: kind, error }));
  // Runs before smtp-server's own handler for the socket, which arms the idle timeout.
  server.server.prependListener('connection', (socket: Socket) => tracker.add(socket));

  const address = await listenOn(server.server, options.listen); // smtp-server's listen() only forwards to it
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
