/**
 * SEIPDv1 written by the core with a platform's CFB and SHA-1 (src/core/messages/seipd-v1-write.ts),
 * read back by OpenPGP.js's own non-streaming decryption (an independent reader) and by the core,
 * at sizes around the partial-body chunk boundaries (1 MiB).
 */
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, encryptWithSessionKey, memorySink, type CfbEncryptorFactory } from '../../../../src/core/index.ts';
import { nodeCfb, nodeCfbEncryptor } from '../../../../src/platform/node/index.ts';
import { bytes, generatedStream, privateKey, randomBytes, sameBytes, text } from './helpers.ts';

const MiB = 1 << 20;
let bob: openpgp.PrivateKey;
let alice: openpgp.PrivateKey;

beforeAll(async () => {
  [alice, bob] = await Promise.all([privateKey('alice'), privateKey('bob')]);
});

/** The packets of a binary message, as OpenPGP.js parses them. */
async function packets(message: Uint8Array): Promise<openpgp.PacketList<openpgp.AnyPacket>> {
  return (await openpgp.readMessage({ binaryMessage: message })).packets;
}

/** OpenPGP.js's own decryption of the whole message in memory (it checks the MDC before returning). */
async function openpgpDecrypt(message: Uint8Array, key: openpgp.PrivateKey): Promise<{ data: Uint8Array; filename: string }> {
  const result = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), decryptionKeys: key, format: 'binary' });
  return { data: result.data, filename: result.filename };
}

/** nodeCfbEncryptor, counting the ciphers it starts (so a test knows this path wrote the message). */
let started = 0;
const counting: CfbEncryptorFactory = {
  encipher(options) {
    started += 1;
    return nodeCfbEncryptor.encipher(options);
  },
  sha1: nodeCfbEncryptor.sha1,
};

describe('SEIPDv1 written with the platform CFB', () => {
  // The literal body is 6 octets of fields plus the data: MiB - 6 fills exactly one partial chunk.
  for (const size of [0, 1, 511, MiB - 6, MiB - 5, 2 * MiB + 123]) {
    it(`${size} octets: OpenPGP.js and the core read it back, in any input chunking`, async () => {
      const data = randomBytes(size, size + 1);
      for (const chunk of [1 << 16, 1000]) {
        const input = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < size; at += chunk) controller.enqueue(data.slice(at, at + chunk));
            controller.close();
          },
        });
        const before = started;
        const message = await bytes(await encrypt({ input, recipients: [bob.toPublic()], armor: false, cfb: counting, filename: 'f.bin', date: new Date('2026-01-02T03:04:05Z') }));
        expect(started).toBe(before + 1);
        const list = await packets(message);
        expect(list.map((packet) => (packet.constructor as unknown as { tag: number }).tag)).toEqual([openpgp.enums.packet.publicKeyEncryptedSessionKey, openpgp.enums.packet.symEncryptedIntegrityProtectedData]);
        expect((list[1] as unknown as { version: number }).version).toBe(1);
        const independent = await openpgpDecrypt(message, bob);
        expect(sameBytes(independent.data, data)).toBe(true);
        expect(independent.filename).toBe('f.bin');
        const sink = memorySink();
        const result = await decrypt({ input: message, sink, decryptionKeys: [bob], cfb: nodeCfb });
        expect(sameBytes(sink.bytes(), data)).toBe(true);
        expect(result).toMatchObject({ format: 'binary', filename: 'f.bin' });
      }
    });
  }

  it('streams: a 40 MiB input comes out in pieces no larger than the input chunks, correct end to end', async () => {
    const encrypted = await encrypt({ input: generatedStream(40 * MiB, 1 << 19), recipients: [bob.toPublic()], armor: false, cfb: nodeCfbEncryptor });
    let largest = 0;
    const measured = encrypted.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          largest = Math.max(largest, chunk.length);
          controller.enqueue(chunk);
        },
      }),
    );
    const sink = memorySink({ limit: 41 * MiB });
    await decrypt({ input: measured, sink, decryptionKeys: [bob], cfb: nodeCfb });
    expect(sink.bytes().length).toBe(40 * MiB);
    expect(sameBytes(sink.bytes(), await bytes(generatedStream(40 * MiB, 1 << 19)))).toBe(true);
    expect(largest).toBeLessThanOrEqual(1 << 19);
  });

  it('armored, with a password next to the recipient; the session key reported is the one used', async () => {
    const { data, sessionKey } = await encryptWithSessionKey({ input: 'hej', recipients: [bob.toPublic()], passwords: ['secret-canary-7f3a'], cfb: nodeCfbEncryptor });
    const armored = await text(data);
    expect(armored.startsWith('-----BEGIN PGP MESSAGE-----\n')).toBe(true);
    // The CRC-24 footer, as OpenPGP.js writes it for SEIPDv1 (RFC 9580 §6.1).
    expect(armored).toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END PGP MESSAGE-----\n$/);
    for (const material of [{ decryptionKeys: [bob] }, { passwords: ['secret-canary-7f3a'] }, { sessionKeys: [sessionKey] }]) {
      const sink = memorySink();
      await decrypt({ input: armored, sink, ...material });
      expect(sink.text()).toBe('hej');
    }
  });

  it('armored, past the first partial chunk (split there at an odd offset; the armor checksum needs aligned views)', async () => {
    const data = randomBytes(2 * MiB + 1, 9);
    const input = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < data.length; at += 99_999) controller.enqueue(data.slice(at, at + 99_999));
        controller.close();
      },
    });
    const armored = await text(await encrypt({ input, recipients: [bob.toPublic()], cfb: counting }));
    expect(armored).toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END PGP MESSAGE-----\n$/);
    const result = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: armored }), decryptionKeys: bob, format: 'binary' });
    expect(sameBytes(result.data, data)).toBe(true);
  });

  it('a flipped ciphertext octet fails the MDC', async () => {
    const message = await bytes(await encrypt({ input: randomBytes(5000), recipients: [bob.toPublic()], armor: false, cfb: nodeCfbEncryptor }));
    message[message.length - 2000]! ^= 0x01;
    const sink = memorySink();
    await expect(decrypt({ input: message, sink, decryptionKeys: [bob], cfb: nodeCfb })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    expect(sink.state).toBe('aborted');
    await expect(openpgpDecrypt(message, bob)).rejects.toThrow();
  });

  it('leaves SEIPDv2 messages, and ciphers the platform does not offer, to OpenPGP.js', async () => {
    const erin = await privateKey('erin');
    const v2 = await bytes(await encrypt({ input: 'z', recipients: [erin.toPublic()], armor: false, cfb: nodeCfbEncryptor }));
    expect(((await packets(v2)).findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version: number }).version).toBe(2);
    const offersNothing: CfbEncryptorFactory = { encipher: () => undefined, sha1: nodeCfbEncryptor.sha1 };
    for (const signingKeys of [[], [alice]]) {
      const fallback = await bytes(await encrypt({ input: 'y', recipients: [bob.toPublic()], signingKeys, armor: false, cfb: offersNothing }));
      expect(new TextDecoder().decode((await openpgpDecrypt(fallback, bob)).data)).toBe('y');
    }
  });
});

