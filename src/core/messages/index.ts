/** The messages API: encrypt, decrypt, sign, verify, armor. See types.ts for the shared types. */
export type { CfbDecipher, CfbDecryptorFactory, CfbEncipher, CfbEncryptorFactory, DataInput, DecryptResult, IncrementalHash, PlaintextSink, SessionKey, Verification } from './types.ts';
export { memorySink, type MemorySink, type MemorySinkOptions } from './sink.ts';
export { encrypt, encryptWithSessionKey, type EncryptOptions, type EncryptResult } from './encrypt.ts';
export { decrypt, type DecryptOptions } from './decrypt.ts';
export { defaultDecryptLimits, type DecryptLimits } from './session-keys.ts';
export { sign, verifyDetached, verifyInline, detachInline, type DetachedParts, type SignOptions, type VerifyDetachedOptions, type VerifyInlineOptions } from './sign.ts';
export { armor, dearmor, type ArmorType } from './armor.ts';
export { toStream, readAll } from './streams.ts';
export { useStreamHashes } from '../openpgp-internals.ts';
