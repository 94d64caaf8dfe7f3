/**
 * Sigill's keyring: the user's own secret keys and correspondents' certificates, each with an
 * acceptance state, persisted through an injected `KeyValueStorage`.
 *
 * Storage schema (version 1):
 * - `sigill.keyring`: `{ version: 1, shards: 256 }`;
 * - `sigill.keyring.<hh>`: JSON text of `{ [fingerprint]: KeyRecord }`, the metadata of the keys whose fingerprint
 *   starts with the two hex digits `hh`; a decision about one key rewrites 1/256 of the metadata, not all;
 * - `sigill.key.<fingerprint>`: `{ armored }`, the armored key; secret keys only passphrase-protected.
 * Opening reads the metadata alone and builds one index by address; a key is parsed only when it is
 * needed (encrypting, exporting, unlocking), so 10,000 keys open in milliseconds.
 */
import { reformatKey, type PrivateKey, type PublicKey } from 'openpgp';
import { SigillError, isSigillError, type SigillErrorCode } from '../errors.ts';
import {
  applyRevocationCertificate,
  assertUsable,
  changePassphrase as changeKeyPassphrase,
  clearUnlockedKey,
  exportKey,
  formatFingerprint,
  generateKey,
  lockKey,
  readKeys,
  revokeKey,
  unlockKey,
  type AnyKey,
  type KeyProfile,
  type RevocationReason,
} from '../keys/index.ts';
import { errorText, secretKeyPackets } from '../keys/internal.ts';
import { keyUseStatus, normaliseAddress, recordFromKey } from './metadata.ts';
import type { KeyValueStorage } from './storage.ts';
import {
  acceptanceStates,
  addressStatusMessages,
  type Acceptance,
  type AddressKeyStatus,
  type AddressLookup,
  type KeyCandidate,
  type KeyRecord,
  type KeyUseStatus,
} from './types.ts';
import { systemClock, type Clock } from '../platform.ts';
import { UnlockCache } from './unlock-cache.ts';

export const KEYRING_SCHEMA_VERSION = 1;
export const KEYRING_INDEX_KEY = 'sigill.keyring';
export const keyStorageKey = (fingerprint: string): string => `sigill.key.${fingerprint}`;
const SHARD_COUNT = 256;
const shardOf = (fingerprint: string): string => fingerprint.slice(0, 2);
export const metadataShardKey = (shard: string): string => `${KEYRING_INDEX_KEY}.${shard}`;
const allShardKeys = Array.from({ length: SHARD_COUNT }, (_, index) => metadataShardKey(index.toString(16).padStart(2, '0')));

/** The key records held in raw storage items (for tools and tests that inspect what is stored). */
export function storedKeyRecords(items: Record<string, unknown>): Record<string, KeyRecord> {
  const records: Record<string, KeyRecord> = {};
  for (const key of allShardKeys) {
    const shard = items[key];
    if (typeof shard !== 'string') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(shard);
    } catch (error) {
      throw new SigillError('BAD_INPUT', { detail: `the stored keyring shard ${key} is not valid JSON`, cause: error });
    }
    if (!isRecord(parsed)) throw new SigillError('BAD_INPUT', { detail: `the stored keyring shard ${key} is not in a known format` });
    Object.assign(records, parsed);
  }
  return records;
}

/** Three years, the default lifetime of a generated key. */
export const DEFAULT_KEY_LIFETIME_SECONDS = 3 * 365 * 24 * 60 * 60;

interface StoredIndex {
  version: number;
  shards: number;
}

interface StoredKey {
  armored: string;
}

export interface KeyringOptions {
  storage: KeyValueStorage;
  clock?: Clock;
  /** How long an unlocked secret key is kept in memory (default 10 minutes). */
  unlockLifetimeMs?: number;
}

export interface ImportOutcome {
  fingerprint: string;
  /** `added`: new in the keyring; `updated`: merged into the key already there. */
  result: 'added' | 'updated';
  record: KeyRecord;
}

export interface ImportFailure {
  /** The key's fingerprint when the key could be read that far. */
  fingerprint?: string;
  code: SigillErrorCode;
  message: string;
}

export interface ImportReport {
  imported: ImportOutcome[];
  failed: ImportFailure[];
}

export interface GenerateOwnKeyInput {
  userIDs: string[];
  passphrase: string;
  profile?: KeyProfile;
  /** Default three years; `null` for a key that never expires. */
  expiresInSeconds?: number | null;
}

export interface GeneratedOwnKey {
  record: KeyRecord;
  /** The backup file to offer at once: protected secret key and revocation certificate. */
  backup: string;
}

