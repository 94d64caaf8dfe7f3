import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAll } from '../../../src/core/index.ts';
import { spillingSink, unnamedFileSink } from '../../../src/platform/node/index.ts';
import { regularFileDirectory } from '../../../src/cli/sop/plaintext-output.ts';
import { randomBytes, sameBytes } from '../../unit/core/messages/helpers.ts';

const directory = mkdtempSync(join(tmpdir(), 'sigill-unnamed-test-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** This process's open files that were created in the test directory and have no name any more. */
function unnamedFiles(): { path: string; size: number; mode: number }[] {
  const found: { path: string; size: number; mode: number }[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (!target.startsWith(`${directory}/`) || !target.endsWith(' (deleted)')) continue;
    const stats = statSync(`/proc/self/fd/${fd}`);
    found.push({ path: target, size: stats.size, mode: stats.mode & 0o777 });
  }
  return found;
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

describe('unnamedFileSink', () => {
  it('holds the plaintext in a 0600 file without a name, readable only after commit, gone after reading', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5, 11);
    const sink = unnamedFileSink({ directory, readChunk: 100_000 });
    expect(readdirSync(directory)).toEqual([]);
    // Small writes (GnuPG's 8 KiB partial bodies) and large ones, through a recycled buffer.
    await writeReusing(sink, data.subarray(0, 1_000_000), 8192);
    await writeReusing(sink, data.subarray(1_000_000), 700_001);
    expect(() => sink.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }) as Error);
    await sink.commit();
    expect(readdirSync(directory)).toEqual([]);
    const [file, ...others] = unnamedFiles();
    expect(others).toEqual([]);
    expect(file).toMatchObject({ size: data.length, mode: 0o600 });
    expect(sameBytes(await readAll(sink.read()), data)).toBe(true);
    expect(() => sink.read()).toThrow();
    expect(sink.state).toBe('disposed');
    expect(unnamedFiles()).toEqual([]);
  });

  it('abort and dispose close the file; nothing can be read; the limit holds', async () => {
    const aborted = unnamedFileSink({ directory });
    await aborted.write(randomBytes(300_000, 12));
    expect(unnamedFiles()).toHaveLength(1);
    await aborted.abort(new Error('MDC mismatch'));
    expect(aborted.state).toBe('aborted');
    expect(() => aborted.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }) as Error);
    expect(unnamedFiles()).toEqual([]);
    const disposed = unnamedFileSink({ directory });
    await disposed.write(randomBytes(5000, 13));
    await disposed.commit();
    await disposed.dispose();
    expect(unnamedFiles()).toEqual([]);
    const limited = unnamedFileSink({ directory, limit: 2000 });
    await limited.write(randomBytes(1500, 14));
    await expect(limited.write(randomBytes(600, 15))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await limited.abort(undefined);
    expect(unnamedFiles()).toEqual([]);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('is what a spillingSink spills to when given, after the plaintext held in memory', async () => {
    const data = randomBytes(500_000, 16);
    const sink = spillingSink({ memoryLimit: 100_000, spill: async () => unnamedFileSink({ directory }) });
    await writeReusing(sink, data, 30_000);
    expect(sink.spilled).toBe(true);
    await sink.commit();
    expect(unnamedFiles()).toMatchObject([{ size: data.length }]);
    expect(sameBytes(await readAll(sink.read()), data)).toBe(true);
    expect(unnamedFiles()).toEqual([]);
  });

  it('copies itself to a file descriptor once committed (the CLI writes stdout so), through a spillingSink only when spilled there', async () => {
    const data = randomBytes(700_001, 17);
    const target = join(directory, 'copied.out');
    const sink = spillingSink({ memoryLimit: 1000, spill: async () => unnamedFileSink({ directory, readChunk: 65_536 }) });
    await sink.write(data);
    const fd = openSync(target, 'w');
    try {
      expect(() => sink.copyTo(fd)).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }) as Error);
      await sink.commit();
      expect(sink.copyTo(fd)).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(sameBytes(readFileSync(target), data)).toBe(true);
    expect(sink.state).toBe('disposed');
    expect(() => sink.read()).toThrow();
    expect(unnamedFiles()).toEqual([]);
    rmSync(target);
    // Held in memory, or spilled to the encrypted file: no copyTo, read() as before.
    const small = spillingSink({ memoryLimit: 10_000, spill: async () => unnamedFileSink({ directory }) });
    await small.write(data.subarray(0, 5000));
    await small.commit();
    expect(small.copyTo(1)).toBe(false);
    expect(sameBytes(await readAll(small.read()), data.subarray(0, 5000))).toBe(true);
    const encrypted = spillingSink({ memoryLimit: 1000, directory });
    await encrypted.write(data.subarray(0, 5000));
    await encrypted.commit();
    expect(encrypted.copyTo(1)).toBe(false);
    expect(sameBytes(await readAll(encrypted.read()), data.subarray(0, 5000))).toBe(true);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('cannot be created where no file can be (the CLI then uses the encrypted file)', () => {
    expect(() => unnamedFileSink({ directory: join(directory, 'missing') })).toThrow();
    expect(readdirSync(directory)).toEqual([]);
  });
});

describe('regularFileDirectory (where the CLI puts the unnamed file)', () => {
  it('is the directory of a regular file, undefined for anything else', () => {
    const path = join(directory, 'output.txt');
    const fd = openSync(path, 'w');
    try {
      expect(regularFileDirectory(fd)).toBe(directory);
    } finally {
      closeSync(fd);
      rmSync(path);
    }
    const devNull = openSync('/dev/null', 'w');
    try {
      expect(regularFileDirectory(devNull)).toBeUndefined();
    } finally {
      closeSync(devNull);
    }
    // Deleted since it was opened: its old directory is not trusted.
    const gone = join(directory, 'gone.txt');
    const goneFd = openSync(gone, 'w');
    rmSync(gone);
    try {
      expect(regularFileDirectory(goneFd)).toBeUndefined();
    } finally {
      closeSync(goneFd);
    }
  });
});
