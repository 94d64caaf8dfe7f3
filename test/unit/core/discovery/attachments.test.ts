/** Keys attached to received mail: armored or binary, judged for the sender's address. */
import { describe, expect, it } from 'vitest';
import { attachedKeyCandidates, MAX_KEYS_PER_ANSWER, readCertificates } from '../../../../src/core/index.ts';
import { readFixture } from '../../../../keys-fixtures/index.ts';

describe('keys attached to received mail', () => {
  it('reads an armored key file and a binary one', async () => {
    const armored = await attachedKeyCandidates({ data: readFixture('alice', 'pub'), from: 'Alice <alice@sigill.test>', fileName: 'alice.asc' });
    expect(armored.keys.map((key) => [key.source, key.fingerprint, key.origin])).toEqual([['attachment', '6df2816feddb15a9d19f2ac0433a37c2a1525eb6', 'attachment "alice.asc"']]);
    const [certificate] = await readCertificates(readFixture('alice', 'pub'));
    const binary = await attachedKeyCandidates({ data: certificate!.write(), from: 'alice@sigill.test', fileName: 'alice.pgp' });
    expect(binary.keys).toHaveLength(1);
  });

  it("keeps only the public part of a secret key sent by mistake", async () => {
    const result = await attachedKeyCandidates({ data: readFixture('alice', 'sec'), from: 'alice@sigill.test' });
    expect(result.keys).toHaveLength(1);
    expect(result.keys[0]!.certificate).toMatch(/BEGIN PGP PUBLIC KEY BLOCK/);
    expect(result.keys[0]!.certificate).not.toMatch(/PRIVATE/);
    expect((await readCertificates(result.keys[0]!.certificate))[0]!.isPrivate()).toBe(false);
  });

  it("refuses a forwarded key of someone else, garbage and over-large files, with reasons", async () => {
    const forwarded = await attachedKeyCandidates({ data: readFixture('carol', 'pub'), from: 'alice@sigill.test', fileName: 'carol.asc' });
    expect(forwarded.keys).toEqual([]);
    expect(forwarded.rejected[0]?.reason).toEqual({
      code: 'ADDRESS_NOT_IN_KEY',
      message: expect.stringContaining('alice@sigill.test is not in key CF26 5079 D2D8 34F2 36FA  8F37 BF21 F4C9 9E74 A3EB; its user IDs: "Carol <carol@sigill.test>"'),
    });
    const garbage = await attachedKeyCandidates({ data: new Uint8Array([0x99, 1, 2, 3]), from: 'alice@sigill.test' });
    expect(garbage.rejected.map((entry) => entry.reason.code)).toEqual(['BAD_INPUT']);
    const large = await attachedKeyCandidates({ data: readFixture('alice', 'pub'), from: 'alice@sigill.test', maxBytes: 100 });
    expect(large.rejected.map((entry) => entry.reason.code)).toEqual(['TOO_LARGE']);
  });
});

describe('every persona key profile', () => {
  it.each(['alice', 'dave', 'erin'] as const)('%s (v4 Ed25519, v4 RSA-3072, v6) is found whole', async (name) => {
    const result = await attachedKeyCandidates({ data: readFixture(name, 'pub'), from: `${name}@sigill.test` });
    expect(result.rejected).toEqual([]);
    expect(result.keys).toHaveLength(1);
    const [stored] = await readCertificates(result.keys[0]!.certificate);
    const [original] = await readCertificates(readFixture(name, 'pub'));
    expect(stored!.subkeys.length).toBe(original!.subkeys.length);
    expect(result.keys[0]!.status.version).toBe(name === 'erin' ? 6 : 4);
  });
});

describe('many keys in one answer', () => {
  it(`judges at most ${MAX_KEYS_PER_ANSWER} keys and says so`, async () => {
    const alice = readFixture('alice', 'pub');
    const others = ['bob', 'carol', 'dave', 'erin', 'mallory'] as const;
    const blocks = [alice, ...Array.from({ length: MAX_KEYS_PER_ANSWER + 3 }, (_, index) => readFixture(others[index % others.length]!, 'pub'))];
    const result = await attachedKeyCandidates({ data: blocks.join('\n'), from: 'alice@sigill.test', maxBytes: 1024 * 1024 });
    expect(result.keys.map((key) => key.fingerprint)).toEqual(['6df2816feddb15a9d19f2ac0433a37c2a1525eb6']);
    expect(result.rejected[0]?.reason).toEqual({ code: 'TOO_LARGE', message: expect.stringContaining(`${MAX_KEYS_PER_ANSWER + 4} keys in one answer; only the first ${MAX_KEYS_PER_ANSWER} are looked at`) });
  });
});
