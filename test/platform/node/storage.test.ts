import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyValueStorage } from '../../../src/core/index.ts';
import { jsonFileStorage, memoryStorage } from '../../../src/platform/node/index.ts';
import { tempDir, type TempDir } from '../../support/temp.ts';

let scratch: TempDir;
let directory: string;
beforeEach(async () => {
  scratch = await tempDir('sigill-storage-');
  directory = scratch.path;
});
afterEach(async () => {
  await scratch.dispose();
});

const kinds: [string, () => KeyValueStorage][] = [
  ['memoryStorage', () => memoryStorage()],
  ['jsonFileStorage', () => jsonFileStorage({ path: join(directory, 'store.json') })],
];

describe.each(kinds)('%s behaves like storage.local', (_name, make) => {
  it('gets what was set, leaves missing keys out, removes', async () => {
    const storage = make();
    expect(await storage.get(['a'])).toEqual({});
    await storage.set({ a: { fingerprints: ['AB12'] }, b: 2 });
    await storage.set({ b: 3 });
    expect(await storage.get(['a', 'b', 'c'])).toEqual({ a: { fingerprints: ['AB12'] }, b: 3 });
    await storage.remove(['a', 'c']);
    expect(await storage.get(['a', 'b'])).toEqual({ b: 3 });
  });

  it('copies values in and out', async () => {
    const storage = make();
    const value = { list: [1] };
    await storage.set({ value });
    value.list.push(2);
    const first = await storage.get(['value']);
    (first.value as { list: number[] }).list.push(3);
    expect(await storage.get(['value'])).toEqual({ value: { list: [1] } });
  });

  it('refuses values that are not JSON-serialisable and keeps the old ones', async () => {
    const storage = make();
    await storage.set({ kept: 'yes' });
    await expect(storage.set({ big: 1n })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await storage.get(['kept', 'big'])).toEqual({ kept: 'yes' });
  });

  it('applies concurrent changes in call order', async () => {
    const storage = make();
    await Promise.all([storage.set({ n: 1 }), storage.set({ n: 2 }), storage.remove(['n']), storage.set({ n: 4 })]);
    expect(await storage.get(['n'])).toEqual({ n: 4 });
  });
});

describe('jsonFileStorage', () => {
  it('persists across instances in a 0600 file and leaves no temporary file', async () => {
    const path = join(directory, 'nested', 'store.json');
    await jsonFileStorage({ path }).set({ key: 'value' });
    expect(await jsonFileStorage({ path }).get(['key'])).toEqual({ key: 'value' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ key: 'value' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(directory, 'nested'))).toEqual(['store.json']);
  });

  it('reports a damaged file (BAD_INPUT) and never overwrites it', async () => {
    for (const content of ['{"half":', '[1,2]', 'null']) {
      const path = join(directory, 'damaged.json');
      await writeFile(path, content);
      const storage = jsonFileStorage({ path });
      await expect(storage.get(['half'])).rejects.toMatchObject({ code: 'BAD_INPUT' });
      await expect(storage.set({ other: 1 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
      expect(await readFile(path, 'utf8')).toBe(content);
    }
  });
});