/**
 * nodeCfbEncryptor, keeping a copy of everything it encrypts: the SEIPDv1 plaintext (prefix, inner
 * packets, MDC packet), so a test can parse the inner packets on their own.
 */
function capturing(): { cfb: CfbEncryptorFactory; innerPackets(): Uint8Array } {
  const seen: Uint8Array[] = [];
  return {
    cfb: {
      encipher(options) {
        const cipher = nodeCfbEncryptor.encipher(options);
        return cipher && { update: (chunk) => (seen.push(chunk.slice()), cipher.update(chunk)) };
      },
      sha1: nodeCfbEncryptor.sha1,
    },
    innerPackets: () => {
      const all = Buffer.concat(seen);
      return new Uint8Array(all.subarray(18, all.length - 22)); // §5.13.1: prefix of 16 + 2, MDC packet of 22
    },
  };
}

/** `data` as a stream of `size`-octet chunks. */
function chunked(data: Uint8Array, size: number): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < data.length; at += size) controller.enqueue(data.slice(at, at + size));
      controller.close();
    },
  });
}

function tags(list: openpgp.PacketList<openpgp.AnyPacket>): number[] {
  return [...list].map((packet) => (packet.constructor as unknown as { tag: number }).tag);
}

/** Tags of every packet, including those OpenPGP.js parses lazily after literal data (its `packets.stream`). */
async function allTags(message: Uint8Array): Promise<number[]> {
  const list = await packets(message);
  const out = tags(list);
  // `stream` is public on OpenPGP.js's PacketList but not in its typings.
  const rest = (list as unknown as { stream?: ReadableStream<openpgp.AnyPacket | openpgp.AnyPacket[]> }).stream;
  if (rest) {
    const reader = rest.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      for (const packet of [next.value].flat()) out.push((packet.constructor as unknown as { tag: number }).tag);
    }
  }
  return out;
}

