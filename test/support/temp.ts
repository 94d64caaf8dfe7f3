/** Throwaway directories for tests: created under the system temp dir, removed by `dispose()`. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  /** Writes `name` in the directory and returns its path. */
  file(name: string, content: Buffer | string): Promise<string>;
  dispose(): Promise<void>;
}

export async function tempDir(prefix = 'sigill-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async file(name, content) {
      const target = join(path, name);
      await writeFile(target, content);
      return target;
    },
    dispose: () => rm(path, { recursive: true, force: true }),
  };
}
