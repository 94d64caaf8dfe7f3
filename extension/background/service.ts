/**
 * The background's answers to Sigill's pages: every request of the message map (`shared/messages.ts`)
 * handled over the keyring, the settings and the passphrase prompts. Platform access comes in
 * through `ServiceDependencies`, so Node tests run this with real core code and real storage.
 */
import {
  acceptanceStates,
  formatFingerprint,
  isSigillError,
  keyProfiles,
  loadSettings,
  saveSettings,
  SigillError,
  type ImportReport,
  type KeyRecord,
  type Keyring,
  type KeyDiscovery,
  type KeyValueStorage,
  type Settings,
} from '../../src/core/index.ts';
import type { AccountInfo, MessageSenderInfo } from '../platform/browser.ts';
import {
  isRequestEnvelope,
  type FileOffer,
  type IdentityView,
  type ImportReportView,
  type KeyView,
  type PromptReason,
  type ReadRequestName,
  type ReplyEnvelope,
  type RequestName,
  type RequestOf,
  type ResponseOf,
  type SettingsView,
} from '../shared/messages.ts';
import type { PassphrasePrompts } from './prompts.ts';
import { discoveryHandlers, type DiscoveryDependencies } from './discovery.ts';

export interface ServiceDependencies {
  keyring: Keyring;
  storage: KeyValueStorage;
  prompts: PassphrasePrompts;
  /** Thunderbird's accounts with their identities (`accounts.list`). */
  accounts: () => Promise<AccountInfo[]>;
  /** Fetches a key file from a URL (the page's "import from URL"). */
  fetchText: (url: string) => Promise<string>;
  /** `moz-extension://<uuid>/`: only Sigill's own pages may use the keyring. */
  extensionOrigin: string;
  now?: () => Date;
  /** Key discovery (WKD, VKS) and key-change warnings; without it those requests say it is unavailable. */
  discovery?: DiscoveryDependencies;
}

const DAY_SECONDS = 24 * 60 * 60;
/** Longest expiry offered: the key expiration subpacket is 32 bits of seconds (RFC 9580 §5.2.3.13). */
const MAX_EXPIRY_DAYS = 40 * 365;
/** Key files fetched from a URL larger than this are refused before parsing. */
const MAX_KEY_FILE_BYTES = 5 * 1024 * 1024;

// The read path's requests are answered by read.ts.
type Handlers = { [N in Exclude<RequestName, ReadRequestName>]: (payload: RequestOf<N>) => Promise<ResponseOf<N>> };

function text(value: unknown, field: string, options: { allowEmpty?: boolean } = {}): string {
  if (typeof value !== 'string' || (!options.allowEmpty && value === '')) {
    throw new SigillError('BAD_INPUT', { detail: `${field} is missing` });
  }
  return value;
}

function expirySeconds(days: unknown): number | null {
  if (days === null) return null;
  if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > MAX_EXPIRY_DAYS) {
    throw new SigillError('BAD_INPUT', { detail: `the expiry must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}, or none` });
  }
  return (days as number) * DAY_SECONDS;
}

