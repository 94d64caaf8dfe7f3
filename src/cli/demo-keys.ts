/**
 * The demo's OpenPGP keys and its encrypted welcome message.
 *
 * On the first run every demo account gets a key pair made by the core (the default profile, v4
 * Ed25519/Cv25519), kept in `demo-keys.json` (0600) beside the relay's state, passphrase-protected with
 * a passphrase made for it and stored beside it: these are demo keys on a loopback relay, not keys to
 * trust with anything. They last as long as the relay's state, so a profile that holds alice's key
 * keeps reading the welcome message on later runs.
 *
 * What goes into alice's Sigill is built by the real keyring code over memory (`demoKeyringItems`), so
 * it is exactly what Sigill itself stores; the welcome message is made by the core's outgoing code,
 * PGP/MIME (RFC 3156) encrypted to alice and signed by bob, as Sigill sends mail.
 */
import { randomBytes } from 'node:crypto';
import {
  Keyring,
  MemoryStorage,
  generateKey,
  keyringKeySource,
  planOutgoing,
  readSecretKeys,
  wrapPgpMime,
} from '../core/index.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { storageMigratedPref, writeExtensionStorageBeforeStart } from '../testbed/extension-storage.ts';
import { sigillId } from '../testbed/paths.ts';
import { DemoSetupError, readState, writeState, type DemoAccount } from './demo-relay.ts';


export interface DemoKey {
  address: string;
  /** Lower-case hex, as the keyring keys its records. */
  fingerprint: string;
  passphrase: string;
  /** The armored secret key, protected with `passphrase`. */
  secretKey: string;
}

const KEYS_FILE = 'demo-keys.json';
const FORMAT = 'sigill-demo-keys';

interface KeysFile {
  format: typeof FORMAT;
  version: 1;
  keys: DemoKey[];
}

function isDemoKey(value: unknown): value is DemoKey {
  const key = value as Partial<DemoKey> | null;
  return (
    typeof key?.address === 'string' &&
    typeof key.fingerprint === 'string' &&
    typeof key.passphrase === 'string' &&
    typeof key.secretKey === 'string'
  );
}

/** One key per account, from `dir/demo-keys.json` or made now (and saved) for accounts that have none. */
export async function demoKeys(dir: string, accounts: DemoAccount[]): Promise<DemoKey[]> {
  const file = path.join(dir, KEYS_FILE);
  const saved = await readState(file);
  let known: DemoKey[] = [];
  if (saved !== undefined) {
    const candidate = saved as Partial<KeysFile> | null;
    if (candidate?.format !== FORMAT || !Array.isArray(candidate.keys) || !candidate.keys.every(isDemoKey)) {
      throw new DemoSetupError(`${file} does not hold the demo keys; delete it and new ones are made (alice's profile then needs to be made afresh too)`);
    }
    known = candidate.keys;
  }
  const keys: DemoKey[] = [];
  let made = false;
  for (const account of accounts) {
    const existing = known.find((key) => key.address === account.address);
    if (existing !== undefined) {
      keys.push(existing);
      continue;
    }
    // 12 characters from 72 random bits: easy to type into Sigill's prompt, and shown in the terminal.
    const passphrase = randomBytes(9).toString('base64url');
    const generated = await generateKey({ userIDs: [`${account.fullName} <${account.address}>`], passphrase });
    keys.push({ address: account.address, fingerprint: generated.secretKey.getFingerprint(), passphrase, secretKey: generated.secretKey.armor() });
    made = true;
  }
  if (made) {
    const content: KeysFile = { format: FORMAT, version: 1, keys: [...known.filter((key) => !keys.includes(key)), ...keys] };
    await writeState(file, `${JSON.stringify(content, null, 2)}\n`, 0o600);
  }
  return keys;
}

async function keyringWith(own: DemoKey, correspondents: DemoKey[]): Promise<{ keyring: Keyring; storage: MemoryStorage }> {
  const storage = new MemoryStorage();
  const keyring = await Keyring.open({ storage });
  const ownReport = await keyring.importSecretKeys(own.secretKey, { passphrase: own.passphrase });
  if (ownReport.failed.length > 0) throw new Error(`the demo key of ${own.address}: ${ownReport.failed.map((failure) => failure.message).join('; ')}`);
  // Its backup is demo-keys.json: the options page need not ask for one.
  for (const { fingerprint } of ownReport.imported) await keyring.markBackedUp(fingerprint);
  for (const correspondent of correspondents) {
    // importKeys keeps only the public part of what it is given.
    const report = await keyring.importKeys(correspondent.secretKey, { acceptance: 'accepted' });
    if (report.failed.length > 0) throw new Error(`the demo key of ${correspondent.address}: ${report.failed.map((failure) => failure.message).join('; ')}`);
  }
  return { keyring, storage };
}

/**
 * The storage.local items of a Sigill whose own key is `own` and which has accepted the `correspondents`'
 * public keys: made by the keyring itself over memory, so the schema is the product's.
 */
