/**
 * The keyring's side of key discovery (KEY-SWAP): every key a source offers goes through
 * `decideDiscoveredKey`, and only its decision changes the keyring.
 *
 * - `new`: stored as undecided, with where it came from (only when the user imports it, or the caller
 *   asks to store every new key);
 * - `same`: the fresh copy is merged (new signatures, expiry, revocation); acceptance never changes,
 *   so a verified key is never downgraded;
 * - `conflict`: the old key stays in use, the offered key is stored as undecided beside it, and a
 *   key-change warning (address, both fingerprints, source, when) is recorded. It stays until the user
 *   decides: accepting the new key demotes the old one(s) to undecided, rejecting marks it rejected;
 * - `ignore`: nothing.
 *
 * While a warning is open, `Keyring.lookup` and `encryptionKeys` still answer with the old key: the
 * offered one is undecided and undecided keys are never used.
 *
 * Storage: `sigill.discovery` holds `{ version: 1, warnings, found, refreshed }` next to the keyring.
 */
import { SigillError, isSigillError } from '../errors.ts';
import { examineKeyData, toProblem } from '../discovery/candidates.ts';
import { parseAddress } from '../discovery/address.ts';
import { decideDiscoveredKey, keyRefreshDue, type HeldKey, type KeySwapDecision } from '../discovery/key-swap.ts';
import { discoverKeys } from '../discovery/lookup.ts';
import type { DiscoveredKey, DiscoveryOptions, DiscoveryProblem, DiscoveryResult, DiscoverySource, DiscoverySourceName, RejectedKey } from '../discovery/types.ts';
import { systemClock, type Clock } from '../platform.ts';
import type { Keyring } from './keyring.ts';
import { keyUseStatus, normaliseAddress } from './metadata.ts';
import type { KeyValueStorage } from './storage.ts';
import type { KeyRecord } from './types.ts';

export const DISCOVERY_STATE_KEY = 'sigill.discovery';
export const DISCOVERY_STATE_VERSION = 1;

/** A key-change warning as stored and shown: open until the user accepts or rejects the offered key. */
export interface KeyChangeWarning {
  address: string;
  /** The accepted or verified key(s) still used for the address. */
  inUse: { fingerprint: string; acceptance: 'accepted' | 'verified' }[];
  /** The different key that was offered. */
  offered: { fingerprint: string; source: DiscoverySourceName; origin: string };
  /** When the different key was first offered (ISO 8601). */
  detectedAt: string;
  /** When a source last offered it (ISO 8601). */
  lastSeenAt: string;
}

/** Where a key in the keyring was discovered (the first time). */
export interface DiscoveredFrom {
  source: DiscoverySourceName;
  origin: string;
  address: string;
  foundAt: string;
}

/** What happened to one offered key. */
export interface CandidateOutcome {
  key: DiscoveredKey;
  decision: KeySwapDecision;
  /** Set when the keyring was changed: the key was added or a held copy refreshed. */
  stored?: 'added' | 'updated';
  /** Set when storing failed (the keyring refused the key); nothing was changed then. */
  failure?: DiscoveryProblem;
}

/** One source's answer as the keyring saw it. */
export interface SourceOutcome {
  source: DiscoverySourceName;
  address: string;
  candidates: CandidateOutcome[];
  /** Keys refused (KEY-BAD) that did not concern a held key, with the reason. */
  rejected: RejectedKey[];
  error?: DiscoveryProblem;
  attempts: DiscoveryResult['attempts'];
}

/**
 * `changes` (a lookup the user has not acted on yet): refresh held keys and record conflicts, but
 * store no new stranger's key. `all`: also store `new` keys as undecided.
 */
export type StorePolicy = 'changes' | 'all';

export interface KeyDiscoveryOptions {
  keyring: Keyring;
  storage: KeyValueStorage;
  clock?: Clock;
}

export interface ResolveWarningInput {
  address: string;
  /** The offered key's fingerprint. */
  fingerprint: string;
  choice: 'accept' | 'reject';
}

export interface RefreshReport {
  /** The expired or revoked correspondents' keys that were due and looked up again. */
  refreshed: string[];
  /** Those not due (an automatic refresh less than a day after the last one). */
  notDue: string[];
  outcomes: SourceOutcome[];
}

interface DiscoveryState {
  version: number;
  warnings: KeyChangeWarning[];
  found: Record<string, DiscoveredFrom>;
  /** Fingerprint → when it was last looked up again (ISO 8601). */
  refreshed: Record<string, string>;
}

const emptyState = (): DiscoveryState => ({ version: DISCOVERY_STATE_VERSION, warnings: [], found: {}, refreshed: {} });

