/**
 * KEY-BAD: keys that must not be used as they are. Unbound and forged subkeys (an attacker grafts
 * their own subkey onto a victim's certificate, hoping mail to the victim gets encrypted to it),
 * expired and revoked keys, keys without an encryption subkey, secret keys whose secret parameters
 * were tampered with (key-overwriting attacks), malformed armor and random bytes.
 */
import {
  config,
  createMessage,
  decrypt,
  encrypt,
  enums,
  PacketList,
  PublicKey,
  readMessage,
  readPrivateKey,
  SecretKeyPacket,
  sign,
  SignaturePacket,
  verify,
} from 'openpgp';
import { describe, expect, it } from 'vitest';
import { SigillError, assertUsable, exportKey, keyStatus, readKeys, readSecretKeys, unlockKey } from '../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, loadSecretKey, readFixture } from '../../keys-fixtures/index.ts';
import { expectSigillError } from '../unit/core/keys/expect-code.ts';

async function encryptionKeyIDsOfMessageTo(certificate: PublicKey): Promise<string[]> {
  const armored = await encrypt({ message: await createMessage({ text: 'for the owner only' }), encryptionKeys: certificate });
  const message = await readMessage({ armoredMessage: armored });
  return message.getEncryptionKeyIDs().map((keyID) => keyID.toHex());
}

describe.each(['unbound-subkey', 'forged-subkey'] as const)('KEY-BAD %s', (name) => {
  async function setup() {
    const certificate = await loadCertificate(name);
    const mallory = await loadCertificate('mallory');
    const mallorySubkeyID = mallory.subkeys[0]?.getKeyID().toHex();
    const ownSubkey = certificate.subkeys.find((subkey) => subkey.getKeyID().toHex() !== mallorySubkeyID);
    if (mallorySubkeyID === undefined || ownSubkey === undefined) throw new Error('fixture is not as documented');
    // The grafted subkey is really there, and newer, so it would be the first choice if it counted.
    expect(certificate.subkeys.map((subkey) => subkey.getKeyID().toHex())).toContain(mallorySubkeyID);
    expect(mallory.subkeys[0]!.getCreationTime().getTime()).toBeGreaterThan(ownSubkey.getCreationTime().getTime());
    return { certificate, mallorySubkeyID, ownSubkeyID: ownSubkey.getKeyID().toHex() };
  }

  it("encryption goes to the owner's bound subkey, never to the grafted one", async () => {
    const { certificate, mallorySubkeyID, ownSubkeyID } = await setup();
    expect((await certificate.getEncryptionKey()).getKeyID().toHex()).toBe(ownSubkeyID);
    expect(await keyStatus(certificate)).toMatchObject({ canEncrypt: true, problems: [] });
    const recipients = await encryptionKeyIDsOfMessageTo(certificate);
    expect(recipients).toEqual([ownSubkeyID]);
    expect(recipients).not.toContain(mallorySubkeyID);
  });

  it('mallory cannot read mail encrypted to the grafted certificate', async () => {
    const { certificate } = await setup();
    const armored = await encrypt({ message: await createMessage({ text: 'secret' }), encryptionKeys: certificate });
    const malloryKey = await loadSecretKey('mallory', { unlocked: true });
    await expect(decrypt({ message: await readMessage({ armoredMessage: armored }), decryptionKeys: malloryKey })).rejects.toThrow();
  });

  it('with only the grafted subkey left: NO_ENCRYPTION_KEY', async () => {
    const { certificate, mallorySubkeyID } = await setup();
    certificate.subkeys = certificate.subkeys.filter((subkey) => subkey.getKeyID().toHex() === mallorySubkeyID);
    expect(await keyStatus(certificate)).toMatchObject({ canEncrypt: false, problems: ['NO_ENCRYPTION_KEY'] });
    await expectSigillError(assertUsable(certificate, 'encrypt'), 'NO_ENCRYPTION_KEY');
    await expect(encryptionKeyIDsOfMessageTo(certificate)).rejects.toThrow();
  });
});

