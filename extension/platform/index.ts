/**
 * What Thunderbird provides to the core (the seams of src/core/platform.ts). Node's counterparts are
 * in src/platform/node/index.ts. Extension code gets platform services from here, and the core only
 * through src/core/index.ts.
 *
 * | seam                  | Thunderbird implementation                                               |
 * |-----------------------|--------------------------------------------------------------------------|
 * | PlaintextSink         | `extensionSink`: in memory, bounded by a size limit (plaintext-sink.ts)  |
 * | CfbDecryptorFactory   | `extensionCfb`: OpenSSL's AES-CFB as WebAssembly, WebAssembly SHA-1      |
 * |                       | (cfb.ts), installed into the core when this module is imported (below)   |
 * | CfbEncryptorFactory   | `extensionCfbEncryptor`: the same for writing SEIPDv1, installed too     |
 * | StreamHashFactory     | `extensionStreamHashes`: WebAssembly SHA-1/SHA-2 (hashes.ts), installed  |
 * |                       | into the core when this module is imported (see below)                   |
 * | Clock                 | `systemClock` of the core                                                |
 * | Fetch                 | `extensionFetch`: the background's global `fetch`                        |
 * | KeyValueStorage       | storage.local (arrives with the keyring)                                 |
 */
import { systemClock, useCfb, useStreamHashes, type Fetch } from '../../src/core/index.ts';
import { extensionCfb, extensionCfbEncryptor } from './cfb.ts';
import { extensionStreamHashes } from './hashes.ts';

export { extensionSink, defaultPlaintextLimit, type ExtensionSinkOptions } from './plaintext-sink.ts';
export { extensionCfb, extensionCfbEncryptor, WasmAesCfb } from './cfb.ts';
export { extensionStreamHashes, wasmHash } from './hashes.ts';

// Signature hashing goes through OpenPGP.js, which has no per-call option for it: every extension page
// that gets its platform from here signs and verifies with the WebAssembly hashes (hashes.ts says why).
useStreamHashes(extensionStreamHashes);
// Likewise SEIPDv1's AES-CFB and SHA-1, reading and writing (cfb.ts says why): every path of the core
// that decrypts or encrypts SEIPDv1 in the extension runs them without passing them along.
useCfb({ decryptor: extensionCfb, encryptor: extensionCfbEncryptor });

export const extensionClock = systemClock;

/** The background's fetch, bound to its global so it can be passed around as a plain function. */
export const extensionFetch: Fetch = (input, init) => fetch(input, init);
