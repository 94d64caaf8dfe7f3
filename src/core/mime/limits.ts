/**
 * Bounds on what the MIME parser accepts (PARSE): a crafted mail must fail with a clear error in
 * bounded time and memory, never exhaust the process. The defaults are far above any real mail.
 */
export interface MimeLimits {
  /** Nesting depth of multiparts, decrypted entities included (the root is depth 0). */
  maxDepth: number;
  /** Number of MIME entities in the whole message, decrypted ones included. */
  maxParts: number;
  /** Size of one entity's header block, in bytes. */
  maxHeaderBytes: number;
  /** Size of every header block together, in bytes. */
  maxTotalHeaderBytes: number;
  /** Size of the raw message, in bytes. */
  maxMessageBytes: number;
}

export const defaultMimeLimits: Readonly<MimeLimits> = {
  maxDepth: 24,
  maxParts: 1000,
  maxHeaderBytes: 256 * 1024,
  maxTotalHeaderBytes: 2 * 1024 * 1024,
  maxMessageBytes: 128 * 1024 * 1024,
};

export function mimeLimits(overrides: Partial<MimeLimits> = {}): MimeLimits {
  return { ...defaultMimeLimits, ...overrides };
}