export interface RevokeOwnKeyInput {
  /** Revoke with the key itself (unlocked with this passphrase) ... */
  passphrase?: string;
  /** ... or with the revocation certificate saved at generation. */
  revocationCertificate?: string;
  reasonCode?: RevocationReason;
  reason?: string;
}

export interface SearchOptions {
  /** Only own keys (true) or only correspondents' keys (false). */
  secret?: boolean;
  /** At most this many records (default 200); `total` still counts every match. */
  limit?: number;
  offset?: number;
}

export interface SearchResult {
  total: number;
  records: KeyRecord[];
}

const BACKUP_FORMAT = 'sigill-keyring-backup';

export interface KeyringBackup {
  format: typeof BACKUP_FORMAT;
  version: number;
  created: string;
  keys: Array<{ armored: string; acceptance: Acceptance; backedUp?: boolean; revocationCertificate?: string }>;
}

// GnuPG's convention for revocation certificates kept next to keys: the colon stops an accidental import.
const NEUTRALISED_REVOCATION = /^:(-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----)\s*$/m;

/** Ranking of statuses when no key for an address is usable: the most actionable reason is reported. */
const statusRank: Record<KeyUseStatus, number> = {
  usable: 0,
  'not-accepted': 1,
  rejected: 2,
  expired: 3,
  'no-encryption-key': 4,
  revoked: 5,
  invalid: 6,
};

