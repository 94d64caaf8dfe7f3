/**
 * The options page opened for one key: `#key=<fingerprint|address>` (the compose popup's "Open key" and
 * "Search in options"). A fingerprint in the keyring opens that key's details; an address opens the
 * details of its key in the keyring, and when there is none, "Find a key" prefilled with the address
 * (the lookup itself waits for the user's click: contacting key servers needs their permission, asked
 * in a user action).
 */

export type KeyTarget = { fingerprint: string } | { address: string };

/** Parses the page's hash; anything else than `#key=` with a fingerprint or an address is no target. */
export function keyTarget(hash: string): KeyTarget | undefined {
  if (!hash.startsWith('#key=')) return undefined;
  let value: string;
  try {
    value = decodeURIComponent(hash.slice('#key='.length)).trim();
  } catch {
    return undefined;
  }
  const compact = value.replace(/\s+/g, '').toUpperCase();
  // v4 fingerprints are 40 hex digits, v6 ones 64 (RFC 9580, section 5.5.4).
  if (/^([0-9A-F]{40}|[0-9A-F]{64})$/.test(compact)) return { fingerprint: compact };
  if (/^[^\s@<>]+@[^\s@<>]+$/.test(value)) return { address: value.toLowerCase() };
  return undefined;
}

export interface KeyTargetActions {
  /** True when the keyring holds this key. */
  has(fingerprint: string): Promise<boolean>;
  /** The keyring's key for an address, if any (the best one first). */
  keyFor(address: string): Promise<string | undefined>;
  /** Opens a key's details and brings them into view. */
  showKey(fingerprint: string): Promise<void>;
  /** Prefills "Find a key" with an address and brings it into view. */
  prefillFind(address: string): void;
}

/** What was opened: the key's details, "Find a key" for an address, or nothing. */
export async function openKeyTarget(target: KeyTarget | undefined, actions: KeyTargetActions): Promise<'key' | 'find' | 'none'> {
  if (target === undefined) return 'none';
  if ('fingerprint' in target) {
    if (!(await actions.has(target.fingerprint))) return 'none';
    await actions.showKey(target.fingerprint);
    return 'key';
  }
  const fingerprint = await actions.keyFor(target.address);
  if (fingerprint !== undefined) {
    await actions.showKey(fingerprint);
    return 'key';
  }
  actions.prefillFind(target.address);
  return 'find';
}
