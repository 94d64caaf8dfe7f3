/**
 * The two SMTP listeners, both on smtp-server:
 *
 * - `submission` (RFC 6409): AUTH PLAIN/LOGIN (RFC 4954) required before MAIL; AUTH is offered
 *   only on loopback or after STARTTLS (RFC 3207); MAIL FROM must be the authenticated address.
 * - `inbound` (RFC 5321 MX role): no AUTH; only mail for our own domains and known users.
 *
 * An accepted message is written to the spool and fsynced before the 250 (see spool/index.ts).
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
import { isIP, type Socket } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Authenticator } from '../auth.ts';
import { STRESS_THRESHOLD, type LimitsConfig } from '../config.ts';
import type { ListenAddress } from '../network.ts';
import type { TlsCredentials } from '../tls.ts';
import type { Logger } from '../log.ts';
import { headerField, rfc5322Date } from '../message.ts';
import { clientKey, isLoopback, listenOn } from '../network.ts';
import type { RecipientRecord, Spool, SpoolWriter } from '../spool/index.ts';
import { hasRoutingHack, parseEnvelopeAddress } from './address.ts';
import { DataChecker } from './data.ts';

export type ListenerKind = 'submission' | 'inbound';

export interface SmtpListenerOptions {
  kind: ListenerKind;
  listen: ListenAddress;
  hostname: string;
  /** Lower-case local domains. */
  domains: string[];
  /**
   * Domains the inbound listener accepts for onward delivery: those with an explicit route (the
   * administrator made us their next hop, like Postfix's relay_domains). Nothing else is relayed.
   */
  relayDomains: string[];
  /** Routed domain → the only addresses accepted for it (relay_recipient_maps); absent: any. */
  relayRecipients: Record<string, string[]>;
  limits: LimitsConfig;
  /** The relay's TLS credentials (tls.ts); without them there is no STARTTLS. */
  tls: TlsCredentials | null;
  /** Required for submission. */
  authenticator?: Authenticator;
  /** The user that receives mail for "postmaster" (RFC 5321 §4.5.1); undefined: refused. */
  postmaster?: string;
  /** Whether a (lower-case) local address has a mailbox. */
  isLocalUser(address: string): boolean;
  spool: Spool;
  /** Called after each commit, with the new recipient records. */
  onAccepted(records: RecipientRecord[]): void;
  logger: Logger;
  /** Failed AUTH attempts per connection before it is closed (default 3). */
  maxAuthFailuresPerConnection?: number;
  /** AUTH over plaintext on loopback connections (default true; tests turn it off). */
  plaintextAuthOnLoopback?: boolean;
}

export interface RunningListener {
  address: ListenAddress;
  close(): Promise<void>;
}

interface SessionState {
  authFailures: number;
  /** The session's logger, made once: every command of every message would otherwise build one. */
  log: Logger;
}

/**
 * The authenticated address, as smtp-server keeps it in `session.user`: it clears that itself after
 * STARTTLS (RFC 3207 §4.2), so nothing learned before the handshake survives it.
 */
function authenticatedUser(session: SMTPServerSession): string | undefined {
  const user: unknown = session.user;
  return typeof user === 'string' && user !== '' ? user : undefined;
}

type SmtpError = Error & { responseCode: number };

function smtpError(responseCode: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}

/** Only hostname/literal characters survive into a trace header (RFC 5321 §4.4). */
function traceToken(value: string | false | undefined): string {
  if (!value) return 'unknown';
  return /^[A-Za-z0-9.:_[\]-]{1,255}$/.test(value) ? value : 'invalid';
}

/**
 * The `Received:` trace header this hop adds in front of the message (RFC 5321 §4.4), as UTF-8 bytes
 * (an SMTPUTF8 recipient in "for" is kept as it is, RFC 6531 §3.7.3).
 */
