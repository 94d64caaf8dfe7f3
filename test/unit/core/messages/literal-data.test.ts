/**
 * The literal-data path of SEIPDv1 decryption (src/core/messages/literal-data.ts): hand-framed inner
 * packets (both header formats, partial and indeterminate lengths, what may and may not follow the
 * literal packet) in a valid SEIPDv1 packet, decrypted by the core with node:crypto and with the
 * default primitives, and compared with what OpenPGP.js's own decryption makes of the same message.
 */
import { createCipheriv, createHash, randomBytes as cryptoRandom } from 'node:crypto';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { decrypt, isSigillError, memorySink } from '../../../../src/core/index.ts';
import { nodeCfb } from '../../../../src/platform/node/index.ts';
import { randomBytes, sameBytes } from './helpers.ts';

const sessionKey = { algorithm: 'aes256', data: new Uint8Array(cryptoRandom(32)) };

/** A binary message holding only a SEIPDv1 packet (RFC 9580 §5.13.1) around `inner`, with a correct MDC. */
function seipdV1(inner: Uint8Array): Uint8Array {
  const prefix = cryptoRandom(18);
  prefix[16] = prefix[14]!;
  prefix[17] = prefix[15]!;
  const mdcHeader = Buffer.from([0xd3, 0x14]);
  const digest = createHash('sha1').update(prefix).update(inner).update(mdcHeader).digest();
  const cipher = createCipheriv('aes-256-cfb', sessionKey.data, Buffer.alloc(16));
  const body = Buffer.concat([Buffer.from([1]), cipher.update(Buffer.concat([prefix, inner, mdcHeader, digest])), cipher.final()]);
  return Buffer.concat([Buffer.from([0xd2, 0xff]), u32(body.length), body]);
}

function u32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
}

/** Literal packet body fields (§5.9) before the data. */
function fields(format: string, filename: string): Buffer {
  const name = Buffer.from(filename, 'utf8');
  return Buffer.concat([Buffer.from([format.charCodeAt(0), name.length]), name, u32(1_700_000_000)]);
}

/** A new-format packet whose body is split into the given partial chunk sizes, then a regular rest (§4.2.1.4). */
function newFormat(tag: number, body: Uint8Array, partials: number[] = []): Buffer {
  const parts: Buffer[] = [Buffer.from([0xc0 | tag])];
  let at = 0;
  for (const size of partials) {
    parts.push(Buffer.from([0xe0 | Math.log2(size)]), Buffer.from(body.subarray(at, at + size)));
    at += size;
  }
  parts.push(Buffer.from([0xff]), u32(body.length - at), Buffer.from(body.subarray(at)));
  return Buffer.concat(parts);
}

async function decryptBoth(message: Uint8Array): Promise<{ ours: Awaited<ReturnType<typeof decrypt>> & { data: Uint8Array }; openpgpData: Uint8Array }> {
  let ours: (Awaited<ReturnType<typeof decrypt>> & { data: Uint8Array }) | undefined;
  for (const cfb of [nodeCfb, undefined]) {
    const sink = memorySink();
    const result = await decrypt({ input: message, sink, sessionKeys: [sessionKey], ...(cfb ? { cfb } : {}) });
    ours = { ...result, data: sink.bytes() };
  }
  const theirs = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), sessionKeys: sessionKey as openpgp.SessionKey, format: 'binary' });
  return { ours: ours!, openpgpData: theirs.data };
}

async function expectMalformed(message: Uint8Array): Promise<void> {
  for (const cfb of [nodeCfb, undefined]) {
    const sink = memorySink();
    const error = await decrypt({ input: message, sink, sessionKeys: [sessionKey], ...(cfb ? { cfb } : {}) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSigillError(error) ? error.code : String(error)).toBe('MALFORMED_MESSAGE');
    expect(sink.state).toBe('aborted');
  }
  // OpenPGP.js refuses it as well.
  await expect(openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), sessionKeys: sessionKey as openpgp.SessionKey, format: 'binary' })).rejects.toThrow();
}

describe('SEIPDv1 holding literal data', () => {
  it('new format with partial chunks of several sizes (GnuPG writes 8 KiB ones): data, file name and format kept', async () => {
    const data = randomBytes(8192 * 3 + 700, 3);
    const body = Buffer.concat([fields('t', 'brev.txt'), data]);
    const { ours, openpgpData } = await decryptBoth(seipdV1(newFormat(11, body, [512, 8192, 8192, 1024])));
    expect(sameBytes(ours.data, data)).toBe(true);
    expect(sameBytes(openpgpData, data)).toBe(true);
    expect(ours).toMatchObject({ format: 'text', filename: 'brev.txt', verifications: [] });
  });

  it('legacy format (§4.2.2), two-octet and indeterminate lengths; an empty literal', async () => {
    const data = randomBytes(3000, 4);
    const body = Buffer.concat([fields('b', ''), data]);
    const twoOctet = Buffer.concat([Buffer.from([0x80 | (11 << 2) | 1, body.length >> 8, body.length & 0xff]), body]);
    const indeterminate = Buffer.concat([Buffer.from([0x80 | (11 << 2) | 3]), body]);
    for (const inner of [twoOctet, indeterminate]) {
      const { ours, openpgpData } = await decryptBoth(seipdV1(inner));
      expect(sameBytes(ours.data, data)).toBe(true);
      expect(sameBytes(openpgpData, data)).toBe(true);
      expect(ours.format).toBe('binary');
      expect(ours.filename).toBeUndefined();
    }
    const empty = await decryptBoth(seipdV1(newFormat(11, fields('u', 'x'))));
    expect(empty.ours.data.length).toBe(0);
    expect(empty.ours.format).toBe('utf8');
  });

  it('a padding packet (§5.15) after the literal data is skipped, as OpenPGP.js does', async () => {
    const data = randomBytes(100, 5);
    const inner = Buffer.concat([newFormat(11, Buffer.concat([fields('b', ''), data])), newFormat(21, randomBytes(32, 6))]);
    const { ours, openpgpData } = await decryptBoth(seipdV1(inner));
    expect(sameBytes(ours.data, data)).toBe(true);
    expect(sameBytes(openpgpData, data)).toBe(true);
  });

  it('a signature or a second literal packet after the literal data, a truncated or too short literal packet: MALFORMED_MESSAGE, nothing committed', async () => {
    const literal = newFormat(11, Buffer.concat([fields('b', ''), randomBytes(100, 7)]));
    await expectMalformed(seipdV1(Buffer.concat([literal, newFormat(2, randomBytes(60, 8))])));
    await expectMalformed(seipdV1(Buffer.concat([literal, literal])));
    await expectMalformed(seipdV1(literal.subarray(0, literal.length - 10)));
    await expectMalformed(seipdV1(newFormat(11, Buffer.from([0x62, 5, 0x61]))));
  });
});
