/**
 * Keys: generate, read, judge, protect, revoke, export. Keys are OpenPGP.js `PublicKey` / `PrivateKey`
 * objects; every failure is a `SigillError`.
 */
export { generateKey, keyProfiles, type GenerateKeyInput, type GeneratedKey, type KeyProfile } from './generate.ts';
export { readKeys, readCertificates, readSecretKeys } from './read.ts';
export { keyStatus, assertUsable, describeKey, algorithmName, type KeyStatus, type KeyDateOptions } from './status.ts';
export { formatFingerprint } from './fingerprint.ts';
export { unlockKey, lockKey, changePassphrase, type ChangePassphraseOptions } from './protect.ts';
export { revokeKey, applyRevocationCertificate, type RevokeKeyOptions, type RevocationReason } from './revoke.ts';
export { exportKey, extractCertificate, type ExportKeyOptions } from './export.ts';
export { addressOfUserID, validateUserID, validateUserIDs, MAX_USER_ID_LENGTH } from './user-id.ts';
export { clearUnlockedKey, copyPrivateKey, isUnlocked, type AnyKey } from './internal.ts';
