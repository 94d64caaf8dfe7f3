/**
 * KEY-SWAP: what the keyring does with a discovered key, decided here as a pure function so that
 * every source (WKD, VKS, Autocrypt, attached keys, a manual refresh) goes through the same rule:
 * no source can replace a key the user accepted or verified. A different key for such an address is
 * recorded as undecided beside it, the old key stays in use, and the user is warned with both
 * fingerprints; the user's own choice is the only way to change it. A verified key is never downgraded.
 */
import type { KeyStatus } from '../keys/index.ts';
import type { DiscoveredKey, DiscoverySourceName } from './types.ts';

/** The acceptance states of a correspondent's key in the keyring. */
export type KeySwapAcceptance = 'undecided' | 'rejected' | 'accepted' | 'verified';

/** A key the keyring already holds for the address. */
export interface HeldKey {
  fingerprint: string;
  acceptance: KeySwapAcceptance;
}

/** Shown prominently (compose popup, options page, message status) until the user decides. */
export interface KeySwapWarning {
  address: string;
  /** The accepted or verified key(s) still used for this address. */
  inUse: { fingerprint: string; acceptance: 'accepted' | 'verified' }[];
  /** The different key that was offered, and by whom. */
  offered: { fingerprint: string; source: DiscoverySourceName };
}

export type KeySwapDecision =
  /** A key for an address without an accepted or verified key: store it as undecided. */
  | { action: 'new'; store: 'undecided' }
  /**
   * The key is held already: merge the fresh copy (new signatures, expiry, revocation) and keep its
   * acceptance as it is. `warning` is set while it is an undecided rival of an accepted key.
   */
  | { action: 'same'; fingerprint: string; acceptance: KeySwapAcceptance; warning?: KeySwapWarning }
  /** A different key for an address with an accepted or verified key: store it as undecided, keep using the old one, warn. */
  | { action: 'conflict'; store: 'undecided'; warning: KeySwapWarning }
  /** Nothing to store: the user rejected this key before, or it is unusable and not held. */
  | { action: 'ignore'; reason: 'rejected-before' | 'unusable'; detail: string };

export interface KeySwapInput {
  /** The address, lower-cased. */
  address: string;
  held: readonly HeldKey[];
  candidate: Pick<DiscoveredKey, 'fingerprint' | 'source'> & { status: Pick<KeyStatus, 'canEncrypt' | 'problems'> };
}

const sameFingerprint = (a: string, b: string): boolean => a.replace(/\s+/g, '').toLowerCase() === b.replace(/\s+/g, '').toLowerCase();

function trusted(held: readonly HeldKey[], except: string): KeySwapWarning['inUse'] {
  return held
    .filter((key): key is HeldKey & { acceptance: 'accepted' | 'verified' } => key.acceptance === 'accepted' || key.acceptance === 'verified')
    .filter((key) => !sameFingerprint(key.fingerprint, except))
    .map((key) => ({ fingerprint: key.fingerprint, acceptance: key.acceptance }));
}

export function decideDiscoveredKey(input: KeySwapInput): KeySwapDecision {
  const { address, held, candidate } = input;
  const existing = held.find((key) => sameFingerprint(key.fingerprint, candidate.fingerprint));
  const inUse = trusted(held, candidate.fingerprint);
  const warning: KeySwapWarning = { address, inUse, offered: { fingerprint: candidate.fingerprint, source: candidate.source } };
  if (existing !== undefined) {
    if (existing.acceptance === 'rejected') {
      return { action: 'ignore', reason: 'rejected-before', detail: `the key ${candidate.fingerprint} was rejected for ${address}` };
    }
    // A refresh never changes acceptance: a verified key stays verified whatever the source says.
    const pending = existing.acceptance === 'undecided' && inUse.length > 0;
    return { action: 'same', fingerprint: existing.fingerprint, acceptance: existing.acceptance, ...(pending ? { warning } : {}) };
  }
  const usable = candidate.status.canEncrypt && candidate.status.problems.every((code) => code === 'NO_SIGNING_KEY');
  if (!usable) {
    return { action: 'ignore', reason: 'unusable', detail: `the key ${candidate.fingerprint} is not usable (${candidate.status.problems.join(', ') || 'cannot encrypt'})` };
  }
  if (inUse.length > 0) return { action: 'conflict', store: 'undecided', warning };
  return { action: 'new', store: 'undecided' };
}

/** Expired or revoked keys are looked up again, automatically at most once a day. */
export const KEY_REFRESH_INTERVAL_MS = 24 * 60 * 60 * 1000;

export interface KeyRefreshInput {
  status: Pick<KeyStatus, 'expired' | 'revoked'>;
  /** When this key was last looked up (successfully or not); absent if never. */
  lastAttemptAt?: Date;
  /** `automatic` (compose, background): throttled; `user` (a refresh button): always. */
  trigger: 'automatic' | 'user';
  now?: () => Date;
}

export interface KeyRefreshDecision {
  due: boolean;
  reason: string;
  /** When an automatic refresh is allowed next (set when not due for that reason). */
  nextAttemptAt?: Date;
}

export function keyRefreshDue(input: KeyRefreshInput): KeyRefreshDecision {
  if (input.trigger === 'user') return { due: true, reason: 'asked for by the user' };
  if (!input.status.expired && !input.status.revoked) return { due: false, reason: 'the key is neither expired nor revoked' };
  const now = (input.now ?? (() => new Date()))();
  if (input.lastAttemptAt === undefined) return { due: true, reason: 'never refreshed' };
  const next = new Date(input.lastAttemptAt.getTime() + KEY_REFRESH_INTERVAL_MS);
  if (now.getTime() >= next.getTime()) return { due: true, reason: 'last refreshed a day or more ago' };
  return { due: false, reason: 'refreshed less than a day ago', nextAttemptAt: next };
}