describe('signed and text SEIPDv1 written with the platform CFB (OpenPGP.js signs, the writer encrypts)', () => {
  const { publicKeyEncryptedSessionKey: pkesk, symEncryptedIntegrityProtectedData: seipd, onePassSignature: ops, literalData: literal, signature } = openpgp.enums.packet;

  it('signed binary, 2 MiB: the same packets as OpenPGP.js writes, which OpenPGP.js and the core read and verify', async () => {
    const data = randomBytes(2 * MiB + 123, 7);
    const capture = capturing();
    const message = await bytes(await encrypt({ input: chunked(data, 65_536), recipients: [bob.toPublic()], signingKeys: [alice], armor: false, cfb: capture.cfb, filename: 'report.pdf' }));
    const reference = await bytes(await encrypt({ input: data, recipients: [bob.toPublic()], signingKeys: [alice], armor: false, filename: 'report.pdf' }));
    expect(tags(await packets(message))).toEqual(tags(await packets(reference)));
    expect(tags(await packets(message))).toEqual([pkesk, seipd]);
    // Inside: what openpgp.encrypt signs before it encrypts (RFC 9580 §10.3: one-pass signed message).
    expect(await allTags(capture.innerPackets())).toEqual([ops, literal, signature]);
    const independent = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), decryptionKeys: bob, verificationKeys: alice.toPublic(), expectSigned: true, format: 'binary' });
    expect(sameBytes(independent.data, data)).toBe(true);
    expect(independent.filename).toBe('report.pdf');
    const sink = memorySink();
    const result = await decrypt({ input: message, sink, decryptionKeys: [bob], verificationKeys: [alice.toPublic()], cfb: nodeCfb });
    expect(sameBytes(sink.bytes(), data)).toBe(true);
    expect(result.verifications.map((v) => v.status)).toEqual(['good']);
  });

  it('text, signed and unsigned: line endings canonicalised to CRLF, a text signature, as with OpenPGP.js', async () => {
    for (const signingKeys of [[], [alice]]) {
      const before = started;
      const message = await bytes(await encrypt({ input: `a\nb\n${'a line of text\n'.repeat(220_000)}`, recipients: [bob.toPublic()], signingKeys, armor: false, format: 'text', cfb: counting }));
      expect(started).toBe(before + 1);
      const sink = memorySink();
      const result = await decrypt({ input: message, sink, decryptionKeys: [bob], verificationKeys: [alice.toPublic()] });
      expect(result.format).toBe('utf8');
      expect(sink.text().startsWith('a\r\nb\r\n')).toBe(true);
      expect(result.verifications.map((v) => v.status)).toEqual(signingKeys.length > 0 ? ['good'] : []);
    }
  });

  it('hidden recipients (Bcc): named session key packets first, then anonymous ones (key ID 0), each decrypts', async () => {
    const carol = await privateKey('carol');
    const mixed = await bytes(await encrypt({ input: 'to bob, carol hidden', recipients: [bob.toPublic()], hiddenRecipients: [carol.toPublic()], signingKeys: [alice], armor: false, cfb: counting }));
    const list = await packets(mixed);
    expect(tags(list)).toEqual([pkesk, pkesk, seipd]);
    const keyIds = [...list].slice(0, 2).map((packet) => (packet as unknown as { publicKeyID: openpgp.KeyID }).publicKeyID.toHex());
    expect(keyIds[0]).not.toBe('0000000000000000');
    expect(keyIds[1]).toBe('0000000000000000');
    for (const key of [bob, carol]) expect(new TextDecoder().decode((await openpgpDecrypt(mixed, key)).data)).toBe('to bob, carol hidden');
    const onlyHidden = await bytes(await encrypt({ input: 'only hidden', recipients: [], hiddenRecipients: [carol.toPublic()], armor: false, cfb: counting }));
    expect([...(await packets(onlyHidden))].map((packet) => (packet as unknown as { publicKeyID?: openpgp.KeyID }).publicKeyID?.toHex())).toEqual(['0000000000000000', undefined]);
    expect(new TextDecoder().decode((await openpgpDecrypt(onlyHidden, carol)).data)).toBe('only hidden');
  });

  it('closes the cipher (the platform wipes its key) when the message is done and when the reader cancels', async () => {
    let closed = 0;
    const closing: CfbEncryptorFactory = {
      encipher(options) {
        const cipher = nodeCfbEncryptor.encipher(options);
        return cipher && { update: (chunk) => cipher.update(chunk), close: () => void (closed += 1) };
      },
      sha1: nodeCfbEncryptor.sha1,
    };
    await bytes(await encrypt({ input: 'done', recipients: [bob.toPublic()], signingKeys: [alice], armor: false, cfb: closing }));
    expect(closed).toBe(1);
    const reader = (await encrypt({ input: generatedStream(4 * MiB), recipients: [bob.toPublic()], armor: false, cfb: closing })).getReader();
    await reader.read();
    await reader.cancel();
    expect(closed).toBe(2);
  });
});

