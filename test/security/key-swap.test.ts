/**
 * KEY-SWAP: no source (WKD, keys.openpgp.org, Autocrypt header, attached key) replaces a key the
 * user accepted or verified; a different key is recorded as undecided beside it with a warning that
 * names both fingerprints, and a verified key is never downgraded.
 * KEY-BAD for discovered keys: grafted subkeys are stripped, expired, revoked, signing-only keys and
 * keys whose user ID does not name the address are refused with the reason, and a WKD answer with
 * several keys is judged key by key. The keys come from a real HTTPS WKD on loopback.
 */
import { config, enums, PacketList, PublicKey, SecretKeyPacket, SignaturePacket } from 'openpgp';
import { describe, expect, it } from 'vitest';
import {
  attachedKeyCandidates,
  autocryptCandidates,
  createVksSource,
  createWkdSource,
  decideDiscoveredKey,
  generateKey,
  KeyDiscovery,
  Keyring,
  MemoryStorage,
  readCertificates,
  revokeKey,
  type DiscoveredKey,
  type HeldKey,
  type DiscoveryResult,
} from '../../src/core/index.ts';
import type { NodeFetch } from '../../src/cli/key/node-fetch.ts';
import { fixtureAddress, fixtureUserID, loadCertificate, loadSecretKey, readFixture, type FixtureName } from '../../keys-fixtures/index.ts';
import { useLoopbackKeyServers, type LoopbackKeyServers } from '../support/key-servers.ts';
import { describeWithTools } from '../support/tools.ts';

const BOB = 'bob@sigill.test';
const BOB_FINGERPRINT = '7132cb7a3955c51fcc12541c3d806e1d93bca2e2';
const MALLORY_FINGERPRINT = '4b2e4827b3f0f845f9fcaed71c065e2c1ae9ce58';

function candidate(fingerprint: string, options: { problems?: DiscoveredKey['status']['problems']; canEncrypt?: boolean; source?: DiscoveredKey['source'] } = {}) {
  return { fingerprint, source: options.source ?? 'wkd', status: { canEncrypt: options.canEncrypt ?? true, problems: options.problems ?? [] } } as const;
}