/** The key data of an import request: armored text, or binary data sent as base64. */
function keyData(armored: unknown, base64: unknown): string | Uint8Array {
  if (base64 === undefined) return text(armored, 'the key');
  let binary: string;
  try {
    binary = atob(text(base64, 'the key'));
  } catch (error) {
    throw new SigillError('BAD_INPUT', { detail: 'the binary key data is not valid base64', cause: error });
  }
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

function fileSafe(value: string): string {
  return value.replace(/[^A-Za-z0-9@._-]+/g, '_').slice(0, 80);
}

function userIDOf(record: KeyRecord): string {
  return record.primaryUserID ?? record.userIDs[0] ?? formatFingerprint(record.fingerprint);
}

export class SigillService {
  readonly #deps: ServiceDependencies;
  readonly #handlers: Handlers;

  constructor(deps: ServiceDependencies) {
    this.#deps = deps;
    this.#handlers = this.#createHandlers();
  }

  get keyring(): Keyring {
    return this.#deps.keyring;
  }

  /**
   * Key discovery over this keyring (KEY-SWAP), for the read and compose paths: e.g. the read path hands
   * Autocrypt headers and attached keys to `keyDiscovery.receive([...], { store: 'all' })`.
   */
  get keyDiscovery(): KeyDiscovery | undefined {
    return this.#deps.discovery?.discovery;
  }

  /**
   * The `runtime.onMessage` listener: answers Sigill's requests from Sigill's own pages and ignores
   * every other message (returns undefined, so other listeners may answer).
   */
  handleMessage(message: unknown, sender: MessageSenderInfo): Promise<ReplyEnvelope> | undefined {
    if (!isRequestEnvelope(message)) return undefined;
    if (typeof sender.url !== 'string' || !sender.url.startsWith(this.#deps.extensionOrigin)) {
      return Promise.resolve({ ok: false, error: { code: 'BAD_INPUT', message: 'Only Sigill’s own pages may use its keyring.' } });
    }
    return this.call(message.sigill, message.payload as never);
  }

  /** Runs one request and wraps the outcome for the wire; errors become their stable code. */
  async call<N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ReplyEnvelope<N>> {
    const handler = (this.#handlers as Partial<Record<RequestName, unknown>>)[name] as ((payload: RequestOf<N>) => Promise<ResponseOf<N>>) | undefined;
    if (handler === undefined) {
      return { ok: false, error: { code: 'BAD_INPUT', message: `Unknown request ${JSON.stringify(name)}.` } };
    }
    try {
      return { ok: true, value: await handler((payload ?? {}) as RequestOf<N>) };
    } catch (error) {
      if (isSigillError(error)) {
        return { ok: false, error: { code: error.code, message: error.message, ...(error.detail === undefined ? {} : { detail: error.detail }) } };
      }
      return { ok: false, error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) } };
    }
  }

  view(record: KeyRecord): KeyView {
    const { revocationCertificate, ...rest } = record;
    return {
      ...rest,
      formattedFingerprint: formatFingerprint(record.fingerprint),
      status: this.keyring.status(record.fingerprint),
      hasRevocationCertificate: revocationCertificate !== undefined,
      unlocked: record.secret && this.keyring.unlockedKey(record.fingerprint) !== undefined,
    };
  }

  /** An import report as the pages see it (also for keys imported from a received message). */
  reportView(report: ImportReport): ImportReportView {
    return this.#reportView(report);
  }

  #reportView(report: ImportReport): ImportReportView {
    return {
      imported: report.imported.map((outcome) => ({ result: outcome.result, key: this.view(this.keyring.record(outcome.fingerprint) ?? outcome.record) })),
      failed: report.failed.map((failure) => (failure.fingerprint === undefined ? failure : { ...failure, fingerprint: formatFingerprint(failure.fingerprint) })),
    };
  }

  async #settingsView(settings?: Settings): Promise<SettingsView> {
    return { ...(settings ?? (await loadSettings(this.#deps.storage))), unlockedKeys: this.keyring.unlocked.fingerprints().length };
  }

  #record(fingerprint: unknown): KeyRecord {
    const record = this.keyring.record(text(fingerprint, 'fingerprint'));
    if (record === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: String(fingerprint) });
    return record;
  }

  /** Asks for the passphrase of an own key (prompt window) and runs `operation` with it until it succeeds or is cancelled. */
  async #withPassphrase<T>(record: KeyRecord, reason: PromptReason, operation: (passphrase: string) => Promise<T>): Promise<T> {
    if (!record.secret) throw new SigillError('KEY_NOT_SECRET', { detail: formatFingerprint(record.fingerprint) });
    let result: T | undefined;
    await this.#deps.prompts.ask({ userID: userIDOf(record), fingerprint: formatFingerprint(record.fingerprint), reason }, async (passphrase) => {
      result = await operation(passphrase);
    });
    return result as T;
  }

  /** Unlocks an own key through the prompt unless it is unlocked already; for the send and read paths. */
  async unlockedKey(fingerprint: string, reason: PromptReason) {
    const record = this.#record(fingerprint);
    const cached = this.keyring.unlockedKey(record.fingerprint);
    if (cached !== undefined) return cached;
    await this.#withPassphrase(record, reason, (passphrase) => this.keyring.unlock(record.fingerprint, passphrase));
    const unlocked = this.keyring.unlockedKey(record.fingerprint);
    // A lifetime of 0 keeps nothing: the caller then gets no key, and says so.
    if (unlocked === undefined) throw new SigillError('KEY_LOCKED', { detail: 'the unlock time is set to 0 minutes' });
    return unlocked;
  }

  #backupOffer(record: KeyRecord, text: string): FileOffer {
    return { fileName: `sigill-backup-${fileSafe(record.addresses[0] ?? 'key')}-${record.keyID.toUpperCase()}.asc`, text };
  }

  #createHandlers(): Handlers {
    const keyring = this.keyring;
    return {
      'identities.list': async () => {
        const identities: IdentityView[] = [];
        for (const account of await this.#deps.accounts()) {
          for (const identity of account.identities) {
            if (identity.email === undefined || identity.email === '') continue;
            identities.push({
              accountName: account.name,
              name: identity.name ?? '',
              email: identity.email,
              keys: keyring
                .records()
                .filter((record) => record.secret && record.addresses.includes(identity.email!.toLowerCase()))
                .sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
                .map((record) => this.view(record)),
            });
          }
        }
        return identities;
      },
      'keys.list': async ({ query, secret, offset, limit }) => {
        const found = keyring.search(query ?? '', {
          ...(secret === undefined ? {} : { secret }),
          offset: offset ?? 0,
          limit: Math.min(limit ?? 200, 1000),
        });
        return { total: found.total, keys: found.records.map((record) => this.view(record)) };
      },
      'keys.get': async ({ fingerprint }) => this.view(this.#record(fingerprint)),
      'keys.generate': async ({ name, email, passphrase, profile, expiresInDays }) => {
        const address = text(email, 'email').trim();
        const displayName = text(name, 'name', { allowEmpty: true }).trim();
        if (!keyProfiles.includes(profile)) throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: String(profile) });
        const generated = await keyring.generateOwnKey({
          userIDs: [displayName === '' ? address : `${displayName} <${address}>`],
          passphrase: text(passphrase, 'passphrase'),
          profile,
          expiresInSeconds: expirySeconds(expiresInDays),
        });
        return { key: this.view(generated.record), backup: this.#backupOffer(generated.record, generated.backup) };
      },
      'keys.backupFile': async ({ fingerprint }) => {
        const record = this.#record(fingerprint);
        return this.#backupOffer(record, await keyring.ownKeyBackup(record.fingerprint));
      },
      'keys.markBackedUp': async ({ fingerprint }) => this.view(await keyring.markBackedUp(this.#record(fingerprint).fingerprint)),
      'keys.importSecret': async ({ text: data, base64, passphrase }) =>
        this.#reportView(await keyring.importSecretKeys(keyData(data, base64), { passphrase: text(passphrase, 'passphrase') })),
      'keys.importPublic': async ({ text: data, base64, url }) => {
        const source = url === undefined ? keyData(data, base64) : await this.#fetchKeys(text(url, 'url'));
        return this.#reportView(await keyring.importKeys(source, { acceptance: 'undecided' }));
      },
      'keys.exportPublic': async ({ fingerprint }) => {
        const record = this.#record(fingerprint);
        return { fileName: `${fileSafe(record.addresses[0] ?? 'key')}-${record.keyID.toUpperCase()}.pub.asc`, text: await keyring.exportPublic(record.fingerprint) };
      },
      'keys.setAcceptance': async ({ fingerprint, acceptance }) => {
        if (!acceptanceStates.includes(acceptance)) throw new SigillError('BAD_INPUT', { detail: `unknown acceptance ${String(acceptance)}` });
        return this.view(await keyring.setAcceptance(this.#record(fingerprint).fingerprint, acceptance));
      },
      'keys.changePassphrase': async ({ fingerprint, newPassphrase }) => {
        const record = this.#record(fingerprint);
        const next = text(newPassphrase, 'the new passphrase');
        return this.view(
          await this.#withPassphrase(record, 'change-passphrase', (oldPassphrase) => keyring.changePassphrase(record.fingerprint, { oldPassphrase, newPassphrase: next })),
        );
      },
      'keys.extendExpiry': async ({ fingerprint, expiresInDays }) => {
        const record = this.#record(fingerprint);
        const seconds = expirySeconds(expiresInDays);
        return this.view(await this.#withPassphrase(record, 'extend-expiry', (passphrase) => keyring.extendExpiry(record.fingerprint, { passphrase, expiresInSeconds: seconds })));
      },
      'keys.revoke': async ({ fingerprint, revocationCertificate, reasonCode, reason }) => {
        const record = this.#record(fingerprint);
        const details = { ...(reasonCode === undefined ? {} : { reasonCode }), ...(reason === undefined ? {} : { reason }) };
        if (revocationCertificate !== undefined) {
          return this.view(await keyring.revoke(record.fingerprint, { revocationCertificate: text(revocationCertificate, 'the revocation certificate'), ...details }));
        }
        return this.view(await this.#withPassphrase(record, 'revoke', (passphrase) => keyring.revoke(record.fingerprint, { passphrase, ...details })));
      },
      'keys.delete': async ({ fingerprint }) => {
        await keyring.delete(this.#record(fingerprint).fingerprint);
        return null;
      },
      'keys.unlock': async ({ fingerprint }) => {
        const record = this.#record(fingerprint);
        await this.unlockedKey(record.fingerprint, 'unlock');
        return this.view(record);
      },
      'keyring.backupFile': async () => {
        const day = (this.#deps.now?.() ?? new Date()).toISOString().slice(0, 10);
        return { fileName: `sigill-keyring-backup-${day}.json`, text: await keyring.exportBackup() };
      },
      'keyring.restore': async ({ text: data }) => this.#reportView(await keyring.restoreBackup(text(data, 'the backup'))),
      'settings.get': async () => this.#settingsView(),
      'settings.set': async (update) => {
        const settings = await saveSettings(this.#deps.storage, update);
        keyring.unlocked.setLifetime(settings.unlockMinutes * 60_000);
        return this.#settingsView(settings);
      },
      'unlock.forget': async () => {
        keyring.forget();
        return this.#settingsView();
      },
      'prompt.info': async ({ requestId }) => this.#deps.prompts.info(text(requestId, 'requestId')),
      'prompt.submit': async ({ requestId, passphrase }) => {
        await this.#deps.prompts.submit(text(requestId, 'requestId'), typeof passphrase === 'string' ? passphrase : '');
        return null;
      },
      'prompt.cancel': async ({ requestId }) => {
        this.#deps.prompts.cancel(text(requestId, 'requestId'));
        return null;
      },
      ...discoveryHandlers({ keyring, storage: this.#deps.storage, view: (record) => this.view(record) }, this.#deps.discovery),
    };
  }

  async #fetchKeys(url: string): Promise<string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new SigillError('BAD_INPUT', { detail: `not a URL: ${url}`, cause: error });
    }
    if (parsed.protocol !== 'https:') throw new SigillError('BAD_INPUT', { detail: 'keys are only fetched over https://' });
    let body: string;
    try {
      body = await this.#deps.fetchText(parsed.href);
    } catch (error) {
      throw new SigillError('BAD_INPUT', { detail: `the key could not be fetched from ${parsed.host} (${error instanceof Error ? error.message : String(error)})`, cause: error });
    }
    if (body.length > MAX_KEY_FILE_BYTES) throw new SigillError('TOO_LARGE', { detail: `the key file from ${parsed.host} is larger than 5 MiB` });
    return body;
  }
}
