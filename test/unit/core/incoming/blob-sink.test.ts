import { describe, expect, it } from 'vitest';
import { isSigillError, blobSink } from '../../../../src/core/index.ts';

const chunk = (size: number, fill: number) => new Uint8Array(size).fill(fill);

describe('blobSink (the PlaintextSink contract of platform.ts)', () => {
  it('exposes nothing before commit; small plaintext is one Uint8Array, copied from buffers the producer reuses', async () => {
    const sink = blobSink({ limit: 1000, inMemoryBelow: 100 });
    const reused = chunk(10, 1);
    await sink.write(reused);
    reused.fill(9);
    await sink.write(chunk(5, 2));
    expect(() => sink.result()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
    await sink.commit();
    expect(Array.from(sink.result() as Uint8Array)).toEqual([...Array(10).fill(1), ...Array(5).fill(2)]);
  });

  it('keeps chunks handed over without a copy (handsOver), and copies them otherwise', async () => {
    for (const handsOver of [true, false]) {
      const sink = blobSink({ limit: 64 << 20, inMemoryBelow: 1024, handsOver });
      const chunks = Array.from({ length: 6 }, (_, index) => chunk(300 * 1024, index));
      for (const part of chunks) await sink.write(part);
      // A producer that reuses its buffer (not allowed with handsOver): only the copy is safe from it.
      if (!handsOver) for (const part of chunks) part.fill(0xee);
      await sink.commit();
      const bytes = new Uint8Array(await (sink.result() as Blob).arrayBuffer());
      for (let index = 0; index < 6; index++) expect(bytes[index * 300 * 1024 + 5], `handsOver ${handsOver}`).toBe(index);
    }
  });

  it('large plaintext becomes a Blob with the same bytes in order', async () => {
    const sink = blobSink({ limit: 64 << 20, inMemoryBelow: 1024 });
    for (let index = 0; index < 12; index++) await sink.write(chunk(1 << 20, index));
    await sink.commit();
    const result = sink.result();
    expect(result).toBeInstanceOf(Blob);
    const bytes = new Uint8Array(await (result as Blob).arrayBuffer());
    expect(bytes.length).toBe(12 << 20);
    for (let index = 0; index < 12; index++) expect(bytes[index << 20]).toBe(index);
  });

  it('abort drops everything (also once spilled); more than the limit is TOO_LARGE', async () => {
    const sink = blobSink({ limit: 64 << 20, inMemoryBelow: 10 });
    for (let index = 0; index < 5; index++) await sink.write(chunk(1 << 20, index));
    await sink.abort(new Error('MDC mismatch'));
    expect(() => sink.result()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
    await expect(sink.write(chunk(1, 0))).rejects.toSatisfy((error: unknown) => isSigillError(error));
    const bounded = blobSink({ limit: 100 });
    await expect(bounded.write(chunk(101, 0))).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});
