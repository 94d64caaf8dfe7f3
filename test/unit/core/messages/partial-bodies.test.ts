/**
 * coalescePartialBodies (src/core/messages/partial-bodies.ts) may change only the partial body
 * length framing of a SEIPD packet: every packet's tag and body must come out as they went in, for
 * any input chunking, and anything else must pass through byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { coalescePartialBodies, type CoalesceOptions } from '../../../../src/core/messages/partial-bodies.ts';
import { readAll } from '../../../../src/core/index.ts';
import { randomBytes, sameBytes } from './helpers.ts';

interface Packet {
  tag: number;
  body: Uint8Array;
  partialSizes: number[];
}

/** A reference parser of top-level packets (RFC 9580 §4.2); throws on truncation. */
function parse(bytes: Uint8Array): Packet[] {
  const packets: Packet[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error('truncated');
  };
  while (at < bytes.length) {
    const ctb = bytes[at++]!;
    if ((ctb & 0x80) === 0) throw new Error('not a packet');
    const parts: Uint8Array[] = [];
    const partialSizes: number[] = [];
    if ((ctb & 0x40) === 0) {
      const octets = [1, 2, 4][ctb & 3]!;
      need(octets);
      let length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + bytes[at++]!;
      need(length);
      parts.push(bytes.subarray(at, at + length));
      at += length;
      packets.push({ tag: (ctb >> 2) & 0x0f, body: parts[0]!, partialSizes });
      continue;
    }
    for (;;) {
      need(1);
      const first = bytes[at++]!;
      let length: number;
      let partial = false;
      if (first < 192) length = first;
      else if (first < 224) {
        need(1);
        length = ((first - 192) << 8) + bytes[at++]! + 192;
      } else if (first < 255) {
        length = 2 ** (first & 0x1f);
        partial = true;
      } else {
        need(4);
        length = bytes[at]! * 2 ** 24 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
        at += 4;
      }
      need(length);
      parts.push(bytes.subarray(at, at + length));
      at += length;
      if (!partial) break;
      partialSizes.push(length);
    }
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    packets.push({ tag: ctb & 0x3f, body, partialSizes });
  }
  return packets;
}