const errorCodeOfStatus: Record<Exclude<AddressKeyStatus, 'usable'>, SigillErrorCode> = {
  missing: 'KEY_NOT_FOUND',
  revoked: 'KEY_REVOKED',
  expired: 'KEY_EXPIRED',
  invalid: 'KEY_INVALID',
  'no-encryption-key': 'NO_ENCRYPTION_KEY',
  rejected: 'KEY_NOT_ACCEPTED',
  'not-accepted': 'KEY_NOT_ACCEPTED',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws KEY_UNPROTECTED unless every secret key packet of `key` is encrypted (KEY-REST). */
export function assertProtected(key: AnyKey): void {
  if (!key.isPrivate()) return;
  const unprotected = secretKeyPackets(key).filter((packet) => packet.isDecrypted());
  if (unprotected.length > 0) {
    throw new SigillError('KEY_UNPROTECTED', { detail: `${formatFingerprint(key.getFingerprint())}: ${unprotected.length} secret key packet(s) without a passphrase` });
  }
}

function failureOf(error: unknown, fingerprint?: string): ImportFailure {
  const code: SigillErrorCode = isSigillError(error) ? error.code : 'INTERNAL';
  const message = isSigillError(error) ? error.message : errorText(error);
  return fingerprint === undefined ? { code, message } : { fingerprint, code, message };
}

export class Keyring {
  readonly #storage: KeyValueStorage;
  readonly #clock: Clock;
  readonly #records = new Map<string, KeyRecord>();
  readonly #byAddress = new Map<string, Set<string>>();
  /** Lower-case text searched as you type: user IDs and fingerprint. */
  readonly #haystacks = new Map<string, string>();
  readonly unlocked: UnlockCache;
  // Mutations run one after another so that two imports cannot overwrite each other's index.
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: KeyringOptions) {
    this.#storage = options.storage;
    this.#clock = options.clock ?? systemClock;
    this.unlocked = new UnlockCache({ clock: this.#clock, ...(options.unlockLifetimeMs === undefined ? {} : { lifetimeMs: options.unlockLifetimeMs }) });
  }

  /** Loads the metadata (never the keys) from storage. Throws BAD_INPUT for a schema it does not know. */
  static async open(options: KeyringOptions): Promise<Keyring> {
    const keyring = new Keyring(options);
    const items = await options.storage.get([KEYRING_INDEX_KEY, ...allShardKeys]);
    const stored = items[KEYRING_INDEX_KEY];
    if (stored !== undefined) {
      if (!isRecord(stored) || typeof stored.version !== 'number') {
        throw new SigillError('BAD_INPUT', { detail: `the stored keyring (${KEYRING_INDEX_KEY}) is not in a known format` });
      }
      if (stored.version > KEYRING_SCHEMA_VERSION) {
        throw new SigillError('BAD_INPUT', { detail: `the stored keyring has schema version ${stored.version}, made by a newer Sigill (this one reads ${KEYRING_SCHEMA_VERSION})` });
      }
      if (stored.shards !== SHARD_COUNT) {
        throw new SigillError('BAD_INPUT', { detail: `the stored keyring (${KEYRING_INDEX_KEY}) is not in a known format` });
      }
      for (const record of Object.values(storedKeyRecords(items))) keyring.#index(record);
    }
    return keyring;
  }

  #now(): Date {
    return this.#clock.now();
  }

  #index(record: KeyRecord): void {
    this.#unindex(record.fingerprint);
    this.#records.set(record.fingerprint, record);
    for (const address of record.addresses) {
      let fingerprints = this.#byAddress.get(address);
      if (fingerprints === undefined) {
        fingerprints = new Set();
        this.#byAddress.set(address, fingerprints);
      }
      fingerprints.add(record.fingerprint);
    }
    this.#haystacks.set(record.fingerprint, `${record.userIDs.join('\n')}\n${record.fingerprint}`.toLowerCase());
  }

  #unindex(fingerprint: string): void {
    const old = this.#records.get(fingerprint);
    if (old === undefined) return;
    for (const address of old.addresses) {
      const fingerprints = this.#byAddress.get(address);
      fingerprints?.delete(fingerprint);
      if (fingerprints?.size === 0) this.#byAddress.delete(address);
    }
    this.#records.delete(fingerprint);
    this.#haystacks.delete(fingerprint);
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes `changes` (records with their keys, or fingerprints to delete) in one storage call, then
   * updates memory; if storage refuses, memory stays as it was.
   */
  async #commit(changes: { put?: Array<{ record: KeyRecord; key?: AnyKey }>; remove?: string[] }): Promise<void> {
    const items: Record<string, unknown> = {};
    const records = new Map(this.#records);
    const touched = new Set<string>();
    for (const { record, key } of changes.put ?? []) {
      if (key !== undefined) {
        assertProtected(key);
        items[keyStorageKey(record.fingerprint)] = { armored: key.armor() } satisfies StoredKey;
      }
      records.set(record.fingerprint, record);
      touched.add(shardOf(record.fingerprint));
    }
    for (const fingerprint of changes.remove ?? []) {
      records.delete(fingerprint);
      touched.add(shardOf(fingerprint));
    }
    // Only the metadata shards holding a changed key are rewritten, in the same storage call as the keys.
    const shards = new Map([...touched].map((shard) => [shard, {} as Record<string, KeyRecord>]));
    for (const [fingerprint, record] of records) {
      const shard = shards.get(shardOf(fingerprint));
      if (shard !== undefined) shard[fingerprint] = record;
    }
    // JSON text, not objects: Thunderbird's storage.local reads one string per shard far faster than
    // it deserialises thousands of small objects (10,000 keys: see bench/keyring-thunderbird.ts).
    for (const [shard, content] of shards) items[metadataShardKey(shard)] = JSON.stringify(content);
    items[KEYRING_INDEX_KEY] = { version: KEYRING_SCHEMA_VERSION, shards: SHARD_COUNT } satisfies StoredIndex;
    await this.#storage.set(items);
    if (changes.remove !== undefined && changes.remove.length > 0) {
      await this.#storage.remove(changes.remove.map(keyStorageKey));
    }
    for (const fingerprint of changes.remove ?? []) this.#unindex(fingerprint);
    for (const { record } of changes.put ?? []) this.#index(record);
  }

  // ---- reading ------------------------------------------------------------------------------------

  get size(): number {
    return this.#records.size;
  }

  records(): KeyRecord[] {
    return [...this.#records.values()];
  }

  record(fingerprint: string): KeyRecord | undefined {
    return this.#records.get(fingerprint.toLowerCase().replace(/\s+/g, ''));
  }

  #require(fingerprint: string): KeyRecord {
    const record = this.record(fingerprint);
    if (record === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: fingerprint });
    return record;
  }

  ownKeys(): KeyRecord[] {
    return this.records().filter((record) => record.secret);
  }

  /** Keys whose user IDs or fingerprint contain `query` (case-insensitive; spaces in fingerprints ignored). */
  search(query: string, options: SearchOptions = {}): SearchResult {
    const needle = query.trim().toLowerCase();
    const compactNeedle = needle.replace(/\s+/g, '');
    const limit = options.limit ?? 200;
    const offset = options.offset ?? 0;
    const records: KeyRecord[] = [];
    let total = 0;
    for (const [fingerprint, haystack] of this.#haystacks) {
      const record = this.#records.get(fingerprint);
      if (record === undefined || (options.secret !== undefined && record.secret !== options.secret)) continue;
      if (needle !== '' && !haystack.includes(needle) && !(compactNeedle.length >= 4 && fingerprint.includes(compactNeedle))) continue;
      if (total >= offset && records.length < limit) records.push(record);
      total += 1;
    }
    return { total, records };
  }

  /** The status of one key for encryption now. */
  status(fingerprint: string): KeyUseStatus {
    return keyUseStatus(this.#require(fingerprint), this.#now());
  }

  /** Which keys can encrypt to `address` now, and if none, why not (from metadata; no key is parsed). */
  lookup(address: string): AddressLookup {
    const normalised = normaliseAddress(address);
    const now = this.#now();
    const candidates: KeyCandidate[] = [...(this.#byAddress.get(normalised) ?? [])]
      .map((fingerprint) => this.#records.get(fingerprint))
      .filter((record): record is KeyRecord => record !== undefined)
      .map((record) => ({ record, status: keyUseStatus(record, now) }))
      .sort((a, b) =>
        statusRank[a.status] - statusRank[b.status] ||
        Number(b.record.acceptance === 'verified') - Number(a.record.acceptance === 'verified') ||
        Date.parse(b.record.created) - Date.parse(a.record.created));
    const status: AddressKeyStatus = candidates[0]?.status ?? 'missing';
    return {
      address: normalised,
      status,
      message: addressStatusMessages[status],
      usable: candidates.filter((candidate) => candidate.status === 'usable').map((candidate) => candidate.record),
      candidates,
    };
  }

  /**
   * The keys to encrypt to `address`, parsed and checked again now (`assertUsable`): metadata says
   * which keys to try, the signatures decide. Throws the reason (KEY_NOT_FOUND, KEY_NOT_ACCEPTED,
   * KEY_EXPIRED, KEY_REVOKED, KEY_INVALID, NO_ENCRYPTION_KEY) with the address as detail.
   */
  async encryptionKeys(address: string): Promise<PublicKey[]> {
    const found = this.lookup(address);
    if (found.status !== 'usable') {
      throw new SigillError(errorCodeOfStatus[found.status], { detail: `${found.address}: ${found.message}` });
    }
    const keys: PublicKey[] = [];
    let lastError: unknown;
    for (const record of found.usable) {
      const key = await this.publicKey(record.fingerprint);
      try {
        await assertUsable(key, 'encrypt', { date: this.#now() });
        keys.push(key);
      } catch (error) {
        lastError = error;
      }
    }
    if (keys.length === 0) {
      if (isSigillError(lastError)) throw lastError;
      throw new SigillError('NO_ENCRYPTION_KEY', { detail: found.address, cause: lastError });
    }
    return keys;
  }

  /** Own keys (with secret material) for `address` that can sign now, newest first. */
  ownKeysFor(address: string): KeyRecord[] {
    const normalised = normaliseAddress(address);
    const now = this.#now();
    return [...(this.#byAddress.get(normalised) ?? [])]
      .map((fingerprint) => this.#records.get(fingerprint))
      .filter((record): record is KeyRecord => record !== undefined && record.secret && record.canSign)
      .filter((record) => !['revoked', 'expired', 'invalid'].includes(keyUseStatus(record, now)))
      .sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  }

  /** Parses the stored key (a `PrivateKey`, still protected, for own keys). */
  async key(fingerprint: string): Promise<AnyKey> {
    const record = this.#require(fingerprint);
    const stored = (await this.#storage.get([keyStorageKey(record.fingerprint)]))[keyStorageKey(record.fingerprint)];
    if (!isRecord(stored) || typeof stored.armored !== 'string') {
      throw new SigillError('KEY_NOT_FOUND', { detail: `${formatFingerprint(record.fingerprint)}: the stored key is missing` });
    }
    const [key] = await readKeys(stored.armored);
    if (key === undefined || key.getFingerprint() !== record.fingerprint) {
      throw new SigillError('KEY_INVALID', { detail: `${formatFingerprint(record.fingerprint)}: the stored key does not match its record` });
    }
    return key;
  }

  async publicKey(fingerprint: string): Promise<PublicKey> {
    const key = await this.key(fingerprint);
    return key.isPrivate() ? key.toPublic() : key;
  }

  async secretKey(fingerprint: string): Promise<PrivateKey> {
    const key = await this.key(fingerprint);
    if (!key.isPrivate()) throw new SigillError('KEY_NOT_SECRET', { detail: formatFingerprint(fingerprint) });
    return key;
  }

  /** The armored public certificate. */
  async exportPublic(fingerprint: string): Promise<string> {
    return exportKey(await this.key(fingerprint), { armor: true });
  }

  // ---- importing ---------------------------------------------------------------------------------

  /**
   * Imports certificates (one or many, armored or binary). Secret key blocks in the input are
   * reduced to their public part: secret keys come in through `importSecretKeys` only. A key already
   * present is merged (new user IDs, subkeys, revocations) and keeps its acceptance. Keys that
   * cannot be used at all (no valid self-signature, refused algorithm) are refused with the reason.
   */
  importKeys(data: string | Uint8Array, options: { acceptance?: Acceptance } = {}): Promise<ImportReport> {
    return this.#exclusive(async () => {
      const keys = await readKeys(data);
      return this.#importParsed(keys.map((key) => (key.isPrivate() ? key.toPublic() : key)), options.acceptance ?? 'undecided');
    });
  }

  async #importParsed(keys: AnyKey[], acceptance: Acceptance, extra: (key: AnyKey) => Partial<KeyRecord> = () => ({})): Promise<ImportReport> {
    const report: ImportReport = { imported: [], failed: [] };
    const put: Array<{ record: KeyRecord; key: AnyKey }> = [];
    const pending = new Map<string, { record: KeyRecord; key: AnyKey }>();
    for (const incoming of keys) {
      const fingerprint = incoming.getFingerprint();
      try {
        const previousRecord = pending.get(fingerprint)?.record ?? this.#records.get(fingerprint);
        const merged = previousRecord === undefined ? incoming : await this.#merge(pending.get(fingerprint)?.key ?? (await this.key(fingerprint)), incoming);
        const record = await recordFromKey(merged, {
          acceptance: merged.isPrivate() ? 'verified' : acceptance,
          now: this.#now(),
          ...(previousRecord === undefined ? {} : { previous: previousRecord }),
        });
        if (merged.isPrivate() && previousRecord !== undefined && !previousRecord.secret) record.acceptance = 'verified';
        Object.assign(record, extra(incoming));
        if (record.problems.includes('KEY_INVALID') || record.problems.includes('UNSUPPORTED_ALGORITHM')) {
          const code = record.problems.includes('KEY_INVALID') ? 'KEY_INVALID' : 'UNSUPPORTED_ALGORITHM';
          throw new SigillError(code, { detail: formatFingerprint(fingerprint) });
        }
        if (record.userIDs.length === 0 && record.version === 4) {
          throw new SigillError('BAD_USER_ID', { detail: `${formatFingerprint(fingerprint)} has no user ID with a valid self-signature` });
        }
        assertProtected(merged);
        const entry = { record, key: merged };
        pending.set(fingerprint, entry);
        report.imported.push({ fingerprint, result: previousRecord === undefined ? 'added' : 'updated', record });
      } catch (error) {
        report.failed.push(failureOf(error, fingerprint));
      }
    }
    put.push(...pending.values());
    if (put.length > 0) await this.#commit({ put });
    // The report holds the final record of each key (a key listed twice in one file is merged).
    report.imported = report.imported.map((outcome) => ({ ...outcome, record: pending.get(outcome.fingerprint)?.record ?? outcome.record }));
    return report;
  }

  /** Merges `incoming` into `existing`; a secret key absorbs a public one, never the other way round. */
  async #merge(existing: AnyKey, incoming: AnyKey): Promise<AnyKey> {
    try {
      if (incoming.isPrivate() && !existing.isPrivate()) {
        return await incoming.update(existing, this.#now());
      }
      return await existing.update(incoming.isPrivate() ? incoming.toPublic() : incoming, this.#now());
    } catch (error) {
      throw new SigillError('KEY_INVALID', { detail: `merging ${formatFingerprint(existing.getFingerprint())}: ${errorText(error)}`, cause: error });
    }
  }

  /**
   * Imports own secret keys (a GnuPG `--export-secret-keys` file, a Sigill backup ...). `passphrase` is
   * the key's passphrase: every key is unlocked with it once, which proves the passphrase and checks
   * the secret against the public parameters (KEY_TAMPERED); a key that comes without protection is
   * protected with it before it is stored. Without a passphrase nothing is imported (KEY_LOCKED).
   */
  importSecretKeys(data: string | Uint8Array, options: { passphrase: string }): Promise<ImportReport> {
    return this.#exclusive(async () => {
      if (typeof options.passphrase !== 'string' || options.passphrase === '') {
        throw new SigillError('KEY_LOCKED', { detail: 'give the passphrase of the secret key (or, for a key without one, the passphrase to protect it with)' });
      }
      // Binary input (`gpg --export-secret-keys` without --armor) has no text around the keys.
      const { keys: text, revocationCertificate } = typeof data === 'string' ? splitBackup(data) : { keys: data, revocationCertificate: undefined };
      const keys = await readKeys(text);
      const prepared: AnyKey[] = [];
      const failed: ImportFailure[] = [];
      for (const key of keys) {
        try {
          if (!key.isPrivate()) throw new SigillError('KEY_NOT_SECRET', { detail: formatFingerprint(key.getFingerprint()) });
          prepared.push(await this.#protected(key, options.passphrase));
        } catch (error) {
          failed.push(failureOf(error, key.getFingerprint()));
        }
      }
      // The key came from a file the user has: that file is its backup.
      const report = await this.#importParsed(prepared, 'verified', () => (revocationCertificate === undefined ? { backedUp: true } : { revocationCertificate, backedUp: true }));
      return { imported: report.imported, failed: [...failed, ...report.failed] };
    });
  }

  /** The key as it may be stored: protected with `passphrase`, after an unlock has validated it. */
  async #protected(key: PrivateKey, passphrase: string): Promise<PrivateKey> {
    const unlocked = await unlockKey(key, [passphrase]);
    try {
      if (secretKeyPackets(key).some((packet) => packet.isDecrypted())) {
        return await lockKey(unlocked, passphrase);
      }
      return key;
    } finally {
      clearUnlockedKey(unlocked);
    }
  }

  // ---- own keys ------------------------------------------------------------------------------------

  /** Generates an own key (protected with `passphrase`), stores it as not backed up yet, and returns the backup file. */
  generateOwnKey(input: GenerateOwnKeyInput): Promise<GeneratedOwnKey> {
    return this.#exclusive(async () => {
      if (typeof input.passphrase !== 'string' || input.passphrase === '') {
        throw new SigillError('BAD_INPUT', { detail: 'a passphrase is required: secret keys are only stored passphrase-protected' });
      }
      const expires = input.expiresInSeconds === undefined ? DEFAULT_KEY_LIFETIME_SECONDS : input.expiresInSeconds;
      const generated = await generateKey({
        userIDs: input.userIDs,
        passphrase: input.passphrase,
        ...(input.profile === undefined ? {} : { profile: input.profile }),
        ...(expires === null ? {} : { expiresInSeconds: expires }),
        date: this.#now(),
      });
      const record = await recordFromKey(generated.secretKey, { acceptance: 'verified', now: this.#now() });
      record.backedUp = false;
      record.revocationCertificate = generated.revocationCertificate;
      await this.#commit({ put: [{ record, key: generated.secretKey }] });
      return { record, backup: backupFileText(record, generated.secretKey.armor(), generated.revocationCertificate) };
    });
  }

  /** The backup file of an own key: the protected secret key, then the neutralised revocation certificate. */
  async ownKeyBackup(fingerprint: string): Promise<string> {
    const record = this.#require(fingerprint);
    const key = await this.secretKey(record.fingerprint);
    assertProtected(key);
    return backupFileText(record, key.armor(), record.revocationCertificate);
  }

  /** Records that the user saved the backup of an own key. */
  markBackedUp(fingerprint: string): Promise<KeyRecord> {
    return this.#updateRecord(fingerprint, (record) => ({ ...record, backedUp: true }));
  }

  /** Sets what the user decided about a key. Throws BAD_INPUT for an unknown state, KEY_NOT_FOUND. */
  setAcceptance(fingerprint: string, acceptance: Acceptance): Promise<KeyRecord> {
    if (!acceptanceStates.includes(acceptance)) {
      return Promise.reject(new SigillError('BAD_INPUT', { detail: `unknown acceptance ${JSON.stringify(acceptance)}; known: ${acceptanceStates.join(', ')}` }));
    }
    return this.#updateRecord(fingerprint, (record) => ({ ...record, acceptance }));
  }

  #updateRecord(fingerprint: string, change: (record: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    return this.#exclusive(async () => {
      const record = change(this.#require(fingerprint));
      await this.#commit({ put: [{ record }] });
      return record;
    });
  }

  /** Replaces an own key by `key` (protected) and re-checks its metadata, keeping what the user decided. */
  async #replaceOwnKey(previous: KeyRecord, key: PrivateKey, changes: Partial<KeyRecord> = {}): Promise<KeyRecord> {
    const record = { ...(await recordFromKey(key, { acceptance: previous.acceptance, now: this.#now(), previous })), ...changes };
    await this.#commit({ put: [{ record, key }] });
    return record;
  }

  changePassphrase(fingerprint: string, options: { oldPassphrase: string; newPassphrase: string }): Promise<KeyRecord> {
    return this.#exclusive(async () => {
      const record = this.#require(fingerprint);
      if (typeof options.newPassphrase !== 'string' || options.newPassphrase === '') {
        throw new SigillError('BAD_INPUT', { detail: 'the new passphrase must not be empty' });
      }
      const key = await this.secretKey(record.fingerprint);
      const changed = await changeKeyPassphrase({ key, oldPassphrases: [options.oldPassphrase], newPassphrase: options.newPassphrase });
      // The old backup no longer matches the passphrase the user now knows.
      return this.#replaceOwnKey(record, changed, { backedUp: false });
    });
  }

  /**
   * Gives an own key (and its subkeys) a new expiry, counted from now, by re-issuing its
   * self-signatures (RFC 9580 §5.2.3.13 key expiration time); `null` for no expiry.
   */
  extendExpiry(fingerprint: string, options: { passphrase: string; expiresInSeconds: number | null }): Promise<KeyRecord> {
    return this.#exclusive(async () => {
      const record = this.#require(fingerprint);
      if (record.revoked) throw new SigillError('KEY_REVOKED', { detail: formatFingerprint(record.fingerprint) });
      const { expiresInSeconds } = options;
      if (expiresInSeconds !== null && !(Number.isSafeInteger(expiresInSeconds) && expiresInSeconds > 0 && expiresInSeconds < 2 ** 32)) {
        throw new SigillError('BAD_INPUT', { detail: 'expiresInSeconds must be a positive whole number of seconds below 2^32' });
      }
      const key = await this.secretKey(record.fingerprint);
      const unlocked = await unlockKey(key, [options.passphrase]);
      try {
        const v6 = key.keyPacket.version === 6;
        // The key expiration time subpacket counts from the key's creation (RFC 9580 §5.2.3.13), not from now.
        const age = Math.max(0, Math.floor((this.#clock.now().getTime() - key.getCreationTime().getTime()) / 1000));
        const keyExpirationTime = expiresInSeconds === null ? 0 : age + expiresInSeconds;
        if (keyExpirationTime >= 2 ** 32) throw new SigillError('BAD_INPUT', { detail: 'the expiry is too far in the future' });
        const reformatted = await reformatKey({
          privateKey: unlocked,
          // `{ name }` keeps each user ID byte for byte, as generation does.
          userIDs: record.userIDs.map((userID) => ({ name: userID })),
          keyExpirationTime,
          date: this.#now(),
          format: 'object',
          config: v6 ? { v6Keys: true, aeadProtect: true } : { v6Keys: false, aeadProtect: false },
        });
        const relocked = await lockKey(reformatted.privateKey, options.passphrase);
        clearUnlockedKey(reformatted.privateKey);
        // The secret material and passphrase are unchanged: an earlier backup still restores this key.
        return await this.#replaceOwnKey(record, relocked, { revocationCertificate: reformatted.revocationCertificate });
      } catch (error) {
        if (error instanceof SigillError) throw error;
        throw new SigillError('INTERNAL', { detail: `extending the expiry failed: ${errorText(error)}`, cause: error });
      } finally {
        clearUnlockedKey(unlocked);
      }
    });
  }

  /** Revokes an own key with its passphrase or its saved revocation certificate; a correspondent's key only with a certificate. */
  revoke(fingerprint: string, input: RevokeOwnKeyInput): Promise<KeyRecord> {
    return this.#exclusive(async () => {
      const record = this.#require(fingerprint);
      const key = await this.key(record.fingerprint);
      let revoked: AnyKey;
      if (input.revocationCertificate !== undefined) {
        // A certificate copied from a backup file may still carry its neutralising ":".
        revoked = await applyRevocationCertificate(key, input.revocationCertificate.replace(/^:(?=-----BEGIN)/m, '').trim());
      } else if (key.isPrivate()) {
        if (input.passphrase === undefined) throw new SigillError('KEY_LOCKED', { detail: 'give the passphrase or the revocation certificate' });
        revoked = await revokeKey({
          key,
          passphrases: [input.passphrase],
          reasonCode: input.reasonCode ?? 'unspecified',
          ...(input.reason === undefined ? {} : { reason: input.reason }),
          date: this.#now(),
        });
      } else {
        throw new SigillError('KEY_NOT_SECRET', { detail: 'a correspondent\'s key can only be revoked with its revocation certificate' });
      }
      const updated = await recordFromKey(revoked, { acceptance: record.acceptance, now: this.#now(), previous: record });
      this.unlocked.delete(record.fingerprint);
      await this.#commit({ put: [{ record: updated, key: revoked }] });
      return updated;
    });
  }

  /** Deletes a key and its record (the user confirmed first). */
  delete(fingerprint: string): Promise<void> {
    return this.#exclusive(async () => {
      const record = this.#require(fingerprint);
      this.unlocked.delete(record.fingerprint);
      await this.#commit({ remove: [record.fingerprint] });
    });
  }

  // ---- unlocking ---------------------------------------------------------------------------------

  /**
   * Unlocks an own key with `passphrase` and keeps it for the unlock lifetime. Throws BAD_PASSPHRASE
   * (the caller asks again), KEY_TAMPERED, KEY_NOT_SECRET, KEY_NOT_FOUND.
   */
  async unlock(fingerprint: string, passphrase: string): Promise<void> {
    const record = this.#require(fingerprint);
    const key = await this.secretKey(record.fingerprint);
    this.unlocked.put(record.fingerprint, await unlockKey(key, [passphrase]));
  }

  /** The unlocked key if it is still in memory. */
  unlockedKey(fingerprint: string): PrivateKey | undefined {
    return this.unlocked.get(fingerprint.toLowerCase());
  }

  /** "Forget unlocked keys now". */
  forget(): void {
    this.unlocked.forget();
  }

  // ---- whole-keyring backup ------------------------------------------------------------------------

  /** One JSON file with every key (secret keys as protected as they are stored) and every decision. */
  async exportBackup(): Promise<string> {
    const records = this.records();
    const stored = await this.#storage.get(records.map((record) => keyStorageKey(record.fingerprint)));
    const keys: KeyringBackup['keys'] = [];
    for (const record of records) {
      const entry = stored[keyStorageKey(record.fingerprint)];
      if (!isRecord(entry) || typeof entry.armored !== 'string') continue;
      keys.push({
        armored: entry.armored,
        acceptance: record.acceptance,
        ...(record.backedUp === undefined ? {} : { backedUp: record.backedUp }),
        ...(record.revocationCertificate === undefined ? {} : { revocationCertificate: record.revocationCertificate }),
      });
    }
    const backup: KeyringBackup = { format: BACKUP_FORMAT, version: KEYRING_SCHEMA_VERSION, created: this.#now().toISOString(), keys };
    return JSON.stringify(backup, null, 1);
  }

  /**
   * Restores a whole-keyring backup: keys are merged into what is there, decisions taken from the
   * backup for keys that are new here. Secret keys must still be protected (KEY_UNPROTECTED otherwise).
   */
  restoreBackup(text: string): Promise<ImportReport> {
    return this.#exclusive(async () => {
      const backup = parseBackup(text);
      const report: ImportReport = { imported: [], failed: [] };
      for (const entry of backup.keys) {
        let keys: AnyKey[];
        try {
          keys = await readKeys(entry.armored);
          for (const key of keys) assertProtected(key);
        } catch (error) {
          report.failed.push(failureOf(error));
          continue;
        }
        const extra = (): Partial<KeyRecord> => ({
          ...(entry.backedUp === undefined ? {} : { backedUp: entry.backedUp }),
          ...(entry.revocationCertificate === undefined ? {} : { revocationCertificate: entry.revocationCertificate }),
        });
        const part = await this.#importParsed(keys, acceptanceStates.includes(entry.acceptance) ? entry.acceptance : 'undecided', extra);
        report.imported.push(...part.imported);
        report.failed.push(...part.failed);
      }
      return report;
    });
  }
}

function parseBackup(text: string): KeyringBackup {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SigillError('BAD_INPUT', { detail: 'this is not a Sigill keyring backup (not JSON)', cause: error });
  }
  if (!isRecord(parsed) || parsed.format !== BACKUP_FORMAT || typeof parsed.version !== 'number' || !Array.isArray(parsed.keys)) {
    throw new SigillError('BAD_INPUT', { detail: 'this is not a Sigill keyring backup' });
  }
  if (parsed.version > KEYRING_SCHEMA_VERSION) {
    throw new SigillError('BAD_INPUT', { detail: `the backup has version ${parsed.version}, made by a newer Sigill` });
  }
  for (const entry of parsed.keys as unknown[]) {
    if (!isRecord(entry) || typeof entry.armored !== 'string') {
      throw new SigillError('BAD_INPUT', { detail: 'a key entry of the backup has no armored key' });
    }
  }
  return parsed as unknown as KeyringBackup;
}

/** Separates the neutralised (":"-prefixed) revocation certificate of a backup file from its keys. */
function splitBackup(data: string): { keys: string; revocationCertificate?: string | undefined } {
  const match = NEUTRALISED_REVOCATION.exec(data);
  if (match?.[1] === undefined) return { keys: data };
  return { keys: data.replace(match[0], ''), revocationCertificate: match[1] };
}

/**
 * The single-key backup file: readable text, the protected secret key (importable by GnuPG, Thunderbird
 * and Sigill), and the revocation certificate with a ":" before its armor line, so that importing the
 * file never revokes the key by accident (GnuPG's convention for its openpgp-revocs.d files).
 */
export function backupFileText(record: KeyRecord, armoredSecretKey: string, revocationCertificate?: string): string {
  const lines = [
    `Sigill key backup: ${record.primaryUserID ?? record.userIDs[0] ?? ''}`,
    `Fingerprint: ${formatFingerprint(record.fingerprint)}`,
    '',
    'The secret key below is protected with your passphrase. Keep this file somewhere safe (not only on',
    'this computer): without it and the passphrase, mail encrypted to this key cannot be read again.',
    '',
    armoredSecretKey.trimEnd(),
    '',
  ];
  if (revocationCertificate !== undefined) {
    lines.push(
      'Revocation certificate. If the key is lost or stolen, this tells everyone to stop using it. To use',
      'it, remove the ":" at the start of the next line and import this block (Sigill: "Revoke").',
      `:${revocationCertificate.trim()}`,
      '',
    );
  }
  return lines.join('\n');
}