describe('KEY-SWAP decisions', () => {
  it('a key for an address with no key is stored as undecided', () => {
    expect(decideDiscoveredKey({ address: BOB, held: [], candidate: candidate(BOB_FINGERPRINT) })).toEqual({ action: 'new', store: 'undecided' });
    // Beside other undecided or rejected keys it is just another undecided one.
    const held: HeldKey[] = [{ fingerprint: MALLORY_FINGERPRINT, acceptance: 'undecided' }];
    expect(decideDiscoveredKey({ address: BOB, held, candidate: candidate(BOB_FINGERPRINT) })).toEqual({ action: 'new', store: 'undecided' });
  });

  it.each(['accepted', 'verified'] as const)('a different key for an address with an %s key is a conflict: old key kept, warning with both fingerprints', (acceptance) => {
    for (const source of ['wkd', 'vks', 'autocrypt', 'attachment'] as const) {
      const decision = decideDiscoveredKey({ address: BOB, held: [{ fingerprint: BOB_FINGERPRINT, acceptance }], candidate: candidate(MALLORY_FINGERPRINT, { source }) });
      expect(decision).toEqual({
        action: 'conflict',
        store: 'undecided',
        warning: { address: BOB, inUse: [{ fingerprint: BOB_FINGERPRINT, acceptance }], offered: { fingerprint: MALLORY_FINGERPRINT, source } },
      });
    }
  });

  it('a refreshed copy of a held key keeps its acceptance: a verified key is never downgraded', () => {
    for (const acceptance of ['undecided', 'accepted', 'verified'] as const) {
      const decision = decideDiscoveredKey({ address: BOB, held: [{ fingerprint: BOB_FINGERPRINT.toUpperCase(), acceptance }], candidate: candidate(BOB_FINGERPRINT, { source: 'autocrypt' }) });
      expect(decision).toEqual({ action: 'same', fingerprint: BOB_FINGERPRINT.toUpperCase(), acceptance });
    }
  });

  it('a held key that turns out revoked or expired is still refreshed (the keyring learns it)', () => {
    for (const problems of [['KEY_REVOKED'], ['KEY_EXPIRED']] as const) {
      const decision = decideDiscoveredKey({ address: BOB, held: [{ fingerprint: BOB_FINGERPRINT, acceptance: 'verified' }], candidate: candidate(BOB_FINGERPRINT, { problems: [...problems], canEncrypt: false }) });
      expect(decision).toMatchObject({ action: 'same', acceptance: 'verified' });
    }
  });

  it('the rival key offered again while the user has not decided keeps the warning up', () => {
    const held: HeldKey[] = [
      { fingerprint: BOB_FINGERPRINT, acceptance: 'accepted' },
      { fingerprint: MALLORY_FINGERPRINT, acceptance: 'undecided' },
    ];
    expect(decideDiscoveredKey({ address: BOB, held, candidate: candidate(MALLORY_FINGERPRINT) })).toEqual({
      action: 'same',
      fingerprint: MALLORY_FINGERPRINT,
      acceptance: 'undecided',
      warning: { address: BOB, inUse: [{ fingerprint: BOB_FINGERPRINT, acceptance: 'accepted' }], offered: { fingerprint: MALLORY_FINGERPRINT, source: 'wkd' } },
    });
  });

  it('a rejected key offered again is ignored; so is an unusable key that is not held', () => {
    expect(decideDiscoveredKey({ address: BOB, held: [{ fingerprint: MALLORY_FINGERPRINT, acceptance: 'rejected' }], candidate: candidate(MALLORY_FINGERPRINT) })).toMatchObject({
      action: 'ignore',
      reason: 'rejected-before',
    });
    expect(decideDiscoveredKey({ address: BOB, held: [], candidate: candidate(MALLORY_FINGERPRINT, { problems: ['KEY_REVOKED'], canEncrypt: false }) })).toMatchObject({
      action: 'ignore',
      reason: 'unusable',
      detail: expect.stringContaining('KEY_REVOKED'),
    });
  });
});

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'KEY-SWAP and KEY-BAD for keys from a loopback WKD', () => {
  let servers: LoopbackKeyServers;
  let client: NodeFetch;
  useLoopbackKeyServers((started) => ({ servers, client } = started));

  async function lookupFixture(name: FixtureName, data: string | Uint8Array = readFixture(name, 'pub')): Promise<DiscoveryResult> {
    servers.server.publishWkd(fixtureAddress(name), data);
    return createWkdSource({ fetch: client.fetch }).lookup(fixtureAddress(name));
  }

  it("mallory's key published under bob's address is a conflict with bob's accepted key, never a replacement", async () => {
    const { publicKey: impostor } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    const result = await lookupFixture('bob', impostor.armor());
    expect(result.keys).toHaveLength(1);
    const offered = result.keys[0]!;
    const decision = decideDiscoveredKey({ address: BOB, held: [{ fingerprint: BOB_FINGERPRINT, acceptance: 'verified' }], candidate: offered });
    expect(decision).toMatchObject({
      action: 'conflict',
      store: 'undecided',
      warning: { inUse: [{ fingerprint: BOB_FINGERPRINT, acceptance: 'verified' }], offered: { fingerprint: impostor.getFingerprint(), source: 'wkd' } },
    });
  });

  it('an Autocrypt header with a different key is a conflict as well', async () => {
    const { publicKey: impostor } = await generateKey({ userIDs: [`<${BOB}>`] });
    const keydata = Buffer.from(impostor.write()).toString('base64');
    const result = await autocryptCandidates({ from: BOB, headers: [`addr=${BOB}; prefer-encrypt=mutual; keydata=${keydata}`] });
    const decision = decideDiscoveredKey({ address: BOB, held: [{ fingerprint: BOB_FINGERPRINT, acceptance: 'accepted' }], candidate: result.keys[0]! });
    expect(decision.action).toBe('conflict');
  });

  it("a key whose user IDs do not name the address is refused (mallory's key served for bob)", async () => {
    const result = await lookupFixture('bob', readFixture('mallory', 'pub'));
    expect(result.keys).toEqual([]);
    expect(result.rejected).toEqual([
      expect.objectContaining({ fingerprint: MALLORY_FINGERPRINT, reason: { code: 'ADDRESS_NOT_IN_KEY', message: expect.stringContaining('"Mallory <mallory@sigill.test>"') } }),
    ]);
  });

  it("a user ID copied from bob's key onto mallory's has no valid self-signature: refused", async () => {
    const mallory = await loadCertificate('mallory');
    const bob = await loadCertificate('bob');
    mallory.users = [...bob.users];
    const result = await lookupFixture('bob', mallory.write());
    expect(result.keys).toEqual([]);
    expect(result.rejected.map((entry) => [entry.fingerprint, entry.reason.code])).toEqual([[MALLORY_FINGERPRINT, 'KEY_INVALID']]);
  });

  it.each(['unbound-subkey', 'forged-subkey'] as const)('%s: the grafted subkey is stripped before the key reaches the keyring', async (name) => {
    const mallorySubkeyID = (await loadCertificate('mallory')).subkeys[0]!.getKeyID().toHex();
    const result = await lookupFixture(name);
    expect(result.keys).toHaveLength(1);
    const found = result.keys[0]!;
    expect(found.notes).toContain(`subkey ${mallorySubkeyID} dropped: no valid binding signature`);
    const [stored] = await readCertificates(found.certificate);
    expect(stored!.subkeys.map((subkey) => subkey.getKeyID().toHex())).not.toContain(mallorySubkeyID);
    expect(stored!.subkeys).toHaveLength(1);
  });

  it("a signing subkey claimed without its back-signature (alice's, bound by mallory) is stripped", async () => {
    // mallory binds alice's public signing subkey to her key with a valid 0x18 binding signature but
    // cannot add alice's embedded 0x19 back-signature (RFC 9580 §5.2.1).
    const alice = await (await loadSecretKey('alice', { unlocked: true })).addSubkey({ sign: true });
    const stolen = alice.toPublic().subkeys.at(-1)!;
    const mallory = await loadSecretKey('mallory', { unlocked: true });
    if (!(mallory.keyPacket instanceof SecretKeyPacket)) throw new Error('fixture is not as documented');
    const binding = new SignaturePacket();
    binding.signatureType = enums.signature.subkeyBinding;
    binding.publicKeyAlgorithm = mallory.keyPacket.algorithm;
    binding.hashAlgorithm = enums.hash.sha256;
    binding.keyFlags = new Uint8Array([enums.keyFlags.signData]);
    // At run time `sign` takes the data to bind as an object and a config, unlike its typings say.
    const signPacket = binding.sign as unknown as (key: SecretKeyPacket, data: object, date: Date, detached: boolean, options: typeof config) => Promise<void>;
    await signPacket.call(binding, mallory.keyPacket, { key: mallory.keyPacket, bind: stolen.keyPacket }, new Date(), false, config);
    const packets = new PacketList();
    packets.push(...mallory.toPublic().toPacketList(), stolen.keyPacket, binding);
    const result = await lookupFixture('mallory', new PublicKey(packets).write());
    expect(result.keys).toHaveLength(1);
    expect(result.keys[0]!.notes).toContain(`subkey ${stolen.getKeyID().toHex()} dropped: no valid binding signature`);
    const [stored] = await readCertificates(result.keys[0]!.certificate);
    expect(stored!.subkeys.map((subkey) => subkey.getKeyID().toHex())).toEqual([mallory.subkeys[0]!.getKeyID().toHex()]);
  });

  it.each([
    ['expired', 'KEY_EXPIRED', true],
    ['revoked', 'KEY_REVOKED', true],
    ['signing-only', 'NO_ENCRYPTION_KEY', false],
  ] as const)('%s: refused with %s', async (name, code, keptForRefresh) => {
    const result = await lookupFixture(name);
    expect(result.keys).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.reason.code).toBe(code);
    expect(result.rejected[0]!.key !== undefined).toBe(keptForRefresh);
  });

  it('a revoked copy of a held key refreshes it (same), and is ignored when not held', async () => {
    const result = await lookupFixture('revoked');
    const revoked = result.rejected[0]!.key!;
    expect(revoked.status.revoked).toBe(true);
    expect(decideDiscoveredKey({ address: 'revoked@sigill.test', held: [{ fingerprint: revoked.fingerprint, acceptance: 'accepted' }], candidate: revoked })).toMatchObject({
      action: 'same',
      acceptance: 'accepted',
    });
    expect(decideDiscoveredKey({ address: 'revoked@sigill.test', held: [], candidate: revoked })).toMatchObject({ action: 'ignore', reason: 'unusable' });
  });

  it('a WKD answer with several keys is judged key by key: the old revoked key, the new one, a stranger', async () => {
    const old = await generateKey({ userIDs: [fixtureUserID('bob')] });
    const oldRevoked = await revokeKey({ key: old.secretKey, reasonCode: 'superseded', reason: 'new key' });
    const replacement = await generateKey({ userIDs: [fixtureUserID('bob')] });
    const answer = [oldRevoked.toPublic().armor(), replacement.publicKey.armor(), readFixture('mallory', 'pub')].join('\n');
    const result = await lookupFixture('bob', answer);
    expect(result.keys.map((key) => key.fingerprint)).toEqual([replacement.publicKey.getFingerprint()]);
    expect(result.rejected.map((entry) => [entry.fingerprint, entry.reason.code])).toEqual([
      [old.publicKey.getFingerprint(), 'KEY_REVOKED'],
      [MALLORY_FINGERPRINT, 'ADDRESS_NOT_IN_KEY'],
    ]);
  });
});

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'KEY-SWAP in the keyring: keys from a loopback WKD never replace an accepted key', () => {
  let servers: LoopbackKeyServers;
  let client: NodeFetch;
  useLoopbackKeyServers((started) => ({ servers, client } = started));

  async function keyringHolding(acceptance: 'accepted' | 'verified') {
    const storage = new MemoryStorage();
    const keyring = await Keyring.open({ storage });
    expect((await keyring.importKeys(readFixture('bob', 'pub'), { acceptance })).failed).toEqual([]);
    const discovery = await KeyDiscovery.open({ keyring, storage });
    return { keyring, discovery, wkd: createWkdSource({ fetch: client.fetch }), vks: createVksSource({ fetch: client.fetch, baseUrl: 'https://keys.sigill.test' }) };
  }

  it.each(['accepted', 'verified'] as const)('a different key on the WKD and the VKS for bob: bob’s %s key stays the one used; one warning per offered key', async (acceptance) => {
    const { keyring, discovery, wkd, vks } = await keyringHolding(acceptance);
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    servers.server.publishWkd(BOB, other.armor());
    await servers.server.publishVks(other.armor());
    const outcomes = await discovery.lookup(BOB, [wkd, vks]);
    expect(outcomes.map((outcome) => [outcome.source, outcome.candidates.map((candidate) => candidate.decision.action)])).toEqual([
      ['wkd', ['conflict']],
      // The WKD's answer is held (undecided) by then: the same rival again, still with the warning.
      ['vks', ['same']],
    ]);
    expect(outcomes[1]!.candidates[0]!.decision).toMatchObject({ acceptance: 'undecided', warning: { offered: { fingerprint: other.getFingerprint(), source: 'vks' } } });
    expect(keyring.record(BOB_FINGERPRINT)?.acceptance).toBe(acceptance);
    expect(keyring.record(other.getFingerprint())?.acceptance).toBe('undecided');
    expect((await keyring.encryptionKeys(BOB)).map((key) => key.getFingerprint())).toEqual([BOB_FINGERPRINT]);
    expect(discovery.warnings()).toMatchObject([{ address: BOB, inUse: [{ fingerprint: BOB_FINGERPRINT, acceptance }], offered: { fingerprint: other.getFingerprint() } }]);
  });

  it('an Autocrypt header and an attached key with a different key go the same way', async () => {
    const { keyring, discovery } = await keyringHolding('verified');
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    const keydata = Buffer.from(other.write()).toString('base64');
    const autocrypt = await autocryptCandidates({ from: BOB, headers: [`addr=${BOB}; keydata=${keydata}`] });
    const { publicKey: third } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    const attached = await attachedKeyCandidates({ from: BOB, data: third.armor(), fileName: 'bob.asc' });
    const outcomes = await discovery.receive([autocrypt, attached]);
    expect(outcomes.map((outcome) => outcome.candidates.map((candidate) => candidate.decision.action))).toEqual([['conflict'], ['conflict']]);
    expect(keyring.record(BOB_FINGERPRINT)?.acceptance).toBe('verified');
    expect((await keyring.encryptionKeys(BOB)).map((key) => key.getFingerprint())).toEqual([BOB_FINGERPRINT]);
    expect(discovery.warnings().map((warning) => warning.offered.source).sort()).toEqual(['attachment', 'autocrypt']);
  });

  it('bob’s own key served again refreshes it without changing what the user decided, and raises no warning', async () => {
    const { keyring, discovery, wkd } = await keyringHolding('verified');
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const [outcome] = await discovery.lookup(BOB, [wkd]);
    expect(outcome!.candidates[0]).toMatchObject({ decision: { action: 'same', acceptance: 'verified' }, stored: 'updated' });
    expect(keyring.record(BOB_FINGERPRINT)?.acceptance).toBe('verified');
    expect(discovery.warnings()).toEqual([]);
  });

  it('the only way to the new key is the user’s accept, which demotes the old key for all to see', async () => {
    const { keyring, discovery, wkd } = await keyringHolding('accepted');
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    servers.server.publishWkd(BOB, other.armor());
    await discovery.lookup(BOB, [wkd]);
    await discovery.lookup(BOB, [wkd]);
    expect((await keyring.encryptionKeys(BOB)).map((key) => key.getFingerprint())).toEqual([BOB_FINGERPRINT]);
    await discovery.resolveWarning({ address: BOB, fingerprint: other.getFingerprint(), choice: 'accept' });
    expect((await keyring.encryptionKeys(BOB)).map((key) => key.getFingerprint())).toEqual([other.getFingerprint()]);
    expect(keyring.record(BOB_FINGERPRINT)?.acceptance).toBe('undecided');
  });
});