function regular(length: number): number[] {
  if (length < 192) return [length];
  if (length < 8384) return [((length - 192) >> 8) + 192, (length - 192) & 0xff];
  return [0xff, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
}

/** A new-format packet whose body is cut into partial chunks of 2^power octets, then a regular rest. */
function partialPacket(tag: number, body: Uint8Array, power: number): Uint8Array {
  const out: Uint8Array[] = [Uint8Array.of(0xc0 | tag)];
  let at = 0;
  while (body.length - at > 2 ** power) {
    out.push(Uint8Array.of(0xe0 | power), body.subarray(at, at + 2 ** power));
    at += 2 ** power;
  }
  out.push(Uint8Array.from(regular(body.length - at)), body.subarray(at));
  return concat(...out);
}

const legacyPkesk = (body: Uint8Array) => Uint8Array.from([0x84, body.length, ...body]); // tag 1, one-octet length
const newPkesk = (body: Uint8Array) => Uint8Array.from([0xc1, ...regular(body.length), ...body]);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Feeds `bytes` in irregular chunks (new arrays each) through the transform. */
async function run(bytes: Uint8Array, seed: number, options: CoalesceOptions = {}, sizes = [1, 3, 8192, 100_000, 7, 65_536, 2]): Promise<Uint8Array> {
  let at = 0;
  let i = seed;
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const size = sizes[i++ % sizes.length]!;
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
  return readAll(coalescePartialBodies(input, options));
}

describe('coalescePartialBodies', () => {
  it('re-frames a SEIPD body: small parts gathered into 256 KiB partial chunks, large ones passed on, every packet and body intact', async () => {
    for (const [size, power] of [[0, 9], [511, 9], [512, 9], [8192, 13], [300_000, 13], [1_000_003, 13], [2 ** 19, 18], [2 ** 18 + 1, 10], [700_000, 20], [3 * 2 ** 20 + 5, 20], [2 ** 20 + 2 ** 19 + 7, 19]] as const) {
      for (const seed of [0, 1, 4]) {
        const message = concat(legacyPkesk(randomBytes(94, 1)), newPkesk(randomBytes(300, 2)), partialPacket(18, randomBytes(size, 3), power));
        const out = await run(message, seed);
        const before = parse(message);
        const after = parse(out);
        expect(after.map((p) => p.tag)).toEqual(before.map((p) => p.tag));
        after.forEach((packet, i) => expect(sameBytes(packet.body, before[i]!.body)).toBe(true));
        const sizes = after[2]!.partialSizes;
        // Parts of at least 256 KiB (an RFC-valid first chunk of at least 512 octets): small parts
        // gathered into 256 KiB, larger ones kept as they came; then a rest shorter than 256 KiB.
        if (power <= 18) expect(sizes.every((length) => length === 2 ** 18)).toBe(true);
        else expect(sizes, `${size} ${power} ${seed}`).toEqual(before[2]!.partialSizes);
        // (A body that fits its first chunk had a regular length to begin with: left as it was.)
        if (power <= 18) expect(sizes.length, `${size} ${power} ${seed}`).toBe(size > 2 ** power ? Math.floor(size / 2 ** 18) : 0);
      }
    }
  });

  it('mixed part sizes: large parts after small ones are passed on once the gathered chunk is full', async () => {
    const body = randomBytes(2 ** 13 + 2 ** 20 + 2 ** 9 + 2 ** 19 + 1000, 11);
    const parts: Uint8Array[] = [Uint8Array.of(0xc0 | 18)];
    let at = 0;
    for (const power of [13, 20, 9, 19]) {
      parts.push(Uint8Array.of(0xe0 | power), body.subarray(at, at + 2 ** power));
      at += 2 ** power;
    }
    parts.push(Uint8Array.from(regular(body.length - at)), body.subarray(at));
    for (const seed of [0, 3, 5]) {
      const after = parse(await run(concat(legacyPkesk(randomBytes(94, 1)), ...parts), seed));
      expect(sameBytes(after[1]!.body, body)).toBe(true);
      const sizes = after[1]!.partialSizes;
      expect(sizes.every((length) => length >= 2 ** 18 && Number.isInteger(Math.log2(length)))).toBe(true);
      expect(body.length - sizes.reduce((sum, length) => sum + length, 0)).toBeLessThan(2 ** 18);
    }
  });

  describe('with the input given away (ownsInput: the native armor output)', () => {
    // Chunkings as the armor decoder hands them over (about 750 KiB), and irregular ones.
    const chunkings = [[768 * 1024], [1, 3, 8192, 100_000, 7, 65_536, 2], [700_001, 5, 300_000, 65_535]];

    it('moves the parts together in place and passes them on as views: every packet and body intact, partial pieces of 64 KiB or more', async () => {
      for (const [size, power] of [[0, 9], [511, 9], [512, 9], [8192, 13], [300_000, 13], [1_000_003, 13], [2 ** 19, 18], [2 ** 18 + 1, 10], [700_000, 20], [3 * 2 ** 20 + 5, 20], [2 ** 20 + 2 ** 19 + 7, 19]] as const) {
        for (const sizes of chunkings) {
          const message = concat(legacyPkesk(randomBytes(94, 1)), newPkesk(randomBytes(300, 2)), partialPacket(18, randomBytes(size, 3), power));
          const before = parse(message);
          const after = parse(await run(message, 0, { ownsInput: true }, sizes));
          const what = `${size} ${power} ${sizes.join(',')}`;
          expect(after.map((p) => p.tag), what).toEqual(before.map((p) => p.tag));
          after.forEach((packet, i) => expect(sameBytes(packet.body, before[i]!.body), what).toBe(true));
          // RFC 9580 §4.2.1.4: powers of two, the first at least 512 octets; here 64 KiB at least.
          expect(after[2]!.partialSizes.every((length) => length >= 2 ** 16 && Number.isInteger(Math.log2(length))), what).toBe(true);
        }
      }
    });

    it('never writes an octet it passed on: what a consumer keeps (the parser keeps views of the session key packets) stays as it was', async () => {
      const message = concat(legacyPkesk(randomBytes(94, 1)), newPkesk(randomBytes(300, 2)), partialPacket(18, randomBytes(3 * 2 ** 20 + 77, 3), 13), newPkesk(randomBytes(40, 4)));
      for (const sizes of chunkings) {
        let at = 0;
        let index = 0;
        const given = new Set<ArrayBufferLike>();
        const input = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (at >= message.length) return controller.close();
            const size = sizes[index++ % sizes.length]!;
            const chunk = message.slice(at, at + size);
            given.add(chunk.buffer);
            controller.enqueue(chunk);
            at += size;
          },
        });
        const kept: { view: Uint8Array; copy: Uint8Array }[] = [];
        const reader = coalescePartialBodies(input, { ownsInput: true }).getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read()) kept.push({ view: next.value, copy: next.value.slice() });
        expect(kept.every(({ view, copy }) => sameBytes(view, copy)), sizes.join(',')).toBe(true);
        // Views of the input, not copies: with the armor decoder's 768 KiB chunks over 90 % of the octets.
        const viewed = kept.filter(({ view }) => given.has(view.buffer)).reduce((sum, { view }) => sum + view.length, 0);
        if (sizes.length === 1) expect(viewed / message.length, sizes.join(',')).toBeGreaterThan(0.9);
        const out = parse(concat(...kept.map(({ view }) => view)));
        expect(out.map((p) => p.tag)).toEqual([1, 1, 18, 1]);
        expect(sameBytes(out[2]!.body, randomBytes(3 * 2 ** 20 + 77, 3))).toBe(true);
      }
    });

    it('keeps a truncated SEIPD packet truncated, and what follows the packet as it was', async () => {
      const whole = concat(legacyPkesk(randomBytes(94, 1)), partialPacket(18, randomBytes(600_000, 8), 13));
      for (const cut of [95, 97, 98, 5000, 70_000, 300_000, 8195 * 3, whole.length - 1]) {
        for (const sizes of chunkings) {
          expect(() => parse(whole.subarray(0, cut))).toThrow('truncated');
          const out = await run(whole.subarray(0, cut), 0, { ownsInput: true }, sizes);
          expect(() => parse(out), `${cut} ${sizes.join(',')}`).toThrow('truncated');
        }
      }
      const trailing = concat(whole, newPkesk(randomBytes(20, 9)));
      for (const sizes of chunkings) {
        const out = parse(await run(trailing, 0, { ownsInput: true }, sizes));
        expect(out.map((p) => p.tag)).toEqual([1, 18, 1]);
        expect(sameBytes(out[1]!.body, randomBytes(600_000, 8))).toBe(true);
        expect(sameBytes(out[2]!.body, randomBytes(20, 9))).toBe(true);
      }
    });
  });

  it('passes through byte for byte what it does not re-frame', async () => {
    const cases = {
      'partial lengths on a literal data packet': partialPacket(11, randomBytes(50_000, 4), 12),
      'a SEIPD packet with a regular length': concat(legacyPkesk(randomBytes(94, 1)), Uint8Array.from([0xd2, ...regular(5000)]), randomBytes(5000, 5)),
      'a legacy indeterminate length': concat(Uint8Array.from([0xa3]), randomBytes(70_000, 6)),
      'not OpenPGP': new TextEncoder().encode('-----BEGIN PGP MESSAGE-----\n\nabc\n'),
      'a packet before garbage': concat(newPkesk(randomBytes(10, 7)), Uint8Array.from([0x01, 0x02])),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(sameBytes(await run(bytes, 2), bytes), name).toBe(true);
    }
  });

  it('keeps a truncated SEIPD packet truncated, and what follows the packet as it was', async () => {
    const whole = concat(legacyPkesk(randomBytes(94, 1)), partialPacket(18, randomBytes(600_000, 8), 13));
    for (const cut of [95, 97, 98, 5000, 300_000, whole.length - 1]) {
      expect(() => parse(whole.subarray(0, cut))).toThrow('truncated');
      const out = await run(whole.subarray(0, cut), 3);
      expect(() => parse(out)).toThrow('truncated');
    }
    // Cut inside a large part passed on as it came (after its header, or in its body).
    const large = concat(legacyPkesk(randomBytes(94, 1)), partialPacket(18, randomBytes(3 * 2 ** 20, 10), 20));
    for (const cut of [97, 98, 200_000, 2 ** 20 + 97, large.length - 1]) {
      expect(() => parse(large.subarray(0, cut))).toThrow('truncated');
      const out = await run(large.subarray(0, cut), 3);
      expect(() => parse(out)).toThrow('truncated');
    }
    const trailing = concat(whole, newPkesk(randomBytes(20, 9)));
    const out = parse(await run(trailing, 1));
    expect(out.map((p) => p.tag)).toEqual([1, 18, 1]);
    expect(sameBytes(out[2]!.body, randomBytes(20, 9))).toBe(true);
  });
});
