// The keyring's side of discovery (KEY-SWAP): what each decision does to the keyring, the key-change
// warnings and how the user resolves them, and the refresh of expired or revoked keys (on demand,
// automatically at most daily). Candidates go through the real candidate pipeline (examineKeyData);
// the source answering them is in memory here, the network sources are tested against loopback
// servers (test/unit/core/discovery, test/security/key-swap.test.ts).
import { describe, expect, it } from 'vitest';
import {
  applyRevocationCertificate,
  DISCOVERY_STATE_KEY,
  examineKeyData,
  generateKey,
  KeyDiscovery,
  loadSettings,
  saveSettings,
  MemoryStorage,
  type DiscoveryResult,
  type DiscoverySource,
  type DiscoverySourceName,
} from '../../../../src/core/index.ts';
import { fixtureAddress, fixtureUserID, loadCertificate, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';
import { openKeyring, START, TestClock } from './helpers.ts';

const BOB = fixtureAddress('bob');
const DAY = 24 * 60 * 60 * 1000;

/** An in-memory source: answers with the key data published for an address (no network). */
function memorySource(name: DiscoverySourceName, clock: TestClock) {
  const published = new Map<string, string>();
  const asked: string[] = [];
  const source: DiscoverySource = {
    name,
    enabled: true,
    async lookup(address): Promise<DiscoveryResult> {
      asked.push(address);
      const data = published.get(address);
      if (data === undefined) return { source: name, address, keys: [], rejected: [], attempts: [{ url: `memory:${address}`, outcome: 'not found' }] };
      const examined = await examineKeyData(data, { source: name, address, origin: `memory:${address}`, now: clock.now() });
      return { source: name, address, ...examined, attempts: [{ url: `memory:${address}`, outcome: 'found' }] };
    },
  };
  return { source, published, asked };
}

async function setUp(options: { bob?: 'accepted' | 'verified' | 'undecided' } = {}) {
  const opened = await openKeyring();
  if (options.bob !== undefined) {
    const report = await opened.keyring.importKeys(readFixture('bob', 'pub'), { acceptance: options.bob });
    expect(report.failed).toEqual([]);
  }
  const discovery = await KeyDiscovery.open({ keyring: opened.keyring, storage: opened.storage, clock: opened.clock });
  const wkd = memorySource('wkd', opened.clock);
  return { ...opened, discovery, wkd };
}

async function impostor(userID = fixtureUserID('bob')) {
  const { publicKey } = await generateKey({ userIDs: [userID], date: new Date(START - DAY) });
  return publicKey;
}

describe('discovered keys in the keyring', () => {
  it('new: a lookup stores nothing by itself; importing stores the key undecided with its source', async () => {
    const { keyring, discovery, wkd } = await setUp();
    wkd.published.set(BOB, readFixture('bob', 'pub'));
    const [outcome] = await discovery.lookup(BOB, [wkd.source]);
    expect(outcome!.candidates).toHaveLength(1);
    expect(outcome!.candidates[0]).toMatchObject({ decision: { action: 'new', store: 'undecided' } });
    expect(outcome!.candidates[0]!.stored).toBeUndefined();
    expect(keyring.size).toBe(0);

    const imported = await discovery.importCandidate(outcome!.candidates[0]!.key);
    expect(imported.stored).toBe('added');
    const bob = (await loadCertificate('bob')).getFingerprint();
    expect(keyring.record(bob)?.acceptance).toBe('undecided');
    expect(discovery.discoveredFrom(bob)).toMatchObject({ source: 'wkd', origin: `memory:${BOB}`, address: BOB });
    // Undecided: not used for encryption until the user accepts it.
    expect(keyring.lookup(BOB).status).toBe('not-accepted');
  });

  it("the store policy 'all' keeps every new key as undecided at once", async () => {
    const { keyring, discovery, wkd } = await setUp();
    wkd.published.set(BOB, readFixture('bob', 'pub'));
    const [outcome] = await discovery.lookup(BOB, [wkd.source], { store: 'all' });
    expect(outcome!.candidates[0]!.stored).toBe('added');
    expect(keyring.lookup(BOB).candidates.map((candidate) => candidate.record.acceptance)).toEqual(['undecided']);
  });

  it.each(['accepted', 'verified'] as const)('same: a fresh copy of an %s key is merged (a revocation is learnt) and its acceptance kept', async (acceptance) => {
    const { keyring, discovery, wkd } = await setUp({ bob: acceptance });
    const revoked = await applyRevocationCertificate(await loadCertificate('bob'), readFixture('bob', 'rev'));
    wkd.published.set(BOB, revoked.armor());
    const [outcome] = await discovery.lookup(BOB, [wkd.source]);
    // A revoked key is refused as a candidate but refreshes the held copy.
    expect(outcome!.candidates).toHaveLength(1);
    expect(outcome!.candidates[0]).toMatchObject({ decision: { action: 'same', acceptance }, stored: 'updated' });
    const record = keyring.record(revoked.getFingerprint())!;
    expect(record.revoked).toBe(true);
    expect(record.acceptance).toBe(acceptance);
    expect(record.userIDs).toContain(fixtureUserID('bob'));
    expect(discovery.warnings()).toEqual([]);
  });

  it.each(['accepted', 'verified'] as const)('conflict: the %s key stays in use, the new one is stored undecided, a warning names both', async (acceptance) => {
    const { keyring, discovery, wkd, clock } = await setUp({ bob: acceptance });
    const bob = (await loadCertificate('bob')).getFingerprint();
    const other = await impostor();
    wkd.published.set(BOB, other.armor());
    const [outcome] = await discovery.lookup(BOB, [wkd.source]);
    expect(outcome!.candidates[0]).toMatchObject({ decision: { action: 'conflict' }, stored: 'added' });
    expect(keyring.record(other.getFingerprint())?.acceptance).toBe('undecided');
    expect(keyring.record(bob)?.acceptance).toBe(acceptance);
    // Lookups and encryption still use the old key only.
    expect(keyring.lookup(BOB).usable.map((record) => record.fingerprint)).toEqual([bob]);
    expect((await keyring.encryptionKeys(BOB)).map((key) => key.getFingerprint())).toEqual([bob]);
    expect(discovery.warnings()).toEqual([
      {
        address: BOB,
        inUse: [{ fingerprint: bob, acceptance }],
        offered: { fingerprint: other.getFingerprint(), source: 'wkd', origin: `memory:${BOB}` },
        detectedAt: clock.now().toISOString(),
        lastSeenAt: clock.now().toISOString(),
      },
    ]);

    // Offered again a day later: still one warning, first seen kept, last seen moved.
    clock.advance(DAY);
    await discovery.lookup(BOB, [wkd.source]);
    const [again] = discovery.warnings();
    expect(discovery.warnings()).toHaveLength(1);
    expect(again).toMatchObject({ detectedAt: new Date(START).toISOString(), lastSeenAt: clock.now().toISOString() });
    expect(keyring.record(bob)?.acceptance).toBe(acceptance);
  });

  it('the warning survives a restart (it is stored) until the user decides', async () => {
    const { keyring, storage, discovery, wkd, clock } = await setUp({ bob: 'accepted' });
    wkd.published.set(BOB, (await impostor()).armor());
    await discovery.lookup(BOB, [wkd.source]);
    expect(storage.snapshot()[DISCOVERY_STATE_KEY]).toBeDefined();
    const reopened = await KeyDiscovery.open({ keyring, storage, clock });
    expect(reopened.warnings(BOB)).toHaveLength(1);
    expect(reopened.warnings('carol@sigill.test')).toEqual([]);
  });

  it('accepting the new key demotes the old one to undecided and closes the warning', async () => {
    const { keyring, discovery, wkd } = await setUp({ bob: 'verified' });
    const bob = (await loadCertificate('bob')).getFingerprint();
    const other = await impostor();
    wkd.published.set(BOB, other.armor());
    await discovery.lookup(BOB, [wkd.source]);
    const result = await discovery.resolveWarning({ address: BOB, fingerprint: other.getFingerprint(), choice: 'accept' });
    expect(result.accepted?.acceptance).toBe('accepted');
    expect(result.demoted.map((record) => [record.fingerprint, record.acceptance])).toEqual([[bob, 'undecided']]);
    expect(keyring.lookup(BOB).usable.map((record) => record.fingerprint)).toEqual([other.getFingerprint()]);
    expect(discovery.warnings()).toEqual([]);
    // The old key offered again now is just an undecided key, not a new warning.
    wkd.published.set(BOB, readFixture('bob', 'pub'));
    const [outcome] = await discovery.lookup(BOB, [wkd.source]);
    expect(outcome!.candidates[0]!.decision).toMatchObject({ action: 'same', acceptance: 'undecided' });
    expect(discovery.warnings()[0]?.offered.fingerprint).toBe(bob);
  });

  it('rejecting the new key marks it rejected, keeps the old one, and the same key offered again is ignored', async () => {
    const { keyring, discovery, wkd } = await setUp({ bob: 'accepted' });
    const bob = (await loadCertificate('bob')).getFingerprint();
    const other = await impostor();
    wkd.published.set(BOB, other.armor());
    await discovery.lookup(BOB, [wkd.source]);
    const result = await discovery.resolveWarning({ address: BOB, fingerprint: other.getFingerprint(), choice: 'reject' });
    expect(result.rejected?.acceptance).toBe('rejected');
    expect(result.demoted).toEqual([]);
    expect(keyring.record(bob)?.acceptance).toBe('accepted');
    expect(discovery.warnings()).toEqual([]);
    const [outcome] = await discovery.lookup(BOB, [wkd.source]);
    expect(outcome!.candidates[0]!.decision).toMatchObject({ action: 'ignore', reason: 'rejected-before' });
    expect(discovery.warnings()).toEqual([]);
    await expectSigillError(discovery.resolveWarning({ address: BOB, fingerprint: other.getFingerprint(), choice: 'accept' }), 'KEY_NOT_FOUND');
  });

  it('a decision taken in the key list closes the warning too, and it is dropped from storage at the next change', async () => {
    const { keyring, storage, discovery, wkd } = await setUp({ bob: 'accepted' });
    const other = await impostor();
    wkd.published.set(BOB, other.armor());
    await discovery.lookup(BOB, [wkd.source]);
    await keyring.setAcceptance(other.getFingerprint(), 'rejected');
    expect(discovery.warnings()).toEqual([]);
    const third = await impostor();
    wkd.published.set(BOB, third.armor());
    await discovery.lookup(BOB, [wkd.source]);
    const stored = (storage.snapshot()[DISCOVERY_STATE_KEY] as { warnings: Array<{ offered: { fingerprint: string } }> }).warnings;
    expect(stored.map((warning) => warning.offered.fingerprint)).toEqual([third.getFingerprint()]);
  });

  it('importing a candidate judges its certificate again: a swapped certificate or a foreign address is refused', async () => {
    const { keyring, discovery } = await setUp();
    const bob = await loadCertificate('bob');
    await expectSigillError(
      discovery.importCandidate({ address: BOB, source: 'wkd', origin: 'x', fingerprint: bob.getFingerprint(), certificate: readFixture('mallory', 'pub') }),
      'KEY_NOT_FOUND',
    );
    await expectSigillError(
      discovery.importCandidate({ address: BOB, source: 'wkd', origin: 'x', fingerprint: (await loadCertificate('mallory')).getFingerprint(), certificate: readFixture('mallory', 'pub') }),
      'ADDRESS_NOT_IN_KEY',
    );
    await expectSigillError(discovery.importCandidate({ address: 'not an address', source: 'wkd', origin: 'x', fingerprint: bob.getFingerprint(), certificate: bob.armor() }), 'BAD_INPUT');
    expect(keyring.size).toBe(0);
  });

  it('importing a conflicting candidate by hand still only stores it undecided with a warning', async () => {
    const { keyring, discovery } = await setUp({ bob: 'accepted' });
    const other = await impostor();
    const outcome = await discovery.importCandidate({ address: BOB, source: 'autocrypt', origin: 'header', fingerprint: other.getFingerprint(), certificate: other.armor() });
    expect(outcome.decision.action).toBe('conflict');
    expect(keyring.record(other.getFingerprint())?.acceptance).toBe('undecided');
    expect(discovery.warnings()[0]?.offered).toMatchObject({ fingerprint: other.getFingerprint(), source: 'autocrypt' });
  });

  it('a source that fails is reported and changes nothing', async () => {
    const { keyring, discovery } = await setUp({ bob: 'accepted' });
    const failing: DiscoverySource = { name: 'vks', enabled: true, lookup: () => Promise.reject(new Error('connection refused')) };
    const [outcome] = await discovery.lookup(BOB, [failing]);
    expect(outcome).toMatchObject({ source: 'vks', candidates: [], error: { code: 'INTERNAL' } });
    expect(keyring.size).toBe(1);
  });
});

describe('refreshing expired and revoked keys', () => {
  it('looks expired and revoked correspondents’ keys up on demand, and automatically at most once a day', async () => {
    const { keyring, discovery, wkd, clock } = await setUp({ bob: 'accepted' });
    await keyring.importKeys(readFixture('expired', 'pub'), { acceptance: 'accepted' });
    await keyring.importKeys(readFixture('revoked', 'pub'), { acceptance: 'accepted' });
    await keyring.importKeys(readFixture('carol', 'pub'), { acceptance: 'rejected' });
    const expired = (await loadCertificate('expired')).getFingerprint();
    const revoked = (await loadCertificate('revoked')).getFingerprint();
    const replacement = await impostor(fixtureUserID('expired'));
    wkd.published.set(fixtureAddress('expired'), replacement.armor());

    const first = await discovery.refresh([wkd.source], { trigger: 'automatic' });
    expect(new Set(first.refreshed)).toEqual(new Set([expired, revoked]));
    expect(new Set(wkd.asked)).toEqual(new Set([fixtureAddress('expired'), fixtureAddress('revoked')]));
    // A different key for an address whose accepted key expired is still the user's decision.
    expect(discovery.warnings().map((warning) => [warning.address, warning.offered.fingerprint])).toEqual([[fixtureAddress('expired'), replacement.getFingerprint()]]);
    expect(keyring.record(replacement.getFingerprint())?.acceptance).toBe('undecided');

    wkd.asked.length = 0;
    clock.advance(DAY - 60_000);
    const second = await discovery.refresh([wkd.source], { trigger: 'automatic' });
    expect(second.refreshed).toEqual([]);
    expect(new Set(second.notDue)).toEqual(new Set([expired, revoked]));
    expect(wkd.asked).toEqual([]);

    // The user may ask at any time.
    const asked = await discovery.refresh([wkd.source], { trigger: 'user' });
    expect(new Set(asked.refreshed)).toEqual(new Set([expired, revoked]));

    clock.advance(DAY);
    expect(new Set((await discovery.refresh([wkd.source], { trigger: 'automatic' })).refreshed)).toEqual(new Set([expired, revoked]));
  });

  it('refreshes nothing when every key is valid', async () => {
    const { discovery, wkd } = await setUp({ bob: 'accepted' });
    expect(await discovery.refresh([wkd.source], { trigger: 'user' })).toEqual({ refreshed: [], notDue: [], outcomes: [] });
    expect(wkd.asked).toEqual([]);
  });
});

describe('the stored discovery state', () => {
  it('refuses a state written by a newer Sigill and a malformed one', async () => {
    const { keyring } = await openKeyring();
    const newer = MemoryStorage.from({ [DISCOVERY_STATE_KEY]: { version: 99 } });
    await expectSigillError(KeyDiscovery.open({ keyring, storage: newer }), 'BAD_INPUT');
    const broken = MemoryStorage.from({ [DISCOVERY_STATE_KEY]: 'nonsense' });
    await expectSigillError(KeyDiscovery.open({ keyring, storage: broken }), 'BAD_INPUT');
  });
});

describe('the discovery settings', () => {
  it('default to no automatic lookups, WKD then keys.openpgp.org, no attached key; and are checked', async () => {
    const storage = new MemoryStorage();
    const settings = await loadSettings(storage);
    expect(settings).toMatchObject({ lookupAutomatically: false, lookupSources: ['wkd', 'vks'], vksUrl: 'https://keys.openpgp.org', attachPublicKey: false });
    expect(await saveSettings(storage, { lookupAutomatically: true, lookupSources: ['vks', 'wkd', 'vks'], vksUrl: ' https://keys.example.net/ ', attachPublicKey: true })).toMatchObject({
      lookupAutomatically: true,
      lookupSources: ['wkd', 'vks'],
      vksUrl: 'https://keys.example.net',
      attachPublicKey: true,
    });
    expect((await saveSettings(storage, { lookupSources: [] })).lookupSources).toEqual([]);
    expect((await saveSettings(storage, { vksUrl: 'http://127.0.0.1:8080' })).vksUrl).toBe('http://127.0.0.1:8080');
    for (const vksUrl of ['http://keys.example.net', 'https://user:pw@keys.example.net', 'https://keys.example.net/?q=1', 'keys.example.net', 42]) {
      await expectSigillError(saveSettings(storage, { vksUrl } as never), 'BAD_INPUT');
    }
    await expectSigillError(saveSettings(storage, { lookupSources: ['ldap'] } as never), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { lookupAutomatically: 'yes' } as never), 'BAD_INPUT');
    // A default is never shared with what a caller gets (and may change).
    (await loadSettings(new MemoryStorage())).lookupSources.pop();
    expect((await loadSettings(new MemoryStorage())).lookupSources).toEqual(['wkd', 'vks']);
  });
});
