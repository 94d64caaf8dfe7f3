import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64DecodeStream, blobSource, type Base64Setter, bytesSource, isSigillError, rangeStream, readAll, WindowedText, type ByteSource } from '../../../../src/core/index.ts';
import { setFromBase64StandIn } from '../../../support/base64.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `encoded` to the base64 stream in pieces of the given sizes (cycled), returns the decoded bytes. */
async function decodeInPieces(encoded: Uint8Array, sizes: number[], decoders?: Parameters<typeof base64DecodeStream>[0]): Promise<Uint8Array> {
  let offset = 0;
  let turn = 0;
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= encoded.length) return controller.close();
      const size = sizes[turn++ % sizes.length] as number;
      controller.enqueue(encoded.subarray(offset, offset + size));
      offset += size;
    },
  });
  return readAll(input.pipeThrough(base64DecodeStream(decoders)));
}

describe('base64DecodeStream (RFC 2045 §6.8, a chunk at a time)', () => {
  const data = new Uint8Array(randomBytes(10_000));
  const wrapped = bytes(Buffer.from(data).toString('base64').replace(/.{76}/g, '$&\r\n'));

  it('decodes the same whatever the chunks: quartets and line breaks split across them', async () => {
    for (const sizes of [[1], [2, 3], [5, 77, 1], [4096], [wrapped.length]]) {
      expect(Buffer.from(await decodeInPieces(wrapped, sizes)).equals(Buffer.from(data))).toBe(true);
    }
  });

  it('decodes with atob where the engine has no Uint8Array.fromBase64', async () => {
    const viaAtob = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    expect(Buffer.from(await decodeInPieces(wrapped, [3, 100], { fromBase64: viaAtob })).equals(Buffer.from(data))).toBe(true);
  });

  /**
   * A stand-in for `Uint8Array.prototype.setFromBase64` with lastChunkHandling 'stop-before-partial' (Node 20
   * has none; Thunderbird 153 has it, exercised by the e2e scenarios): skips ASCII whitespace, refuses other
   * characters, stops before a partial group, reads padding as the end.
   */
  const standIn: Base64Setter = (target, text) => {
    let groups = 0;
    let inGroup = 0;
    let read = 0;
    for (let index = 0; index < text.length; index++) {
      const char = text[index] as string;
      if (/[\t\n\f\r ]/.test(char)) continue;
      if (!/[A-Za-z0-9+/=]/.test(char)) throw new SyntaxError('not base64');
      inGroup++;
      if (inGroup === 4) {
        groups++;
        inGroup = 0;
        read = index + 1;
        if (char === '=') break;
      }
    }
    const clean = text.slice(0, read).replace(/\s+/g, '');
    const bytes = Buffer.from(clean, 'base64');
    target.set(bytes);
    return { read, written: groups > 0 ? bytes.length : 0 };
  };

  it('decodes straight from the text with setFromBase64 (a stand-in here): the same bytes, odd characters taken the lenient way', async () => {
    for (const sizes of [[1], [5, 77, 1], [4096]]) {
      expect(Buffer.from(await decodeInPieces(wrapped, sizes, { setFromBase64: standIn })).equals(Buffer.from(data)), String(sizes)).toBe(true);
    }
    expect(Buffer.from(await decodeInPieces(bytes('aGVs*bG8g\r\nd29y bGQ=\r\nignored garbage'), [3], { setFromBase64: standIn })).toString()).toBe('hello world');
    expect(Buffer.from(await decodeInPieces(bytes('aGVsbG8=\r\n'), [100], { setFromBase64: standIn })).toString()).toBe('hello');
  });

  it('with setFromBase64 as the proposal defines it: the same bytes at every split, each output a new array, nothing after the padding', async () => {
    const decoders = { setFromBase64: setFromBase64StandIn };
    for (const sizes of [[1], [2, 3], [5, 77, 1], [78], [79], [80], [4096]]) {
      const outputs: Uint8Array[] = [];
      const input = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0, turn = 0; offset < wrapped.length; turn++) {
            const size = sizes[turn % sizes.length] as number;
            controller.enqueue(wrapped.slice(offset, offset + size));
            offset += size;
          }
          controller.close();
        },
      });
      const reader = input.pipeThrough(base64DecodeStream(decoders)).getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) outputs.push(next.value);
      expect(Buffer.concat(outputs).equals(Buffer.from(data)), String(sizes)).toBe(true);
      expect(new Set(outputs.map((output) => output.buffer)).size, 'no output array is reused').toBe(outputs.length);
    }
    expect(Buffer.from(await decodeInPieces(bytes('aGVsbG8=\r\n\r\nd29ybGQ=\r\n'), [10], decoders)).toString()).toBe('hello');
    expect(Buffer.from(await decodeInPieces(bytes('aGVsbG8gd29y\r\nbGQ'), [13, 1], decoders)).toString()).toBe('hello world');
  });

  it('ignores characters outside the alphabet and anything after the padding', async () => {
    expect(Buffer.from(await decodeInPieces(bytes('aGVs*bG8g\r\nd29y bGQ=\r\nignored garbage'), [3])).toString()).toBe('hello world');
    expect(Buffer.from(await decodeInPieces(bytes('aGk'), [1])).toString()).toBe('hi');
  });

  it('refuses a body that ends inside a character group with MALFORMED_MIME', async () => {
    const failure = await decodeInPieces(bytes('aGVsbG8gd'), [2]).catch((error: unknown) => error);
    expect(isSigillError(failure) && failure.code).toBe('MALFORMED_MIME');
  });
});