describe('KEY-BAD stolen signing subkey', () => {
  it("a subkey claimed without its back-signature (RFC 9580 §5.2.1, 0x19) does not make the victim's signatures mallory's", async () => {
    // alice gets a signing subkey; mallory binds alice's public subkey to her own key with a valid
    // 0x18 binding signature, but cannot add the embedded 0x19 back-signature without alice's secret.
    const alice = await (await loadSecretKey('alice', { unlocked: true })).addSubkey({ sign: true });
    const stolen = alice.toPublic().subkeys.at(-1);
    const mallory = await loadSecretKey('mallory', { unlocked: true });
    if (stolen === undefined || !(mallory.keyPacket instanceof SecretKeyPacket)) throw new Error('fixture is not as documented');
    const binding = new SignaturePacket();
    binding.signatureType = enums.signature.subkeyBinding;
    binding.publicKeyAlgorithm = mallory.keyPacket.algorithm;
    binding.hashAlgorithm = enums.hash.sha256;
    binding.keyFlags = new Uint8Array([enums.keyFlags.signData]);
    // At run time `sign` takes the data to bind as an object and a config, unlike its typings say.
    const signPacket = binding.sign as unknown as (key: SecretKeyPacket, data: object, date: Date, detached: boolean, options: typeof config) => Promise<void>;
    await signPacket.call(binding, mallory.keyPacket, { key: mallory.keyPacket, bind: stolen.keyPacket }, new Date(), false, config);
    // mallory's binding itself is sound: only the missing back-signature keeps the subkey out.
    await expect(binding.verify(mallory.keyPacket, enums.signature.subkeyBinding, { key: mallory.keyPacket, bind: stolen.keyPacket })).resolves.toBeUndefined();
    const packets = new PacketList();
    packets.push(...mallory.toPublic().toPacketList(), stolen.keyPacket, binding);
    const malloryClaim = new PublicKey(packets);
    expect(malloryClaim.subkeys.map((subkey) => subkey.getKeyID().toHex())).toContain(stolen.getKeyID().toHex());

    expect((await malloryClaim.getSigningKey()).getKeyID().toHex()).toBe(mallory.getKeyID().toHex());
    const signed = await sign({ message: await createMessage({ text: 'signed by alice' }), signingKeys: alice });
    const asMallory = await verify({ message: await readMessage({ armoredMessage: signed }), verificationKeys: malloryClaim });
    expect(asMallory.signatures[0]?.keyID.toHex()).toBe(stolen.getKeyID().toHex());
    await expect(asMallory.signatures[0]?.verified).rejects.toThrow();
    const asAlice = await verify({ message: await readMessage({ armoredMessage: signed }), verificationKeys: alice.toPublic() });
    await expect(asAlice.signatures[0]?.verified).resolves.toBe(true);
  });
});

describe('KEY-BAD unusable keys are refused with their codes', () => {
  it.each([
    ['expired', 'encrypt', 'KEY_EXPIRED'],
    ['expired', 'sign', 'KEY_EXPIRED'],
    ['revoked', 'encrypt', 'KEY_REVOKED'],
    ['revoked', 'sign', 'KEY_REVOKED'],
    ['signing-only', 'encrypt', 'NO_ENCRYPTION_KEY'],
  ] as const)('%s for %s: %s', async (name, purpose, code) => {
    await expectSigillError(assertUsable(await loadCertificate(name), purpose), code);
    await expectSigillError(assertUsable(await loadSecretKey(name), purpose), code);
  });
});

