/**
 * The PGP/MIME body's armor (mime-armor.ts): byte for byte what OpenPGP.js's armor() writes, with CRLF
 * lines, however the input is cut; its CRC-24 is OpenPGP.js's; the checksum is left out exactly for
 * SEIPDv2 messages; gpg 2.2 (which needs the checksum when the base64 ends without padding) decrypts
 * it for every length modulo 3; input errors fail the stream; output comes in bounded blocks.
 */
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, loadCertificate } from '../../../../keys-fixtures/index.ts';
import { encrypt, readAll, SigillError } from '../../../../src/core/index.ts';
import { armorEncryptedForMime, armorMessageForMime, BLOCK_BYTES, btoaBase64Encoder, Crc24, encryptedDataVersion, nativeBase64Encoder, type Base64Encoder } from '../../../../src/core/outgoing/mime-armor.ts';
import { createGpgHome, ok, type GpgHome } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';

const latin1 = new TextDecoder('latin1');

/** The bytes as a stream cut at the given sizes (the rest in one last chunk), each chunk at an odd offset of its own buffer. */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= bytes.length) break;
    const piece = bytes.subarray(at, at + size);
    // Misaligned on purpose: the CRC reads 32-bit words and must cope with any byteOffset.
    const buffer = new Uint8Array(piece.length + 3);
    buffer.set(piece, 3);
    chunks.push(buffer.subarray(3));
    at += piece.length;
  }
  if (at < bytes.length) chunks.push(bytes.slice(at));
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

/** What OpenPGP.js writes for these bytes as a message, with CRLF lines. */
async function openpgpArmor(bytes: Uint8Array, checksum: boolean): Promise<string> {
  const text = openpgp.armor(openpgp.enums.armor.message, bytes, undefined, undefined, undefined, checksum);
  return text.replace(/\n/g, '\r\n');
}

async function ours(bytes: Uint8Array, sizes: number[], checksum: boolean, encoder?: Base64Encoder): Promise<string> {
  return latin1.decode(await readAll(armorMessageForMime(chunked(bytes, sizes), { checksum, ...(encoder ? { encoder } : {}) })));
}

describe('armorMessageForMime', () => {
  const lengths = [0, 1, 2, 3, 44, 45, 46, 89, 90, 91, 1000, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, 2 * BLOCK_BYTES + 7];

  it('writes what OpenPGP.js armor() writes, CRLF, for lengths around the line and block sizes', async () => {
    for (const length of lengths) {
      const bytes = new Uint8Array(randomBytes(length));
      for (const checksum of [true, false]) {
        expect(await ours(bytes, [length], checksum), `${length} bytes, checksum ${checksum}`).toBe(await openpgpArmor(bytes, checksum));
      }
    }
  });

  it('with LF line ends, writes exactly the text OpenPGP.js writes (the inline format\'s .asc attachments)', async () => {
    for (const length of [0, 45, 1000, BLOCK_BYTES + 1]) {
      const bytes = new Uint8Array(randomBytes(length));
      const text = latin1.decode(await readAll(armorMessageForMime(chunked(bytes, [999]), { checksum: true, lineEnding: '\n' })));
      expect(text).toBe(openpgp.armor(openpgp.enums.armor.message, bytes, undefined, undefined, undefined, true));
    }
  });

  it('armorEncryptedForMime: the checksum for SEIPDv1 (a v4 recipient), none for SEIPDv2 (a v6 recipient, RFC 9580 §6.1)', async () => {
    const [bob, erin] = await Promise.all([loadCertificate('bob'), loadCertificate('erin')]);
    const armored = async (recipients: openpgp.PublicKey[]) =>
      latin1.decode(await readAll(await armorEncryptedForMime(await encrypt({ input: new Uint8Array(5000), recipients, armor: false }))));
    expect(await armored([bob])).toMatch(/\r\n=[A-Za-z0-9+/]{4}\r\n-----END PGP MESSAGE-----\r\n$/);
    expect(await armored([erin])).not.toMatch(/\r\n=[A-Za-z0-9+/]{4}\r\n/);
    expect(await armored([erin])).toMatch(/^-----BEGIN PGP MESSAGE-----\r\n\r\n[A-Za-z0-9+/]/);
  });

  it('does not depend on how the input is cut (1-octet pieces, odd sizes, pieces larger than a block)', async () => {
    const bytes = new Uint8Array(randomBytes(2 * BLOCK_BYTES + 1234));
    const expected = await openpgpArmor(bytes, true);
    for (const sizes of [[1, 1, 1, 5, 7, 13, 8, 8, 3], [7, 4093, 65536, 17], [3 * BLOCK_BYTES], [BLOCK_BYTES - 5, 10, BLOCK_BYTES]]) {
      expect(await ours(bytes, sizes, true)).toBe(expected);
    }
  });

  it('the btoa encoder and a native-style encoder give the same text', async () => {
    const bytes = new Uint8Array(randomBytes(BLOCK_BYTES + 100));
    const viaBuffer: Base64Encoder = (input) => Buffer.from(input.buffer, input.byteOffset, input.length).toString('base64');
    expect(await ours(bytes, [5000], true, btoaBase64Encoder)).toBe(await ours(bytes, [5000], true, viaBuffer));
    // Node has no Uint8Array.prototype.toBase64 yet; Thunderbird 140+ has.
    const native = nativeBase64Encoder();
    if (native) expect(await ours(bytes, [5000], true, native)).toBe(await ours(bytes, [5000], true, viaBuffer));
  });

  it('hands on at most about one block of armor per chunk, and reads the input only as the output is consumed', async () => {
    let pulled = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 100) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024));
      },
    }, { highWaterMark: 0 });
    const reader = armorMessageForMime(source, { checksum: true }).getReader();
    const first = await reader.read();
    expect(first.value?.length).toBeLessThan(300 * 1024);
    // One block is 180 KiB: four 64 KiB chunks at most, not the whole input.
    expect(pulled).toBeLessThanOrEqual(4);
    await reader.cancel();
  });

  it('an error of the input fails the armored stream with that error', async () => {
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(new Uint8Array(BLOCK_BYTES + 10));
          return;
        }
        controller.error(new SigillError('INTEGRITY_FAILURE', { detail: 'test' }));
      },
    });
    await expect(readAll(armorMessageForMime(failing, { checksum: true }))).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
  });
});