export function receivedHeader(args: {
  helo: string | false;
  remoteAddress: string;
  hostname: string;
  protocol: string;
  id: string;
  recipients: string[];
  date?: Date;
}): Buffer {
  const literal = isIP(args.remoteAddress) === 6 ? `IPv6:${args.remoteAddress}` : args.remoteAddress;
  const protocol = /^[A-Z]{1,16}$/.test(args.protocol) ? args.protocol : 'ESMTP';
  const by = `by ${args.hostname} (Sigill relay) with ${protocol} id ${args.id}`;
  // "for" only with a single recipient: naming all of them would disclose Bcc recipients.
  const onlyRecipient = args.recipients.length === 1 ? args.recipients[0] : undefined;
  return headerField('Received', [
    `from ${traceToken(args.helo)} ([${literal}])`,
    ...(onlyRecipient === undefined ? [`${by};`] : [by, `for <${onlyRecipient}>;`]),
    rfc5322Date(args.date),
  ]);
}

const VIOLATION_REPLY = {
  'bare-lf': smtpError(500, 'Error: bare <LF> received in message data'),
  'bare-cr': smtpError(500, 'Error: bare <CR> received in message data'),
  'line-too-long': smtpError(500, 'Error: line too long'),
} as const;

/**
 * Raw sockets of one listener by client: the per-client connection count (Postfix's
 * smtpd_client_connection_count_limit), stress mode (Postfix: shorter timeouts when the server is
 * near its limit) and the socket of a session, which smtp-server does not hand to its callbacks.
 */
class ConnectionTracker {
  private readonly sockets = new Map<string, Socket>();
  private readonly perClient = new Map<string, number>();
  stressed = false;

  constructor(
    private readonly limits: LimitsConfig,
    private readonly onStressChange: (stressed: boolean) => void,
  ) {}

  private static id(remoteAddress: string, remotePort: number): string {
    return `${clientKey(remoteAddress)}|${remotePort}`;
  }

