// Thunderbird's SEIPDv1 primitives (OpenSSL's AES-CFB as WebAssembly, WebAssembly SHA-1), cross-checked
// in Node against OpenSSL itself (node:crypto) and the core's own defaults, and used for whole
// decryptions and encryptions through the core, with GnuPG on the other side where it is installed.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, memorySink, readAll, useCfb, type CfbEncryptorFactory } from '../../../../src/core/index.ts';
import { fixturePath, loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { WasmAesCfb, extensionCfb, extensionCfbEncryptor, wasmHash } from '../../../../extension/platform/index.ts';
import { createGpgHome, ok, type GpgHome } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';

// Importing the extension platform installs its primitives into the core (as the extension does);
// each test below says which it uses, and none leaks into the next.
afterEach(() => useCfb({ decryptor: extensionCfb, encryptor: extensionCfbEncryptor }));

const algorithms = [
  { algorithm: 'aes128', openssl: 'aes-128-cfb', keySize: 16 },
  { algorithm: 'aes192', openssl: 'aes-192-cfb', keySize: 24 },
  { algorithm: 'aes256', openssl: 'aes-256-cfb', keySize: 32 },
] as const;

/** Odd chunk sizes around the block (16) and the module's data area (64 KiB), then one past a MiB. */
const splits = [1, 15, 16, 17, 4095, 65_535, 65_536, 65_537, (1 << 20) + 3];

/** Cuts `data` into the sizes of `sizes`, in turn, until it is used up. */
function pieces(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, turn = 0; at < data.length; turn++) {
    const size = sizes[turn % sizes.length] as number;
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Splits bytes into pieces of random sizes (0 to 70,000 octets), as streams hand them over. */
function randomPieces(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = Math.min(bytes.length - at, randomBytes(4).readUInt32BE() % 70_000);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

function concat(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)));
}

describe('WasmAesCfb (OpenSSL AES-CFB128 as WebAssembly)', () => {
  for (const { algorithm, openssl, keySize } of algorithms) {
    for (const split of splits) {
      it(`${algorithm}: encrypts and decrypts exactly as node:crypto ${openssl}, in chunks of ${split}`, () => {
        const key = randomBytes(keySize);
        const iv = randomBytes(16);
        const plaintext = randomBytes(split * 3 + 7);
        const expected = createCipheriv(openssl, key, iv).update(plaintext);

        const encryptor = WasmAesCfb.create({ algorithm, key, iv, encrypt: true })!;
        const ciphertext = concat(pieces(plaintext, [split]).map((piece) => encryptor.update(piece)));
        expect(ciphertext.equals(expected)).toBe(true);

        const decryptor = WasmAesCfb.create({ algorithm, key, iv, encrypt: false })!;
        const decrypted = concat(pieces(expected, [split, 1]).map((piece) => decryptor.update(piece)));
        expect(decrypted.equals(plaintext)).toBe(true);
        expect(Buffer.from(createDecipheriv(openssl, key, iv).update(ciphertext)).equals(plaintext)).toBe(true);
      });
    }
  }

  it('keeps independent contexts apart (one WebAssembly instance each)', () => {
    const [keyA, keyB] = [randomBytes(32), randomBytes(16)];
    const data = randomBytes(200_001);
    const a = WasmAesCfb.create({ algorithm: 'aes256', key: keyA, iv: new Uint8Array(16), encrypt: true })!;
    const b = WasmAesCfb.create({ algorithm: 'aes128', key: keyB, iv: new Uint8Array(16), encrypt: true })!;
    const outA: Uint8Array[] = [];
    const outB: Uint8Array[] = [];
    for (const piece of pieces(data, [17, 70_000, 3])) {
      outA.push(a.update(piece));
      outB.push(b.update(piece));
    }
    expect(concat(outA).equals(createCipheriv('aes-256-cfb', keyA, Buffer.alloc(16)).update(data))).toBe(true);
    expect(concat(outB).equals(createCipheriv('aes-128-cfb', keyB, Buffer.alloc(16)).update(data))).toBe(true);
  });

  it('refuses keys of the wrong size and unknown algorithms (the caller then uses its default)', () => {
    expect(WasmAesCfb.create({ algorithm: 'aes256', key: new Uint8Array(16), iv: new Uint8Array(16), encrypt: true })).toBeUndefined();
    expect(WasmAesCfb.create({ algorithm: 'cast5', key: new Uint8Array(16), iv: new Uint8Array(16), encrypt: true })).toBeUndefined();
    expect(WasmAesCfb.create({ algorithm: 'aes128', key: new Uint8Array(16), iv: new Uint8Array(8), encrypt: true })).toBeUndefined();
    expect(extensionCfb.decipher({ algorithm: 'tripledes', key: new Uint8Array(24), iv: new Uint8Array(8) })).toBeUndefined();
    expect(extensionCfbEncryptor.encipher({ algorithm: 'aes192', key: new Uint8Array(32), iv: new Uint8Array(16) })).toBeUndefined();
  });

  it('is unusable once cleared: the key schedule is gone, it does not silently encrypt with zeros', () => {
    const context = WasmAesCfb.create({ algorithm: 'aes128', key: randomBytes(16), iv: new Uint8Array(16), encrypt: true })!;
    context.update(new Uint8Array(100));
    context.clear();
    expect(() => context.update(new Uint8Array(16))).toThrow(/cleared/);
    const decipher = extensionCfb.decipher({ algorithm: 'aes128', key: randomBytes(16), iv: new Uint8Array(16) })!;
    decipher.update(new Uint8Array(33));
    expect(decipher.final()).toHaveLength(0); // a stream mode holds nothing back
    expect(() => decipher.update(new Uint8Array(1))).toThrow(/cleared/);
  });
});

