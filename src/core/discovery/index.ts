/**
 * Key discovery: WKD, keys.openpgp.org (VKS), Autocrypt headers and keys attached to received mail.
 * Platform-neutral: `fetch` and the clock are injected. Every key found is a candidate, judged
 * (KEY-BAD) and reduced to what concerns the address; `decideDiscoveredKey` (KEY-SWAP) tells the
 * keyring what to do with it.
 */
export type { DiscoveredKey, DiscoveryProblem, DiscoverySourceName, DiscoverySource, DiscoveryOptions, DiscoveryResult, NetworkSourceOptions, RejectedKey } from './types.ts';
export { DEFAULT_LOOKUP_TIMEOUT_MS, DEFAULT_MAX_KEY_BYTES } from './types.ts';
export { zBase32Encode } from './z-base-32.ts';
export { fetchKeyData, type KeyFetchOutcome, type KeyFetchPolicy } from './http.ts';
export { examineKeyData, MAX_KEYS_PER_ANSWER, type ExamineContext, type ExaminedKeys } from './candidates.ts';
export { createWkdSource, wkdUrls, type WkdUrls } from './wkd.ts';
export { createVksSource, DEFAULT_VKS_URL, type VksSource, type VksSourceOptions } from './vks.ts';
export { autocryptCandidates, autocryptFieldValues, parseAutocryptHeader, parseAutocryptHeaders, type AutocryptHeader, type AutocryptInput, type AutocryptParseResult } from './autocrypt.ts';
export { attachedKeyCandidates, type AttachedKeyInput } from './attachments.ts';
export { decideDiscoveredKey, keyRefreshDue, KEY_REFRESH_INTERVAL_MS, type HeldKey, type KeySwapWarning, type KeyRefreshDecision, type KeyRefreshInput, type KeySwapAcceptance, type KeySwapDecision, type KeySwapInput } from './key-swap.ts';
export { discoverKeys } from './lookup.ts';
