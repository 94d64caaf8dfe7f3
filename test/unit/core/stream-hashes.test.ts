// useStreamHashes (src/core/openpgp-internals.ts): the hashing of streamed signature data goes through
// an injected incremental hash, and the signatures stay the same function of the same bytes, checked
// against OpenPGP.js's own hashing in both directions, for v4 (alice) and v6 (erin) keys.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { decrypt, encrypt, memorySink, readAll, sign, useStreamHashes, verifyDetached, verifyInline, type StreamHashAlgorithm, type StreamHashFactory } from '../../../src/core/index.ts';
import { loadCertificate, loadSecretKey, type Persona } from '../../../keys-fixtures/index.ts';
import { wasmHash } from '../../../extension/platform/hashes.ts';

/** An injected factory (hash-wasm, as Thunderbird's) that records what it hashed. */
function recording(): { factory: StreamHashFactory; hashed: Map<StreamHashAlgorithm, number> } {
  const hashed = new Map<StreamHashAlgorithm, number>();
  const factory: StreamHashFactory = async (algorithm) => {
    const hash = await wasmHash(algorithm);
    return {
      update(chunk) {
        hashed.set(algorithm, (hashed.get(algorithm) ?? 0) + chunk.length);
        hash.update(chunk);
      },
      digest: () => hash.digest(),
    };
  };
  return { factory, hashed };
}

const streamOf = (bytes: Uint8Array): ReadableStream<Uint8Array> => new Blob([Uint8Array.from(bytes)]).stream();

afterEach(() => useStreamHashes(undefined));

describe('useStreamHashes', () => {
  for (const persona of ['alice', 'erin'] as Persona[]) {
    it(`${persona}: inline and detached signatures made with it verify with OpenPGP.js's own hashing, and the other way round`, async () => {
      const data = randomBytes(700_001);
      const signingKey = await loadSecretKey(persona, { unlocked: true });
      const certificate = await loadCertificate(persona);
      const { factory, hashed } = recording();

      useStreamHashes(factory);
      const inlineInjected = await readAll(await sign({ input: streamOf(data), signingKeys: [signingKey], armor: false }));
      const detachedInjected = await readAll(await sign({ input: streamOf(data), signingKeys: [signingKey], detached: true, armor: false }));
      const signedBytes = [...hashed.values()].reduce((a, b) => a + b, 0);
      expect(signedBytes).toBeGreaterThanOrEqual(2 * data.length); // the data itself went through the injected hash
      useStreamHashes(undefined);

      const sink = memorySink();
      expect((await verifyInline({ input: inlineInjected, sink, verificationKeys: [certificate] })).map((v) => v.status)).toEqual(['good']);
      expect(Buffer.from(sink.bytes()).equals(data)).toBe(true);
      expect((await verifyDetached({ input: streamOf(data), signature: detachedInjected, verificationKeys: [certificate] })).map((v) => v.status)).toEqual(['good']);

      const detachedOwn = await readAll(await sign({ input: streamOf(data), signingKeys: [signingKey], detached: true, armor: false }));
      useStreamHashes(factory);
      hashed.clear();
      expect((await verifyDetached({ input: streamOf(data), signature: detachedOwn, verificationKeys: [certificate] })).map((v) => v.status)).toEqual(['good']);
      expect([...hashed.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(data.length);
      // Other data: the digest differs, the signature is bad.
      const other = Uint8Array.from(data);
      other[12_345]! ^= 1;
      expect((await verifyDetached({ input: streamOf(other), signature: detachedOwn, verificationKeys: [certificate] })).map((v) => v.status)).toEqual(['bad']);
    });
  }

  it('signed and encrypted SEIPDv1: made and read with it, read without it, same plaintext', async () => {
    const { factory, hashed } = recording();
    useStreamHashes(factory);
    const text = randomBytes(300_000).toString('base64');
    const encrypted = await readAll(await encrypt({ input: text, recipients: [await loadCertificate('bob')], signingKeys: [await loadSecretKey('alice', { unlocked: true })] }));
    expect(hashed.size).toBeGreaterThan(0);
    for (const factoryNow of [factory, undefined]) {
      useStreamHashes(factoryNow);
      const sink = memorySink();
      const result = await decrypt({ input: encrypted, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })], verificationKeys: [await loadCertificate('alice')] });
      expect(result.verifications.map((v) => v.status)).toEqual(['good']);
      expect(createHash('sha256').update(sink.bytes()).digest('hex')).toBe(createHash('sha256').update(text).digest('hex'));
    }
  });

  it('a factory that offers nothing leaves OpenPGP.js hashing', async () => {
    useStreamHashes(async () => undefined);
    const signingKey = await loadSecretKey('alice', { unlocked: true });
    const signature = await readAll(await sign({ input: streamOf(new Uint8Array(1000)), signingKeys: [signingKey], detached: true }));
    expect((await verifyDetached({ input: new Uint8Array(1000), signature, verificationKeys: [await loadCertificate('alice')] })).map((v) => v.status)).toEqual(['good']);
  });
});