describe('extensionCfb and extensionCfbEncryptor through the core', () => {
  it('hashes SHA-1 incrementally exactly as OpenSSL', async () => {
    const data = randomBytes(300_001);
    const hash = await extensionCfb.sha1!();
    for (const piece of randomPieces(data)) hash.update(piece);
    expect(Buffer.from(hash.digest()).toString('hex')).toBe(createHash('sha1').update(data).digest('hex'));
  });

  it('decrypts and verifies an OpenPGP.js SEIPDv1 message, as the default does', async () => {
    useCfb(undefined);
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
    expect(() => sink.bytes()).toThrow(); // aborted: nothing of it is readable
  });

  it('is what the core decrypts with once installed, when a call passes no primitives of its own', async () => {
    useCfb(undefined);
    const encrypted = await readAll(await encrypt({ input: 'x'.repeat(300_000), recipients: [await loadCertificate('bob')], armor: false }));
    let deciphered = 0;
    useCfb({
      decryptor: {
        decipher: (options) => {
          const decipher = extensionCfb.decipher(options);
          return decipher && { update: (chunk) => ((deciphered += chunk.length), decipher.update(chunk)), final: () => decipher.final() };
        },
        sha1: () => wasmHash('sha1'),
      },
    });
    const sink = memorySink();
    await decrypt({ input: encrypted, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })] });
    expect(sink.text()).toBe('x'.repeat(300_000));
    expect(deciphered).toBeGreaterThan(300_000);
  });

  it('is what the core uses once installed: signed and encrypted with the WebAssembly cipher, read back by the JavaScript default', async () => {
    let enciphered = 0;
    const counting: CfbEncryptorFactory = {
      encipher: (options) => {
        const cipher = extensionCfbEncryptor.encipher(options);
        return cipher && { update: (chunk) => ((enciphered += chunk.length), cipher.update(chunk)), close: () => cipher.close?.() };
      },
      sha1: () => extensionCfbEncryptor.sha1(),
    };
    useCfb({ encryptor: counting });
    const text = `secret-canary-${randomBytes(6).toString('hex')}\n`.repeat(20_000);
    const encrypted = await readAll(await encrypt({ input: text, recipients: [await loadCertificate('bob')], signingKeys: [await loadSecretKey('alice', { unlocked: true })] }));
    expect(enciphered).toBeGreaterThan(text.length);
    useCfb(undefined);
    const sink = memorySink();
    const result = await decrypt({ input: encrypted, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })], verificationKeys: [await loadCertificate('alice')] });
    expect(new TextDecoder().decode(sink.bytes())).toBe(text);
    expect(result.verifications.map((v) => v.status)).toEqual(['good']);
  });
});

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'extension AES-CFB against GnuPG', () => {
  let gpg: GpgHome;

  beforeAll(async () => {
    gpg = await createGpgHome();
    ok(await gpg.importKey(fixturePath('alice', 'unprotected')));
    ok(await gpg.importKey(fixturePath('bob', 'pub')));
    ok(await gpg.importKey(fixturePath('alice', 'pub')));
  });

  afterAll(async () => {
    await gpg?.dispose();
  });

  // AES-192 is covered against node:crypto above (the fixture keys' preferences leave it out).
  for (const cipher of ['AES', 'AES256']) {
    it(`decrypts and verifies gpg --encrypt --sign --cipher-algo ${cipher} (SEIPDv1) with the extension's factory`, async () => {
      const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
      const plaintext = Buffer.concat([Buffer.from(secret), randomBytes(300_000)]);
      const message = ok(await gpg.gpg(['--encrypt', '--sign', '--cipher-algo', cipher, '--compress-algo', 'none', '--recipient', 'bob@sigill.test', '--local-user', 'alice@sigill.test'], { stdin: plaintext })).stdout;
      const sink = memorySink();
      const result = await decrypt({ input: message, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })], verificationKeys: [await loadCertificate('alice')], cfb: extensionCfb });
      expect(Buffer.from(sink.bytes()).equals(plaintext)).toBe(true);
      expect(result.verifications.map((v) => v.status)).toEqual(['good']);
    });
  }

  it('writes signed SEIPDv1 that gpg decrypts and verifies (the Thunderbird send path)', async () => {
    const plaintext = Buffer.concat([Buffer.from(`secret-canary-${randomBytes(6).toString('hex')}\n`), randomBytes(1_500_000)]);
    const encrypted = await readAll(await encrypt({ input: plaintext, recipients: [await loadCertificate('alice')], signingKeys: [await loadSecretKey('alice', { unlocked: true })], cfb: extensionCfbEncryptor }));
    const result = ok(await gpg.gpg(['--decrypt'], { stdin: Buffer.from(encrypted) }));
    expect(result.stdout.equals(plaintext)).toBe(true);
    expect(result.fd3).toMatch(/\[GNUPG:\] GOODSIG/); // the home's --status-fd 3
    expect(result.fd3).toMatch(/\[GNUPG:\] DECRYPTION_OKAY/);
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
