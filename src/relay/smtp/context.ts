/**
 * What the SMTP command handlers share: the listener's options, its connection tracker, per-session
 * state, and the small helpers every handler uses (the error with a reply code, the authenticated
 * user). One file per command under handlers/ reads the policy as smtp-server calls it.
 */
import type { SMTPServerSession } from 'smtp-server';
import type { Authenticator } from '../auth.ts';
import type { LimitsConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ListenAddress } from '../network.ts';
import type { RecipientRecord, Spool } from '../spool/index.ts';
import type { TlsCredentials } from '../tls.ts';
import type { ConnectionTracker } from './connections.ts';

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

export interface SessionState {
  authFailures: number;
  /** The session's logger, made once: every command of every message would otherwise build one. */
  log: Logger;
}

export interface ListenerContext {
  options: SmtpListenerOptions;
  isSubmission: boolean;
  /** Failed AUTH attempts per connection before it is closed. */
  maxAuthFailures: number;
  /** The normal idle timeout; also the DATA deadline's budget. */
  idleTimeoutMs: number;
  tracker: ConnectionTracker;
  stateOf(session: SMTPServerSession): SessionState;
}

/**
 * The authenticated address, as smtp-server keeps it in `session.user`: it clears that itself after
 * STARTTLS (RFC 3207 §4.2), so nothing learned before the handshake survives it.
 */
export function authenticatedUser(session: SMTPServerSession): string | undefined {
  const user: unknown = session.user;
  return typeof user === 'string' && user !== '' ? user : undefined;
}

export type SmtpError = Error & { responseCode: number };

/** An error smtp-server answers with `responseCode` (and the enhanced code it derives from it). */
export function smtpError(responseCode: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}
