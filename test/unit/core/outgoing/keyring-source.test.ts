// The keyring as the send path's key source: every acceptance and key situation becomes the state the
// compose window shows, usable keys are re-checked on the parsed key, and the own key stays locked
// until the caller unlocks it.
import { describe, expect, it } from 'vitest';
import { fixtureAddress, fixturePassphrase, loadCertificate, readFixture } from '../../../../keys-fixtures/index.ts';
import { keyringKeySource, planOutgoing } from '../../../../src/core/index.ts';
import { openKeyring } from '../keyring/helpers.ts';

async function populated() {
  const opened = await openKeyring();
  const { keyring } = opened;
  await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
  await keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'accepted' });
  await keyring.importKeys(readFixture('carol', 'pub'), { acceptance: 'rejected' });
  await keyring.importKeys(readFixture('dave', 'pub'), { acceptance: 'undecided' });
  await keyring.importKeys(readFixture('erin', 'pub'), { acceptance: 'verified' });
  await keyring.importKeys(readFixture('expired', 'pub'), { acceptance: 'accepted' });
  await keyring.importKeys(readFixture('revoked', 'pub'), { acceptance: 'accepted' });
  await keyring.importKeys(readFixture('signing-only', 'pub'), { acceptance: 'accepted' });
  return { ...opened, source: keyringKeySource({ keyring }) };
}

describe('keyringKeySource', () => {
  it('answers every recipient situation with the compose window\'s state, keys only for usable ones', async () => {
    const { source } = await populated();
    const answers = Object.fromEntries(
      await Promise.all(
        (['bob', 'carol', 'dave', 'erin', 'expired', 'revoked', 'signing-only'] as const).map(async (name) => {
          const answer = await source.recipient(fixtureAddress(name));
          return [name, { state: answer.state, keys: answer.keys.length }] as const;
        }),
      ),
    );
    expect(answers).toEqual({
      bob: { state: 'accepted', keys: 1 },
      carol: { state: 'rejected', keys: 0 },
      dave: { state: 'undecided', keys: 0 },
      erin: { state: 'verified', keys: 1 },
      expired: { state: 'expired', keys: 0 },
      revoked: { state: 'revoked', keys: 0 },
      'signing-only': { state: 'no-encryption-key', keys: 0 },
    });
    expect(await source.recipient('nobody@sigill.test')).toEqual({ state: 'missing', keys: [] });
    const bob = await source.recipient('Bob@Sigill.Test');
    expect(bob.keys[0]?.getFingerprint()).toBe((await loadCertificate('bob')).getFingerprint());
  });

  it('gives the sender\'s own key locked until it is unlocked in the keyring, and nothing for an address without one', async () => {
    const { source, keyring } = await populated();
    const alice = (await loadCertificate('alice')).getFingerprint();
    const locked = await source.sender('alice@sigill.test');
    expect(locked?.certificate.getFingerprint()).toBe(alice);
    expect(locked?.certificate.isPrivate()).toBe(false);
    expect(locked?.secretKey.isDecrypted()).toBe(false);
    await keyring.unlock(alice, fixturePassphrase('alice'));
    expect((await source.sender('alice@sigill.test'))?.secretKey.isDecrypted()).toBe(true);
    expect(await source.sender('bob@sigill.test')).toBeUndefined();
  });

  it('makes a ready plan for accepted recipients and lists every other one as a problem', async () => {
    const { source, keyring } = await populated();
    await keyring.unlock((await loadCertificate('alice')).getFingerprint(), fixturePassphrase('alice'));
    const ready = await planOutgoing({ from: 'Alice <alice@sigill.test>', to: ['bob@sigill.test'], bcc: ['erin@sigill.test'], encrypt: true, sign: true, keys: source });
    expect(ready.ready).toBe(true);
    expect(ready.encryptionKeys).toHaveLength(2);
    expect(ready.hiddenKeys).toHaveLength(1);
    const blocked = await planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], cc: ['dave@sigill.test', 'nobody@sigill.test'], encrypt: true, sign: false, keys: source });
    expect(blocked.ready).toBe(false);
    expect(blocked.problems.map((problem) => [problem.address, problem.code])).toEqual([
      ['dave@sigill.test', 'KEY_NOT_ACCEPTED'],
      ['nobody@sigill.test', 'KEY_NOT_FOUND'],
    ]);
  });
});
