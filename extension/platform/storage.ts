/**
 * `KeyValueStorage` over Thunderbird's `storage.local` (IndexedDB in the profile; structured clones of
 * JSON-serialisable values).
 */
import type { KeyValueStorage } from '../../src/core/index.ts';
import type { BrowserApi } from './browser.ts';

export function storageLocal(api: Pick<BrowserApi, 'storage'>): KeyValueStorage {
  const local = api.storage.local;
  return {
    get: (keys) => local.get(keys),
    set: (items) => local.set(items),
    remove: (keys) => local.remove(keys),
  };
}
