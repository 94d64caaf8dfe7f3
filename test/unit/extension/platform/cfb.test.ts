// Thunderbird's SEIPDv1 primitives (WebAssembly SHA-1; AES-CFB from the core), cross-checked in Node against
// OpenSSL (node:crypto) and the core's own default, and used for a whole decryption through the core.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, memorySink, readAll } from '../../../../src/core/index.ts';
import { loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { extensionCfb, wasmHash } from '../../../../extension/platform/index.ts';

/** Splits bytes into pieces of random sizes (0 to 70,000 octets), as streams hand them over. */
function randomPieces(bytes: Uint8Array): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = Math.min(bytes.length - at, randomBytes(4).readUInt32BE() % 70_000);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

describe('extensionCfb', () => {
  it("leaves AES-CFB to the core's default (no compiled AES-CFB gains anything in Thunderbird; cfb.ts says why)", () => {
    for (const algorithm of ['aes128', 'aes192', 'aes256']) {
      expect(extensionCfb.decipher({ algorithm, key: new Uint8Array(algorithm === 'aes128' ? 16 : algorithm === 'aes192' ? 24 : 32), iv: new Uint8Array(16) })).toBeUndefined();
    }
  });

  it('hashes SHA-1 incrementally exactly as OpenSSL', async () => {
    const data = randomBytes(300_001);
    const hash = await extensionCfb.sha1!();
    for (const piece of randomPieces(data)) hash.update(piece);
    expect(Buffer.from(hash.digest()).toString('hex')).toBe(createHash('sha1').update(data).digest('hex'));
  });

  it('decrypts and verifies an OpenPGP.js SEIPDv1 message through the core, as the default does', async () => {
    const text = randomBytes(600_000).toString('base64');
    const encrypted = await readAll(await encrypt({ input: text, recipients: [await loadCertificate('bob')], signingKeys: [await loadSecretKey('alice', { unlocked: true })], armor: false }));
    const results = [];
    for (const cfb of [extensionCfb, undefined]) {
      const sink = memorySink();
      const result = await decrypt({ input: encrypted, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })], verificationKeys: [await loadCertificate('alice')], ...(cfb ? { cfb } : {}) });
      results.push({ text: new TextDecoder().decode(sink.bytes()), statuses: result.verifications.map((v) => v.status) });
    }
    expect(results[0]).toEqual({ text, statuses: ['good'] });
    expect(results[1]).toEqual(results[0]);
  });

  it('fails a tampered SEIPDv1 message with INTEGRITY_FAILURE, as the default does', async () => {
    const encrypted = await readAll(await encrypt({ input: 'x'.repeat(100_000), recipients: [await loadCertificate('bob')], armor: false }));
    encrypted[encrypted.length - 30]! ^= 0x01;
    const sink = memorySink();
    await expect(decrypt({ input: encrypted, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })], cfb: extensionCfb })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
  });
});

describe('wasmHash', () => {
  for (const algorithm of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
    it(`${algorithm} matches OpenSSL over random chunking`, async () => {
      const data = randomBytes(200_003);
      const hash = await wasmHash(algorithm);
      for (const piece of randomPieces(data)) hash.update(piece);
      expect(Buffer.from(hash.digest()).toString('hex')).toBe(createHash(algorithm).update(data).digest('hex'));
    });
  }
});
