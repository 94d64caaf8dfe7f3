/**
 * SEIPDv1 (RFC 9580 §5.13.1) primitives in Thunderbird. The MDC's SHA-1 comes from hash-wasm
 * (WebAssembly, hashes.ts): WebCrypto's SHA-1 digests whole buffers only, while the streaming MDC check
 * needs an incremental hash. AES-CFB stays the core's default (@noble/ciphers, the code OpenPGP.js itself
 * uses in browsers): WebCrypto has no CFB, no maintained WebAssembly AES-CFB exists in the registry, and the
 * asm.js AES of @openpgp/asmcrypto.js gains nothing where it would matter — Debian's Thunderbird runs with
 * the asm.js optimizer off (the `asmjs` runtime option), so it runs as plain JavaScript there, measured
 * within noise of @noble/ciphers, and makes the engine print deprecation warnings at load. SEIPDv2 (AEAD)
 * is unaffected: OpenPGP.js runs it on WebCrypto's AES-GCM.
 */
import type { CfbDecryptorFactory } from '../../src/core/index.ts';
import { wasmHash } from './hashes.ts';

export const extensionCfb: CfbDecryptorFactory = {
  // undefined: the core's default AES-CFB (see above).
  decipher: () => undefined,
  sha1: () => wasmHash('sha1'),
};
