/**
 * What Thunderbird provides to the core (the seams of src/core/platform.ts). Node's counterparts are
 * in src/platform/node/index.ts. Extension code gets platform services from here, and the core only
 * through src/core/index.ts.
 *
 * | seam                  | Thunderbird implementation                                               |
 * |-----------------------|--------------------------------------------------------------------------|
 * | PlaintextSink         | `extensionSink`: in memory, bounded by a size limit (plaintext-sink.ts)  |
 * | CfbDecryptorFactory   | `extensionCfb`: none, the core's @noble default (cfb.ts explains why)    |
 * | Clock                 | `systemClock` of the core                                                |
 * | Fetch                 | `extensionFetch`: the background's global `fetch`                        |
 * | KeyValueStorage       | storage.local (arrives with the keyring)                                 |
 */
import { systemClock, type Fetch } from '../../src/core/index.ts';

export { extensionSink, defaultPlaintextLimit, type ExtensionSinkOptions } from './plaintext-sink.ts';
export { extensionCfb } from './cfb.ts';

export const extensionClock = systemClock;

/** The background's fetch, bound to its global so it can be passed around as a plain function. */
export const extensionFetch: Fetch = (input, init) => fetch(input, init);