export async function demoKeyringItems(own: DemoKey, correspondents: DemoKey[]): Promise<Record<string, unknown>> {
  const { storage } = await keyringWith(own, correspondents);
  return storage.snapshot();
}

export interface EncryptedMailInput {
  from: DemoAccount;
  fromKey: DemoKey;
  to: DemoAccount;
  toKey: DemoKey;
  subject: string;
  /** Plain text, one line per paragraph. */
  text: string;
  date?: Date;
}

const CRLF = '\r\n';
/** RFC 5322 §2.1.1: at most 998 characters per line. */
const MAX_LINE = 998;

/** RFC 2047 encoded word for a header value that is not plain ASCII. */
function headerText(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * A complete message from `from` to `to`, PGP/MIME encrypted to `to` and `from` and signed by `from`,
 * with the real subject inside (protected headers) and "..." outside.
 */
export async function encryptedMail(input: EncryptedMailInput): Promise<Buffer> {
  const { keyring } = await keyringWith(input.fromKey, [input.toKey]);
  const [signingKey] = await readSecretKeys(input.fromKey.secretKey);
  if (signingKey === undefined) throw new Error(`the demo key of ${input.from.address} is empty`);
  await keyring.unlock(signingKey.getFingerprint(), input.fromKey.passphrase);
  const plan = await planOutgoing({
    from: input.from.address,
    to: [input.to.address],
    encrypt: true,
    sign: true,
    keys: keyringKeySource({ keyring }),
  });
  const body = input.text.replace(/\r?\n/g, CRLF);
  if (body.split(CRLF).some((line) => Buffer.byteLength(line) > MAX_LINE)) throw new Error('a line of the demo mail is longer than 998 bytes');
  const entity = `Content-Type: text/plain; charset=utf-8${CRLF}Content-Transfer-Encoding: 8bit${CRLF}${CRLF}${body}${CRLF}`;
  const date = input.date ?? new Date();
  const headers = [
    `From: ${input.from.fullName} <${input.from.address}>`,
    `To: ${input.to.fullName} <${input.to.address}>`,
    `Subject: ${headerText(input.subject)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${input.from.address.slice(input.from.address.indexOf('@') + 1)}>`,
  ].map((line) => `${line}${CRLF}`);
  // wrapPgpMime refuses an unready plan (fail closed), so a key problem stops the welcome mail here.
  const wrapped = await wrapPgpMime({ plan, entity: () => entity, headers: headers.join(''), subject: input.subject, date });
  const outer = headers.map((line) => (line.startsWith('Subject:') ? `Subject: ${headerText(wrapped.outerSubject ?? '...')}${CRLF}` : line));
  const chunks: Buffer[] = [Buffer.from(`${outer.join('')}MIME-Version: 1.0${CRLF}`)];
  for await (const chunk of wrapped.content) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export interface ProfileKeysOptions {
  /** The demo's directory. */
  dir: string;
  profileDir: string;
  own: DemoKey;
  correspondents: DemoKey[];
}

/**
 * Puts the keys into Sigill's storage in the profile before Thunderbird first starts on it: Thunderbird
 * moves an add-on's storage.js into its storage.local on the add-on's first storage access (see
 * src/testbed/extension-storage.ts). 'provisioned': written now (again, while Thunderbird has not yet
 * taken it); 'present': Sigill in this profile has taken them already; 'stale': Thunderbird has opened
 * Sigill's storage in this profile without these keys (the profile was made before them): the file
 * would be ignored, and nothing is changed, so what a person did in that Sigill stays.
 */
export async function provisionProfileKeys(options: ProfileKeysOptions): Promise<'provisioned' | 'present' | 'stale'> {
  const record = path.join(options.profileDir, 'sigill-demo-keys.json');
  const fingerprints = [options.own, ...options.correspondents].map((key) => key.fingerprint);
  const saved = (await readState(record).catch(() => undefined)) as { fingerprints?: unknown } | undefined;
  const recorded = Array.isArray(saved?.fingerprints) && fingerprints.every((fingerprint) => (saved.fingerprints as unknown[]).includes(fingerprint));
  const prefs = await readFile(path.join(options.profileDir, 'prefs.js'), 'utf8').catch(() => '');
  const taken = prefs.includes(`${JSON.stringify(storageMigratedPref(sigillId))}, true`);
  if (taken) return recorded ? 'present' : 'stale';
  // Not taken yet (Thunderbird has not started on this profile): (re)write it, which also puts the pref
  // that the first start needs back into user.js, rewritten on every run.
  writeExtensionStorageBeforeStart({ profileDir: options.profileDir, addonId: sigillId, items: await demoKeyringItems(options.own, options.correspondents) });
  await writeState(record, `${JSON.stringify({ fingerprints }, null, 2)}\n`, 0o600);
  return 'provisioned';
}
