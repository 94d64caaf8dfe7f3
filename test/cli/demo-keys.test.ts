/**
 * The demo's keys and welcome message: keys made once and kept, the items for alice's Sigill made by the
 * real keyring (reopened here as Sigill opens them), and the welcome message PGP/MIME encrypted to alice
 * and signed by bob — read back with the core's read path, with nothing of its text outside the encryption.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Keyring, MemoryStorage, read, readCertificates, readSecretKeys, unlockKey } from '../../src/core/index.ts';
import { demoKeyringItems, demoKeys, encryptedMail, type DemoKey } from '../../src/cli/demo-keys.ts';
import { DemoSetupError, type DemoAccount } from '../../src/cli/demo-relay.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sigill-demo-keys-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const alice: DemoAccount = { address: 'alice@sigill.test', fullName: 'Alice', password: 'not-used-here' };
const bob: DemoAccount = { address: 'bob@sigill.test', fullName: 'Bob', password: 'not-used-here' };

it('makes one protected key per account on the first run and reuses them later', async () => {
  const dir = await stateDir();
  const first = await demoKeys(dir, [alice, bob]);
  expect(first.map((key) => key.address)).toEqual([alice.address, bob.address]);
  expect(first[0]?.fingerprint).not.toBe(first[1]?.fingerprint);
  expect((await stat(path.join(dir, 'demo-keys.json'))).mode & 0o777).toBe(0o600);
  for (const key of first) {
    const [secret] = await readSecretKeys(key.secretKey);
    expect(secret?.isDecrypted()).toBe(false); // stored passphrase-protected
    expect(secret?.getFingerprint()).toBe(key.fingerprint);
    await expect(unlockKey(secret!, [key.passphrase])).resolves.toBeDefined();
  }
  expect(await demoKeys(dir, [alice, bob])).toEqual(first);
});

it('names a damaged key file instead of replacing the keys behind the profile', async () => {
  const dir = await stateDir();
  await writeFile(path.join(dir, 'demo-keys.json'), '{"format":"something else"}');
  await expect(demoKeys(dir, [alice, bob])).rejects.toThrow(DemoSetupError);
  await expect(demoKeys(dir, [alice, bob])).rejects.toThrow(/demo-keys\.json does not hold the demo keys/);
  expect(await readFile(path.join(dir, 'demo-keys.json'), 'utf8')).toBe('{"format":"something else"}');
});

it("gives alice's Sigill her own key (protected, backed up) and bob's public key, accepted", async () => {
  const [aliceKey, bobKey] = (await demoKeys(await stateDir(), [alice, bob])) as [DemoKey, DemoKey];
  const items = await demoKeyringItems(aliceKey, [bobKey]);
  const keyring = await Keyring.open({ storage: MemoryStorage.from(items) });
  const own = keyring.ownKeysFor(alice.address);
  expect(own.map((record) => record.fingerprint)).toEqual([aliceKey.fingerprint]);
  expect(own[0]?.backedUp).toBe(true);
  expect(keyring.lookup(bob.address).status).toBe('usable');
  expect(keyring.record(bobKey.fingerprint)?.acceptance).toBe('accepted');
  expect(keyring.ownKeysFor(bob.address)).toEqual([]); // bob's secret key stays out
  await expect(keyring.unlock(own[0]!.fingerprint, aliceKey.passphrase)).resolves.toBeUndefined();
});

it('encrypts the welcome message to alice, signed by bob, with the subject inside only', async () => {
  const [aliceKey, bobKey] = (await demoKeys(await stateDir(), [alice, bob])) as [DemoKey, DemoKey];
  const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
  const subject = 'Welcome to the Sigill demo';
  const raw = await encryptedMail({ from: bob, fromKey: bobKey, to: alice, toKey: aliceKey, subject, text: `Hi Alice,\n\n${secret} — ünïcode too\n\nBob` });
  const wire = raw.toString('latin1');
  expect(wire).not.toContain(secret);
  expect(wire).not.toContain(subject);
  expect(wire).toMatch(/^Subject: \.\.\.\r$/m);
  expect(wire).toContain('Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"');

  const [aliceSecret] = await readSecretKeys(aliceKey.secretKey);
  const unlocked = await unlockKey(aliceSecret!, [aliceKey.passphrase]);
  const [bobCertificate] = await readCertificates(bobKey.secretKey);
  const result = await read(raw, { decryptionKeys: async () => [unlocked], verificationKeys: async () => [bobCertificate!] });
  expect(result.errors).toEqual([]);
  expect(result.encryption).toBe('encrypted');
  expect(result.protectedSubject).toBe(subject);
  expect(result.parts.map((part) => part.content).join('')).toContain(`${secret} — ünïcode too`);
  expect(result.signers).toHaveLength(1);
  expect(result.signers[0]).toMatchObject({ status: 'good', userID: 'Bob <bob@sigill.test>', matchesFrom: true });
});
