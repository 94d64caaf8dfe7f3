/**
 * Legacy and unsupported ciphers in SEIPDv1 (issue: CAST5 / 3DES not streamed). AES streams; CAST5 and
 * TripleDES are still decrypted, as GnuPG 2.2 and sqop do for CAST5, but only up to
 * DecryptLimits.maxLegacyCipherBytes (TOO_LARGE past it, nothing committed), since OpenPGP.js holds
 * them in memory; IDEA, Blowfish, Twofish and Camellia are UNSUPPORTED_ALGORITHM, never a generic
 * failure, whether the session key comes from a password or a public key. Messages are made by the
 * real gpg (`--rfc4880 --cipher-algo X`) in a throwaway home.
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { decrypt, isSigillError, type DecryptOptions, type PlaintextSink } from '../../src/core/index.ts';
import { fixturePath } from '../../keys-fixtures/index.ts';
import { createGpgHome, gnuTime, runMeasured, sigillSop, sop, tempDir, type GpgHome, type TempDir } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';
import { privateKey, randomBytes } from '../unit/core/messages/helpers.ts';

const password = 'legacy-cipher-password';
const plaintext = 'An old message, from the CAST5 days.\n';

interface Outcome {
  code: string;
  plaintext?: string;
  committed: boolean;
}

/** Writes `size` zero octets in 4 MiB pieces (never the whole file in memory). */
async function writeZeros(path: string, size: number): Promise<void> {
  const file = await open(path, 'w');
  const piece = new Uint8Array(4 * 1024 * 1024);
  try {
    for (let written = 0; written < size; written += piece.length) await file.write(piece, 0, Math.min(piece.length, size - written));
  } finally {
    await file.close();
  }
}