describe('KEY-BAD tampered secret key parameters', () => {
  it.each(['tampered', 'tampered-subkey'] as const)('%s: KEY_TAMPERED on unlock with the right passphrase', async (name) => {
    const locked = await loadSecretKey(name);
    const error = await expectSigillError(unlockKey(locked, [fixturePassphrase(name)]), 'KEY_TAMPERED');
    expect(error.message).toMatch(/tampered/);
    await expectSigillError(unlockKey(locked, ['wrong']), 'BAD_PASSPHRASE');
  });

  it('key overwriting: public parameters swapped under CFB protection are caught on unlock', async () => {
    // The v4 CFB protection (S2K usage 254) does not cover the public parameters; an attacker with write
    // access to the key file can replace them (Bruseghini, Huigens, Paterson 2022).
    const victim = await loadSecretKey('alice');
    const mallory = await loadSecretKey('mallory');
    const victimSubkeyPacket = victim.subkeys[0]?.keyPacket;
    const mallorySubkeyPacket = mallory.subkeys[0]?.keyPacket;
    if (!(victimSubkeyPacket instanceof SecretKeyPacket) || mallorySubkeyPacket === undefined) throw new Error('fixture is not as documented');
    victimSubkeyPacket.publicParams = mallorySubkeyPacket.publicParams;
    const overwritten = await readPrivateKey({ binaryKey: victim.write() });
    await expectSigillError(unlockKey(overwritten, [fixturePassphrase('alice')]), 'KEY_TAMPERED');
  });

  it('the same attack on a v6 key fails its AEAD check (RFC 9580 §5.5.3) and is refused', async () => {
    const victim = await loadSecretKey('erin');
    const victimPacket = victim.subkeys[0]?.keyPacket;
    if (!(victimPacket instanceof SecretKeyPacket)) throw new Error('fixture is not as documented');
    // The X25519 public point is replaced by the bytes of the Ed25519 primary's public point. The
    // public parameters are AEAD associated data for v6 key protection, so decryption fails.
    victimPacket.publicParams = { ...victimPacket.publicParams, A: (victim.keyPacket.publicParams as { A: Uint8Array }).A };
    const overwritten = await readPrivateKey({ binaryKey: victim.write() });
    // AEAD cannot tell a wrong passphrase from altered data; either way nothing is unlocked.
    await expectSigillError(unlockKey(overwritten, [fixturePassphrase('erin')]), 'BAD_PASSPHRASE');
  });
});

describe('KEY-BAD malformed input gets a clear code, never a crash', () => {
  // A small deterministic generator (mulberry32), so a failure can be reproduced.
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  async function expectCleanOutcome(input: Uint8Array | string): Promise<void> {
    try {
      const keys = await readKeys(input);
      // whatever was read can be judged without throwing
      for (const key of keys) await keyStatus(key);
    } catch (error) {
      expect(error, String(error)).toBeInstanceOf(SigillError);
      expect(['MALFORMED_ARMOR', 'BAD_INPUT', 'KEY_INVALID']).toContain((error as SigillError).code);
    }
  }

  it('malformed armor: MALFORMED_ARMOR', async () => {
    await expectSigillError(readKeys('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n'), 'MALFORMED_ARMOR');
    await expectSigillError(readKeys('just some text'), 'MALFORMED_ARMOR');
  });

  it('random bytes: BAD_INPUT or MALFORMED_ARMOR', async () => {
    const next = random(1);
    for (let round = 0; round < 200; round += 1) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 600) }, () => Math.floor(next() * 256));
      try {
        await readKeys(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(SigillError);
        expect(['MALFORMED_ARMOR', 'BAD_INPUT', 'KEY_INVALID']).toContain((error as SigillError).code);
        continue;
      }
      throw new Error(`random bytes were read as a key (round ${round})`);
    }
  });

  it('mutated and truncated keys: read and judged, or refused with a code', async () => {
    const next = random(2);
    const binary = exportKey(await loadCertificate('alice'), { armor: false });
    const armored = readFixture('bob', 'sec');
    for (let round = 0; round < 150; round += 1) {
      const mutated = binary.slice();
      for (let flips = 1 + Math.floor(next() * 3); flips > 0; flips -= 1) {
        mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
      }
      await expectCleanOutcome(mutated);
      await expectCleanOutcome(binary.subarray(0, Math.floor(next() * binary.length)));
      const position = 40 + Math.floor(next() * (armored.length - 80));
      await expectCleanOutcome(armored.slice(0, position) + String.fromCharCode(33 + Math.floor(next() * 90)) + armored.slice(position + 1));
    }
  });

  it('a mutated secret key either unlocks to a valid key or is refused with a code', async () => {
    const next = random(3);
    const binary = exportKey(await loadSecretKey('carol'), { armor: false, secret: true });
    for (let round = 0; round < 40; round += 1) {
      const mutated = binary.slice();
      const position = Math.floor(next() * mutated.length);
      mutated[position] = (mutated[position] ?? 0) ^ (1 + Math.floor(next() * 255));
      try {
        const [key] = await readSecretKeys(mutated);
        if (key !== undefined) await unlockKey(key, [fixturePassphrase('carol')]);
      } catch (error) {
        expect(error, String(error)).toBeInstanceOf(SigillError);
      }
    }
  });
});
