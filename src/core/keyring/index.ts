/**
 * The keyring: own secret keys and correspondents' certificates with acceptance states, lookups by
 * address, unlock cache and settings, over an injected `KeyValueStorage`.
 */
export { MemoryStorage } from './storage.ts';
export {
  acceptanceStates,
  addressStatusMessages,
  type Acceptance,
  type AddressKeyStatus,
  type AddressLookup,
  type KeyCandidate,
  type KeyRecord,
  type KeyUseStatus,
} from './types.ts';
export { normaliseAddress, keyUseStatus } from './metadata.ts';
export { UnlockCache, DEFAULT_UNLOCK_LIFETIME_MS, type UnlockCacheOptions } from './unlock-cache.ts';
export {
  Keyring,
  assertProtected,
  backupFileText,
  DEFAULT_KEY_LIFETIME_SECONDS,
  KEYRING_INDEX_KEY,
  KEYRING_SCHEMA_VERSION,
  keyStorageKey,
  metadataShardKey,
  storedKeyRecords,
  type GenerateOwnKeyInput,
  type GeneratedOwnKey,
  type ImportFailure,
  type ImportOutcome,
  type ImportReport,
  type KeyringBackup,
  type KeyringOptions,
  type RevokeOwnKeyInput,
  type SearchOptions,
  type SearchResult,
} from './keyring.ts';
export {
  defaultSettings,
  loadSettings,
  saveSettings,
  validateSettings,
  MAX_UNLOCK_MINUTES,
  SETTINGS_KEY,
  SETTINGS_SCHEMA_VERSION,
  type Settings,
  networkLookupSources,
  type NetworkLookupSource,
  sendFormats,
  type SendFormat,
  MAX_OUTER_SUBJECT_LENGTH,
} from './settings.ts';
export {
  KeyDiscovery,
  DISCOVERY_STATE_KEY,
  DISCOVERY_STATE_VERSION,
  type CandidateOutcome,
  type DiscoveredFrom,
  type KeyChangeWarning,
  type KeyDiscoveryOptions,
  type RefreshReport,
  type ResolveWarningInput,
  type SourceOutcome,
  type StorePolicy,
} from './discovery.ts';