async function outcome(options: Omit<DecryptOptions, 'sink'>): Promise<Outcome> {
  const chunks: Uint8Array[] = [];
  let committed = false;
  const sink: PlaintextSink = {
    async write(chunk) {
      chunks.push(chunk);
    },
    async commit() {
      committed = true;
    },
    async abort() {},
  };
  try {
    await decrypt({ ...options, sink });
    return { code: 'ok', plaintext: Buffer.concat(chunks).toString('utf8'), committed };
  } catch (error) {
    if (!isSigillError(error)) throw error;
    return { code: error.code, committed };
  }
}

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }, gnuTime], 'SEIPDv1 ciphers made by gpg', () => {
  let gpg: GpgHome;
  let scratch: TempDir;
  let bob: openpgp.PrivateKey;
  let plainFile: string;
  let passwordFile: string;

  beforeAll(async () => {
    [gpg, scratch, bob] = await Promise.all([createGpgHome(), tempDir('sigill-legacy-'), privateKey('bob')]);
    plainFile = await scratch.file('plain.txt', plaintext);
    passwordFile = await scratch.file('password', password);
    await gpg.importKey(fixturePath('bob', 'pub'));
  });
  afterAll(async () => {
    await gpg?.dispose();
    await scratch?.dispose();
  });

  /** gpg --symmetric or --encrypt to bob with the given cipher (RFC 4880 mode: SEIPDv1 with MDC). */
  async function gpgEncrypt(cipher: string, to: 'password' | 'bob', file = plainFile): Promise<Uint8Array> {
    const how = to === 'password' ? ['--passphrase-file', passwordFile, '--symmetric'] : ['--recipient', 'bob@sigill.test', '--encrypt'];
    const result = await gpg.gpg(['--rfc4880', '--cipher-algo', cipher, ...how, '--output', '-', file]);
    expect(result.code, result.stderr).toBe(0);
    return new Uint8Array(result.stdout);
  }

  for (const cipher of ['CAST5', '3DES']) {
    it(`${cipher}: still decrypts (with a password and with a key), as GnuPG does`, async () => {
      expect(await outcome({ input: await gpgEncrypt(cipher, 'password'), passwords: [password] })).toEqual({ code: 'ok', plaintext, committed: true });
      expect(await outcome({ input: await gpgEncrypt(cipher, 'bob'), decryptionKeys: [bob] })).toEqual({ code: 'ok', plaintext, committed: true });
    });
  }

  it('CAST5 past maxLegacyCipherBytes: TOO_LARGE, nothing committed (it is not streamed)', async () => {
    const big = await scratch.file('big.bin', Buffer.from(randomBytes(300_000)));
    const message = await gpgEncrypt('CAST5', 'password', big);
    const result = await outcome({ input: message, passwords: [password], limits: { maxLegacyCipherBytes: 100_000 } });
    expect(result).toEqual({ code: 'TOO_LARGE', committed: false });
    // Within the limit it decrypts.
    expect((await outcome({ input: message, passwords: [password], limits: { maxLegacyCipherBytes: 400_000 } })).code).toBe('ok');
  });

  it('256 MiB of CAST5 through sigill sop decrypt: TOO_LARGE at the cap, peak RSS bounded (was 666 MB)', async () => {
    const plainPath = join(scratch.path, 'zeros.bin');
    await writeZeros(plainPath, 256 * 1024 * 1024);
    const cipherPath = join(scratch.path, 'zeros.cast5.pgp');
    const made = await gpg.gpg(['--rfc4880', '--cipher-algo', 'CAST5', '--compress-algo', 'none', '--passphrase-file', passwordFile, '--symmetric', '--output', cipherPath, plainPath]);
    expect(made.code, made.stderr).toBe(0);
    await rm(plainPath);
    const result = await runMeasured(sigillSop, ['decrypt', `--with-password=${passwordFile}`], { stdinFile: cipherPath });
    await rm(cipherPath);
    // The draft has no code for a refusal on size: TOO_LARGE is its generic failure (1), as for compression bombs.
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/larger than allowed/);
    expect(result.stdout.length).toBe(0);
    console.log(`CAST5 256 MiB: peak RSS ${(result.peakRssKiB / 1024).toFixed(0)} MiB`);
    expect(result.peakRssKiB / 1024).toBeLessThan(400);
  });

  for (const cipher of ['TWOFISH', 'CAMELLIA256', 'BLOWFISH', 'IDEA']) {
    it(`${cipher}: UNSUPPORTED_ALGORITHM with a password and with a key, never a generic failure`, async () => {
      expect(await outcome({ input: await gpgEncrypt(cipher, 'password'), passwords: [password] })).toEqual({ code: 'UNSUPPORTED_ALGORITHM', committed: false });
      expect(await outcome({ input: await gpgEncrypt(cipher, 'bob'), decryptionKeys: [bob] })).toEqual({ code: 'UNSUPPORTED_ALGORITHM', committed: false });
    });
  }

  it('sigill sop decrypt: an unsupported cipher says so, with CANNOT_DECRYPT (29) as sqop and pgpainless-cli', async () => {
    for (const [cipher, to] of [['TWOFISH', 'password'], ['CAMELLIA256', 'bob']] as const) {
      const args = to === 'password' ? ['decrypt', `--with-password=${passwordFile}`] : ['decrypt', fixturePath('bob', 'unprotected')];
      const result = await sop(args, { stdin: await gpgEncrypt(cipher, to) });
      expect(result.status, result.stderr).toBe(29);
      expect(result.stderr).toMatch(/algorithm is not supported/);
      expect(result.stdout.length).toBe(0);
    }
  });
});

describe('Twofish session keys from OpenPGP.js', () => {
  it('a session key naming Twofish is UNSUPPORTED_ALGORITHM, also with --with-session-key', async () => {
    const bob = await privateKey('bob');
    const sessionKey = { data: randomBytes(32, 11), algorithm: 'twofish' as const };
    const message = await openpgp.encrypt({ message: await openpgp.createMessage({ text: plaintext }), encryptionKeys: [bob.toPublic()], sessionKey, format: 'binary', config: { aeadProtect: false } });
    expect((await outcome({ input: message, decryptionKeys: [bob] })).code).toBe('UNSUPPORTED_ALGORITHM');
    expect((await outcome({ input: message, sessionKeys: [sessionKey] })).code).toBe('UNSUPPORTED_ALGORITHM');
  });
});
