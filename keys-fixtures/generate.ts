/**
 * Regenerates every fixture key in this directory with the core API (and OpenPGP.js packet APIs for
 * the deliberately broken ones), then rewrites README.md with their fingerprints.
 *
 *   npx tsx keys-fixtures/generate.ts
 *
 * The outputs are checked in; tests read them and never run this script.
 */
import { writeFileSync } from 'node:fs';
import {
  PacketList,
  PublicKey,
  readPrivateKey,
  SecretKeyPacket,
  type PrivateKey,
} from 'openpgp';
import {
  exportKey,
  formatFingerprint,
  generateKey,
  keyStatus,
  lockKey,
  revokeKey,
  type KeyProfile,
} from '../src/core/index.ts';
import {
  fixtureFileName,
  fixturePassphrase,
  fixturePath,
  fixtureUserID,
  type FixtureKind,
  type FixtureName,
  type Persona,
} from './index.ts';

// Fixed creation dates keep regenerated fixtures alike; mallory's key is newer than everyone's, so a
// grafted mallory subkey is the one OpenPGP.js would try first (it prefers the newest valid subkey).
const personaDate = new Date('2025-06-01T00:00:00Z');
const malloryDate = new Date('2025-09-01T00:00:00Z');
const expiredDate = new Date('2024-01-01T00:00:00Z');
const expiredUntil = new Date('2025-01-01T00:00:00Z');

const personaProfiles: Record<Persona, KeyProfile> = {
  alice: 'default',
  bob: 'default',
  carol: 'default',
  dave: 'rsa3072',
  erin: 'rfc9580',
};

interface FixtureRecord {
  name: FixtureName;
  description: string;
  fingerprint: string;
  files: string[];
}

const records: FixtureRecord[] = [];

function write(name: FixtureName, kind: FixtureKind, text: string): string {
  writeFileSync(fixturePath(name, kind), text.endsWith('\n') ? text : `${text}\n`);
  return fixtureFileName(name, kind);
}

async function record(name: FixtureName, description: string, files: Partial<Record<FixtureKind, string>>, key: PublicKey): Promise<void> {
  const written = Object.entries(files).map(([kind, text]) => write(name, kind as FixtureKind, text));
  const status = await keyStatus(key);
  const problems = status.problems.length > 0 ? ` Status today: ${status.problems.join(', ')}.` : '';
  records.push({ name, description: description + problems, fingerprint: formatFingerprint(status.fingerprint), files: written });
}

/** An ordinary key, stored locked, unprotected, public, and with its revocation certificate. */
async function makeOrdinaryKey(name: Persona | 'mallory', profile: KeyProfile, date: Date, description: string): Promise<PrivateKey> {
  const generated = await generateKey({ userIDs: [fixtureUserID(name)], profile, date });
  const locked = await lockKey(generated.secretKey, fixturePassphrase(name));
  await record(
    name,
    description,
    {
      pub: exportKey(generated.publicKey, { armor: true }),
      sec: exportKey(locked, { armor: true, secret: true }),
      unprotected: exportKey(generated.secretKey, { armor: true, secret: true }),
      rev: generated.revocationCertificate,
    },
    generated.publicKey,
  );
  return generated.secretKey;
}

/** Flips one octet of a decrypted secret parameter (`seed` for EdDSA, `d` for ECDH), leaving the public part. */
function tamperSecretParameter(packet: SecretKeyPacket): void {
  // privateParams is typed `object | null` by OpenPGP.js; its fields depend on the algorithm.
  const params = packet.privateParams as Record<string, unknown> | null;
  const field = params === null ? undefined : (['seed', 'd'] as const).find((name) => params[name] instanceof Uint8Array);
  if (params === null || field === undefined) throw new Error('no secret parameter to tamper with');
  const bytes = params[field] as Uint8Array;
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
}

async function makeTamperedKey(name: 'tampered' | 'tampered-subkey', which: 'primary' | 'subkey', description: string): Promise<void> {
  const generated = await generateKey({ userIDs: [fixtureUserID(name)], date: personaDate });
  const copy = await readPrivateKey({ binaryKey: generated.secretKey.write() });
  const target = which === 'primary' ? copy.keyPacket : copy.subkeys[0]?.keyPacket;
  if (!(target instanceof SecretKeyPacket)) throw new Error('expected a secret key packet');
  tamperSecretParameter(target);
  // lockKey does not validate, so the altered secret is stored as if it were good.
  const locked = await lockKey(copy, fixturePassphrase(name));
  await record(
    name,
    description,
    {
      pub: exportKey(generated.publicKey, { armor: true }),
      sec: exportKey(locked, { armor: true, secret: true }),
      rev: generated.revocationCertificate,
    },
    generated.publicKey,
  );
}

