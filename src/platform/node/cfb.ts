/**
 * node:crypto (OpenSSL) primitives for streaming SEIPDv1 decryption (RFC 9580 §5.13.1): AES in
 * CFB mode with a full-block shift (OpenSSL's `aes-*-cfb` is CFB128) and SHA-1 for the MDC.
 * Several times faster than the pure-JS default of src/core (@noble/ciphers, @noble/hashes).
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import type { CfbDecryptorFactory, CfbEncryptorFactory, IncrementalHash } from '../../core/index.ts';

const ciphers: Record<string, string> = { aes128: 'aes-128-cfb', aes192: 'aes-192-cfb', aes256: 'aes-256-cfb' };

export const nodeCfb: CfbDecryptorFactory = {
  decipher({ algorithm, key, iv }) {
    const name = ciphers[algorithm];
    if (name === undefined) return undefined;
    const decipher = createDecipheriv(name, key, iv);
    return {
      // CFB is a stream mode in OpenSSL: output length equals input length, nothing is held back.
      update: (chunk) => decipher.update(chunk),
      final: () => decipher.final(),
    };
  },
  sha1: nodeSha1,
};

function nodeSha1(): IncrementalHash {
  const hash = createHash('sha1');
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest(),
  };
}

/** The same for writing SEIPDv1 (src/core/messages/seipd-v1-write.ts). */
export const nodeCfbEncryptor: CfbEncryptorFactory = {
  encipher({ algorithm, key, iv }) {
    const name = ciphers[algorithm];
    if (name === undefined) return undefined;
    const cipher = createCipheriv(name, key, iv);
    // Stream mode: every update returns as many octets as it was given (no final block to flush).
    return { update: (chunk) => cipher.update(chunk) };
  },
  sha1: nodeSha1,
};
