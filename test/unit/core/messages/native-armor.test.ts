// The native-base64 armor path (src/core/messages/native-armor.ts), run in Node with stand-ins for
// Thunderbird's Uint8Array.fromBase64 and Uint8Array.prototype.setFromBase64 (Node 20 has neither; see
// test/support/base64.ts), each way checked against OpenPGP.js's own unarmoring: same bytes for every
// well-formed message however it is chunked, the text handed back untouched for every form it does not
// accelerate, MALFORMED_ARMOR for broken armor; and whole decryptions through the core with the
// decoders installed as the engine's.
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Base64Pieces, unarmorNatively, type Base64Decoder, type Base64Decoders } from '../../../../src/core/messages/native-armor.ts';
import { decrypt, encrypt, memorySink, readAll } from '../../../../src/core/index.ts';
import { loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { setFromBase64StandIn, standInUse } from '../../../support/base64.ts';

/** Strict like the native decoder: only the base64 alphabet, padding only at the very end. */
const strictDecoder: Base64Decoder = (text) => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new SyntaxError('invalid base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
};

/** The text as a byte stream (UTF-8) in pieces of random sizes (1 to 300 octets). */
function pieces(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + (randomBytes(2).readUInt16BE() % 300);
    parts.push(bytes.slice(at, at + size));
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

/** The two ways the engine can decode: setFromBase64 into the output (Thunderbird 140+), or fromBase64 per chunk. */
const ways: Array<[string, Base64Decoders]> = [
  ['setFromBase64', { setFromBase64: setFromBase64StandIn, fromBase64: strictDecoder }],
  ['fromBase64 only', { fromBase64: strictDecoder }],
];

async function nativeBytes(armored: string, decoders: Base64Decoders = ways[0]![1]): Promise<Uint8Array> {
  const result = await unarmorNatively(pieces(armored), decoders);
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
      for (const [way, decoders] of ways) {
        for (let round = 0; round < 5; round++) expect(Buffer.from(await nativeBytes(armored, decoders)).equals(Buffer.from(binary)), way).toBe(true);
      }
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
    // Non-ASCII armor headers: OpenPGP.js reads them (as UTF-8), and gets them back intact.
    others.push('-----BEGIN PGP MESSAGE-----\nComment: Grüße från 東京\n\nwy4ECQMI\n-----END PGP MESSAGE-----\n');
    for (const armored of others) {
      for (const [, decoders] of ways) {
        const result = await unarmorNatively(pieces(armored), decoders);
        expect('text' in result).toBe(true);
        if ('text' in result) expect(await readText(result.text)).toBe(armored);
      }
    }
    const withoutDecoder = await unarmorNatively(pieces(others[2]!), {});
    expect('text' in withoutDecoder).toBe(true);
  });

  it.each([
    ['garbage base64', '-----BEGIN PGP MESSAGE-----\n\n!!!! not base64 ####\n-----END PGP MESSAGE-----\n'],
    ['no tail line', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n'],
    ['text after the checksum', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n=AAAA\nmore\n-----END PGP MESSAGE-----\n'],
    ['padding in the middle', '-----BEGIN PGP MESSAGE-----\n\nwy4=ECQMI\n-----END PGP MESSAGE-----\n'],
    ['padding, then more data in a later line', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQ==\nwy4ECQMI\n-----END PGP MESSAGE-----\n'],
    ['a final group of one character', '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMIw\n-----END PGP MESSAGE-----\n'],
    ['a non-ASCII character in the data', '-----BEGIN PGP MESSAGE-----\n\nwy4EéCQMI\n-----END PGP MESSAGE-----\n'],
  ])('broken armor (%s) is MALFORMED_ARMOR', async (_name, armored) => {
    for (let round = 0; round < 5; round++) await expect(nativeBytes(armored)).rejects.toMatchObject({ code: 'MALFORMED_ARMOR' });
  });

  it('decodes base64 pieces into fresh arrays, the same bytes however the groups are split', () => {
    const data = new Uint8Array(randomBytes(3000));
    const text = Buffer.from(data).toString('base64').replace(/=+$/, '').replace(/.{1,64}/g, '$&\r\n');
    for (const sizes of [[1], [2, 3], [5, 7, 1], [63], [64], [65], [66], [4096]]) {
      const pieces = new Base64Pieces(setFromBase64StandIn);
      const outputs: Uint8Array[] = [];
      for (let at = 0, turn = 0; at < text.length; turn++) {
        const size = sizes[turn % sizes.length] as number;
        outputs.push(pieces.decode(text.slice(at, at + size), at + size >= text.length));
        at += size;
      }
      expect(Buffer.concat(outputs).equals(Buffer.from(data)), String(sizes)).toBe(true);
      const buffers = outputs.filter((output) => output.length > 0).map((output) => output.buffer);
      expect(new Set(buffers).size, 'no output array is reused').toBe(buffers.length);
    }
  });
});

describe('decrypt with the native base64 decoders in the engine', () => {
  const native = Uint8Array as unknown as { fromBase64?: Base64Decoder };
  const prototype = Uint8Array.prototype as unknown as { setFromBase64?: (this: Uint8Array, text: string, options: { lastChunkHandling: string }) => { read: number; written: number } };
  beforeAll(() => {
    standInUse.characters = 0;
    native.fromBase64 = strictDecoder;
    prototype.setFromBase64 = function (text, options) {
      if (options.lastChunkHandling !== 'stop-before-partial') throw new Error('only stop-before-partial is used');
      return setFromBase64StandIn(this, text);
    };
  });
  afterAll(() => {
    delete native.fromBase64;
    delete prototype.setFromBase64;
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
    expect(standInUse.characters).toBeGreaterThan(2 * text.length); // both went through the engine's decoder
  });

  it('a large armored message cut at awkward places decrypts to the same bytes', async () => {
    const file = new Uint8Array(randomBytes(3 * 1024 * 1024 + 7));
    const armored = await readAll(await encrypt({ input: file, recipients: [await loadCertificate('bob')], format: 'binary' }));
    const sizes = [1_048_573, 13, 65_537, 7, 4_093, 1, 262_147];
    for (let shift = 0; shift < 3; shift++) {
      let offset = 0;
      let turn = shift;
      const input = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= armored.length) return controller.close();
          const size = sizes[turn++ % sizes.length] as number;
          controller.enqueue(armored.slice(offset, offset + size));
          offset += size;
        },
      });
      const sink = memorySink();
      await decrypt({ input, sink, decryptionKeys: [await loadSecretKey('bob', { unlocked: true })] });
      expect(Buffer.from(sink.bytes()).equals(Buffer.from(file)), `shift ${shift}`).toBe(true);
    }
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
