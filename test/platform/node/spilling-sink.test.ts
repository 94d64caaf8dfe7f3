import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAll } from '../../../src/core/index.ts';
import { spillingSink } from '../../../src/platform/node/index.ts';
import { randomBytes, sameBytes } from '../../unit/core/messages/helpers.ts';

const directory = mkdtempSync(join(tmpdir(), 'sigill-spilling-test-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Every file under the test directory, with its content. */
function filesOnDisk(): Buffer[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)));
}

/** Writes `data` through one reused buffer, as a producer that recycles its chunks does. */
async function writeReusing(sink: { write(chunk: Uint8Array): Promise<void> }, data: Uint8Array, piece: number): Promise<void> {
  const buffer = new Uint8Array(piece);
  for (let at = 0; at < data.length; at += piece) {
    const part = data.subarray(at, at + piece);
    buffer.set(part);
    await sink.write(buffer.subarray(0, part.length));
    buffer.fill(0xee);
  }
}

describe('spillingSink', () => {
  it('keeps a small plaintext in memory only: no file, nothing readable before commit, read once', async () => {
    const data = randomBytes(5000, 1);
    const sink = spillingSink({ memoryLimit: 10_000, directory });
    await writeReusing(sink, data, 700);
    expect(sink.spilled).toBe(false);
    expect(filesOnDisk()).toEqual([]);
    expect(() => sink.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }) as Error);
    await sink.commit();
    expect(sameBytes(await readAll(sink.read()), data)).toBe(true);
    expect(() => sink.read()).toThrow();
    expect(sink.state).toBe('disposed');
  });

  it('past the limit moves everything to the encrypted temporary file, which is gone after reading', async () => {
    const data = randomBytes(300_000, 2);
    const sink = spillingSink({ memoryLimit: 100_000, recordSize: 4096, directory });
    await writeReusing(sink, data, 70_001);
    expect(sink.spilled).toBe(true);
    expect(() => sink.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }) as Error);
    await sink.commit();
    const [file, ...others] = filesOnDisk();
    expect(others).toEqual([]);
    expect(file!.length).toBe(data.length + Math.ceil(data.length / 4096) * 16);
    // Encrypted at rest: no 64-octet run of the plaintext is in the file.
    expect(file!.includes(Buffer.from(data.subarray(1000, 1064)))).toBe(false);
    expect(sameBytes(await readAll(sink.read()), data)).toBe(true);
    expect(filesOnDisk()).toEqual([]);
  });

  it('abort and dispose drop the plaintext in memory and on disk; the limit holds', async () => {
    for (const size of [50, 5000]) {
      const sink = spillingSink({ memoryLimit: 1000, directory });
      await sink.write(randomBytes(size, 3));
      await sink.abort(new Error('MDC mismatch'));
      expect(sink.state).toBe('aborted');
      expect(() => sink.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }) as Error);
      expect(filesOnDisk()).toEqual([]);
    }
    const disposed = spillingSink({ memoryLimit: 1000, directory });
    await disposed.write(randomBytes(5000, 4));
    await disposed.commit();
    await disposed.dispose();
    expect(filesOnDisk()).toEqual([]);
    const limited = spillingSink({ memoryLimit: 1000, limit: 2000, directory });
    await limited.write(randomBytes(1500, 5));
    await expect(limited.write(randomBytes(600, 6))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await limited.abort(undefined);
    expect(filesOnDisk()).toEqual([]);
  });
});
