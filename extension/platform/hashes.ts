/**
 * Incremental hashes for Thunderbird from hash-wasm (WebAssembly builds of SHA-1 and SHA-2): the
 * streamed data of signatures (installed into the core with `useStreamHashes`, see index.ts) and the
 * SEIPDv1 MDC (cfb.ts). Debian's Thunderbird runs JavaScript without the baseline JIT, which makes
 * OpenPGP.js's pure-JavaScript hashing 10–30 times slower than in Node; WebAssembly has its own
 * compilers, on under Debian's prefs (`javascript.options.wasm_baselinejit`). WebCrypto's digest
 * cannot replace it: it hashes whole buffers only, and these hashes run over streams.
 */
import { createSHA1, createSHA224, createSHA256, createSHA384, createSHA512, type IHasher } from 'hash-wasm';
import type { IncrementalHash, StreamHashAlgorithm, StreamHashFactory } from '../../src/core/index.ts';

const constructors: Record<StreamHashAlgorithm, () => Promise<IHasher>> = {
  sha1: createSHA1,
  sha224: createSHA224,
  sha256: createSHA256,
  sha384: createSHA384,
  sha512: createSHA512,
};

/** A fresh hash-wasm hasher (its own WebAssembly instance; the compiled module is shared). */
export async function wasmHash(algorithm: StreamHashAlgorithm): Promise<IncrementalHash> {
  const hasher = await constructors[algorithm]();
  hasher.init();
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => hasher.digest('binary'),
  };
}

/**
 * The factory for `useStreamHashes`. If WebAssembly cannot start (a profile with it switched off),
 * it answers undefined and OpenPGP.js's own hash runs: slower, never wrong.
 */
export const extensionStreamHashes: StreamHashFactory = (algorithm) => wasmHash(algorithm).catch(() => undefined);
