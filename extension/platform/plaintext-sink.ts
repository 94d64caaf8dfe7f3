/**
 * The extension's PlaintextSink: decrypted plaintext stays in memory (a MailExtension has no private
 * scratch files), so it is always bounded. The core's `memorySink` already keeps everything away
 * from readers until `commit()`; this adds the limit, refusing (TOO_LARGE) anything beyond it rather
 * than letting a hostile message exhaust Thunderbird's memory.
 */
import { memorySink, type MemorySink } from '../../src/core/index.ts';

/**
 * Default bound, per decryption: above what common mail servers accept for a whole message (tens of
 * megabytes, and the armored or base64 ciphertext is larger than its plaintext), far below what would
 * strain Thunderbird. Callers that know better (a per-attachment limit) pass their own.
 */
export const defaultPlaintextLimit = 64 * 1024 * 1024;

export interface ExtensionSinkOptions {
  /** Refuse (TOO_LARGE) more plaintext than this many bytes; default `defaultPlaintextLimit`. */
  limit?: number;
}

export function extensionSink(options: ExtensionSinkOptions = {}): MemorySink {
  const limit = options.limit ?? defaultPlaintextLimit;
  if (!(limit > 0 && Number.isFinite(limit))) throw new RangeError('the plaintext limit must be a positive finite number');
  return memorySink({ limit });
}
