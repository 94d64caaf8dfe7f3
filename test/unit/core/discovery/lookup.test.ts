/** discoverKeys: every enabled source at once, one result each; a failing source does not hide the others. */
import { describe, expect, it } from 'vitest';
import { discoverKeys, type DiscoverySource, type DiscoveryResult } from '../../../../src/core/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';

// Sources here are small in-memory stand-ins: the network sources have their own tests against real servers.
function answering(name: DiscoverySource['name'], enabled = true): DiscoverySource & { asked: string[] } {
  const asked: string[] = [];
  return {
    name,
    enabled,
    asked,
    async lookup(address): Promise<DiscoveryResult> {
      asked.push(address);
      return { source: name, address, keys: [], rejected: [], attempts: [{ url: `${name}:${address}`, outcome: 'not found' }] };
    },
  };
}

describe('discoverKeys', () => {
  it('asks the enabled sources with the normalised address, in order', async () => {
    const wkd = answering('wkd');
    const vks = answering('vks', false);
    const results = await discoverKeys('Bob <Bob@Sigill.TEST>', [wkd, vks]);
    expect(results.map((result) => result.source)).toEqual(['wkd']);
    expect(wkd.asked).toEqual(['bob@sigill.test']);
    expect(vks.asked).toEqual([]);
  });

  it('turns a source that throws into a result with an error', async () => {
    const broken: DiscoverySource = {
      name: 'vks',
      enabled: true,
      lookup: () => Promise.reject(new Error('boom')),
    };
    const results = await discoverKeys('bob@sigill.test', [answering('wkd'), broken]);
    expect(results[1]).toMatchObject({ source: 'vks', keys: [], error: { code: 'INTERNAL', message: expect.stringContaining('boom') } });
  });

  it('refuses what is not an address before asking anyone', async () => {
    const wkd = answering('wkd');
    await expectSigillError(discoverKeys('not an address', [wkd]), 'BAD_INPUT');
    expect(wkd.asked).toEqual([]);
  });
});
