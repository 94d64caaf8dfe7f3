/**
 * SEIPDv1 (RFC 9580 §5.13.1) primitives in Thunderbird: none injected, so the core uses its audited
 * pure-JavaScript default (@noble/ciphers AES-CFB, @noble/hashes SHA-1). The faster native route of
 * Node has no counterpart here: WebCrypto offers AES-CBC/CTR/GCM but not CFB, and its SHA-1 digests
 * whole buffers only, while the streaming MDC check needs an incremental hash. SEIPDv2 (AEAD) is
 * unaffected: OpenPGP.js runs it on WebCrypto's AES-GCM.
 */
import type { CfbDecryptorFactory } from '../../src/core/index.ts';

export const extensionCfb: CfbDecryptorFactory | undefined = undefined;
