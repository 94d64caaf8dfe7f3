/**
 * checkPacketFraming (src/core/messages/packet-framing.ts): binary data passes unchanged when it is a
 * sequence of OpenPGP packets (RFC 9580 §4.2), whatever the chunking; anything else errors NOT_OPENPGP.
 */
import { describe, expect, it } from 'vitest';
import { checkPacketFraming } from '../../../../src/core/messages/packet-framing.ts';
import { encrypt, isSigillError } from '../../../../src/core/index.ts';
import { bytes, publicKey, randomBytes } from './helpers.ts';

/** `data` as a stream of `size`-octet chunks. */
function chunked(data: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.subarray(offset, offset + size));
      offset += size;
    },
  });
}

async function framed(data: Uint8Array, size: number): Promise<Uint8Array | string> {
  try {
    return await bytes(checkPacketFraming(chunked(data, size)));
  } catch (error) {
    if (isSigillError(error)) return error.code;
    throw error;
  }
}

describe('checkPacketFraming', () => {
  it('passes real messages unchanged: partial body lengths, 2- and 5-octet lengths, legacy headers, any chunking', async () => {
    const certificate = await publicKey('bob');
    const big = await bytes(await encrypt({ input: randomBytes(300_000), recipients: [certificate], armor: false }));
    const key = certificate.write() as Uint8Array;
    const legacy = Uint8Array.from([0x88, 0x02, 0xaa, 0xbb, 0x89, 0x00, 0x03, 1, 2, 3]); // tag 2, 1- and 2-octet legacy lengths
    const fiveOctet = Uint8Array.from([0xcb, 0xff, 0x00, 0x00, 0x00, 0x02, 0x62, 0x00]); // literal data, 5-octet length
    for (const data of [big, key, legacy, fiveOctet]) {
      for (const size of [1, 7, 4096, 1 << 20]) {
        const out = await framed(data, size);
        expect(out instanceof Uint8Array && Buffer.from(out).equals(Buffer.from(data)), `chunks of ${size}`).toBe(true);
      }
    }
  });

  it('refuses text, tag 0, unassigned tags, data ending inside a packet, and indeterminate lengths on other packets', async () => {
    const cases: Array<[string, Uint8Array]> = [
      ['text', new TextEncoder().encode('hello')],
      ['tag 0', Uint8Array.from([0xc0, 0x01, 0x00])],
      ['unassigned tag 30', Uint8Array.from([0xde, 0x01, 0x00])],
      ['truncated body', Uint8Array.from([0xcb, 0x10, 0x62])],
      ['truncated length', Uint8Array.from([0xcb, 0xff, 0x00])],
      ['garbage after a packet', Uint8Array.from([0xcb, 0x01, 0x62, 0x41])],
      ['indeterminate length on a signature', Uint8Array.from([0x8b, 0x04, 0x00])],
      ['indeterminate compressed data with an unknown algorithm', Uint8Array.from([0xa3, 0x09, 0x00])],
      ['empty', new Uint8Array(0)],
    ];
    for (const [what, data] of cases) expect(await framed(data, 2), what).toBe('NOT_OPENPGP');
    // The legitimate indeterminate case: GnuPG's compressed data packet (0xA3) with ZIP.
    expect(await framed(Uint8Array.from([0xa3, 0x01, 0x55, 0x66]), 1)).toBeInstanceOf(Uint8Array);
  });
});