describe('Crc24', () => {
  it('is the CRC-24 OpenPGP.js writes (RFC 9580 §6.1), fed in any pieces', async () => {
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 1000, 100_003]) {
      const bytes = new Uint8Array(randomBytes(length));
      const expected = /\r?\n=([A-Za-z0-9+/]{4})\r?\n/.exec(openpgp.armor(openpgp.enums.armor.message, bytes, undefined, undefined, undefined, true))?.[1];
      for (const step of [1, 3, 8, 13, 4096, length + 1]) {
        const crc = new Crc24();
        for (let at = 0; at < length; at += step) crc.update(bytes.slice(at, at + step));
        expect(Buffer.from(crc.digest()).toString('base64'), `${length} bytes in steps of ${step}`).toBe(expected);
      }
    }
  });
});

describe('encryptedDataVersion', () => {
  it('reads the SEIPD version after the session key packets: 1 for a v4 key, 2 for a v6 key', async () => {
    const bob = await loadCertificate('bob');
    const erin = await loadCertificate('erin');
    const v1 = await readAll(await encrypt({ input: new Uint8Array(10), recipients: [bob], armor: false }));
    const v2 = await readAll(await encrypt({ input: new Uint8Array(10), recipients: [erin], armor: false }));
    const both = await readAll(await encrypt({ input: new Uint8Array(10), recipients: [bob, erin], armor: false }));
    expect(encryptedDataVersion(v1)).toBe(1);
    expect(encryptedDataVersion(v2)).toBe(2);
    expect(encryptedDataVersion(both)).toBe(1);
    // Too short to tell yet: undefined, for every cut before the version octet.
    let cut = 0;
    while (encryptedDataVersion(v1.subarray(0, cut)) === undefined) cut++;
    expect(encryptedDataVersion(v1.subarray(0, cut))).toBe(1);
    expect(cut).toBeGreaterThan(50); // the PKESK came first
  });

  it('null for what is not session key packets then a SEIPD packet (the checksum is then written)', () => {
    expect(encryptedDataVersion(new Uint8Array([0x41, 0x42, 0x43]))).toBeNull();
    // A literal data packet (tag 11) with a partial body length: not walked.
    expect(encryptedDataVersion(new Uint8Array([0xcb, 0xe1, 0x62, 0x00]))).toBeNull();
    // Legacy-format PKESK (tag 1, one length octet) of 2 octets, then legacy SEIPD (tag 18 cannot be
    // legacy: tags above 15 need the new format), here new format with version 1.
    expect(encryptedDataVersion(new Uint8Array([0x84, 0x02, 0x03, 0x00, 0xd2, 0x05, 0x01]))).toBe(1);
  });
});

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'gpg 2.2 reads the armor', () => {
  let gpg: GpgHome;
  beforeAll(async () => {
    gpg = await createGpgHome();
    ok(await gpg.importKey(fixturePath('bob', 'unprotected')));
  });
  afterAll(async () => {
    await gpg?.dispose();
  });

  it('decrypts messages of every length modulo 3 (without the checksum, gpg fails on those without padding)', async () => {
    const bob = await loadCertificate('bob');
    const seen = new Set<number>();
    for (let size = 100; seen.size < 3; size++) {
      const binary = await readAll(await encrypt({ input: new Uint8Array(size).fill(0x61), recipients: [bob], armor: false }));
      if (seen.has(binary.length % 3)) continue;
      seen.add(binary.length % 3);
      const armored = await readAll(armorMessageForMime(chunked(binary, [7]), { checksum: encryptedDataVersion(binary) !== 2 }));
      const decrypted = ok(await gpg.gpg(['--decrypt'], { stdin: Buffer.from(armored) })).stdout;
      expect(decrypted.toString('latin1'), `${binary.length} octets`).toBe('a'.repeat(size));
    }
  });
});
