/**
 * Asks every enabled source for an address at once; one result per source, in the given order.
 * A source that fails answers with its `error`; the others are not affected.
 */
import { parseAddress } from './address.ts';
import { toProblem } from './candidates.ts';
import type { DiscoverySource, DiscoveryOptions, DiscoveryResult } from './types.ts';

export async function discoverKeys(mailbox: string, sources: readonly DiscoverySource[], options: DiscoveryOptions = {}): Promise<DiscoveryResult[]> {
  const { address } = parseAddress(mailbox); // BAD_INPUT before any request
  const enabled = sources.filter((source) => source.enabled);
  return Promise.all(
    enabled.map(async (source): Promise<DiscoveryResult> => {
      try {
        return await source.lookup(address, options);
      } catch (error) {
        return { source: source.name, address, keys: [], rejected: [], error: toProblem(error), attempts: [] };
      }
    }),
  );
}
