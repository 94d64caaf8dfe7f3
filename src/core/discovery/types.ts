/**
 * The shapes shared by every key discovery source. Everything here is plain data (dates, strings,
 * arrays), so results can cross the extension's message passing as they are.
 */
import type { SigillErrorCode } from '../errors.ts';
import type { KeyStatus } from '../keys/index.ts';

// `Fetch` is the platform's (src/core/platform.ts): the browser's in Thunderbird, undici's in Node (`sigill key locate`).
import type { Fetch } from '../platform.ts';

/** Where a discovered key came from. */
export type DiscoverySourceName = 'wkd' | 'vks' | 'autocrypt' | 'attachment';

/** A problem a person can act on, as plain data (a `SigillError`'s code and message). */
export interface DiscoveryProblem {
  code: SigillErrorCode;
  message: string;
}

/**
 * A key found for an address. It is a candidate only: the keyring stores it as undecided (see
 * `decideDiscoveredKey`) until the user accepts it.
 */
export interface DiscoveredKey {
  source: DiscoverySourceName;
  /** The address it was looked up or received for, lower-cased. */
  address: string;
  /**
   * The armored certificate as Sigill keeps it: only the user IDs that name `address`, only the
   * subkeys with a valid binding signature.
   */
  certificate: string;
  /** Lower-case hex. */
  fingerprint: string;
  /** The valid user IDs left in `certificate` (each names `address`). */
  userIDs: string[];
  status: KeyStatus;
  fetchedAt: Date;
  /** The URL (WKD, VKS) or header / file name (Autocrypt, attachment) it came from. */
  origin: string;
  /** What was removed from the certificate as received, for a person (e.g. an unbound subkey). */
  notes: string[];
  /** Autocrypt only: the sender's `prefer-encrypt` (Autocrypt Level 1 §2.1). */
  preferEncrypt?: 'mutual' | 'nopreference';
}

/** A key that was received but refused (KEY-BAD), with the reason. */
export interface RejectedKey {
  source: DiscoverySourceName;
  address: string;
  /** Absent when the data could not be read as a key at all. */
  fingerprint?: string;
  reason: DiscoveryProblem;
  /**
   * Expired or revoked keys: unusable for new mail, but the same fingerprint as a key already held
   * tells the keyring that this key has expired or been revoked (`decideDiscoveredKey` → `same`).
   */
  key?: DiscoveredKey;
}

/** The answer of one source for one address. */
export interface DiscoveryResult {
  source: DiscoverySourceName;
  address: string;
  keys: DiscoveredKey[];
  rejected: RejectedKey[];
  /** Set when the source could not answer (network, HTTP error, timeout, too large). */
  error?: DiscoveryProblem;
  /** Every URL asked, in order, with what came of it (for `sigill key locate -v` and the options page). */
  attempts: { url: string; outcome: string }[];
}

export interface DiscoveryOptions {
  /** Cancels the lookup (e.g. the compose window was closed). */
  signal?: AbortSignal;
}

/** A pluggable place to look keys up by address. */
export interface DiscoverySource {
  readonly name: DiscoverySourceName;
  /** Disabled sources are skipped by `discoverKeys` (the user's setting). */
  readonly enabled: boolean;
  lookup(address: string, options?: DiscoveryOptions): Promise<DiscoveryResult>;
}

/** What every source built on `fetch` takes. */
export interface NetworkSourceOptions {
  fetch: Fetch;
  enabled?: boolean;
  /** Whole request, redirects and body included (default 5 s). */
  timeoutMs?: number;
  /** Largest answer read (default 256 KiB); a larger one is refused, never truncated. */
  maxBytes?: number;
  /** The clock (default: the system's). Judges expiry and stamps `fetchedAt`. */
  now?: () => Date;
}

export const DEFAULT_LOOKUP_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_KEY_BYTES = 256 * 1024;
