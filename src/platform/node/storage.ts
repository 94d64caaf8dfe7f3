/**
 * Node's KeyValueStorage (the seam declared in src/core/platform.ts): a JSON file for the CLI, and an
 * in-memory one for tests and one-shot runs. Both behave like Thunderbird's storage.local where callers
 * can tell: values are copied in and out (a caller's later change to an object never reaches the store),
 * only JSON-serialisable values are taken, and missing keys are simply absent from `get`.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SigillError, type KeyValueStorage } from '../../core/index.ts';

/** A copy through JSON: refuses what storage.local could not keep either (functions, cycles, BigInt). */
function jsonCopy(items: Record<string, unknown>): Record<string, unknown> {
  let text: string;
  try {
    text = JSON.stringify(items);
  } catch (error) {
    throw new SigillError('BAD_INPUT', { detail: 'storage values must be JSON-serialisable', cause: error });
  }
  return JSON.parse(text) as Record<string, unknown>;
}

function pick(data: Map<string, unknown>, keys: string[]): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const key of keys) if (data.has(key)) found[key] = data.get(key);
  return jsonCopy(found);
}

/** A storage that lives as long as the object: for tests and one-shot commands. */
export function memoryStorage(initial: Record<string, unknown> = {}): KeyValueStorage {
  const data = new Map(Object.entries(jsonCopy(initial)));
  return {
    async get(keys) {
      return pick(data, keys);
    },
    async set(items) {
      for (const [key, value] of Object.entries(jsonCopy(items))) data.set(key, value);
    },
    async remove(keys) {
      for (const key of keys) data.delete(key);
    },
  };
}

export interface JsonFileStorageOptions {
  /** The JSON file (an object of key → value); created on the first write, with mode 0600. */
  path: string;
}

/**
 * A storage kept in one JSON file. Every change rewrites the file atomically (a temporary file in the
 * same directory, fsynced, renamed over the old one, then the directory fsynced), so a crash leaves the
 * old or the new content, never half of one. Changes are applied one at a time in call order. A file
 * that is not a JSON object is reported (BAD_INPUT) and never overwritten.
 */
export function jsonFileStorage(options: JsonFileStorageOptions): KeyValueStorage {
  const { path } = options;
  let loaded: Promise<Map<string, unknown>> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const load = (): Promise<Map<string, unknown>> => {
    loaded ??= readFile(path, 'utf8').then(
      (text) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          throw new SigillError('BAD_INPUT', { detail: `${path} is not valid JSON`, cause: error });
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new SigillError('BAD_INPUT', { detail: `${path} does not hold a JSON object` });
        }
        return new Map(Object.entries(parsed as Record<string, unknown>));
      },
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return new Map<string, unknown>();
        throw error;
      },
    );
    // A failed load is retried on the next call rather than remembered.
    loaded.catch(() => (loaded = undefined));
    return loaded;
  };

  const write = async (data: Map<string, unknown>): Promise<void> => {
    const directory = dirname(path);
    await mkdir(directory, { recursive: true });
    const temporary = join(directory, `.${basename(path)}.${process.pid}.tmp`);
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(Object.fromEntries(data)));
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  };

  /** Runs a change after every earlier one; the in-memory copy changes only once the file did. */
  const change = (apply: (next: Map<string, unknown>) => void): Promise<void> => {
    const run = queue.then(async () => {
      const current = await load();
      const next = new Map(current);
      apply(next);
      await write(next);
      loaded = Promise.resolve(next);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    async get(keys) {
      await queue;
      return pick(await load(), keys);
    },
    set(items) {
      let copy: Record<string, unknown>;
      try {
        copy = jsonCopy(items);
      } catch (error) {
        return Promise.reject(error);
      }
      return change((next) => {
        for (const [key, value] of Object.entries(copy)) next.set(key, value);
      });
    },
    remove(keys) {
      return change((next) => {
        for (const key of keys) next.delete(key);
      });
    },
  };
}
