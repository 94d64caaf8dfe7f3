// The native-base64 armor path (src/core/messages/native-armor.ts), run in Node with a strict decoder
// standing in for Thunderbird's Uint8Array.fromBase64 (Node 20 has none), checked against OpenPGP.js's
// own unarmoring: same bytes for every well-formed message however it is chunked, the text handed back
// untouched for every form it does not accelerate, MALFORMED_ARMOR for broken armor; and whole
// decryptions through the core with the decoder installed as the engine's.
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unarmorNatively, type Base64Decoder } from '../../../../src/core/messages/native-armor.ts';
import { decrypt, encrypt, memorySink, readAll } from '../../../../src/core/index.ts';
import { loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';

/** Strict like the native decoder: only the base64 alphabet, padding only at the very end. */
let decoded = 0;
const strictDecoder: Base64Decoder = (text) => {
  decoded += text.length;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new SyntaxError('invalid base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
};

/** A text stream in pieces of random sizes (1 to 300 characters). */
function pieces(text: string): ReadableStream<string> {
  const parts: string[] = [];
  for (let at = 0; at < text.length; ) {
    const size = 1 + (randomBytes(2).readUInt16BE() % 300);
    parts.push(text.slice(at, at + size));
    at += size;
  }
  return new ReadableStream({
    pull(controller) {
      const next = parts.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

async function readText(stream: ReadableStream<string>): Promise<string> {
  let text = '';
  for (const reader = stream.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += value;
  }
}

async function nativeBytes(armored: string): Promise<Uint8Array> {
  const result = await unarmorNatively(pieces(armored), strictDecoder);
  if (!('packets' in result)) throw new Error('handed back to OpenPGP.js');
  return readAll(result.packets);
}

async function openpgpBytes(armored: string): Promise<Uint8Array> {
  return (await openpgp.unarmor(armored)).data as Uint8Array;
}

describe('unarmorNatively', () => {
  it('decodes well-formed messages exactly as OpenPGP.js, whatever the chunking and line shape', async () => {
    const binary = new Uint8Array(randomBytes(50_001));
    binary[0] = 0xc1; // a packet header octet; the content does not matter to the armor
    const body = Buffer.from(binary).toString('base64');
    const wrap = (width: number, eol: string): string => body.match(new RegExp(`.{1,${width}}`, 'g'))!.join(eol);
    const cases = [
      `-----BEGIN PGP MESSAGE-----\n\n${wrap(64, '\n')}\n-----END PGP MESSAGE-----\n`,
      `-----BEGIN PGP MESSAGE-----\r\nComment: x\r\nVersion: y\r\n\r\n${wrap(76, '\r\n')}\r\n=AbCd\r\n-----END PGP MESSAGE-----\r\n`,
      `text before\nmore\n-----BEGIN PGP MESSAGE-----  \n\n${wrap(60, '\n')}\n=XXXX\n-----END PGP MESSAGE-----\ntrailing text\n`,
      `-----BEGIN PGP MESSAGE-----\n \t\n${wrap(64, '  \n')}\n-----END PGP MESSAGE-----`,
      `-----BEGIN PGP MESSAGE-----\n\n\n\n${wrap(60, '\n\n')}\n\n=RE2I\n\n-----END PGP MESSAGE-----`, // an HTML part's text
    ];
    for (const armored of cases) {
      const expected = await openpgpBytes(armored);
      expect(Buffer.from(expected).equals(Buffer.from(binary))).toBe(true);
      for (let round = 0; round < 5; round++) expect(Buffer.from(await nativeBytes(armored)).equals(Buffer.from(binary))).toBe(true);
    }
  });

  it('hands every other form back untouched, for OpenPGP.js to judge', async () => {
    const others = [
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n',
      '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\ntext\n-----BEGIN PGP SIGNATURE-----\n\nwsA\n-----END PGP SIGNATURE-----\n',
      '-----BEGIN PGP MESSAGE-----\nnot a header\n\nwy4ECQMI\n-----END PGP MESSAGE-----\n',
      '-----BEGIN PGP MESSAGE-----\nwy4ECQMI\n-----END PGP MESSAGE-----\n', // no blank line
      '-----BEGIN PGP MESSAGE, PART 1/2-----\n\nwy4ECQMI\n-----END PGP MESSAGE, PART 1/2-----\n',
    ];
    for (const armored of others) {
      const result = await unarmorNatively(pieces(armored), strictDecoder);
      expect('text' in result).toBe(true);
      if ('text' in result) expect(await readText(result.text)).toBe(armored);
    }
    const withoutDecoder = await unarmorNatively(pieces(others[2]!), undefined);
    expect('text' in withoutDecoder).toBe(true);
  });

  it.each([
    ['garbage base64', '-----BEGIN PGP MESSAGE-----\n\n!!!! not base64 ####\n-----END PGP MESSAGE-----\n'],
    ['no tail line', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n'],
    ['text after the checksum', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n=AAAA\nmore\n-----END PGP MESSAGE-----\n'],
    ['padding in the middle', '-----BEGIN PGP MESSAGE-----\n\nwy4=ECQMI\n-----END PGP MESSAGE-----\n'],
  ])('broken armor (%s) is MALFORMED_ARMOR', async (_name, armored) => {
    await expect(nativeBytes(armored)).rejects.toMatchObject({ code: 'MALFORMED_ARMOR' });
  });
});

describe('decrypt with a native base64 decoder in the engine', () => {
  const native = Uint8Array as unknown as { fromBase64?: Base64Decoder };
  beforeAll(() => {
    decoded = 0;
    native.fromBase64 = strictDecoder;
  });
  afterAll(() => {
    delete native.fromBase64;
  });

  it('decrypts and verifies armored SEIPDv1 and SEIPDv2 messages as before', async () => {
    const text = randomBytes(400_000).toString('base64');
    for (const [recipient, signer] of [['bob', 'alice'], ['erin', 'erin']] as const) {
      const armored = await readAll(await encrypt({ input: text, recipients: [await loadCertificate(recipient)], signingKeys: [await loadSecretKey(signer, { unlocked: true })] }));
      const sink = memorySink();
      const result = await decrypt({ input: armored, sink, decryptionKeys: [await loadSecretKey(recipient, { unlocked: true })], verificationKeys: [await loadCertificate(signer)] });
      expect(new TextDecoder().decode(sink.bytes())).toBe(text);
      expect(result.verifications.map((v) => v.status)).toEqual(['good']);
    }
    expect(decoded).toBeGreaterThan(2 * text.length); // both went through the engine's decoder
  });

  it.each([
    ['garbage base64', '-----BEGIN PGP MESSAGE-----\n\n!!!! not base64 ####\n-----END PGP MESSAGE-----\n'],
    ['truncated packet', '-----BEGIN PGP MESSAGE-----\n\nwcFMA0TDG3bJq0ejAQ\n-----END PGP MESSAGE-----\n'],
    ['empty block', '-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n'],
  ])('malformed armor (%s): a clear error, nothing released', async (_name, armored) => {
    const sink = memorySink();
    const error = await decrypt({ input: armored, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })] }).catch((caught: unknown) => caught);
    expect(['MALFORMED_ARMOR', 'MALFORMED_MESSAGE']).toContain((error as { code?: string }).code);
    expect(() => sink.bytes()).toThrow();
  });
});
