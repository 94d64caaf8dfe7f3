/**
 * What Node provides to the core (the seams of src/core/platform.ts), for the CLI, the tests and the
 * benchmarks. Thunderbird's counterparts are in extension/platform/index.ts.
 *
 * | seam                  | Node implementation                                                    |
 * |-----------------------|------------------------------------------------------------------------|
 * | PlaintextSink         | `fileSink`: encrypted temporary file, any size (plaintext-sink.ts)     |
 * |                       | `spillingSink`: memory, then that file past a limit (spilling-sink.ts) |
 * |                       | `unnamedFileSink`: unlinked file next to a file output (unnamed-file-sink.ts) |
 * | CfbDecryptorFactory   | `nodeCfb`: OpenSSL's AES-CFB and SHA-1 through node:crypto (cfb.ts)   |
 * | CfbEncryptorFactory   | `nodeCfbEncryptor`: the same for writing SEIPDv1 (cfb.ts)              |
 * | KeyValueStorage       | `jsonFileStorage` (atomic JSON file), `memoryStorage` (storage.ts)     |
 * | Fetch                 | `nodeFetch`: Node's built-in WHATWG fetch                              |
 * | Clock                 | `systemClock` of the core                                              |
 */
import { systemClock, type Fetch } from '../../core/index.ts';

export { fileSink, type FileSink, type FileSinkOptions } from './plaintext-sink.ts';
export { spillingSink, type SpillFile, type SpillingSink, type SpillingSinkOptions } from './spilling-sink.ts';
export { unnamedFileSink, type UnnamedFileSink, type UnnamedFileSinkOptions } from './unnamed-file-sink.ts';
export { nodeCfb, nodeCfbEncryptor } from './cfb.ts';
export { jsonFileStorage, memoryStorage, type JsonFileStorageOptions } from './storage.ts';

/** Node's own fetch (undici), bound so it can be passed around as a plain function. */
export const nodeFetch: Fetch = (input, init) => fetch(input, init);

export const nodeClock = systemClock;