/** A good certificate with mallory's subkey grafted on, without or with a borrowed binding signature. */
async function makeGraftedKey(name: 'unbound-subkey' | 'forged-subkey', mallory: PrivateKey, description: string): Promise<void> {
  const generated = await generateKey({ userIDs: [fixtureUserID(name)], date: personaDate });
  const owner = generated.publicKey;
  const ownSubkey = owner.subkeys[0];
  const malloryPublic = mallory.toPublic();
  const graftedSubkey = malloryPublic.subkeys[0];
  if (ownSubkey === undefined || graftedSubkey === undefined) throw new Error('expected subkeys');
  const packets = new PacketList();
  packets.push(...owner.toPacketList());
  packets.push(graftedSubkey.keyPacket);
  if (name === 'forged-subkey') {
    // The owner's real binding signature, issued by the owner's primary key but made over another subkey.
    const borrowed = ownSubkey.bindingSignatures[0];
    if (borrowed === undefined) throw new Error('expected a binding signature');
    packets.push(borrowed);
  }
  const grafted = new PublicKey(packets);
  await record(name, description, { pub: grafted.armor() }, grafted);
}

async function makeSigningOnlyKey(): Promise<void> {
  const name = 'signing-only';
  const { secretKey, publicKey, revocationCertificate } = await generateKey({ userIDs: [fixtureUserID(name)], date: personaDate, signingOnly: true });
  const locked = await lockKey(secretKey, fixturePassphrase(name));
  await record(
    name,
    'Ed25519 primary key for certification and signing, no encryption subkey.',
    { pub: exportKey(publicKey, { armor: true }), sec: exportKey(locked, { armor: true, secret: true }), rev: revocationCertificate },
    publicKey,
  );
}

async function main(): Promise<void> {
  for (const persona of ['alice', 'bob', 'carol', 'dave', 'erin'] as const) {
    const profile = personaProfiles[persona];
    await makeOrdinaryKey(persona, profile, personaDate, `Persona, profile \`${profile}\`.`);
  }
  const mallory = await makeOrdinaryKey('mallory', 'default', malloryDate, 'The attacker; an ordinary key whose subkey is grafted onto `unbound-subkey` and `forged-subkey`.');

  const expired = await generateKey({ userIDs: [fixtureUserID('expired')], date: expiredDate, expiresInSeconds: (expiredUntil.getTime() - expiredDate.getTime()) / 1000 });
  await record(
    'expired',
    'Created 2024-01-01, expired 2025-01-01.',
    {
      pub: exportKey(expired.publicKey, { armor: true }),
      sec: exportKey(await lockKey(expired.secretKey, fixturePassphrase('expired')), { armor: true, secret: true }),
      rev: expired.revocationCertificate,
    },
    expired.publicKey,
  );

  const toRevoke = await generateKey({ userIDs: [fixtureUserID('revoked')], date: personaDate, passphrase: fixturePassphrase('revoked') });
  const revoked = await revokeKey({ key: toRevoke.secretKey, passphrases: [fixturePassphrase('revoked')], reasonCode: 'retired', reason: 'fixture: revoked by its owner' });
  await record(
    'revoked',
    'Revoked by its owner (reason: retired).',
    { pub: exportKey(revoked, { armor: true }), sec: exportKey(revoked, { armor: true, secret: true }), rev: toRevoke.revocationCertificate },
    revoked.toPublic(),
  );

  await makeSigningOnlyKey();
  await makeTamperedKey('tampered', 'primary', 'The secret Ed25519 seed of the primary key was altered before locking; the certificate is intact.');
  await makeTamperedKey('tampered-subkey', 'subkey', 'The secret scalar of the Cv25519 encryption subkey was altered before locking; the certificate is intact.');
  await makeGraftedKey('unbound-subkey', mallory, "A good certificate plus mallory's newer subkey with no binding signature. Public only.");
  await makeGraftedKey('forged-subkey', mallory, "A good certificate plus mallory's newer subkey carrying the owner's binding signature of another subkey (right issuer, wrong signed data). Public only.");

  writeFileSync(fixturePath('alice', 'pub').replace(/alice\.pub\.asc$/, 'README.md'), readme());
  console.log(`wrote ${records.length} fixtures`);
}

function readme(): string {
  const rows = records.map((entry) => `| \`${entry.name}\` | ${fixtureUserID(entry.name)} | \`${entry.fingerprint}\` | ${entry.description} | ${entry.files.map((file) => `\`${file}\``).join(' ')} |`);
  return `# Key fixtures

Generated by \`npx tsx keys-fixtures/generate.ts\` (which also writes this file) and checked in; tests read them
through \`keys-fixtures/index.ts\` (\`fixturePath\`, \`readFixture\`, \`fixturePassphrase\`, \`loadCertificate\`,
\`loadSecretKey\`) and never regenerate them. Regenerating changes every key, so fixtures derived from them
elsewhere must be regenerated too.

- Passphrase of \`<name>.sec.asc\`: \`<name>-passphrase\` (e.g. \`alice-passphrase\`).
- \`<name>.unprotected.sec.asc\`: the same secret key without a passphrase (personas and mallory).
- \`<name>.rev.asc\`: the revocation certificate made at generation.
- User ID: \`Name <name@sigill.test>\`. Personas are created 2025-06-01, mallory 2025-09-01.

| name | user ID | fingerprint | what | files |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

await main();