describe('byte sources', () => {
  const data = new Uint8Array(randomBytes(5000));

  it('bytes and Blob sources read the same windows, shorter at the end', async () => {
    for (const source of [bytesSource(data), blobSource(new Blob([data]))]) {
      expect(source.size).toBe(5000);
      expect(Buffer.from(await source.read(4990, 100)).equals(Buffer.from(data.subarray(4990)))).toBe(true);
      expect(Buffer.from(await source.read(10, 20)).equals(Buffer.from(data.subarray(10, 30)))).toBe(true);
    }
  });

  it("a Blob source reads into the caller's memory (a BYOB reader), or into a new array where Blob.stream() is no byte stream", async () => {
    const source = blobSource(new Blob([data]));
    const memory = new ArrayBuffer(1000);
    const window = await source.readInto!(4500, new Uint8Array(memory, 0, 1000));
    expect(Buffer.from(window).equals(Buffer.from(data.subarray(4500)))).toBe(true);
    expect(window.buffer.byteLength).toBe(1000); // the same memory, handed back (transferred)
    expect(memory.byteLength).toBe(0); // detached: the caller's old handle is not to be used
    const again = await source.readInto!(10, new Uint8Array(window.buffer as ArrayBuffer, 0, 1000));
    expect(Buffer.from(again).equals(Buffer.from(data.subarray(10, 1010)))).toBe(true);
    class PlainStreamBlob extends Blob {
      override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
        const bytes = this.arrayBuffer();
        return new ReadableStream({ async start(controller) { controller.enqueue(new Uint8Array(await bytes)); controller.close(); } });
      }
    }
    const plain = blobSource(new PlainStreamBlob([data]));
    expect(Buffer.from(await plain.readInto!(100, new Uint8Array(200))).equals(Buffer.from(data.subarray(100, 300)))).toBe(true);
  });

  it('a windowed scan reads every window into the same memory, and finds what a string search finds', async () => {
    const text = new TextEncoder().encode(`${'x'.repeat(3000)}\r\n--b\r\n${'y'.repeat(3000)}--b--`);
    const blob = blobSource(new Blob([text]));
    // A byte stream hands the memory back as a new ArrayBuffer object (a transfer, no copy): the next window
    // must be read into exactly that buffer, never into a new one.
    let reads = 0;
    let reused = 0;
    let last: ArrayBufferLike | undefined;
    const counting: ByteSource = {
      size: blob.size,
      read: (offset, length) => blob.read(offset, length),
      readInto: async (offset, into) => {
        reads++;
        if (into.buffer === last) reused++;
        const window = await blob.readInto!(offset, into);
        last = window.buffer;
        return window;
      },
    };
    const scan = new WindowedText(counting, 0, text.length, 256);
    const latin1 = new TextDecoder('latin1').decode(text);
    for (const [needle, from] of [['--b', 0], ['--b--', 0], ['--b', 3010], ['zz', 0]] as const) expect(await scan.indexOf(needle, from)).toBe(latin1.indexOf(needle, from));
    expect(reads).toBeGreaterThan(20);
    expect(reused).toBe(reads - 1);
  });

  it('streams a range in chunks of the given size', async () => {
    const chunks: number[] = [];
    const reader = rangeStream({ source: blobSource(new Blob([data])), start: 100, end: 4100 }, 1024).getReader();
    const collected: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value.length);
      collected.push(next.value);
    }
    expect(chunks).toEqual([1024, 1024, 1024, 928]);
    expect(Buffer.concat(collected).equals(Buffer.from(data.subarray(100, 4100)))).toBe(true);
  });

  it('a source shorter than it said is an error, never a silent cut', async () => {
    const liar = { size: 100, read: async (offset: number, length: number) => data.subarray(offset, Math.min(50, offset + length)) };
    const failure = await readAll(rangeStream({ source: liar, start: 0, end: 100 }, 10)).catch((error: unknown) => error);
    expect(isSigillError(failure) && failure.code).toBe('MALFORMED_MIME');
  });
});
