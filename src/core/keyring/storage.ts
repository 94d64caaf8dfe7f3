/**
 * The storage the keyring persists through, injected so that the same code runs over Thunderbird's
 * `storage.local` and, in Node, over memory or a JSON file.
 */

import type { KeyValueStorage } from '../platform.ts';

export type { KeyValueStorage };

/**
 * A real, in-memory `KeyValueStorage`: values are copied through JSON on the way in and out, as
 * `storage.local` copies them, so a caller can never change stored data through a kept reference.
 */
export class MemoryStorage implements KeyValueStorage {
  readonly #items = new Map<string, string>();

  async get(keys: string[]): Promise<Record<string, unknown>> {
    const result: Record<string, unknown> = {};
    for (const key of keys) {
      const json = this.#items.get(key);
      if (json !== undefined) result[key] = JSON.parse(json) as unknown;
    }
    return result;
  }

  async set(items: Record<string, unknown>): Promise<void> {
    // Serialise everything first: one item that cannot be stored must not leave the others half-written.
    const serialised = Object.entries(items).map(([key, value]) => [key, JSON.stringify(value)] as const);
    for (const [key, json] of serialised) {
      if (json === undefined) throw new TypeError(`storage value for ${key} is not JSON-serialisable`);
    }
    for (const [key, json] of serialised) this.#items.set(key, json);
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) this.#items.delete(key);
  }

  /** Every stored item as its JSON text, for tests that inspect what is really at rest. */
  rawEntries(): Array<[string, string]> {
    return [...this.#items.entries()];
  }

  /** The stored data as one JSON-serialisable object (e.g. to save or reload a whole keyring). */
  snapshot(): Record<string, unknown> {
    return Object.fromEntries([...this.#items.entries()].map(([key, json]) => [key, JSON.parse(json) as unknown]));
  }

  static from(snapshot: Record<string, unknown>): MemoryStorage {
    const storage = new MemoryStorage();
    for (const [key, value] of Object.entries(snapshot)) storage.#items.set(key, JSON.stringify(value));
    return storage;
  }
}
