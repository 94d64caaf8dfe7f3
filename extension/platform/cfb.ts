/**
 * SEIPDv1 (RFC 9580 §5.13.1) primitives in Thunderbird, compiled rather than interpreted: AES-CFB from
 * the OpenPGP.js team's asm.js AES (@openpgp/asmcrypto.js; SpiderMonkey compiles asm.js with its
 * WebAssembly compilers) and the MDC's SHA-1 from hash-wasm (WebAssembly, hashes.ts). WebCrypto cannot
 * do either: it has AES-CBC/CTR/GCM but not CFB, and its SHA-1 digests whole buffers only, while the
 * streaming MDC check needs an incremental hash. Without this factory the core falls back to its
 * pure-JavaScript default (@noble/ciphers, @noble/hashes), 10–30 times slower where JavaScript runs
 * without the baseline JIT (Debian's Thunderbird). SEIPDv2 (AEAD) is unaffected: OpenPGP.js runs it
 * on WebCrypto's AES-GCM.
 */
import { AES } from '@openpgp/asmcrypto.js/aes/aes.js';
import type { CfbDecryptorFactory } from '../../src/core/index.ts';
import { wasmHash } from './hashes.ts';

const keySizes: Record<string, number> = { aes128: 16, aes192: 24, aes256: 32 };

export const extensionCfb: CfbDecryptorFactory = {
  decipher({ algorithm, key, iv }) {
    if (keySizes[algorithm] !== key.length) return undefined;
    // What asmcrypto's own AES_CFB class does: CFB mode without padding (the 'padding' property
    // deleted). Its process step keeps a partial block for the next call; finish decrypts the rest.
    const aes = new AES(key, iv, true, 'CFB');
    delete aes.padding;
    return {
      update: (chunk) => aes.AES_Decrypt_process(chunk),
      final: () => aes.AES_Decrypt_finish(),
    };
  },
  sha1: () => wasmHash('sha1'),
};
