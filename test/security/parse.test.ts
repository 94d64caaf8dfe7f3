/**
 * PARSE — deep MIME nesting, huge headers, a flood of parts or armor lines, random bytes, malformed
 * armor. Must hold: read() always resolves with a view model (never throws, never crashes), says what
 * went wrong in `errors`, shows nothing half-read, and its memory is bounded by a small multiple of the
 * mail's size (checked from the kernel's peak RSS in a child process, like the decryption memory test;
 * no timing is asserted).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read, type ReadResult } from '../../src/core/index.ts';
import { CRLF, canary, certificate, encryptArmored, entity, envelope, keyring, pgpMime, secretKey } from '../unit/core/incoming/mail.ts';

let bob: PrivateKey;
let bobPublic: PublicKey;
beforeAll(async () => {
  bob = await secretKey('bob');
  bobPublic = await certificate('bob');
});
const options = () => keyring({ secret: [bob] });

function nested(depth: number, leaf = `Content-Type: text/plain${CRLF}${CRLF}leaf`): string {
  let body = leaf;
  for (let level = 0; level < depth; level++) body = `Content-Type: multipart/mixed; boundary="n${level}"${CRLF}${CRLF}--n${level}${CRLF}${body}${CRLF}--n${level}--`;
  return body;
}

function expectWellFormed(view: ReadResult): void {
  for (const list of [view.parts, view.unprotectedParts, view.attachments, view.signers, view.errors, view.warnings, view.offeredKeys]) expect(Array.isArray(list)).toBe(true);
  expect(['encrypted', 'partially-encrypted', 'not-encrypted']).toContain(view.encryption);
}

describe('PARSE: structure bombs give a clear error and show nothing', () => {
  it('10 000 levels of multipart nesting', async () => {
    const view = await read(nested(10_000), options());
    expect(view.errors).toEqual([expect.objectContaining({ code: 'MALFORMED_MIME' })]);
    expect(view.errors[0]?.message).toMatch(/malformed|limits/i);
    expect(view.parts).toEqual([]);
  });

  it('deep nesting inside a decrypted PGP/MIME entity counts against the same bound', async () => {
    const secret = canary();
    const armored = await encryptArmored(nested(200, `Content-Type: text/plain${CRLF}${CRLF}${secret}`), { to: [bobPublic], format: 'binary' });
    const view = await read(pgpMime(envelope('Mallory <mallory@sigill.test>', 'x'), armored), options());
    expect(view.errors.map((error) => error.code)).toEqual(['MALFORMED_MIME']);
    expect(JSON.stringify(view)).not.toContain(secret);
  });

  it('a 4 MiB header line, and many headers beyond the total bound', async () => {
    const huge = await read(`Subject: ${'a'.repeat(4 * 1024 * 1024)}${CRLF}${CRLF}body`, options());
    expect(huge.errors.map((error) => error.code)).toEqual(['MALFORMED_MIME']);
    const parts = Array.from({ length: 40 }, (_, index) => `--b${CRLF}X-Filler: ${'f'.repeat(100_000)}${CRLF}${CRLF}part ${index}${CRLF}`).join('');
    const many = await read(`Content-Type: multipart/mixed; boundary=b${CRLF}${CRLF}${parts}--b--`, options());
    expect(many.errors.map((error) => error.code)).toEqual(['MALFORMED_MIME']);
    expect(many.parts).toEqual([]);
  });

  it('100 000 parts', async () => {
    const view = await read(`Content-Type: multipart/mixed; boundary=b${CRLF}${CRLF}${`--b${CRLF}${CRLF}x${CRLF}`.repeat(100_000)}--b--`, options());
    expect(view.errors.map((error) => error.code)).toEqual(['MALFORMED_MIME']);
    expect(view.parts).toEqual([]);
  });

  it('a boundary that never starts a line, a million times', async () => {
    const view = await read(`Content-Type: multipart/mixed; boundary=b${CRLF}${CRLF}${'x--b'.repeat(1_000_000)}`, options());
    expectWellFormed(view);
    expect(view.parts).toEqual([]);
  });
});

describe('PARSE: random bytes and broken data', () => {
  it('200 random inputs of up to 64 KiB always resolve to a view model', async () => {
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
    for (let round = 0; round < 200; round++) {
      const length = next() % 65536;
      const bytes = new Uint8Array(length).map(() => next() >>> 24);
      // Every fourth input starts like a mail, to get past the header block.
      const input = round % 4 === 0 ? new Uint8Array([...new TextEncoder().encode(`Content-Type: multipart/mixed; boundary=b${CRLF}${CRLF}--b${CRLF}`), ...bytes]) : bytes;
      expectWellFormed(await read(input, options()));
    }
  });

  it('100 mutations of a real PGP/MIME mail: always a view model; decrypted text only as an encrypted part', async () => {
    const secret = canary();
    const armored = await encryptArmored(`Content-Type: text/plain${CRLF}${CRLF}${secret}`, { to: [bobPublic], format: 'binary' });
    const original = new TextEncoder().encode(pgpMime(envelope('Alice <alice@sigill.test>', 'x'), armored));
    let state = 99;
    const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
    for (let round = 0; round < 100; round++) {
      const mutated = original.slice();
      for (let flips = 1 + (next() % 4); flips > 0; flips--) mutated[next() % mutated.length] = next() >>> 24;
      const view = await read(mutated, options());
      expectWellFormed(view);
      for (const part of view.unprotectedParts) expect(part.content).not.toContain(secret);
      for (const part of view.parts) if (part.content.includes(secret)) expect(part.encrypted).toBe(true);
    }
  });

  it.each([
    ['garbage base64', '-----BEGIN PGP MESSAGE-----\n\n!!!! not base64 ####\n-----END PGP MESSAGE-----\n'],
    ['truncated packet', '-----BEGIN PGP MESSAGE-----\n\nwcFMA0TDG3bJq0ejAQ\n-----END PGP MESSAGE-----\n'],
    ['wrong checksum', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n=AAAA\n-----END PGP MESSAGE-----\n'],
    ['empty block', '-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n'],
    ['cleartext without signature data', '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\ntext\n-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n'],
  ])('malformed armor (%s): a clear error, the text still shown as text', async (_name, armored) => {
    const view = await read(entity(envelope('Mallory <mallory@sigill.test>', 'x'), `before\n${armored}after\n`), options());
    expect(view.errors).toHaveLength(1);
    expect(['MALFORMED_ARMOR', 'MALFORMED_MESSAGE', 'NOT_ENCRYPTED_FOR_US']).toContain(view.errors[0]?.code);
    expect(view.parts.every((part) => !part.encrypted && !part.signed)).toBe(true);
  });

  it('a multipart/encrypted without its encrypted part and one with garbage in it', async () => {
    const lonely = await read(entity({ 'Content-Type': 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary=e' }, `--e${CRLF}Content-Type: application/pgp-encrypted${CRLF}${CRLF}Version: 1${CRLF}--e--`), options());
    expectWellFormed(lonely);
    const garbage = await read(pgpMime(envelope('Mallory <mallory@sigill.test>', 'x'), 'not openpgp at all'), options());
    expect(garbage.errors).toHaveLength(1);
    expect(garbage.encryption).toBe('encrypted');
    expect(garbage.parts).toEqual([]);
  });
});

const child = fileURLToPath(new URL('./parse-child.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

function peak(shape: string, sizeMiB: number): { maxRssKiB: number; inputBytes: number; errors: string[] } {
  const out = execFileSync(tsx, [child, shape, String(sizeMiB)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { maxRssKiB: number; inputBytes: number; errors: string[] };
}

describe('PARSE: memory stays a small multiple of the mail size', () => {
  for (const shape of ['random', 'header', 'boundaries', 'nesting', 'armor']) {
    it(`${shape}: 8 MiB vs 32 MiB peak RSS`, () => {
      const small = peak(shape, 8);
      const large = peak(shape, 32);
      const perInputByte = ((large.maxRssKiB - small.maxRssKiB) * 1024) / (large.inputBytes - small.inputBytes);
      console.log(`PARSE ${shape}: peak RSS 8 MiB -> ${(small.maxRssKiB / 1024).toFixed(0)} MiB, 32 MiB -> ${(large.maxRssKiB / 1024).toFixed(0)} MiB (${perInputByte.toFixed(1)} bytes per input byte, input built in the same process)`);
      // The child holds the input twice while building it (string and bytes); read() adds a few copies
      // (a one-byte-per-char view, a decoded text); anything per part or per line would be far above this.
      expect(perInputByte).toBeLessThan(8);
      expect(large.maxRssKiB / 1024).toBeLessThan(512);
    }, 120_000);
  }
});

describe('PARSE: a compression bomb inside an encrypted mail', () => {
  it('stops at maxPlaintextSize with TOO_LARGE and shows nothing', async () => {
    const openpgp = await import('openpgp');
    const zeros = new Uint8Array(16 * 1024 * 1024);
    const message = await openpgp.createMessage({ binary: zeros });
    const armored = await openpgp.encrypt({ message, encryptionKeys: bobPublic, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } });
    expect(armored.length).toBeLessThan(100_000);
    const view = await read(entity(envelope('Mallory <mallory@sigill.test>', 'x'), armored), { ...options(), maxPlaintextSize: 1024 * 1024 });
    expect(view.errors.map((error) => error.code)).toEqual(['TOO_LARGE']);
    expect(view.parts).toEqual([]);
  });
});
