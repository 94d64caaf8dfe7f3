/**
 * Helpers for the read-path tests: fixture keys behind the injected key callbacks, real ciphertexts and
 * signatures made with the core, and small builders for the MIME shapes mail clients send.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';
import createDOMPurify from 'dompurify';
import type { PrivateKey, PublicKey } from 'openpgp';
import { fixturePath, loadCertificate, type FixtureName } from '../../../../keys-fixtures/index.ts';
import { encrypt, htmlSanitizer, readAll, readSecretKeys, sign, unlockKey, type ReadOptions } from '../../../../src/core/index.ts';

export const CRLF = '\r\n';

/** A secret string for one test run: `secret-canary-<random>`. */
export function canary(): string {
  return `secret-canary-${nodeRandomBytes(6).toString('hex')}`;
}

const secretCache = new Map<string, Promise<PrivateKey>>();

/** The fixture's secret key, unlocked (the unprotected file for personas and mallory, else unlocked with its passphrase). */
export function secretKey(name: FixtureName): Promise<PrivateKey> {
  let key = secretCache.get(name);
  if (!key) {
    key = (async () => {
      try {
        const [unprotected] = await readSecretKeys(readFileSync(fixturePath(name, 'unprotected'), 'utf8'));
        if (unprotected) return unprotected;
      } catch {
        // no unprotected file for this fixture
      }
      const [locked] = await readSecretKeys(readFileSync(fixturePath(name, 'sec'), 'utf8'));
      if (!locked) throw new Error(`no secret key for ${name}`);
      return unlockKey(locked, [`${name}-passphrase`]);
    })();
    secretCache.set(name, key);
  }
  return key;
}

export function certificate(name: FixtureName): Promise<PublicKey> {
  return loadCertificate(name);
}

export interface KeyringLog {
  decryptionRequests: string[][];
  verificationRequests: Array<{ keyIDs: string[]; fingerprints: string[]; addresses: string[] }>;
}

/** The key callbacks of read(), answering from the given keys by key ID, as a keyring would. */
export function keyring(keys: { secret?: PrivateKey[]; public?: PublicKey[] }, log?: KeyringLog): Pick<ReadOptions, 'decryptionKeys' | 'verificationKeys'> {
  return {
    async decryptionKeys({ keyIDs }) {
      log?.decryptionRequests.push(keyIDs);
      return (keys.secret ?? []).filter((key) => key.getKeys().some((sub) => keyIDs.includes(sub.getKeyID().toHex().toUpperCase())));
    },
    async verificationKeys(request) {
      log?.verificationRequests.push(request);
      const addressOf = (userID: string) => /<([^>]+)>/.exec(userID)?.[1]?.toLowerCase();
      return (keys.public ?? []).filter(
        (key) =>
          key.getKeys().some((sub) => request.keyIDs.includes(sub.getKeyID().toHex().toUpperCase()) || request.fingerprints.includes(sub.getFingerprint().toUpperCase())) ||
          key.getUserIDs().some((userID) => request.addresses.includes(addressOf(userID) ?? '')),
      );
    },
  };
}

/** DOMPurify on a jsdom window, with Sigill's mail HTML policy. */
export function nodeSanitizer(): (html: string) => string {
  const window = new JSDOM('').window;
  return htmlSanitizer(createDOMPurify(window as unknown as Parameters<typeof createDOMPurify>[0]));
}

const decoder = new TextDecoder();

export async function encryptArmored(
  input: string | Uint8Array,
  options: { to: PublicKey[]; signer?: PrivateKey; format?: 'binary' | 'text'; filename?: string; date?: Date },
): Promise<string> {
  const result = await encrypt({
    input,
    recipients: options.to,
    ...(options.signer ? { signingKeys: [options.signer] } : {}),
    format: options.format ?? 'text',
    ...(options.filename ? { filename: options.filename } : {}),
    ...(options.date ? { date: options.date } : {}),
  });
  return decoder.decode(await readAll(result));
}

export async function encryptBinary(input: Uint8Array, options: { to: PublicKey[]; signer?: PrivateKey; filename?: string }): Promise<Uint8Array> {
  const result = await encrypt({ input, recipients: options.to, ...(options.signer ? { signingKeys: [options.signer] } : {}), format: 'binary', armor: false, ...(options.filename ? { filename: options.filename } : {}) });
  return readAll(result);
}

