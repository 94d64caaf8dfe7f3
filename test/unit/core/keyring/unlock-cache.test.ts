// Unlocked keys live in memory for a bounded time (KEY-REST): expiry, forget, and clearing.
import { describe, expect, it } from 'vitest';
import { isUnlocked, UnlockCache } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadSecretKey, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';
import { openKeyring, TestClock } from './helpers.ts';

const MINUTE = 60_000;

describe('unlock cache', () => {
  it('keeps a key for ten minutes by default, then drops and clears it', async () => {
    const clock = new TestClock();
    const cache = new UnlockCache({ clock });
    const key = await loadSecretKey('alice', { unlocked: true });
    cache.put('a', key);
    clock.advance(10 * MINUTE - 1);
    expect(cache.get('a')).toBe(key);
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(isUnlocked(key)).toBe(false);
  });

  it('forgets every key at once, and a shorter lifetime applies to keys already unlocked', async () => {
    const clock = new TestClock();
    const cache = new UnlockCache({ clock, lifetimeMs: 30 * MINUTE });
    const alice = await loadSecretKey('alice', { unlocked: true });
    const bob = await loadSecretKey('bob', { unlocked: true });
    cache.put('alice', alice);
    cache.put('bob', bob);
    cache.setLifetime(MINUTE);
    clock.advance(MINUTE);
    expect(cache.fingerprints()).toEqual([]);
    cache.setLifetime(5 * MINUTE);
    const carol = await loadSecretKey('carol', { unlocked: true });
    cache.put('carol', carol);
    cache.forget();
    expect(cache.has('carol')).toBe(false);
    expect([alice, bob, carol].map(isUnlocked)).toEqual([false, false, false]);
  });

  it('keeps nothing with a lifetime of 0 and refuses a negative one', async () => {
    const cache = new UnlockCache({ lifetimeMs: 0 });
    cache.put('a', await loadSecretKey('alice', { unlocked: true }));
    expect(cache.get('a')).toBeUndefined();
    await expectSigillError(() => new UnlockCache({ lifetimeMs: -1 }), 'BAD_INPUT');
  });

  it('is what the keyring unlocks into; a wrong passphrase unlocks nothing', async () => {
    const { keyring, clock } = await openKeyring({ unlockLifetimeMs: 2 * MINUTE });
    const { imported } = await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
    const fingerprint = imported[0]!.fingerprint;
    await expectSigillError(keyring.unlock(fingerprint, 'wrong'), 'BAD_PASSPHRASE');
    expect(keyring.unlockedKey(fingerprint)).toBeUndefined();
    await keyring.unlock(fingerprint, fixturePassphrase('alice'));
    expect(keyring.unlockedKey(fingerprint)?.isDecrypted()).toBe(true);
    clock.advance(2 * MINUTE);
    expect(keyring.unlockedKey(fingerprint)).toBeUndefined();
    await keyring.unlock(fingerprint, fixturePassphrase('alice'));
    keyring.forget();
    expect(keyring.unlockedKey(fingerprint)).toBeUndefined();
    await expectSigillError(keyring.unlock(fingerprint.replace(/^./, '0'), 'x'), 'KEY_NOT_FOUND');
  });
});