/** The body part lengths of the one packet in `packet` (RFC 9580 §4.2.1): partial ones, then the regular last. */
function partLengths(packet: Uint8Array): { partial: number[]; last: number } {
  const partial: number[] = [];
  let at = 1; // the tag octet
  for (;;) {
    const first = packet[at++]!;
    if (first >= 224 && first < 255) {
      partial.push(2 ** (first & 0x1f));
      at += 2 ** (first & 0x1f);
      continue;
    }
    const last = first < 192 ? first : first < 224 ? ((first - 192) << 8) + packet[at]! + 192 : new DataView(packet.buffer, packet.byteOffset + at, 4).getUint32(0);
    expect(at + (first < 192 ? 0 : first < 224 ? 1 : 4) + last).toBe(packet.length);
    return { partial, last };
  }
}

/**
 * A readable byte stream of `data` that answers every read with at most `sizes[i]` octets in turn,
 * recording the size of each buffer it was asked to fill.
 */
function byteStream(data: Uint8Array, sizes: number[]): { stream: ReadableStream<Uint8Array>; buffers: number[] } {
  const buffers: number[] = [];
  let at = 0;
  let turn = 0;
  const stream = new ReadableStream({
    type: 'bytes',
    pull(controller) {
      const request = controller.byobRequest!; // no autoAllocateChunkSize: only BYOB reads ask
      const view = request.view!;
      buffers.push(view.buffer.byteLength);
      const n = Math.min(view.byteLength, sizes[turn++ % sizes.length]!, data.length - at);
      new Uint8Array(view.buffer, view.byteOffset, n).set(data.subarray(at, at + n));
      at += n;
      if (n === 0) controller.close();
      request.respond(n);
    },
  });
  return { stream, buffers };
}

describe('literal data framed as it arrives (LiteralFramer) and read into a reused buffer (reuseInputBuffer)', () => {
  it('every literal part is a power of two of at least 512 octets, whatever the input chunking; OpenPGP.js and the core read it', async () => {
    for (const [size, chunk] of [[0, 1000], [300, 1000], [511 - 6, 1000], [512 - 6, 1000], [100_000, 1000], [100_000, 65_536], [3 * MiB + 7, 524_288], [MiB, 99_999]] as const) {
      const data = randomBytes(size, 21);
      const capture = capturing();
      const message = await bytes(await encrypt({ input: chunked(data, chunk), recipients: [bob.toPublic()], armor: false, cfb: capture.cfb }));
      const { partial, last } = partLengths(capture.innerPackets());
      for (const length of partial) expect(length >= 512 && Number.isInteger(Math.log2(length)), `${size} ${chunk}: ${length}`).toBe(true);
      expect(last).toBeLessThan(512);
      expect(sameBytes((await openpgpDecrypt(message, bob)).data, data)).toBe(true);
      const sink = memorySink();
      await decrypt({ input: message, sink, decryptionKeys: [bob], cfb: nodeCfb });
      expect(sameBytes(sink.bytes(), data)).toBe(true);
    }
  });

  it('with reuseInputBuffer, a byte stream is read into the writer\'s own 512 KiB buffer, reads of any length', async () => {
    const data = randomBytes(2 * MiB + 5, 22);
    const input = byteStream(data, [524_288, 1000, 7, 300_000]);
    const message = await bytes(await encrypt({ input: input.stream, recipients: [bob.toPublic()], armor: false, cfb: nodeCfbEncryptor, reuseInputBuffer: true }));
    expect(input.buffers.length).toBeGreaterThan(4);
    expect(input.buffers.every((length) => length === 512 * 1024)).toBe(true);
    expect(sameBytes((await openpgpDecrypt(message, bob)).data, data)).toBe(true);
    // Without the option, or when the input is not a byte stream, the input's own chunks are taken.
    const plain = await bytes(await encrypt({ input: chunked(data, 70_000), recipients: [bob.toPublic()], armor: false, cfb: nodeCfbEncryptor, reuseInputBuffer: true }));
    expect(sameBytes((await openpgpDecrypt(plain, bob)).data, data)).toBe(true);
  });
});