  /** Counts a new socket (before smtp-server arms its idle timeout, so stress mode applies to it). */
  add(socket: Socket): void {
    const id = ConnectionTracker.id(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    const client = clientKey(socket.remoteAddress ?? '');
    this.sockets.set(id, socket);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    this.update();
    socket.once('close', () => {
      this.sockets.delete(id);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
      this.update();
    });
  }

  connectionsFrom(remoteAddress: string): number {
    return this.perClient.get(clientKey(remoteAddress)) ?? 0;
  }

  socketOf(session: SMTPServerSession): Socket | undefined {
    return this.sockets.get(ConnectionTracker.id(session.remoteAddress, session.remotePort));
  }

  private update(): void {
    const stressed = this.sockets.size >= Math.ceil(this.limits.connections * STRESS_THRESHOLD);
    if (stressed === this.stressed) return;
    this.stressed = stressed;
    this.onStressChange(stressed);
  }
}

/**
 * The DATA deadline of Postfix's smtpd_min_data_rate: the client starts with `timeoutMs`, and each
 * byte it sends earns 1/rate seconds more, never more than `timeoutMs` ahead. One byte every few
 * minutes (under the idle timeout) therefore no longer keeps a transaction open.
 */
function dataDeadline(timeoutMs: number, bytesPerSecond: number, onExpired: () => void): { received(bytes: number): void; stop(): void } {
  let deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      if (Date.now() >= deadline) onExpired();
      else arm();
    }, Math.max(1, deadline - Date.now()));
    timer.unref();
  };
  arm();
  return {
    received(bytes) {
      if (bytesPerSecond > 0) deadline = Math.min(Date.now() + timeoutMs, deadline + (bytes * 1000) / bytesPerSecond);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

export async function startSmtpListener(options: SmtpListenerOptions): Promise<RunningListener> {
  const { kind, logger } = options;
  const isSubmission = kind === 'submission';
  const authenticator = options.authenticator;
  if (isSubmission && !authenticator) throw new Error('the submission listener needs an authenticator');
  const maxAuthFailures = options.maxAuthFailuresPerConnection ?? 3;
  const states = new WeakMap<SMTPServerSession, SessionState>();
  const stateOf = (session: SMTPServerSession): SessionState => {
    let state = states.get(session);
    if (!state) {
      state = { authFailures: 0, log: logger.child({ listener: kind, session: session.id, remote: session.remoteAddress }) };
      states.set(session, state);
    }
    return state;
  };
  const sessionLog = (session: SMTPServerSession): Logger => stateOf(session).log;
  const idleTimeoutMs = options.limits.idleTimeoutSeconds * 1000;
  const stressIdleTimeoutMs = Math.min(idleTimeoutMs, options.limits.stressIdleTimeoutSeconds * 1000);
  const tracker = new ConnectionTracker(options.limits, (stressed) => {
    // smtp-server reads this option whenever it arms a connection's idle timeout: connections that
    // arrive in stress mode get the short one (RFC 5321 §4.5.3.2 timeouts are minimums for normal
    // operation; Postfix does the same under stress).
    server.options.socketTimeout = stressed ? stressIdleTimeoutMs : idleTimeoutMs;
    logger.warn(stressed ? 'smtp.stress.on' : 'smtp.stress.off', { listener: kind, idleTimeoutMs: server.options.socketTimeout });
  });

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

    onConnect(session, callback) {
      const fromClient = tracker.connectionsFrom(session.remoteAddress);
      if (fromClient > options.limits.connectionsPerClient) {
        sessionLog(session).warn('smtp.connect.refused', { reason: 'too many connections from this client', connections: fromClient });
        callback(smtpError(421, 'Error: too many connections from your address, try again later')); // RFC 5321 §3.8
        return;
      }
      const plaintextAuthAllowed = (options.plaintextAuthOnLoopback ?? true) && isLoopback(session.remoteAddress);
      if (isSubmission && !plaintextAuthAllowed && !session.secure) {
        // RFC 4954 §4: no plaintext passwords off loopback. AUTH comes back after STARTTLS.
        session.disabledCommands = options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'];
      } else if (!isSubmission) {
        session.disabledCommands = options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'];
      }
      sessionLog(session).info('smtp.connect', {});
      callback();
    },

    onSecure(_socket, session, callback) {
      if (isSubmission) session.disabledCommands = [];
      callback();
    },

    onAuth(auth, session, callback) {
      const state = stateOf(session);
      const log = sessionLog(session);
      if (!isSubmission || !authenticator || (auth.method !== 'PLAIN' && auth.method !== 'LOGIN')) {
        callback(smtpError(504, 'Error: unrecognized authentication type'));
        return;
      }
      const username = auth.username ?? '';
      const password = auth.password ?? '';
      // RFC 4616 §2: an authorization identity other than the login asks to act as someone else,
      // which nobody may here (as the POP3 server); refused like a wrong password.
      const authzid = auth.method === 'PLAIN' ? (auth.authzid ?? '') : '';
      if (authzid !== '' && authzid.toLowerCase() !== username.toLowerCase()) {
        state.authFailures += 1;
        log.warn('smtp.auth.failed', { user: username, method: auth.method, reason: 'authorization identity differs' });
        callback(state.authFailures >= maxAuthFailures ? smtpError(421, 'Error: too many failed authentications, closing connection') : smtpError(535, 'Error: cannot act as another user'));
        return;
      }
      authenticator
        .authenticate({ username, password, remoteAddress: session.remoteAddress, protocol: 'smtp' })
        .then((result) => {
          if (result.ok) {
            log.info('smtp.auth.ok', { user: result.address, method: auth.method });
            callback(null, { user: result.address });
            return;
          }
          state.authFailures += 1;
          log.warn('smtp.auth.failed', { user: username, method: auth.method, reason: result.reason });
          if (state.authFailures >= maxAuthFailures) {
            // 421 makes smtp-server close the connection (RFC 5321 §3.8).
            callback(smtpError(421, 'Error: too many failed authentications, closing connection'));
          } else if (result.reason === 'throttled') {
            callback(smtpError(454, 'Error: temporary authentication failure, try again later')); // RFC 4954 §6
          } else {
            callback(smtpError(535, 'Error: authentication credentials invalid'));
          }
        })
        .catch((error: unknown) => {
          log.error('smtp.auth.error', { error: error as Error });
          callback(smtpError(454, 'Error: temporary authentication failure'));
        });
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const user = authenticatedUser(session);
      const utf8 = session.envelope.smtpUtf8 === true;
      if (isSubmission) {
        // Checked here, not only by smtp-server: off loopback without TLS, AUTH is disabled for the
        // session, which smtp-server would take as "no AUTH required".
        if (!user) {
          callback(smtpError(530, 'Error: authentication required'));
          return;
        }
        const parsed = parseEnvelopeAddress(address.address, { utf8 });
        if (!parsed.ok || parsed.value.address.toLowerCase() !== user) {
          sessionLog(session).warn('smtp.mail.refused', { user, sender: address.address });
          callback(smtpError(557, `Error: sender address not owned by user ${user}`));
          return;
        }
        callback();
        return;
      }
      if (address.address === '') {
        callback(); // the null reverse-path: bounces (RFC 5321 §4.5.5)
        return;
      }
      const parsed = parseEnvelopeAddress(address.address, { utf8 });
      if (!parsed.ok) {
        callback(smtpError(553, `Error: bad sender address: ${parsed.reason}`));
        return;
      }
      callback();
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const log = sessionLog(session);
      const utf8 = session.envelope.smtpUtf8 === true;
      const raw = address.address;
      // RFC 5321 §4.5.1: "postmaster", domainless or at any of our domains, must be accepted
      // (case-insensitively); it goes to the configured postmaster's mailbox.
      const atOurs = raw.includes('@') && options.domains.includes(raw.slice(raw.lastIndexOf('@') + 1).toLowerCase());
      if (raw.toLowerCase() === 'postmaster' || (atOurs && raw.slice(0, raw.lastIndexOf('@')).toLowerCase() === 'postmaster')) {
        if (options.postmaster === undefined) {
          log.warn('smtp.rcpt.refused', { recipient: raw, reason: 'no postmaster configured' });
          callback(smtpError(550, 'Error: mailbox unavailable: no postmaster here'));
          return;
        }
        address.address = options.postmaster;
        callback();
        return;
      }
      const parsed = parseEnvelopeAddress(raw, { utf8 });
      if (!parsed.ok) {
        log.warn('smtp.rcpt.refused', { recipient: address.address, reason: parsed.reason });
        const literal = parsed.reason.startsWith('address literal');
        callback(literal && !isSubmission ? smtpError(557, 'Error: relay access denied') : smtpError(553, `Error: bad recipient address: ${parsed.reason}`));
        return;
      }
      const { domain, local } = parsed.value;
      const lower = parsed.value.address.toLowerCase();
      const routed = options.relayDomains.includes(domain);
      // Postfix's allow_untrusted_routing = no: never interpret %, ! or @ for our own or routed domains.
      if ((options.domains.includes(domain) || routed) && hasRoutingHack(local)) {
        log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'routing character in local part' });
        callback(smtpError(557, 'Error: relay access denied'));
        return;
      }
      const knownRecipients = routed ? options.relayRecipients[domain] : undefined;
      if (knownRecipients !== undefined && !knownRecipients.includes(lower)) {
        // Refused now rather than bounced later to a sender that may be forged (backscatter).
        log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'not in the relay recipient list' });
        callback(smtpError(550, 'Error: user unknown in relay recipient table'));
        return;
      }
      if (options.domains.includes(domain)) {
        if (!options.isLocalUser(lower)) {
          log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'unknown user' });
          callback(smtpError(550, 'Error: mailbox unavailable: no such user'));
          return;
        }
      } else if (!isSubmission && !routed) {
        log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'relay denied' });
        callback(smtpError(557, 'Error: relay access denied'));
        return;
      }
      // Local mailboxes by their normalised name; everything else exactly as the client wrote it, so
      // that an international address travels on byte for byte (RFC 6531).
      address.address = options.domains.includes(domain) ? lower : raw;
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const log = sessionLog(session);
      const checker = new DataChecker(options.limits.lineLength);
      const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
      const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      let failed = false;
      const deadline = dataDeadline(idleTimeoutMs, options.limits.minDataRate, () => {
        log.warn('smtp.data.refused', { reason: 'data rate too low', bytes: stream.byteLength, minDataRate: options.limits.minDataRate });
        const socket = tracker.socketOf(session);
        // RFC 5321 §3.8: 421 and close (inside TLS only the close: this is the raw socket); the
        // partial message is dropped by the 'close' handler below.
        if (session.secure) socket?.destroy();
        else socket?.end(`421 4.4.2 ${options.hostname} Error: data rate too low, closing connection\r\n`);
        setTimeout(() => socket?.destroy(), 1_000).unref();
      });
      const writerPromise: Promise<SpoolWriter | undefined> = options.spool.createWriter({ sender, recipients }).then(
        async (writer) => {
          try {
            const trace = receivedHeader({
              helo: session.hostNameAppearsAs,
              remoteAddress: session.remoteAddress,
              hostname: options.hostname,
              protocol: session.transmissionType,
              id: writer.entryId,
              recipients,
            });
            await writer.write(trace);
            return writer;
          } catch (error) {
            // The address checks at MAIL/RCPT make this unreachable; if it ever is, nothing is stored.
            log.error('smtp.trace.refused', { error: error as Error });
            await writer.abort();
            return undefined;
          }
        },
        (error: unknown) => {
          log.error('spool.create.failed', { error: error as Error });
          return undefined;
        },
      );
      // Chunks are written strictly in order; the stream is paused while a write is pending.
      let writing: Promise<unknown> = writerPromise;
      stream.on('data', (chunk: Buffer) => {
        deadline.received(chunk.length);
        checker.check(chunk);
        if (checker.violation || stream.sizeExceeded || failed) return; // keep reading, stop writing
        stream.pause();
        writing = writing
          .then(async () => {
            const writer = await writerPromise;
            if (!writer) throw new Error('no spool writer');
            await writer.write(chunk);
          })
          .catch((error: unknown) => {
            if (!failed) log.error('spool.write.failed', { error: error as Error });
            failed = true;
          })
          .finally(() => stream.resume());
      });
      let ended = false;
      // A client that goes away mid-DATA: smtp-server destroys the stream without 'end'. The
      // half-written message is dropped (it was never acknowledged).
      stream.on('error', () => undefined);
      stream.on('close', () => {
        deadline.stop();
        if (ended) return;
        failed = true;
        log.warn('smtp.data.aborted', { reason: 'connection closed during DATA' });
        void writing.catch(() => undefined).then(async () => (await writerPromise)?.abort());
      });
      stream.on('end', () => {
        deadline.stop();
        ended = true;
        checker.finish();
        void writing
          .catch(() => undefined)
          .then(async () => {
            const writer = await writerPromise;
            if (!writer) return callback(smtpError(451, 'Error: local error in processing'));
            if (stream.sizeExceeded) {
              await writer.abort();
              log.warn('smtp.data.refused', { reason: 'size', bytes: stream.byteLength });
              return callback(smtpError(552, 'Error: message exceeds fixed maximum message size'));
            }
            if (checker.violation) {
              await writer.abort();
              log.warn('smtp.data.refused', { reason: checker.violation });
              return callback(VIOLATION_REPLY[checker.violation]);
            }
            if (failed) {
              await writer.abort();
              return callback(smtpError(451, 'Error: local error in processing'));
            }
            const records = await writer.commit();
            log.info('smtp.accepted', { id: writer.entryId, sender, recipients, bytes: stream.byteLength, user: authenticatedUser(session) });
            callback(null, `OK: queued as ${writer.entryId}`);
            options.onAccepted(records);
          })
          .catch((error: unknown) => {
            log.error('spool.commit.failed', { error: error as Error });
            callback(smtpError(451, 'Error: local error in processing')); // RFC 5321 §4.2.2: try again later
          });
      });
    },

    onClose(session) {
      sessionLog(session).info('smtp.close', {});
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
