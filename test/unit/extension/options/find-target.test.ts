// The options page's `#key=<fingerprint|address>` target (the compose popup's "Open key"): parsing and
// what it opens, with the keyring's answers supplied by the test.
import { describe, expect, it } from 'vitest';
import { keyTarget, openKeyTarget, type KeyTargetActions } from '../../../../extension/options/find-target.ts';

const V4 = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';
const V6 = 'AB'.repeat(32);

describe('#key= target', () => {
  it('parses fingerprints (v4, v6, grouped, lower-case) and addresses; anything else is no target', () => {
    expect(keyTarget(`#key=${V4}`)).toEqual({ fingerprint: V4 });
    expect(keyTarget(`#key=${encodeURIComponent(V4.toLowerCase().replace(/(.{4})/g, '$1 '))}`)).toEqual({ fingerprint: V4 });
    expect(keyTarget(`#key=${V6}`)).toEqual({ fingerprint: V6 });
    expect(keyTarget(`#key=${encodeURIComponent('Bob@Sigill.test')}`)).toEqual({ address: 'bob@sigill.test' });
    for (const hash of ['', '#', '#keys', '#key=', '#key=ABCD', '#key=%E0%A4%A', '#key=bob', '#key=<a@b>', `#other=${V4}`]) expect(keyTarget(hash)).toBeUndefined();
  });

  function actions(keys: Record<string, string>) {
    const done: string[] = [];
    const table: KeyTargetActions = {
      has: async (fingerprint) => Object.values(keys).includes(fingerprint),
      keyFor: async (address) => keys[address],
      showKey: async (fingerprint) => void done.push(`show ${fingerprint}`),
      prefillFind: (address) => void done.push(`find ${address}`),
    };
    return { table, done };
  }

  it('opens a held key\'s details by fingerprint or address, and "Find a key" for an address without one', async () => {
    const { table, done } = actions({ 'bob@sigill.test': V4 });
    expect(await openKeyTarget({ fingerprint: V4 }, table)).toBe('key');
    expect(await openKeyTarget({ address: 'bob@sigill.test' }, table)).toBe('key');
    expect(await openKeyTarget({ address: 'carol@sigill.test' }, table)).toBe('find');
    expect(await openKeyTarget({ fingerprint: V6 }, table)).toBe('none');
    expect(await openKeyTarget(undefined, table)).toBe('none');
    expect(done).toEqual([`show ${V4}`, `show ${V4}`, 'find carol@sigill.test']);
  });
});