export async function clearsign(text: string, signer: PrivateKey, date?: Date): Promise<string> {
  return decoder.decode(await readAll(await sign({ input: text, signingKeys: [signer], cleartext: true, ...(date ? { date } : {}) })));
}

export async function detachedSignature(data: string | Uint8Array, signer: PrivateKey, options: { mode?: 'binary' | 'text'; armor?: boolean; date?: Date } = {}): Promise<Uint8Array> {
  return readAll(await sign({ input: data, signingKeys: [signer], detached: true, mode: options.mode ?? 'binary', armor: options.armor ?? true, ...(options.date ? { date: options.date } : {}) }));
}

export function base64Lines(bytes: Uint8Array): string {
  return (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

/** Header lines plus a body, CRLF line endings. */
export function entity(headers: Record<string, string>, body: string): string {
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join(CRLF);
  return `${head}${CRLF}${CRLF}${body}`;
}

/** A multipart body with the given boundary and parts (each a full entity). */
export function multipart(boundary: string, parts: string[]): string {
  return `This is a multi-part message in MIME format.${CRLF}${parts.map((part) => `--${boundary}${CRLF}${part}${CRLF}`).join('')}--${boundary}--${CRLF}`;
}

export const envelope = (from: string, subject: string, extra: Record<string, string> = {}): Record<string, string> => ({
  From: from,
  To: 'Bob <bob@sigill.test>',
  Subject: subject,
  Date: 'Mon, 30 Nov 2026 08:00:00 +0000',
  'Message-ID': `<${nodeRandomBytes(8).toString('hex')}@sigill.test>`,
  'MIME-Version': '1.0',
  ...extra,
});

/** RFC 3156 §4: multipart/encrypted around an armored message. */
export function pgpMime(headers: Record<string, string>, armored: string, boundary = 'enc-boundary-1'): string {
  return entity(
    { ...headers, 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"` },
    multipart(boundary, [
      entity({ 'Content-Type': 'application/pgp-encrypted', 'Content-Description': 'PGP/MIME version identification' }, `Version: 1${CRLF}`),
      entity({ 'Content-Type': 'application/octet-stream; name="encrypted.asc"', 'Content-Description': 'OpenPGP encrypted message', 'Content-Disposition': 'inline; filename="encrypted.asc"' }, armored),
    ]),
  );
}

/** RFC 3156 §5: multipart/signed with a detached signature over the first part's CRLF bytes. */
export async function mimeSigned(headers: Record<string, string>, signedPart: string, signer: PrivateKey, boundary = 'sig-boundary-1'): Promise<string> {
  const signature = decoder.decode(await detachedSignature(signedPart.replace(/\r?\n/g, CRLF), signer));
  return entity(
    { ...headers, 'Content-Type': `multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="${boundary}"` },
    multipart(boundary, [signedPart, entity({ 'Content-Type': 'application/pgp-signature; name="signature.asc"', 'Content-Disposition': 'attachment; filename="signature.asc"' }, signature)]),
  );
}

export const text = (body: string, extra: Record<string, string> = {}): string => entity({ 'Content-Type': 'text/plain; charset=utf-8', 'Content-Transfer-Encoding': '8bit', ...extra }, body);
export const html = (body: string, extra: Record<string, string> = {}): string => entity({ 'Content-Type': 'text/html; charset=utf-8', 'Content-Transfer-Encoding': '8bit', ...extra }, body);

export function attachmentPart(name: string, bytes: Uint8Array, type = 'application/octet-stream'): string {
  return entity({ 'Content-Type': `${type}; name="${name}"`, 'Content-Disposition': `attachment; filename="${name}"`, 'Content-Transfer-Encoding': 'base64' }, base64Lines(bytes));
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Every URL-bearing attribute and CSS url() left in sanitized HTML, except link targets. */
export function loadableUrls(html: string): string[] {
  const document = new JSDOM(html).window.document;
  const found: string[] = [];
  for (const element of Array.from(document.body.querySelectorAll('*'))) {
    for (const attribute of Array.from(element.attributes)) {
      if (attribute.name === 'href' && element.tagName === 'A') continue;
      if (/https?:|\/\/|url\(/i.test(attribute.value)) found.push(`${element.tagName.toLowerCase()}[${attribute.name}]=${attribute.value}`);
    }
  }
  return found;
}