const compact = (fingerprint: string): string => fingerprint.replace(/\s+/g, '').toLowerCase();

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class KeyDiscovery {
  readonly #keyring: Keyring;
  readonly #storage: KeyValueStorage;
  readonly #clock: Clock;
  #state: DiscoveryState;
  // One change after another: a lookup's refresh and a user's decision never interleave.
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: KeyDiscoveryOptions, state: DiscoveryState) {
    this.#keyring = options.keyring;
    this.#storage = options.storage;
    this.#clock = options.clock ?? systemClock;
    this.#state = state;
  }

  /** Loads the warnings and discovery records. Throws BAD_INPUT for a state made by a newer Sigill. */
  static async open(options: KeyDiscoveryOptions): Promise<KeyDiscovery> {
    const stored = (await options.storage.get([DISCOVERY_STATE_KEY]))[DISCOVERY_STATE_KEY];
    const state = emptyState();
    if (stored !== undefined) {
      if (!isObject(stored) || typeof stored.version !== 'number') {
        throw new SigillError('BAD_INPUT', { detail: `the stored discovery state (${DISCOVERY_STATE_KEY}) is not in a known format` });
      }
      if (stored.version > DISCOVERY_STATE_VERSION) {
        throw new SigillError('BAD_INPUT', { detail: `the stored discovery state has version ${stored.version}, made by a newer Sigill` });
      }
      if (Array.isArray(stored.warnings)) state.warnings = stored.warnings as KeyChangeWarning[];
      if (isObject(stored.found)) state.found = stored.found as Record<string, DiscoveredFrom>;
      if (isObject(stored.refreshed)) state.refreshed = stored.refreshed as Record<string, string>;
    }
    return new KeyDiscovery(options, state);
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes `next` first; memory changes only once storage took it. Warnings the user settled elsewhere
   * (in the key list) are dropped here, so the stored list stays as short as the open ones.
   */
  async #save(next: DiscoveryState): Promise<void> {
    const pruned = { ...next, warnings: next.warnings.filter((warning) => this.#current(warning) !== undefined) };
    await this.#storage.set({ [DISCOVERY_STATE_KEY]: pruned });
    this.#state = pruned;
  }

  #now(): Date {
    return this.#clock.now();
  }

  /** The keys the keyring holds for `address`, as the KEY-SWAP rule sees them. */
  held(address: string): HeldKey[] {
    return this.#keyring.lookup(address).candidates.map(({ record }) => ({ fingerprint: record.fingerprint, acceptance: record.acceptance }));
  }

  /** What the keyring would do with `key` now (nothing is changed). */
  judge(key: Pick<DiscoveredKey, 'address' | 'fingerprint' | 'source' | 'status'>): KeySwapDecision {
    return decideDiscoveredKey({ address: normaliseAddress(key.address), held: this.held(key.address), candidate: key });
  }

  /** Where a key was discovered, if it came in through discovery. */
  discoveredFrom(fingerprint: string): DiscoveredFrom | undefined {
    return this.#state.found[compact(fingerprint)];
  }

  /** Applies the decision for one key; the caller holds the queue. */
  async #apply(key: DiscoveredKey, policy: StorePolicy): Promise<CandidateOutcome> {
    const decision = this.judge(key);
    const outcome: CandidateOutcome = { key, decision };
    const store = decision.action === 'same' || decision.action === 'conflict' || (decision.action === 'new' && policy === 'all');
    if (store) {
      const report = await this.#keyring.importKeys(key.certificate, { acceptance: 'undecided' });
      const imported = report.imported.find((entry) => entry.fingerprint === compact(key.fingerprint));
      if (imported === undefined) {
        const failed = report.failed[0];
        outcome.failure = failed === undefined ? toProblem(new SigillError('KEY_INVALID', { detail: key.fingerprint })) : { code: failed.code, message: failed.message };
        return outcome;
      }
      outcome.stored = imported.result;
    }
    const next: DiscoveryState = { ...this.#state, warnings: [...this.#state.warnings], found: { ...this.#state.found } };
    let changed = false;
    if (outcome.stored === 'added' && next.found[compact(key.fingerprint)] === undefined) {
      next.found[compact(key.fingerprint)] = { source: key.source, origin: key.origin, address: key.address, foundAt: this.#now().toISOString() };
      changed = true;
    }
    const warning = decision.action === 'conflict' ? decision.warning : decision.action === 'same' ? decision.warning : undefined;
    if (warning !== undefined) {
      const now = this.#now().toISOString();
      const index = next.warnings.findIndex((open) => open.address === warning.address && open.offered.fingerprint === compact(warning.offered.fingerprint));
      const previous = index >= 0 ? next.warnings[index] : undefined;
      const recorded: KeyChangeWarning = {
        address: warning.address,
        inUse: warning.inUse,
        offered: { fingerprint: compact(warning.offered.fingerprint), source: previous?.offered.source ?? warning.offered.source, origin: previous?.offered.origin ?? key.origin },
        detectedAt: previous?.detectedAt ?? now,
        lastSeenAt: now,
      };
      if (index >= 0) next.warnings[index] = recorded;
      else next.warnings.push(recorded);
      changed = true;
    }
    if (changed) await this.#save(next);
    return outcome;
  }

  /**
   * Takes the answers of sources for the keyring: every usable key, and every refused key that came
   * with its data (expired, revoked) so that a held key learns it was revoked.
   */
  receive(results: readonly DiscoveryResult[], options: { store?: StorePolicy } = {}): Promise<SourceOutcome[]> {
    const policy = options.store ?? 'changes';
    return this.#exclusive(async () => {
      const outcomes: SourceOutcome[] = [];
      for (const result of results) {
        const outcome: SourceOutcome = { source: result.source, address: result.address, candidates: [], rejected: [], attempts: result.attempts, ...(result.error === undefined ? {} : { error: result.error }) };
        for (const key of result.keys) outcome.candidates.push(await this.#apply(key, policy));
        for (const rejected of result.rejected) {
          const decision = rejected.key === undefined ? undefined : this.judge(rejected.key);
          if (rejected.key !== undefined && decision?.action === 'same') outcome.candidates.push(await this.#apply(rejected.key, policy));
          else outcome.rejected.push(rejected);
        }
        outcomes.push(outcome);
      }
      return outcomes;
    });
  }

  /** Asks the enabled `sources` for `address` and hands the answers to `receive`. */
  async lookup(address: string, sources: readonly DiscoverySource[], options: DiscoveryOptions & { store?: StorePolicy } = {}): Promise<SourceOutcome[]> {
    const results = await discoverKeys(address, sources, options.signal === undefined ? {} : { signal: options.signal });
    return this.receive(results, options.store === undefined ? {} : { store: options.store });
  }

  /**
   * Imports one candidate the user chose ("Import" on the options page). The certificate is judged
   * again here (KEY-BAD) rather than trusted as it comes; the KEY-SWAP rule then applies as for any
   * source: a key that conflicts with an accepted one is stored as undecided with a warning.
   * Throws KEY_NOT_FOUND when the certificate is not the key named, or the key's refusal reason.
   */
  importCandidate(candidate: Pick<DiscoveredKey, 'address' | 'source' | 'fingerprint' | 'certificate' | 'origin'>): Promise<CandidateOutcome> {
    return this.#exclusive(async () => {
      const { address } = parseAddress(typeof candidate.address === 'string' ? candidate.address : '');
      if (typeof candidate.certificate !== 'string' || typeof candidate.fingerprint !== 'string') {
        throw new SigillError('BAD_INPUT', { detail: 'a candidate needs its certificate and fingerprint' });
      }
      const source: DiscoverySourceName = (['wkd', 'vks', 'autocrypt', 'attachment'] as const).find((name) => name === candidate.source) ?? 'attachment';
      const origin = typeof candidate.origin === 'string' ? candidate.origin.slice(0, 2048) : '';
      const examined = await examineKeyData(candidate.certificate, { source, address, origin, now: this.#now() });
      const wanted = compact(candidate.fingerprint);
      const key = examined.keys.find((found) => found.fingerprint === wanted);
      if (key === undefined) {
        const refused = examined.rejected.find((rejected) => rejected.fingerprint === wanted);
        if (refused?.key !== undefined && this.judge(refused.key).action === 'same') return this.#apply(refused.key, 'all');
        if (refused !== undefined) throw new SigillError(refused.reason.code, { detail: refused.reason.message });
        throw new SigillError('KEY_NOT_FOUND', { detail: `the certificate given is not the key ${wanted}` });
      }
      const outcome = await this.#apply(key, 'all');
      if (outcome.decision.action === 'ignore') throw new SigillError('KEY_REJECTED', { detail: outcome.decision.detail });
      if (outcome.failure !== undefined) throw new SigillError(outcome.failure.code, { detail: outcome.failure.message });
      return outcome;
    });
  }

  /** Whether `warning` still needs the user: its offered key is undecided and another key is in use. */
  #current(warning: KeyChangeWarning): KeyChangeWarning | undefined {
    const offered = this.#keyring.record(warning.offered.fingerprint);
    if (offered === undefined || offered.acceptance !== 'undecided') return undefined;
    const inUse = this.#keyring
      .lookup(warning.address)
      .candidates.map(({ record }) => record)
      .filter((record): record is KeyRecord & { acceptance: 'accepted' | 'verified' } => record.fingerprint !== offered.fingerprint && (record.acceptance === 'accepted' || record.acceptance === 'verified'))
      .map((record) => ({ fingerprint: record.fingerprint, acceptance: record.acceptance }));
    return inUse.length === 0 ? undefined : { ...warning, inUse };
  }

  /**
   * The open key-change warnings, newest first. A warning closes by itself when the user decided
   * about the offered key elsewhere (accepted or rejected it in the key list) or no key is in use any more.
   */
  warnings(address?: string): KeyChangeWarning[] {
    const wanted = address === undefined ? undefined : normaliseAddress(address);
    return this.#state.warnings
      .filter((warning) => wanted === undefined || warning.address === wanted)
      .map((warning) => this.#current(warning))
      .filter((warning): warning is KeyChangeWarning => warning !== undefined)
      .sort((a, b) => Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt));
  }

  /**
   * The user's decision about an offered key. `accept`: the new key is accepted and every other key
   * accepted or verified for the address is demoted to undecided (shown, never silent); `reject`: the
   * offered key is marked rejected and the old key stays. Throws KEY_NOT_FOUND for no open warning.
   */
  resolveWarning(input: ResolveWarningInput): Promise<{ accepted?: KeyRecord; rejected?: KeyRecord; demoted: KeyRecord[] }> {
    return this.#exclusive(async () => {
      if (input.choice !== 'accept' && input.choice !== 'reject') throw new SigillError('BAD_INPUT', { detail: `choice must be accept or reject, not ${String(input.choice)}` });
      const address = normaliseAddress(typeof input.address === 'string' ? input.address : '');
      const fingerprint = compact(typeof input.fingerprint === 'string' ? input.fingerprint : '');
      const stored = this.#state.warnings.find((warning) => warning.address === address && warning.offered.fingerprint === fingerprint);
      const open = stored === undefined ? undefined : this.#current(stored);
      if (open === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: `no open key-change warning for ${address} and ${fingerprint}` });
      const result: { accepted?: KeyRecord; rejected?: KeyRecord; demoted: KeyRecord[] } = { demoted: [] };
      if (input.choice === 'accept') {
        result.accepted = await this.#keyring.setAcceptance(fingerprint, 'accepted');
        for (const old of open.inUse) result.demoted.push(await this.#keyring.setAcceptance(old.fingerprint, 'undecided'));
      } else {
        result.rejected = await this.#keyring.setAcceptance(fingerprint, 'rejected');
      }
      await this.#save({ ...this.#state, warnings: this.#state.warnings.filter((warning) => warning !== stored) });
      return result;
    });
  }

  /** Correspondents' keys that are expired or revoked, and whether a refresh of each is due now. */
  refreshCandidates(trigger: 'automatic' | 'user'): { due: KeyRecord[]; notDue: KeyRecord[] } {
    const now = this.#now();
    const due: KeyRecord[] = [];
    const notDue: KeyRecord[] = [];
    for (const record of this.#keyring.records()) {
      if (record.secret || record.acceptance === 'rejected' || record.addresses.length === 0) continue;
      const status = keyUseStatus(record, now);
      const expired = status === 'expired';
      const revoked = status === 'revoked';
      if (!expired && !revoked) continue;
      const last = this.#state.refreshed[record.fingerprint];
      const decision = keyRefreshDue({ status: { expired, revoked }, trigger, now: () => now, ...(last === undefined ? {} : { lastAttemptAt: new Date(last) }) });
      (decision.due ? due : notDue).push(record);
    }
    return { due, notDue };
  }

  /**
   * Looks expired and revoked correspondents' keys up again from `sources`: on demand (`user`) or
   * automatically at most once a day per key (`automatic`, `keyRefreshDue`). New signatures, expiry
   * and revocations are merged; a different key for the address becomes a key-change warning.
   */
  async refresh(sources: readonly DiscoverySource[], options: DiscoveryOptions & { trigger: 'automatic' | 'user' }): Promise<RefreshReport> {
    const { due, notDue } = this.refreshCandidates(options.trigger);
    const report: RefreshReport = { refreshed: due.map((record) => record.fingerprint), notDue: notDue.map((record) => record.fingerprint), outcomes: [] };
    if (due.length === 0) return report;
    const addresses = [...new Set(due.flatMap((record) => record.addresses))];
    for (const address of addresses) {
      try {
        report.outcomes.push(...(await this.lookup(address, sources, { store: 'changes', ...(options.signal === undefined ? {} : { signal: options.signal }) })));
      } catch (error) {
        if (isSigillError(error, 'CANCELLED')) throw error;
        report.outcomes.push({ source: sources[0]?.name ?? 'wkd', address, candidates: [], rejected: [], attempts: [], error: toProblem(error) });
      }
    }
    await this.#exclusive(async () => {
      const refreshed = { ...this.#state.refreshed };
      const at = this.#now().toISOString();
      for (const record of due) refreshed[record.fingerprint] = at;
      await this.#save({ ...this.#state, refreshed });
    });
    return report;
  }
}
